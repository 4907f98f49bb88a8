//! The faults a hostile test run found (issue 10), one regression test each: the cache, outputs,
//! signals, closed streams, secrets, bad bases and bad flags. Each test failed on the code before
//! its fix. Registry faults (a failed tag, timeouts) are in `faults.rs`; plain http to a look-alike
//! loopback name is a unit test in `registry::client`.

use crate::support::wheelgen;

use crate::support::*;
use serde_json::Value;
use sha2::{Digest as _, Sha256};
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

struct Case {
    t: tempfile::TempDir,
    project: PathBuf,
    cache: PathBuf,
}

/// The example project on the stand-in base, with a private cache.
fn case() -> Case {
    let t = tempfile::tempdir().unwrap();
    let project = example_copy(t.path());
    let toml = fs::read_to_string(project.join("lamina.toml")).unwrap();
    let toml: String = toml
        .lines()
        .filter(|l| !l.starts_with("base ="))
        .map(|l| format!("{l}\n"))
        .collect();
    let base = format!("base = \"oci:{}:python3.12\"\n", standin().display());
    fs::write(project.join("lamina.toml"), base + &toml).unwrap();
    let cache = t.path().join("cache");
    Case { t, project, cache }
}

impl Case {
    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = lamina(&self.project, &self.cache);
        c.arg("build").args(args);
        c
    }
    fn build(&self, args: &[&str]) -> Output {
        run(&mut self.cmd(args))
    }
    fn path(&self, name: &str) -> PathBuf {
        self.t.path().join(name)
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn assert_fails(o: &Output, code: i32, needles: &[&str]) -> String {
    let err = stderr(o);
    assert_eq!(o.status.code(), Some(code), "{err}");
    for n in needles {
        assert!(err.contains(n), "stderr lacks {n:?}:\n{err}");
    }
    assert!(stdout(o).is_empty(), "no data on stdout on failure");
    assert!(!err.contains("panicked"), "{err}");
    err
}

/// The file `path` as the image's top layer holds it.
fn file_in_top_layer(layout: &Path, tag: &str, path: &str) -> Option<Vec<u8>> {
    let (_, layers) = layout_manifest(layout, tag);
    read_layer(layers.last().unwrap())
        .into_iter()
        .find(|e| e.path == path)
        .map(|e| e.data)
}

// 1. A file that changes while the build reads it never becomes a cache entry.
#[test]
fn a_file_changed_during_the_build_is_an_error_and_never_a_cache_entry() {
    let c = case();
    let big = c.project.join("src/big.bin");
    let original = vec![b'a'; 3 << 20];
    let edited = vec![b'b'; 3 << 20];
    fs::write(&big, &original).unwrap();
    let edited_copy = c.path("edited.bin");
    fs::write(&edited_copy, &edited).unwrap();
    let out = c.path("out");
    let o = run(c
        .cmd(&["-o", &format!("oci:{}:latest", out.display())])
        .env(
            "LAMINA_TEST_HOOK_AFTER_INPUT_KEY",
            format!("cp '{}' '{}'", edited_copy.display(), big.display()),
        ));
    assert_fails(&o, 1, &["src/big.bin", "changed while", "hint:"]);
    assert!(!out.exists(), "no output from a build whose input changed");

    // Restored: the next build must ship the original bytes, never the edited ones it saw once.
    fs::write(&big, &original).unwrap();
    let d = ok(&mut c.cmd(&["-o", &format!("oci:{}:latest", out.display())]));
    let shipped = file_in_top_layer(&out, "latest", "var/task/src/big.bin").unwrap();
    assert!(
        shipped == original,
        "the image ships the bytes that were read for its key"
    );
    let fresh = ok(lamina(&c.project, &c.path("fresh-cache")).args([
        "build",
        "-o",
        &format!("oci:{}:latest", c.path("out2").display()),
    ]));
    assert_eq!(d, fresh, "same digest as a build with a clean cache");
}

// 1, for the dependency layer: a wheel replaced between the key and the layer is an error.
#[test]
fn a_wheel_changed_during_the_build_is_an_error_and_never_a_cache_entry() {
    let c = case();
    let wheel = |body: &[u8]| {
        wheelgen::WheelGen::new("demo_pkg", "1.0", "py3-none-any")
            .file("demo_pkg/__init__.py", body)
    };
    let wheels = c.path("wheels");
    let other = c.path("other");
    let installed = wheel(b"x = 1\n").write(&wheels);
    let edited = wheel(b"x = 2\n").write(&other);
    let out = c.path("out");
    let args = |o: &Path| {
        vec![
            "--wheels".to_string(),
            wheels.display().to_string(),
            "-o".into(),
            format!("oci:{}:latest", o.display()),
        ]
    };
    let a = args(&out);
    let a: Vec<&str> = a.iter().map(String::as_str).collect();
    let o = run(c.cmd(&a).env(
        "LAMINA_TEST_HOOK_AFTER_DEPS_KEY",
        format!("cp '{}' '{}'", edited.display(), installed.display()),
    ));
    assert_fails(
        &o,
        1,
        &["demo_pkg-1.0-py3-none-any.whl", "changed while", "hint:"],
    );
    assert!(!out.exists());
    wheel(b"x = 1\n").write(&wheels);
    ok(&mut c.cmd(&a));
    let (_, layers) = layout_manifest(&out, "latest");
    let init = read_layer(&layers[1])
        .into_iter()
        .find(|e| e.path == "var/task/demo_pkg/__init__.py")
        .unwrap();
    assert_eq!(init.data, b"x = 1\n");
}

// 2. Parallel builds into one layout lose no tag, and two builds creating one layout both succeed.
#[test]
fn parallel_builds_into_one_layout_keep_every_tag() {
    let c = case();
    let layout = c.path("L");
    ok(&mut c.cmd(&["-o", &format!("oci:{}:init", layout.display())]));
    let mut expected = vec!["init".to_string()];
    for round in 0..4 {
        let children: Vec<_> = ["a", "b", "c"]
            .iter()
            .map(|p| {
                let tag = format!("{p}{round}");
                expected.push(tag.clone());
                c.cmd(&["-o", &format!("oci:{}:{tag}", layout.display())])
                    // Widen the window between reading index.json and replacing it.
                    .env("LAMINA_TEST_HOOK_INDEX_READ", "sleep 0.2")
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for ch in children {
            let o = ch.wait_with_output().unwrap();
            assert!(o.status.success(), "{}", stderr(&o));
        }
    }
    let index: Value =
        serde_json::from_slice(&fs::read(layout.join("index.json")).unwrap()).unwrap();
    let mut tags: Vec<String> = index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            m["annotations"]["org.opencontainers.image.ref.name"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    tags.sort();
    expected.sort();
    assert_eq!(tags, expected, "every build's tag is in index.json");

    // Two builds creating the same new layout at once.
    let fresh = c.path("new-layout");
    let children: Vec<_> = ["x", "y"]
        .iter()
        .map(|tag| {
            c.cmd(&["-o", &format!("oci:{}:{tag}", fresh.display())])
                .env("LAMINA_TEST_HOOK_OUTPUT_TEMP", "sleep 0.3")
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for ch in children {
        let o = ch.wait_with_output().unwrap();
        assert!(o.status.success(), "{}", stderr(&o));
    }
    let index: Value =
        serde_json::from_slice(&fs::read(fresh.join("index.json")).unwrap()).unwrap();
    assert_eq!(index["manifests"].as_array().unwrap().len(), 2, "{index}");
    let leftovers: Vec<_> = fs::read_dir(c.t.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".lamina-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

// 4. No argument that can hold a secret is echoed.
#[test]
fn arguments_that_can_hold_a_secret_are_never_echoed() {
    let c = case();
    for args in [
        &["--creds", "nocolonSECRETTOKEN"][..],
        &["--creds", ":onlypassSECRET"],
        &["--env", "SECRETnoequals"],
        &["--env", "=SECRETvalue"],
        &["--registry-endpoint", "SECRETnoequals"],
    ] {
        let o = c.build(args);
        let err = assert_fails(&o, 2, &[args[0], "hint:"]);
        assert!(!err.contains("SECRET"), "{args:?} echoed a secret:\n{err}");
    }
    let o = run(c
        .cmd(&["--push", "127.0.0.1:9/app:v1"])
        .env("LAMINA_REGISTRY_ENDPOINTS", "hostSECRETnoequals"));
    let err = assert_fails(&o, 1, &["LAMINA_REGISTRY_ENDPOINTS", "hint:"]);
    assert!(!err.contains("SECRET"), "{err}");
}

// 7. A closed or full stdout/stderr never panics; a lost digest is an error.
#[test]
fn closed_or_full_standard_streams_never_panic() {
    let c = case();
    let out = |n: &str| format!("oci:{}:latest", c.path(n).display());
    let full = || fs::File::options().write(true).open("/dev/full").unwrap();

    // stdout is full: the digest cannot be delivered, so it is an error (exit 1), said on stderr.
    let o = c
        .cmd(&["-o", &out("o1")])
        .stdout(full())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("stdout") && err.contains("hint:"), "{err}");
    assert!(!err.contains("panicked"), "{err}");

    // stdout is a pipe nobody reads any more (`| true`): a quiet exit, as ripgrep does.
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let o = c
        .cmd(&["-o", &out("o2")])
        .stdout(writer)
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(
        !err.contains("panicked") && !err.contains("error:"),
        "{err}"
    );

    // stderr full or closed: the build still works and stdout has the digest.
    for closed in [false, true] {
        let mut cmd = c.cmd(&["-o", &out(if closed { "o3" } else { "o4" })]);
        if closed {
            let (reader, writer) = std::io::pipe().unwrap();
            drop(reader);
            cmd.stderr(writer);
        } else {
            cmd.stderr(full());
        }
        let o = cmd.stdout(Stdio::piped()).output().unwrap();
        assert_eq!(o.status.code(), Some(0), "closed stderr: {closed}");
        assert!(stdout(&o).starts_with("sha256:"), "{}", stdout(&o));
    }
}

/// A project whose source is `.` (the whole directory), with no `.dockerignore`.
fn dot_project(c: &Case) -> PathBuf {
    let p = c.path("dot");
    fs::create_dir_all(&p).unwrap();
    fs::write(
        p.join("lamina.toml"),
        format!(
            "base = \"oci:{}:python3.12\"\nsrc = [\".\"]\nhandler = \"app.handler\"\n",
            standin().display()
        ),
    )
    .unwrap();
    fs::write(
        p.join("app.py"),
        "def handler(event, context):\n    return 1\n",
    )
    .unwrap();
    p
}

// 8. With `src = ["."]`, outputs, their temporaries and the cache never land in the image.
#[test]
fn outputs_and_the_cache_inside_a_dot_source_stay_out_of_the_image() {
    let c = case();
    let p = dot_project(&c);
    let cache = p.join(".lamina-cache");
    let build = |args: &[&str]| ok(lamina(&p, &cache).arg("build").args(args));
    let first = build(&[]);
    let second = build(&[]);
    assert_eq!(first, second, "the second build sees build/ and the cache");
    // An archive inside the project, twice: neither it nor its directory nor build/ gets in.
    let archive = build(&["-o", "docker-archive:dist/app.tar"]);
    assert_eq!(archive, first);
    let again = build(&["-o", "docker-archive:dist/app.tar"]);
    assert_eq!(again, first, "dist/ stays out");
    fs::remove_dir_all(p.join("dist")).unwrap();
    let third = build(&[]);
    assert_eq!(third, first);
    let (_, layers) = layout_manifest(&p.join("build/image"), "latest");
    let paths: Vec<String> = read_layer(layers.last().unwrap())
        .into_iter()
        .map(|e| e.path)
        .collect();
    assert_eq!(
        paths,
        [
            "var/",
            "var/task/",
            "var/task/app.py",
            "var/task/lamina.toml"
        ],
        "{paths:?}"
    );
}

fn flip_last_byte(path: &Path) {
    let mut b = fs::read(path).unwrap();
    let last = b.len() - 1;
    b[last] ^= 0x01;
    fs::write(path, b).unwrap();
}

// 9. A damaged blob of the right size in an existing output layout is replaced, not kept.
#[test]
fn a_corrupt_blob_in_an_existing_layout_is_replaced() {
    let c = case();
    let out = c.path("out");
    let r = format!("oci:{}:latest", out.display());
    ok(&mut c.cmd(&["-o", &r]));
    let (_, layers) = layout_manifest(&out, "latest");
    for l in &layers {
        flip_last_byte(l);
    }
    ok(&mut c.cmd(&["-o", &r]));
    for l in &layers {
        let name = l.file_name().unwrap().to_string_lossy().into_owned();
        assert_eq!(sha256_hex(&fs::read(l).unwrap()), name, "{}", l.display());
    }
}

// 10. A damaged cache entry is evicted, rebuilt, and warned about.
#[test]
fn a_corrupt_cache_entry_is_evicted_and_rebuilt() {
    let c = case();
    let r = |n: &str| format!("oci:{}:latest", c.path(n).display());
    let first = ok(&mut c.cmd(&["-o", &r("o1")]));
    let (m, _) = layout_manifest(&c.path("o1"), "latest");
    let src_layer = m["layers"].as_array().unwrap().last().unwrap()["digest"]
        .as_str()
        .unwrap()
        .strip_prefix("sha256:")
        .unwrap()
        .to_string();
    let cached = c.cache.join("v1/blobs/sha256").join(&src_layer);
    flip_last_byte(&cached);
    let o = c.build(&["-o", &r("o2")]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(
        err.contains("warning: the cached layer") && err.contains("was damaged"),
        "{err}"
    );
    assert_eq!(stdout(&o), first);
    assert_eq!(sha256_hex(&fs::read(&cached).unwrap()), src_layer);
    // And the next build is a plain cache hit.
    let o = c.build(&["-o", &r("o3")]);
    assert_eq!(stdout(&o), first);
    assert!(!stderr(&o).contains("damaged"), "{}", stderr(&o));
}

// 11. docker-archive names are validated as NAME:TAG references.
#[test]
fn docker_archive_names_are_validated() {
    let c = case();
    for bad in [
        "f.tar:name:tag:extra",
        "f.tar:name@sha256:abc",
        "f.tar:Name:tag",
        "f.tar:na..me:t",
    ] {
        // A bad --output value is a usage error, like any other bad flag value.
        let o = c.build(&["-o", &format!("docker-archive:{bad}")]);
        assert_fails(&o, 2, &["docker-archive", "NAME:TAG", "hint:"]);
        assert!(!c.project.join("f.tar").exists(), "{bad}");
    }
    let good = c.path("good.tar");
    ok(&mut c.cmd(&[
        "-o",
        &format!(
            "docker-archive:{}:localhost:5000/team/app:v1",
            good.display()
        ),
    ]));
    assert!(good.exists());
}

// 12. An output never replaces a source file or a file that is not an archive (without --force).
#[test]
fn outputs_never_replace_sources_or_foreign_files() {
    let c = case();
    let victim = c.project.join("src/shared/responses.py");
    let before = fs::read(&victim).unwrap();
    let o = c.build(&["-o", "docker-archive:src/shared/responses.py:a:b"]);
    assert_fails(&o, 1, &["src/shared/responses.py", "source", "hint:"]);
    assert_eq!(fs::read(&victim).unwrap(), before);
    let o = c.build(&["-o", "docker-archive:src/new.tar"]);
    assert_fails(&o, 1, &["src/new.tar", "source", "hint:"]);
    assert!(!c.project.join("src/new.tar").exists());

    let notes = c.path("notes.txt");
    fs::write(&notes, "mine").unwrap();
    let r = format!("docker-archive:{}", notes.display());
    let o = c.build(&["-o", &r]);
    assert_fails(&o, 1, &["notes.txt", "not a docker-archive", "--force"]);
    assert_eq!(fs::read_to_string(&notes).unwrap(), "mine");
    ok(&mut c.cmd(&["-o", &r, "--force"]));
    assert_ne!(fs::read(&notes).unwrap(), b"mine");
    // An archive lamina wrote before is replaced without --force.
    ok(&mut c.cmd(&["-o", &r, "--env", "X=1"]));
}

fn leftovers(dir: &Path) -> Vec<String> {
    fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("lamina-"))
        .collect()
}

// 13. SIGINT/SIGTERM during the write leave no temporaries; stale ones of killed runs are removed.
#[test]
fn signals_and_killed_runs_leave_no_temporaries() {
    let c = case();
    let dest = c.path("dest");
    fs::create_dir_all(&dest).unwrap();
    // The hook runs in a child whose $PPID is lamina: signal it, then wait until it is gone.
    let signal = |sig: &str| {
        format!("kill -{sig} $PPID; while kill -0 $PPID 2>/dev/null; do sleep 0.05; done")
    };
    for (sig, code) in [("INT", 130), ("TERM", 143)] {
        for r in [
            format!("oci:{}:latest", dest.join("layout").display()),
            format!("docker-archive:{}", dest.join("app.tar").display()),
        ] {
            let o = run(c
                .cmd(&["-o", &r])
                .env("LAMINA_TEST_HOOK_OUTPUT_TEMP", signal(sig)));
            assert_eq!(o.status.code(), Some(code), "{sig} {r}: {}", stderr(&o));
            assert!(stdout(&o).is_empty());
            assert_eq!(leftovers(&dest), Vec::<String>::new(), "{sig} {r}");
            assert!(!dest.join("layout").exists() && !dest.join("app.tar").exists());
        }
    }
    // kill -9 cannot be caught: the temporaries stay until the next run removes them.
    for r in [
        format!("oci:{}:latest", dest.join("layout").display()),
        format!("docker-archive:{}", dest.join("app.tar").display()),
    ] {
        let o = run(c
            .cmd(&["-o", &r])
            .env("LAMINA_TEST_HOOK_OUTPUT_TEMP", signal("KILL")));
        assert_eq!(o.status.code(), None, "killed");
    }
    assert_eq!(leftovers(&dest).len(), 2, "{:?}", leftovers(&dest));
    ok(&mut c.cmd(&[
        "-o",
        &format!("oci:{}:latest", dest.join("layout").display()),
    ]));
    ok(&mut c.cmd(&[
        "-o",
        &format!("docker-archive:{}", dest.join("app.tar").display()),
    ]));
    assert_eq!(leftovers(&dest), Vec::<String>::new());
}

/// A copy of the stand-in base whose `python3.12-docker` config is edited by `edit`.
fn base_with_config(c: &Case, edit: impl Fn(&mut Value)) -> String {
    let dir = c.path("edited-base");
    copy_tree(&standin(), &dir);
    let blob = |d: &str| {
        dir.join("blobs/sha256")
            .join(d.strip_prefix("sha256:").unwrap())
    };
    let put = |bytes: &[u8]| {
        let d = format!("sha256:{}", sha256_hex(bytes));
        fs::write(blob(&d), bytes).unwrap();
        d
    };
    let index_path = dir.join("index.json");
    let mut index: Value = serde_json::from_slice(&fs::read(&index_path).unwrap()).unwrap();
    let entry = index["manifests"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|m| m["annotations"]["org.opencontainers.image.ref.name"] == "python3.12-docker")
        .unwrap();
    let mut manifest: Value =
        serde_json::from_slice(&fs::read(blob(entry["digest"].as_str().unwrap())).unwrap())
            .unwrap();
    let mut config: Value = serde_json::from_slice(
        &fs::read(blob(manifest["config"]["digest"].as_str().unwrap())).unwrap(),
    )
    .unwrap();
    edit(&mut config);
    let config = serde_json::to_vec(&config).unwrap();
    manifest["config"]["digest"] = put(&config).into();
    manifest["config"]["size"] = config.len().into();
    let manifest = serde_json::to_vec(&manifest).unwrap();
    entry["digest"] = put(&manifest).into();
    entry["size"] = manifest.len().into();
    fs::write(&index_path, serde_json::to_vec(&index).unwrap()).unwrap();
    format!("oci:{}:python3.12-docker", dir.display())
}

// 14. A base config that does not fit the OCI types is refused before anything is written.
#[test]
fn a_base_config_that_breaks_the_oci_types_is_refused() {
    let c = case();
    let base = base_with_config(&c, |cfg| cfg["config"]["Env"] = "x".into());
    let out = c.path("out");
    let o = c.build(&[
        "--base",
        &base,
        "-o",
        &format!("oci:{}:latest", out.display()),
    ]);
    assert_fails(
        &o,
        1,
        &["edited-base", "config.Env", "expected a sequence", "hint:"],
    );
    assert!(!out.exists());
    let r = format!("oci:{}:latest", out.display());
    let base = base_with_config(&c, |cfg| cfg["rootfs"]["diff_ids"][0] = 5.into());
    let o = c.build(&["--base", &base, "-o", &r]);
    assert_fails(&o, 1, &["edited-base", "rootfs", "hint:"]);
    let base = base_with_config(&c, |cfg| cfg["rootfs"]["diff_ids"][0] = "sha256:zz".into());
    let o = c.build(&["--base", &base, "-o", &r]);
    assert_fails(&o, 1, &["edited-base", "rootfs.diff_ids[0]", "hint:"]);
}

// 15. SOURCE_DATE_EPOCH beyond what RFC 3339 can write is refused.
#[test]
fn source_date_epoch_beyond_rfc3339_is_refused() {
    let c = case();
    let out = c.path("out");
    let r = format!("oci:{}:latest", out.display());
    let o = run(c.cmd(&["-o", &r]).env("SOURCE_DATE_EPOCH", "253402300800"));
    assert_fails(
        &o,
        1,
        &[
            "SOURCE_DATE_EPOCH",
            "253402300800",
            "9999-12-31T23:59:59Z",
            "hint:",
        ],
    );
    assert!(!out.exists());
    ok(c.cmd(&["-o", &r]).env("SOURCE_DATE_EPOCH", "253402300799"));
    let (m, _) = layout_manifest(&out, "latest");
    let cfg = blob_json(&out, m["config"]["digest"].as_str().unwrap());
    assert_eq!(cfg["created"], "9999-12-31T23:59:59Z");
}

// 16. Paths .dockerignore excludes are never looked at, even with names that are not UTF-8.
#[test]
fn excluded_paths_are_never_looked_at() {
    let c = case();
    let bad = c
        .project
        .join(std::ffi::OsStr::from_bytes(b"src/bad\xffname"));
    fs::create_dir_all(&bad).unwrap();
    fs::write(bad.join("x.py"), "x = 1\n").unwrap();
    let ignore = c.project.join(".dockerignore");
    let mut rules = fs::read_to_string(&ignore).unwrap();
    let fifo = c.project.join("src/pipe");
    assert!(Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let before = rules.clone();
    rules.push_str("src/bad*\nsrc/pipe\n");
    fs::write(&ignore, rules).unwrap();
    ok(&mut c.cmd(&["-o", &format!("oci:{}:latest", c.path("out").display())]));
    // Not excluded, the same names are errors: the exclusion is what keeps them out.
    fs::write(&ignore, before).unwrap();
    let out2 = format!("oci:{}:latest", c.path("out2").display());
    assert_fails(&c.build(&["-o", &out2]), 1, &["src/pipe", "FIFO"]);
    fs::remove_file(&fifo).unwrap();
    assert_fails(&c.build(&["-o", &out2]), 1, &["not UTF-8"]);
}

// 17. LAMINA_CACHE_DIR set but empty means "not set", never the current directory.
#[test]
fn an_empty_cache_dir_variable_is_unset() {
    let c = case();
    let xdg = c.path("xdg");
    ok(
        c.cmd(&["-o", &format!("oci:{}:latest", c.path("out").display())])
            .env("LAMINA_CACHE_DIR", "")
            .env("XDG_CACHE_HOME", &xdg),
    );
    assert!(!c.project.join("v1").exists(), "the cache went to ./v1");
    assert!(xdg.join("lamina/v1").is_dir());
}

// 18. Flag values that cannot work are refused where they are parsed.
#[test]
fn flag_values_that_cannot_work_are_refused_at_parse_time() {
    let c = case();
    for (flag, value) in [("--chunk-size", "0"), ("--parallel", "0")] {
        let o = c.build(&["--push", "127.0.0.1:9/app:v1", flag, value]);
        assert_fails(&o, 2, &[flag, "hint:"]);
    }
}
