//! `lamina verify REF`: a clean rebuild (no cache) compared with a published image, in a registry
//! (the real docker-registry) and in an OCI layout. Passes for the same inputs copied elsewhere with
//! other mtimes and another umask; fails, naming the layer and the file, when one byte differs.

use crate::support::registry::{Auth, Registry};
use crate::support::*;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// `project` copied to `dest` the way another machine would have it: another directory, every
/// file created under umask 077 (so 0600/0700) and every mtime in 2001.
pub fn copy_elsewhere(project: &Path, dest: &Path) -> PathBuf {
    let status = Command::new("sh")
        .arg("-c")
        .arg("umask 077 && cp -r \"$1\" \"$2\" && find \"$2\" -exec touch -h -d 2001-01-01T00:00:00 {} +")
        .arg("sh")
        .arg(project)
        .arg(dest)
        .status()
        .unwrap();
    assert!(status.success());
    use std::os::unix::fs::PermissionsExt;
    let mode = fs::metadata(dest.join("lamina.toml"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "the copy really has other modes");
    dest.to_path_buf()
}

fn verify(project: &Path, cache: &Path, reference: &str, creds: Option<String>) -> Output {
    let mut c = lamina(project, cache);
    c.args(["verify", reference]);
    if let Some(creds) = creds {
        c.args(["--creds", &creds]);
    }
    run(&mut c)
}

/// Flips one bit of one byte in the middle of a file.
fn change_one_byte(path: &Path) {
    let mut b = fs::read(path).unwrap();
    let i = b.len() / 2;
    b[i] ^= 0x01;
    fs::write(path, b).unwrap();
}

const HANDLER_FILE: &str = "src/functions/campaign/orchestrator.py";

#[test]
fn verify_passes_for_the_same_inputs_elsewhere_and_names_a_changed_file_in_a_layout() {
    let t = tempfile::tempdir().unwrap();
    let project = pushing_project(t.path());
    let layout = t.path().join("published");
    let o = run(lamina(&project, &t.path().join("cache-a")).args([
        "build",
        "-o",
        &format!("oci:{}:v1", layout.display()),
    ]));
    assert!(o.status.success(), "{}", stderr(&o));
    let published = stdout(&o).trim().to_string();
    let other = copy_elsewhere(&project, &t.path().join("elsewhere"));
    let reference = format!("oci:{}:v1", layout.display());
    // A warm cache on the verifying side must not matter: verify uses none.
    let cache_b = t.path().join("cache-b");
    let o = verify(&other, &cache_b, &reference, None);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o).trim(), published);
    assert!(stderr(&o).contains("is exactly what these inputs build"));
    assert!(
        !cache_b.join("v1/layers").exists()
            || fs::read_dir(cache_b.join("v1/layers")).unwrap().count() == 0,
        "verify wrote nothing to the user's cache"
    );

    change_one_byte(&other.join(HANDLER_FILE));
    let o = verify(&other, &cache_b, &reference, None);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("layer 3 of 3 (source layer)")
            && err.contains(&format!(
                "first difference: var/task/{HANDLER_FILE}: the bytes differ"
            )),
        "{err}"
    );
}

/// The whole stderr of a failed verify against a registry, pinned (temporary paths and the
/// registry's port normalised).
#[test]
fn verify_against_a_registry_passes_then_fails_naming_the_layer_and_the_file() {
    crate::needs_tools!();
    let reg = Registry::start(Auth::Htpasswd);
    let t = tempfile::tempdir().unwrap();
    let project = pushing_project(t.path());
    let target = format!("{}/lambda/app:v1", reg.addr);
    let mut c = lamina(&project, &t.path().join("cache-a"));
    c.args(["build", "--push", &target, "--creds", &reg.creds().unwrap()]);
    let pushed = ok(&mut c).trim().to_string();
    let digest = pushed.rsplit_once('@').unwrap().1.to_string();

    let other = copy_elsewhere(&project, &t.path().join("elsewhere"));
    for reference in [target.clone(), pushed.clone()] {
        let o = verify(&other, &t.path().join("cache-b"), &reference, reg.creds());
        assert!(o.status.success(), "{reference}: {}", stderr(&o));
        assert_eq!(stdout(&o).trim(), digest);
    }

    change_one_byte(&other.join(HANDLER_FILE));
    let o = verify(&other, &t.path().join("cache-b"), &target, reg.creds());
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(stdout(&o), "");
    let err = stderr(&o)
        .replace(&other.display().to_string(), "<PROJECT>")
        .replace(&reg.addr, "<REGISTRY>");
    let expected = "\
lamina: verify: rebuilding <PROJECT> with no cache (a private empty cache, removed afterwards)
lamina: no bytecode: the base has no python3.X (in /var/lang/bin, /usr/local/bin or /usr/bin)
lamina: warning: MarkupSafe-3.0.2-cp312-cp312-manylinux_2_17_aarch64.manylinux2014_aarch64.whl left out: it is for aarch64, not x86_64 (using MarkupSafe-3.0.2-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl)
lamina: dependency layer: 2 wheels for CPython 3.12 on x86_64 with glibc 2.34
lamina: verify: rebuilt sha256:aad520210aa2c126054fbf204025e68780d78954bb4764d79c8490204f5c05be (OCI media types), <REGISTRY>/lambda/app:v1 is sha256:5461ce1bf363cc8e513d3913f1e5ee9ae49e3cdec37f57cd13d3a7b027c4c4ff
error: <REGISTRY>/lambda/app:v1 is not what these inputs build: layer 3 of 3 (source layer): sha256:1c299e541be4af7f075a1b58bf9927d292558d3fdcb12398b2f878867584aad2 published, sha256:b9018befc99ec285b182699873e85f6fc852686b932af94cca44140134dd30ec rebuilt; first difference: var/task/src/functions/campaign/orchestrator.py: the bytes differ (300 bytes each; sha256 dd18424ba37c… published, 63910cc0e655… rebuilt)
hint: most likely the image was built from other inputs or flags (another commit, lock or base); if not, from a poisoned cache entry: build it with --no-remote-cache and an empty LAMINA_CACHE_DIR and push it again
";
    assert_eq!(err, expected);
    assert_eq!(
        digest,
        "sha256:5461ce1bf363cc8e513d3913f1e5ee9ae49e3cdec37f57cd13d3a7b027c4c4ff"
    );
}

/// With bytecode on, a changed source changes its `.pyc` too, and the `.pyc` sorts first in the
/// layer: verify names the `.py` (the cause) and leads its hint with changed inputs.
#[test]
fn verify_with_bytecode_names_the_changed_py_not_its_pyc() {
    let t = tempfile::tempdir().unwrap();
    let project = pushing_project(t.path());
    let base = format!("oci:{}:py312", crate::bytecode::python_base().display());
    let layout = t.path().join("published");
    let o = run(lamina(&project, &t.path().join("cache-a")).args([
        "build",
        "--base",
        &base,
        "-o",
        &format!("oci:{}:v1", layout.display()),
    ]));
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("bytecode: compiled by"),
        "{}",
        stderr(&o)
    );
    change_one_byte(&project.join(HANDLER_FILE));
    let o = run(lamina(&project, &t.path().join("cache-b")).args([
        "verify",
        &format!("oci:{}:v1", layout.display()),
        "--base",
        &base,
    ]));
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains(&format!(
            "first difference: var/task/{HANDLER_FILE}: the bytes differ"
        )) && err.contains("(and 1 .pyc compiled from the sources)"),
        "{err}"
    );
    assert!(
        err.contains("hint: most likely the image was built from other inputs or flags"),
        "{err}"
    );
}
