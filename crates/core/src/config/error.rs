//! What can be wrong with a configuration (lamina.toml, the flags, SOURCE_DATE_EPOCH): one error
//! per field, each with the hint that says what to write instead. It reads nothing itself.

use super::{WheelsInput, FILE_NAME, KEYS, MAX_EPOCH};
use lamina_oci::reference::RefError;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{path}: {message}")]
    Toml {
        path: PathBuf,
        message: String,
        /// The valid key closest to an unknown one.
        suggestion: Option<String>,
        /// The error is a key lamina does not know (else a value of the wrong type or form).
        unknown_key: bool,
    },
    #[error("{path}: {what}, not a directory of wheels")]
    WheelsNotADirectory { path: PathBuf, what: WheelsInput },
    #[error("{path}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{field}: {reason}")]
    Invalid { field: String, reason: String },
    #[error("{field}")]
    Ref { field: String, source: RefError },
    #[error("{field}: {reason}")]
    Reference { field: String, reason: String },
    #[error("{field}")]
    Serverless {
        field: String,
        source: crate::serverless::vars::VarError,
    },
    #[error("no {FILE_NAME} in {dir}, and no {flag} given")]
    NoConfig { dir: PathBuf, flag: &'static str },
}

impl lamina_support::diagnostic::Hint for ConfigError {
    fn hint(&self) -> Option<String> {
        match self {
            ConfigError::Toml {
                suggestion,
                unknown_key: true,
                ..
            } => Some(format!(
                "{}valid keys: {} (see README, \"{FILE_NAME} reference\")",
                suggestion.as_ref().map_or(String::new(), |s| format!("did you mean `{s}`? ")),
                KEYS.join(", ")
            )),
            ConfigError::Toml { .. } => Some(format!(
                "fix the value on that line: README, \"{FILE_NAME} reference\", gives each key's form (lists are [\"a\", \"b\"], sizes \"500M\" or bytes)"
            )),
            ConfigError::Io { source, .. } if source.kind() == std::io::ErrorKind::InvalidData => {
                Some(format!("{FILE_NAME} must be UTF-8 text: save it as UTF-8"))
            }
            ConfigError::Io { source, .. } if source.kind() == std::io::ErrorKind::IsADirectory => {
                Some(format!("{FILE_NAME} must be a file: remove or rename the directory of that name"))
            }
            ConfigError::WheelsNotADirectory { path, what } => Some(match what {
                WheelsInput::Requirements => format!(
                    "vendor the wheels it names first: pip download --only-binary=:all: --platform manylinux2014_x86_64 --python-version 3.X --implementation cp -d wheels -r {}, then pass --wheels wheels (or pass a lock file with --lock FILE)",
                    path.display()
                ),
                WheelsInput::Lock => "pass a lock file with --lock FILE; --wheels takes a directory of .whl files".into(),
                WheelsInput::Wheel => format!(
                    "put it in a directory and pass that: mkdir wheels && mv {} wheels/ && --wheels wheels",
                    path.display()
                ),
                WheelsInput::Other => "--wheels takes a directory of .whl files (pip download -d DIR …)".into(),
            }),
            ConfigError::NoConfig { .. } => Some(format!(
                "`lamina init` writes {FILE_NAME} from the project's Dockerfile and serverless.yml; or create {FILE_NAME} in the project directory (see README, \"{FILE_NAME} reference\"), or pass --base, --src and --handler"
            )),
            ConfigError::Invalid { field, .. } if field.starts_with("base") => {
                Some("set base = \"oci:DIR[:TAG]\" in lamina.toml or pass --base".into())
            }
            ConfigError::Invalid { field, .. } if field == "handlers_from" => Some(
                "functions that deploy this image need image: {name: <provider.ecr.images key>, command: [module.handler]} or image: {uri: …, command: […]}".into(),
            ),
            ConfigError::Invalid { field, .. } if field.starts_with("handler") => Some(
                "a handler is module.function, e.g. src.functions.campaign.orchestrator.handler".into(),
            ),
            ConfigError::Invalid { field, .. } if field.starts_with("src") => {
                Some("set src = [\"src\"] in lamina.toml or pass --src DIR".into())
            }
            ConfigError::Ref { source, .. } => source.hint(),
            ConfigError::Serverless { source, .. } => source.hint(),
            ConfigError::Io { source, .. } => source.hint(),
            ConfigError::Invalid { field, .. } if field == "SOURCE_DATE_EPOCH" => Some(format!(
                "set SOURCE_DATE_EPOCH to whole seconds since 1970, at most {MAX_EPOCH} (e.g. SOURCE_DATE_EPOCH=$(git log -1 --format=%ct)), or unset it"
            )),
            ConfigError::Reference { field, .. } if field == "base" => Some(
                "write the base as oci:DIR[:TAG] (an OCI layout) or a registry image such as public.ecr.aws/lambda/python:3.12".into(),
            ),
            ConfigError::Reference { field, .. } if field == "push" => Some(
                "write push as HOST/REPOSITORY[:TAG], lowercase, e.g. 123456789012.dkr.ecr.us-east-1.amazonaws.com/app:v1".into(),
            ),
            ConfigError::Invalid { field, .. } if field == "push" => Some(
                "push to a tag (REPO:TAG) or to the repository alone; the digest is what lamina prints".into(),
            ),
            ConfigError::Invalid { field, .. } if field == "platform" => Some(
                "platform = \"linux/amd64\" or \"linux/arm64\" (the architectures Lambda runs), or --platform".into(),
            ),
            ConfigError::Invalid { field, .. } if field == "python" => Some(
                "python = \"3.12\": the base's CPython minor version, as Lambda's python3.X runtimes name it".into(),
            ),
            ConfigError::Invalid { field, .. } if field == "glibc" => {
                Some("glibc = \"2.34\": the base's C library version (Amazon Linux 2023 has 2.34)".into())
            }
            ConfigError::Invalid { field, .. } if field == "max_unpacked_size" => Some(
                "max_unpacked_size = \"5G\" (K/M/G are powers of 1000, KiB/MiB/GiB of 1024), or a number of bytes".into(),
            ),
            ConfigError::Invalid { field, .. } if field == "tag" => Some(
                "a tag is up to 128 letters, digits, '_', '.' and '-', not starting with '.' or '-', e.g. v1.2 or the git short sha".into(),
            ),
            ConfigError::Invalid { field, .. } if field.starts_with("env") => Some(
                "name the variable with letters, digits and '_' (e.g. LOG_LEVEL = \"INFO\" under [env]); no '=', no spaces".into(),
            ),
            ConfigError::Invalid { field, .. } if field == "LAMINA_REGISTRY_ENDPOINTS" => Some(
                "set it to HOST=URL pairs separated by commas, e.g. 123456789012.dkr.ecr.us-east-1.amazonaws.com=http://127.0.0.1:5000".into(),
            ),
            _ => None,
        }
    }
}
