//! `--import-check`: beyond the static checks, import every handler module with a CPython of the
//! target's minor version, with only the image's `/var/task` (and the standard library) on
//! `sys.path`: `python -I -S`, so no site-packages of the build machine can hide a missing
//! dependency. Runs only when such a Python is found and the target's architecture is this
//! machine's; otherwise it says why it was skipped. Module-level user code runs: opt-in.

use super::finding::{Code, Finding, Severity};
use super::task::TaskFs;
use lamina_oci::Platform;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const SCRIPT: &str = r#"
import sys, importlib, json
task = sys.argv[1]
sys.path[:] = [task] + [p for p in sys.path if p and "site-packages" not in p and "dist-packages" not in p]
out = []
for h in sys.argv[2:]:
    mod, _, fn = h.rpartition(".")
    mod = mod.replace("/", ".")
    try:
        m = importlib.import_module(mod)
    except SyntaxError as e:
        out.append([h, "Runtime.UserCodeSyntaxError", "Syntax error in module '%s': %s" % (mod, e)])
        continue
    except ImportError as e:
        out.append([h, "Runtime.ImportModuleError", "Unable to import module '%s': %s" % (mod, e), getattr(e, "name", None)])
        continue
    except Exception as e:
        out.append([h, "Runtime.ImportModuleError", "Unable to import module '%s': %s: %s" % (mod, type(e).__name__, e)])
        continue
    if not hasattr(m, fn):
        out.append([h, "Runtime.HandlerNotFound", "Handler '%s' missing on module '%s'" % (fn, mod)])
print(json.dumps(out))
"#;

/// Materialises `/var/task` in a temporary directory and imports each handler there, or says why
/// it was skipped (another architecture, no such Python, an unwritable temporary directory).
pub(super) fn check(
    fs: &TaskFs,
    platform: &Platform,
    handlers: &[String],
    runtime_modules: &[String],
    minor: u32,
) -> Vec<Finding> {
    let skip = |m: String| vec![Finding::warning(Code::ImportCheck, m)];
    let host = std::env::consts::ARCH;
    if platform.python_machine() != host {
        return skip(format!(
            "skipped: the image is {} and this machine is {host}",
            platform
        ));
    }
    let Some(python) = find_python(minor) else {
        return skip(format!(
            "skipped: no python3.{minor} on this machine (set LAMINA_PYTHON)"
        ));
    };
    let dir = match tempfile::Builder::new()
        .prefix("lamina-import-check-")
        .tempdir()
    {
        Ok(d) => d,
        Err(e) => return skip(format!("skipped: {e}")),
    };
    for d in &fs.dirs {
        let _ = std::fs::create_dir_all(dir.path().join(d));
    }
    for path in fs.files.keys() {
        let dest = dir.path().join(path);
        if let Some(parent) = dest.parent() {
            let _ = std::fs::create_dir_all(parent);
        }
        if let Some(bytes) = fs.bytes(path, 1 << 30) {
            if std::fs::write(&dest, bytes).is_err() {
                return skip(format!("skipped: could not write {}", dest.display()));
            }
        }
    }
    run(&python, dir.path(), handlers, runtime_modules)
}

/// A `python3.<minor>` on this machine: `$LAMINA_PYTHON`, PATH, pyenv, /usr/bin.
pub fn find_python(minor: u32) -> Option<PathBuf> {
    let exe = format!("python3.{minor}");
    use lamina_support::env::EnvVars;
    if let Some(p) = EnvVars::LAMINA_PYTHON.get_os().map(PathBuf::from) {
        return p.is_file().then_some(p);
    }
    let mut dirs: Vec<PathBuf> = EnvVars::PATH
        .raw_os()
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    let pyenv = EnvVars::PYENV_ROOT.get_os().map(PathBuf::from).or_else(|| {
        EnvVars::HOME
            .get_os()
            .map(|h| PathBuf::from(h).join(".pyenv"))
    });
    if let Some(root) = pyenv {
        if let Ok(rd) = std::fs::read_dir(root.join("versions")) {
            let mut versions: Vec<PathBuf> = rd
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| {
                    p.file_name()
                        .is_some_and(|n| n.to_string_lossy().starts_with(&format!("3.{minor}.")))
                })
                .collect();
            versions.sort();
            dirs.extend(versions.into_iter().rev().map(|v| v.join("bin")));
        }
    }
    dirs.push(PathBuf::from("/usr/bin"));
    // pyenv shims on PATH resolve to whatever version is selected: skip them.
    dirs.into_iter()
        .filter(|d| !d.to_string_lossy().contains("shims"))
        .map(|d| d.join(&exe))
        .find(|p| p.is_file())
}

/// Imports each handler module from `task_dir` (a materialised /var/task).
pub fn run(
    python: &Path,
    task_dir: &Path,
    handlers: &[String],
    runtime_modules: &[String],
) -> Vec<Finding> {
    let warn = |m: String| vec![Finding::warning(Code::ImportCheck, m)];
    let mut child = match Command::new(python)
        .args(["-I", "-S", "-B", "-c", SCRIPT])
        .arg(task_dir)
        .args(handlers)
        .current_dir(task_dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    {
        Ok(c) => c,
        Err(e) => return warn(format!("could not run {}: {e}", python.display())),
    };
    let start = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if start.elapsed() > Duration::from_secs(120) => {
                let _ = child.kill();
                return warn("importing the handler modules took over 120 s; stopped".into());
            }
            _ => std::thread::sleep(Duration::from_millis(20)),
        }
    }
    let out = match child.wait_with_output() {
        Ok(o) => o,
        Err(e) => return warn(format!("{}: {e}", python.display())),
    };
    let Ok(rows) = serde_json::from_slice::<Vec<serde_json::Value>>(&out.stdout) else {
        return warn(format!(
            "the import check did not finish: {}",
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .last()
                .unwrap_or("")
        ));
    };
    rows.into_iter()
        .map(|r| {
            let missing = r[3]
                .as_str()
                .map(|n| n.split('.').next().unwrap_or(n).to_string());
            let runtime = missing.is_some_and(|m| runtime_modules.contains(&m));
            Finding::new(
                if runtime {
                    Severity::Warning
                } else {
                    Severity::Error
                },
                r[1].as_str()
                    .and_then(Code::from_lambda_error)
                    .unwrap_or(Code::ImportCheck),
                format!(
                    "{} (imported with {}){}",
                    r[2].as_str().unwrap_or(""),
                    python.display(),
                    if runtime {
                        "; the Lambda runtime provides it, so this is expected off Lambda"
                    } else {
                        ""
                    }
                ),
            )
            .handler(r[0].as_str().unwrap_or(""))
        })
        .collect()
}
