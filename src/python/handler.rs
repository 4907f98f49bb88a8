//! Handler resolution as awslambdaric's `_get_handler` does it, statically: split at the last `.`
//! (`Runtime.MalformedHandlerName` without one), `/` in the module path means `.`, a first segment
//! that is a built-in module is `Runtime.BuiltInModuleConflict`, the module must exist as a module
//! file, extension or package (`Runtime.ImportModuleError`), and the function must be bound at the
//! module's top level by `def`, `class`, an assignment or an import (`Runtime.HandlerNotFound`).
//! The file system is given as a lookup, so this module does no I/O of its own.

use std::collections::HashSet;

/// `sys.builtin_module_names` of CPython 3.12 on Linux.
pub const BUILTIN_MODULES: &[&str] = &[
    "_abc",
    "_ast",
    "_codecs",
    "_collections",
    "_functools",
    "_imp",
    "_io",
    "_locale",
    "_operator",
    "_signal",
    "_sre",
    "_stat",
    "_string",
    "_symtable",
    "_thread",
    "_tokenize",
    "_tracemalloc",
    "_typing",
    "_warnings",
    "_weakref",
    "atexit",
    "builtins",
    "errno",
    "faulthandler",
    "gc",
    "itertools",
    "marshal",
    "posix",
    "pwd",
    "sys",
    "time",
];

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HandlerError {
    /// Lambda's error type, e.g. `Runtime.HandlerNotFound`.
    pub error_type: &'static str,
    pub message: String,
}

/// Where a module was found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Found {
    /// A Python source file (path relative to /var/task): its top level can be read.
    Source(String),
    /// An extension module or a module outside /var/task: exists, attributes not checkable.
    Opaque(String),
}

/// A read-only view of the image's Python import roots.
pub trait ModuleFs {
    fn is_file(&self, path: &str) -> bool;
    fn is_dir(&self, path: &str) -> bool;
    /// Extension modules directly in `dir` named `stem.*.so` / `stem.so`.
    fn extension(&self, dir: &str, stem: &str) -> Option<String>;
    fn read(&self, path: &str) -> Option<String>;
    /// Top-level packages provided outside /var/task (the runtime's boto3, …).
    fn runtime_package(&self, name: &str) -> bool;
}

fn join(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        name.to_string()
    } else {
        format!("{dir}/{name}")
    }
}

/// Finds a dotted module the way the import system would under /var/task.
pub fn find_module(fs: &dyn ModuleFs, module: &str) -> Option<Found> {
    let parts: Vec<&str> = module.split('.').collect();
    if parts.iter().any(|p| p.is_empty()) {
        return None;
    }
    let mut dir = String::new();
    for (i, part) in parts.iter().enumerate() {
        let last = i == parts.len() - 1;
        let pkg = join(&dir, part);
        if !last {
            if fs.is_dir(&pkg) {
                dir = pkg;
                continue;
            }
            return (i == 0 && fs.runtime_package(part))
                .then(|| Found::Opaque(format!("the runtime's {part}")));
        }
        if fs.is_file(&format!("{pkg}/__init__.py")) {
            return Some(Found::Source(format!("{pkg}/__init__.py")));
        }
        if fs.is_file(&format!("{pkg}.py")) {
            return Some(Found::Source(format!("{pkg}.py")));
        }
        if let Some(ext) = fs.extension(&dir, part) {
            return Some(Found::Opaque(ext));
        }
        if fs.is_dir(&pkg) {
            return Some(Found::Opaque(format!("{pkg}/ (namespace package)")));
        }
        if i == 0 && fs.runtime_package(part) {
            return Some(Found::Opaque(format!("the runtime's {part}")));
        }
    }
    None
}

/// Names bound at a module's top level (plus `*` if it star-imports). A line-based reading that
/// skips strings and nested bodies; names bound inside top-level `if`/`try`/`with` blocks count.
pub fn top_level_names(src: &str) -> HashSet<String> {
    let mut names = HashSet::new();
    let mut logical = String::new();
    let mut depth = 0i32;
    let mut in_triple: Option<&str> = None;
    // Indentation of the enclosing function/class body, if we are inside one.
    let mut body_indent: Option<usize> = None;
    for raw in src.lines() {
        let mut line = raw;
        if let Some(q) = in_triple {
            if let Some(i) = line.find(q) {
                in_triple = None;
                line = &line[i + 3..];
                if line.trim().is_empty() {
                    continue;
                }
            } else {
                continue;
            }
        }
        if logical.is_empty() {
            let indent = line.len() - line.trim_start().len();
            let t = line.trim_start();
            if t.is_empty() || t.starts_with('#') {
                continue;
            }
            if let Some(b) = body_indent {
                if indent > b {
                    continue;
                }
                body_indent = None;
            }
            // Only the top level and top-level compound blocks (if/try/with/for/while/else) bind.
            if indent > 0 && !names.contains("\0compound") {
                continue;
            }
            if indent == 0 {
                names.remove("\0compound");
            }
            for q in ["\"\"\"", "'''"] {
                if t.matches(q).count() % 2 == 1 {
                    in_triple = Some(q);
                }
            }
            let head = t.split(['(', ':', ' ']).next().unwrap_or("");
            if matches!(head, "def" | "class" | "async") {
                body_indent = Some(indent);
            } else if indent == 0
                && matches!(
                    head,
                    "if" | "elif"
                        | "else"
                        | "try"
                        | "except"
                        | "finally"
                        | "with"
                        | "for"
                        | "while"
                )
            {
                names.insert("\0compound".into());
            }
        }
        let code = line.split('#').next().unwrap_or("");
        depth += code.matches(['(', '[', '{']).count() as i32
            - code.matches([')', ']', '}']).count() as i32;
        logical.push_str(code.trim_end_matches('\\'));
        logical.push(' ');
        if depth > 0 || line.trim_end().ends_with('\\') {
            continue;
        }
        depth = 0;
        bind(logical.trim(), &mut names);
        logical.clear();
    }
    names.remove("\0compound");
    names
}

fn ident(s: &str) -> Option<&str> {
    let s = s.trim();
    (!s.is_empty()
        && s.chars().all(|c| c.is_alphanumeric() || c == '_')
        && !s.starts_with(|c: char| c.is_ascii_digit()))
    .then_some(s)
}

fn bind(stmt: &str, names: &mut HashSet<String>) {
    let mut words = stmt.split_whitespace();
    match words.next() {
        Some("def") | Some("class") => {
            if let Some(n) = words
                .next()
                .and_then(|w| ident(w.split(['(', ':']).next().unwrap_or("")))
            {
                names.insert(n.into());
            }
        }
        Some("async") => {
            if words.next() == Some("def") {
                if let Some(n) = words
                    .next()
                    .and_then(|w| ident(w.split('(').next().unwrap_or("")))
                {
                    names.insert(n.into());
                }
            }
        }
        Some("import") => {
            for item in stmt["import".len()..].split(',') {
                let item = item.trim();
                match item.split_once(" as ") {
                    Some((_, alias)) => names.extend(ident(alias).map(str::to_string)),
                    None => names
                        .extend(ident(item.split('.').next().unwrap_or("")).map(str::to_string)),
                }
            }
        }
        Some("from") => {
            if let Some((_, list)) = stmt.split_once(" import ") {
                let list = list.trim().trim_start_matches('(').trim_end_matches(')');
                for item in list.split(',') {
                    let item = item.trim();
                    if item == "*" {
                        names.insert("*".into());
                    }
                    let bound = item.split_once(" as ").map_or(item, |(_, a)| a);
                    names.extend(ident(bound).map(str::to_string));
                }
            }
        }
        _ => {
            // NAME = …, NAME: T = …, A, B = …, NAME += … (not ==)
            if let Some(i) = stmt.find('=') {
                let after = stmt[i + 1..].chars().next();
                let before = stmt[..i].chars().last();
                if after != Some('=') && !matches!(before, Some('!' | '<' | '>' | '=')) {
                    let target = stmt[..i]
                        .trim_end_matches(['+', '-', '*', '/', '|', '&', '%', '^', '@', ':']);
                    let target = target.split(':').next().unwrap_or("");
                    for t in target.split(',') {
                        names.extend(ident(t.trim().trim_matches(['(', ')'])).map(str::to_string));
                    }
                }
            }
        }
    }
}

/// Resolves one handler; `Ok` carries where the function was found.
pub fn resolve(fs: &dyn ModuleFs, handler: &str) -> Result<String, HandlerError> {
    let Some((module, function)) = handler.rsplit_once('.') else {
        return Err(HandlerError {
            error_type: "Runtime.MalformedHandlerName",
            message: format!("Bad handler '{handler}': not module.function"),
        });
    };
    let module = module.replace('/', ".");
    let first = module.split('.').next().unwrap_or("");
    if BUILTIN_MODULES.contains(&first) {
        return Err(HandlerError {
            error_type: "Runtime.BuiltInModuleConflict",
            message: format!("Cannot use built-in module {first} as a handler module"),
        });
    }
    let path = module.replace('.', "/");
    let found = find_module(fs, &module).ok_or_else(|| HandlerError {
        error_type: "Runtime.ImportModuleError",
        message: format!(
            "Unable to import module '{module}': No module named '{module}' (looked for /var/task/{path}.py, /var/task/{path}/__init__.py and /var/task/{path}.*.so)"
        ),
    })?;
    match found {
        Found::Opaque(where_) => Ok(where_),
        Found::Source(file) => {
            let text = fs.read(&file).unwrap_or_default();
            let names = top_level_names(&text);
            if names.contains(function) || names.contains("*") {
                Ok(format!("/var/task/{file}"))
            } else {
                Err(HandlerError {
                    error_type: "Runtime.HandlerNotFound",
                    message: format!("Handler '{function}' missing on module '{module}' (/var/task/{file} binds no '{function}' at its top level)"),
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    struct Mem(HashMap<String, String>);
    impl ModuleFs for Mem {
        fn is_file(&self, p: &str) -> bool {
            self.0.contains_key(p)
        }
        fn is_dir(&self, p: &str) -> bool {
            self.0.keys().any(|k| k.starts_with(&format!("{p}/")))
        }
        fn extension(&self, dir: &str, stem: &str) -> Option<String> {
            let prefix = join(dir, stem);
            self.0
                .keys()
                .find(|k| k.starts_with(&format!("{prefix}.")) && k.ends_with(".so"))
                .cloned()
        }
        fn read(&self, p: &str) -> Option<String> {
            self.0.get(p).cloned()
        }
        fn runtime_package(&self, n: &str) -> bool {
            n == "boto3"
        }
    }

    fn fs() -> Mem {
        Mem(HashMap::from([
            ("src/__init__.py".to_string(), String::new()),
            ("src/functions/campaign/orchestrator.py".to_string(), "import json\nfrom .x import (a,\n   b as handler2)\n\ndef handler(event, context):\n    def inner(): pass\n    return 1\n".to_string()),
            ("src/app.py".to_string(), "\"\"\"doc\ndef fake(): pass\n\"\"\"\nclass Handler:\n    def method(self): pass\nlambda_handler = Handler()\ntry:\n    from fast import run\nexcept ImportError:\n    def run(e, c): pass\n".to_string()),
            ("native/_speed.cpython-312-x86_64-linux-gnu.so".to_string(), String::new()),
        ]))
    }

    #[test]
    fn resolves_like_awslambdaric() {
        let fs = fs();
        assert!(resolve(&fs, "src.functions.campaign.orchestrator.handler").is_ok());
        assert!(resolve(&fs, "src/functions/campaign/orchestrator.handler2").is_ok());
        assert!(resolve(&fs, "src.app.lambda_handler").is_ok());
        assert!(
            resolve(&fs, "src.app.run").is_ok(),
            "bound inside a top-level try"
        );
        assert!(
            resolve(&fs, "native._speed.f").is_ok(),
            "extension modules exist; attributes unknown"
        );
        assert!(resolve(&fs, "boto3.client").is_ok());
        assert_eq!(
            resolve(&fs, "nohandler").unwrap_err().error_type,
            "Runtime.MalformedHandlerName"
        );
        assert_eq!(
            resolve(&fs, "sys.exit").unwrap_err().error_type,
            "Runtime.BuiltInModuleConflict"
        );
        assert_eq!(
            resolve(&fs, "src.missing.handler").unwrap_err().error_type,
            "Runtime.ImportModuleError"
        );
        let e = resolve(&fs, "src.functions.campaign.orchestrator.inner").unwrap_err();
        assert_eq!(e.error_type, "Runtime.HandlerNotFound");
        assert!(e.message.starts_with(
            "Handler 'inner' missing on module 'src.functions.campaign.orchestrator'"
        ));
        assert_eq!(
            resolve(&fs, "src.app.fake").unwrap_err().error_type,
            "Runtime.HandlerNotFound",
            "inside a docstring"
        );
        assert_eq!(
            resolve(&fs, "src.app.method").unwrap_err().error_type,
            "Runtime.HandlerNotFound"
        );
    }
}
