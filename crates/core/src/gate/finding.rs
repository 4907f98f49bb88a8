//! One thing the gate found: how serious, what Lambda (or lamina) calls it, where, and what to do.
//! Typed, so the CLI's text and JSON renderings and the tests never parse messages.

use serde::Serialize;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

/// What a finding is about. Lambda's own error names where Lambda would fail; lamina's names for
/// everything else.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Code {
    MalformedHandlerName,
    BuiltInModuleConflict,
    ImportModuleError,
    UserCodeSyntaxError,
    HandlerNotFound,
    /// The handler is not a function taking `(event, context)`: `TypeError` on invoke.
    HandlerTypeError,
    /// `Cmd` is not exactly one string (the entrypoint exits 142).
    ExitError,
    InvalidImage,
    LaunchError,
    /// Lamina could not decide whether Lambda would fail; the message says what.
    CannotVerify,
    /// An import in `try … except ImportError` that does not resolve (handled at run time).
    OptionalImport,
    /// An import under a condition lamina cannot decide that does not resolve.
    ConditionalImport,
    /// An import under `if TYPE_CHECKING` that does not resolve (never runs).
    TypeCheckingImport,
    /// Imports inside functions: resolved one level, not followed.
    FunctionImport,
    ImportCheck,
    BaseScan,
    ImageManifest,
    Entrypoint,
    /// A requirements/lock file next to the project, but no dependency input.
    DependencyInput,
    /// A `.pth` file in /var/task, which Python does not process there.
    PthFile,
    /// A top-level module in /var/task with a standard-library name.
    ShadowsStdlib,
    /// A runtime past AWS's deprecation date.
    DeprecatedRuntime,
}

impl Code {
    /// The name shown in `error[…]` and in JSON `code`.
    pub fn as_str(self) -> &'static str {
        match self {
            Code::MalformedHandlerName => "Runtime.MalformedHandlerName",
            Code::BuiltInModuleConflict => "Runtime.BuiltInModuleConflict",
            Code::ImportModuleError => "Runtime.ImportModuleError",
            Code::UserCodeSyntaxError => "Runtime.UserCodeSyntaxError",
            Code::HandlerNotFound => "Runtime.HandlerNotFound",
            Code::HandlerTypeError => "TypeError",
            Code::ExitError => "Runtime.ExitError",
            Code::InvalidImage => "InvalidImage",
            Code::LaunchError => "Launch error",
            Code::CannotVerify => "cannot-verify",
            Code::OptionalImport => "optional-import",
            Code::ConditionalImport => "conditional-import",
            Code::TypeCheckingImport => "type-checking-import",
            Code::FunctionImport => "function-import",
            Code::ImportCheck => "import-check",
            Code::BaseScan => "base-scan",
            Code::ImageManifest => "ImageManifest",
            Code::Entrypoint => "Entrypoint",
            Code::DependencyInput => "dependency-input",
            Code::PthFile => "pth-file",
            Code::ShadowsStdlib => "shadows-stdlib",
            Code::DeprecatedRuntime => "deprecated-runtime",
        }
    }

    /// The error Lambda reports when this happens, if it is one of Lambda's.
    pub fn lambda_error(self) -> Option<&'static str> {
        match self {
            Code::MalformedHandlerName
            | Code::BuiltInModuleConflict
            | Code::ImportModuleError
            | Code::UserCodeSyntaxError
            | Code::HandlerNotFound
            | Code::HandlerTypeError
            | Code::ExitError
            | Code::InvalidImage
            | Code::LaunchError => Some(self.as_str()),
            _ => None,
        }
    }

    /// Lambda's error name as awslambdaric reports it (from `--import-check`'s own run).
    pub fn from_lambda_error(name: &str) -> Option<Code> {
        Some(match name {
            "Runtime.MalformedHandlerName" => Code::MalformedHandlerName,
            "Runtime.BuiltInModuleConflict" => Code::BuiltInModuleConflict,
            "Runtime.ImportModuleError" => Code::ImportModuleError,
            "Runtime.UserCodeSyntaxError" => Code::UserCodeSyntaxError,
            "Runtime.HandlerNotFound" => Code::HandlerNotFound,
            _ => return None,
        })
    }
}

impl Serialize for Code {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub severity: Severity,
    pub code: Code,
    pub message: String,
    pub hint: Option<String>,
    /// The handlers this finding fails (or concerns), first one first.
    pub handlers: Vec<String>,
    /// A path in the image (`/var/task/src/app.py`), and a line in it.
    pub file: Option<String>,
    pub line: Option<u32>,
    /// Modules from a handler's module to the one holding the statement.
    pub chain: Vec<String>,
    /// Every item a summary finding sums up.
    pub details: Vec<String>,
    /// The errorMessage Lambda (awslambdaric) reports for this handler, exactly.
    pub lambda_message: Option<String>,
}

impl Finding {
    pub fn new(severity: Severity, code: Code, message: impl Into<String>) -> Finding {
        Finding {
            severity,
            code,
            message: message.into(),
            hint: None,
            handlers: Vec::new(),
            file: None,
            line: None,
            chain: Vec::new(),
            details: Vec::new(),
            lambda_message: None,
        }
    }
    pub fn error(code: Code, message: impl Into<String>) -> Finding {
        Finding::new(Severity::Error, code, message)
    }
    pub fn warning(code: Code, message: impl Into<String>) -> Finding {
        Finding::new(Severity::Warning, code, message)
    }
    pub fn hint(mut self, hint: Option<String>) -> Finding {
        self.hint = hint;
        self
    }
    pub fn at(mut self, file: Option<String>, line: Option<u32>) -> Finding {
        self.file = file;
        self.line = line;
        self
    }
    pub fn handler(mut self, h: &str) -> Finding {
        self.handlers.push(h.to_string());
        self
    }
    /// Every handler this finding affects.
    pub fn handlers(mut self, hs: Vec<String>) -> Finding {
        for h in hs {
            if !self.handlers.contains(&h) {
                self.handlers.push(h);
            }
        }
        self
    }
    pub fn chain(mut self, chain: Vec<String>) -> Finding {
        self.chain = chain;
        self
    }
    pub fn lambda_message(mut self, m: &str) -> Finding {
        self.lambda_message = Some(m.to_string());
        self
    }
    pub fn details(mut self, details: Vec<String>) -> Finding {
        self.details = details;
        self
    }
    /// Whether this finding says lamina could not check something (so "passes" is not said).
    pub fn unverified(&self) -> bool {
        self.code == Code::CannotVerify
    }
}

/// Merges findings that say the same thing for several handlers into one, keeping order.
pub fn merge_handlers(findings: Vec<Finding>) -> Vec<Finding> {
    let mut out: Vec<Finding> = Vec::new();
    for f in findings {
        if f.handlers.is_empty() {
            out.push(f);
            continue;
        }
        match out.iter_mut().find(|o| {
            !o.handlers.is_empty()
                && o.code == f.code
                && o.severity == f.severity
                && o.message == f.message
                && o.file == f.file
                && o.line == f.line
        }) {
            Some(o) => {
                for h in f.handlers {
                    if !o.handlers.contains(&h) {
                        o.handlers.push(h);
                    }
                }
            }
            None => out.push(f),
        }
    }
    out
}
