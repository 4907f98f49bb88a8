//! Reproducibility proven the way Reproducible Builds does it: an oracle that is slow and
//! obviously right, on a large real wheel set. Every `.py` of the traffic-manager set (google-ads,
//! botocore, pydantic, cryptography, pycparser, …: 34 wheels from PyPI, downloaded once by
//! scripts/test.sh) is compiled by lamina's pool with 1, 2 and 4 workers, in sorted and in
//! shuffled orders, and each result is compared byte for byte with what `py_compile` writes for
//! that one file in a fresh interpreter (one process per file). Not a sample.

use lamina_core::install::bytecode::pool;
use sha2::Digest as _;
use std::collections::BTreeMap;
use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// The traffic-manager wheel set (`LAMINA_TEST_TRAFFIC_WHEELS`, else scripts/test.sh's cache).
pub fn traffic_wheels() -> PathBuf {
    let dir = match std::env::var_os("LAMINA_TEST_TRAFFIC_WHEELS") {
        Some(d) => PathBuf::from(d),
        None => {
            PathBuf::from(std::env::var("HOME").unwrap()).join(".cache/lamina-test/wheels-traffic")
        }
    };
    assert!(
        dir.join(".complete").is_file(),
        "{} has no wheels; run scripts/test.sh (it downloads the traffic-manager set)",
        dir.display()
    );
    dir
}

/// Every `.py` in the wheels, by in-image path (`/var/task/…`), as pip would install them.
fn sources(wheels: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut names: Vec<PathBuf> = fs::read_dir(wheels)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "whl"))
        .collect();
    names.sort();
    let mut out = BTreeMap::new();
    for w in names {
        let mut z = zip::ZipArchive::new(fs::File::open(&w).unwrap()).unwrap();
        for i in 0..z.len() {
            let mut e = z.by_index(i).unwrap();
            let name = e.name().unwrap().to_string();
            if !name.ends_with(".py") || name.contains(".data/") {
                continue;
            }
            let mut data = Vec::new();
            e.read_to_end(&mut data).unwrap();
            out.insert(format!("/var/task/{name}"), data);
        }
    }
    out
}

/// A fixed permutation (xorshift; the seed names it).
fn shuffled<T: Clone>(items: &[T], seed: u64) -> Vec<T> {
    let mut v = items.to_vec();
    let mut x = seed;
    for i in (1..v.len()).rev() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        v.swap(i, (x % (i as u64 + 1)) as usize);
    }
    v
}

/// The oracle: one fresh interpreter per file (the source on stdin, the `.pyc` on stdout), doing
/// what `py_compile` does for `invalidation_mode=UNCHECKED_HASH` (the driver's one preamble first:
/// every one-character string interned), with the same hash seed and a clean environment. `Err`
/// for a source that does not compile. (`bytecode::bytes_do_not_depend_on_workers_order_or_history`
/// checks that these are `py_compile`'s bytes; importing `py_compile` in 8,000 processes would
/// triple the oracle's time.)
fn oracle(py: &Path, files: &[(String, Vec<u8>)]) -> BTreeMap<String, Result<Vec<u8>, ()>> {
    const ORACLE: &str = "import sys\n[sys.intern(chr(i)) for i in range(256)]\nfrom importlib.util import source_hash\nfrom importlib._bootstrap_external import _code_to_hash_pyc\nsource = sys.stdin.buffer.read()\ntry:\n    code = compile(source, sys.argv[1], 'exec', dont_inherit=True, optimize=-1)\nexcept Exception:\n    sys.exit(3)\nsys.stdout.buffer.write(_code_to_hash_pyc(code, source_hash(source), False))\n";
    let next = AtomicUsize::new(0);
    let out = Mutex::new(BTreeMap::new());
    std::thread::scope(|s| {
        for _ in 0..std::thread::available_parallelism().map_or(2, |n| n.get()) {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some((path, source)) = files.get(i) else {
                    return;
                };
                let mut child = Command::new(py)
                    .env_clear()
                    .env("PYTHONHASHSEED", "0")
                    .args(["-S", "-c", ORACLE, path])
                    .stdin(Stdio::piped())
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap();
                let mut stdin = child.stdin.take().unwrap();
                let src = source.clone();
                let writer = std::thread::spawn(move || stdin.write_all(&src));
                let o = child.wait_with_output().unwrap();
                writer.join().unwrap().unwrap();
                let r = match o.status.code() {
                    Some(0) => Ok(o.stdout),
                    Some(3) => Err(()),
                    _ => panic!("compiling {path}: {}", String::from_utf8_lossy(&o.stderr)),
                };
                out.lock().unwrap().insert(path.clone(), r);
            });
        }
    });
    out.into_inner().unwrap()
}

#[test]
fn every_pyc_of_a_real_wheel_set_is_what_a_fresh_interpreter_writes_whatever_the_workers_or_order()
{
    let all = sources(&traffic_wheels());
    assert!(all.len() > 5000, "{} sources", all.len());
    assert!(all.contains_key("/var/task/pycparser/c_parser.py"));
    let files: Vec<(String, Vec<u8>)> = all.into_iter().collect();
    let image = lamina_core::oci::open(
        &lamina_core::oci::reference::ImageRef::Layout {
            dir: crate::bytecode::python_base().to_path_buf(),
            tag: Some("py312".into()),
        },
        &lamina_core::oci::Platform::linux_amd64(),
    )
    .unwrap();
    let scratch = tempfile::tempdir().unwrap();
    let lamina_core::install::bytecode::Found::Python(interp) =
        lamina_core::install::bytecode::interp::for_image(
            &image,
            &scratch.path().join("i"),
            &scratch.path().join("tmp"),
        )
        .unwrap()
    else {
        panic!("the base has a python")
    };
    let make = || interp.command(None);
    let compile = |jobs: &[(String, Vec<u8>)], workers: usize| {
        let out = Mutex::new(BTreeMap::new());
        let sink = |i: usize, r: pool::Compiled| {
            out.lock()
                .unwrap()
                .insert(jobs[i].0.clone(), r.map_err(|_| ()));
        };
        pool::run(
            &make,
            12,
            workers,
            std::time::Duration::from_secs(300),
            |send| {
                for (i, (p, s)) in jobs.iter().enumerate() {
                    assert!(send(i, p.clone(), s.clone()));
                }
                Ok::<(), ()>(())
            },
            &sink,
        )
        .unwrap()
        .unwrap();
        out.into_inner().unwrap()
    };
    let py = crate::support::lambda_base::python().join("bin/python3.12");
    let truth = oracle(&py, &files);
    let failing = truth.values().filter(|r| r.is_err()).count();
    let mut report = Vec::new();
    for workers in [1, 2, 4] {
        for (order, jobs) in [
            ("sorted", files.clone()),
            (
                "shuffled",
                shuffled(&files, 0x9e37_79b9_7f4a_7c15 + workers as u64),
            ),
        ] {
            let got = compile(&jobs, workers);
            assert_eq!(got.len(), truth.len());
            let differ: Vec<&String> = truth
                .iter()
                .filter(|(p, want)| got.get(*p) != Some(*want))
                .map(|(p, _)| p)
                .collect();
            report.push(format!(
                "{workers} worker(s), {order}: {} of {} differ from the oracle{}",
                differ.len(),
                truth.len(),
                if differ.is_empty() {
                    String::new()
                } else {
                    format!(" (first: {:?})", &differ[..differ.len().min(5)])
                }
            ));
        }
    }
    eprintln!(
        "{} sources ({failing} do not compile, the same for both):\n{}",
        truth.len(),
        report.join("\n")
    );
    assert!(
        report.iter().all(|l| l.contains(": 0 of")),
        "{}",
        report.join("\n")
    );
}

/// The matrix's wheel set: the traffic-manager set's smaller packages (pycparser, pydantic,
/// requests, cffi, PyYAML, …), about 400 modules, with two native extensions.
fn matrix_wheels(dir: &Path) -> Vec<String> {
    const KEEP: &[&str] = &[
        "annotated_types-",
        "certifi-",
        "cffi-",
        "charset_normalizer-",
        "idna-",
        "jmespath-",
        "pycparser-",
        "pydantic-",
        "pydantic_core-",
        "python_dateutil-",
        "pyyaml-",
        "requests-",
        "six-",
        "typing_extensions-",
        "typing_inspection-",
        "urllib3-",
    ];
    fs::create_dir_all(dir).unwrap();
    let mut names = Vec::new();
    for e in fs::read_dir(traffic_wheels()).unwrap() {
        let name = e.unwrap().file_name().to_string_lossy().into_owned();
        if name.ends_with(".whl") && KEEP.iter().any(|k| name.to_lowercase().starts_with(k)) {
            fs::copy(traffic_wheels().join(&name), dir.join(&name)).unwrap();
            names.push(name);
        }
    }
    names.sort();
    assert_eq!(names.len(), KEEP.len(), "{names:?}");
    names
}

/// A pylock.toml naming the same wheels by path and hash.
fn pylock(project: &Path, names: &[String]) {
    let mut lock = String::from(
        "lock-version = \"1.0\"\ncreated-by = \"lamina tests\"\nrequires-python = \">=3.12\"\n",
    );
    for n in names {
        let mut parts = n.split('-');
        let (name, version) = (parts.next().unwrap(), parts.next().unwrap());
        let hash = hex::encode(sha2::Sha256::digest(
            fs::read(project.join("wheels").join(n)).unwrap(),
        ));
        lock += &format!(
            "\n[[packages]]\nname = \"{}\"\nversion = \"{version}\"\nwheels = [{{ path = \"wheels/{n}\", hashes = {{ sha256 = \"{hash}\" }} }}]\n",
            name.to_lowercase().replace('_', "-")
        );
    }
    fs::write(project.join("pylock.toml"), lock).unwrap();
}

/// One build of the matrix: how it differs from the baseline.
#[derive(Default, Clone)]
struct Vary {
    dir: Option<&'static str>,
    mtimes: bool,
    umask: Option<&'static str>,
    locale: bool,
    one_core: bool,
    lock: bool,
    cache: Option<&'static str>,
}

/// The digest `lamina build` prints.
fn digest_of(out: &str) -> String {
    let i = out
        .find("sha256:")
        .unwrap_or_else(|| panic!("no digest in {out:?}"));
    out[i..i + 71].to_string()
}

#[test]
fn one_digest_whatever_directory_mtimes_umask_locale_cores_cache_or_input_kind() {
    use crate::support::*;
    let t = tempfile::tempdir().unwrap();
    let template = example_copy(t.path());
    let names = matrix_wheels(&template.join("wheels"));
    pylock(&template, &names);
    let base = format!("oci:{}:py312", crate::bytecode::python_base().display());
    // Each build: the image digest, and the sha256 of its SBOM and of its provenance.
    let build = |name: &str, v: &Vary| -> (String, String, String) {
        let project = t.path().join(v.dir.unwrap_or("base")).join(name);
        copy_tree(&template, &project);
        if v.mtimes {
            // Other mtimes for every input: the sources, the wheels, the lock.
            let o = run(Command::new("find").arg(&project).args([
                "-exec",
                "touch",
                "-h",
                "-d",
                "2011-11-11 11:11:11",
                "{}",
                "+",
            ]));
            assert!(o.status.success());
        }
        let cache = t
            .path()
            .join(v.cache.map_or(format!("cache-{name}"), String::from));
        let mut args = vec!["build".to_string(), "--base".into(), base.clone()];
        args.extend(["--missing-deps".into(), "warn".into()]);
        if v.lock {
            args.extend(["--lock".into(), "pylock.toml".into()]);
        } else {
            args.extend(["--wheels".into(), "wheels".into()]);
        }
        let out = t.path().join(format!("out-{name}"));
        args.extend(["-o".into(), format!("oci:{}:latest", out.display())]);
        let (sbom, provenance) = (
            t.path().join(format!("{name}.sbom.json")),
            t.path().join(format!("{name}.provenance.json")),
        );
        args.extend(["--sbom".into(), sbom.display().to_string()]);
        args.extend(["--provenance".into(), provenance.display().to_string()]);
        let lamina_bin = env!("CARGO_BIN_EXE_lamina");
        let mut script = format!("umask {}; exec ", v.umask.unwrap_or("022"));
        if v.one_core {
            script += "taskset -c 0 ";
        }
        script += "\"$0\" \"$@\"";
        let mut c = Command::new("sh");
        c.arg("-c").arg(&script).arg(lamina_bin).args(&args);
        c.current_dir(&project)
            .env("LAMINA_CACHE_DIR", &cache)
            .env("SOURCE_DATE_EPOCH", EPOCH)
            .env_remove("LAMINA_COMPILE_WORKERS");
        if v.locale {
            c.env("TZ", "Pacific/Kiritimati")
                .env("LC_ALL", "C.UTF-8")
                .env("LANG", "tr_TR.UTF-8");
        } else {
            c.env("TZ", "UTC").env("LC_ALL", "C");
        }
        let o = run(&mut c);
        assert!(o.status.success(), "{name}: {}", stderr(&o));
        if !v.one_core {
            assert!(
                stderr(&o).contains("bytecode: compiled by the base's /var/lang/bin/python3.12")
                    || v.cache.is_some(),
                "{name}: {}",
                stderr(&o)
            );
        }
        let sha = |p: &Path| hex::encode(sha2::Sha256::digest(fs::read(p).unwrap()));
        (digest_of(&stdout(&o)), sha(&sbom), sha(&provenance))
    };
    let row = |name: &str, (d, s, p): &(String, String, String)| {
        format!("{name}: {d} sbom {} provenance {}", &s[..12], &p[..12])
    };
    let first = build("baseline", &Vary::default());
    let baseline = first.0.clone();
    let mut rows = vec![row("baseline", &first)];
    // The provenance records the lock when the wheels come from one: one provenance per input kind.
    let mut provenance_by_kind: BTreeMap<bool, String> = BTreeMap::new();
    provenance_by_kind.insert(false, first.2.clone());
    let mut attestations_differ = Vec::new();
    let all = Vary {
        dir: Some("elsewhere/deeper"),
        mtimes: true,
        umask: Some("077"),
        locale: true,
        one_core: true,
        lock: true,
        cache: None,
    };
    let cases: Vec<(&str, Vary)> = vec![
        (
            "another-directory",
            Vary {
                dir: Some("elsewhere/deeper"),
                ..Vary::default()
            },
        ),
        (
            "other-mtimes",
            Vary {
                mtimes: true,
                ..Vary::default()
            },
        ),
        (
            "umask-077",
            Vary {
                umask: Some("077"),
                ..Vary::default()
            },
        ),
        (
            "tz-and-locale",
            Vary {
                locale: true,
                ..Vary::default()
            },
        ),
        (
            "one-core",
            Vary {
                one_core: true,
                ..Vary::default()
            },
        ),
        (
            "warm-cache",
            Vary {
                cache: Some("cache-baseline"),
                ..Vary::default()
            },
        ),
        (
            "lock-not-wheels",
            Vary {
                lock: true,
                ..Vary::default()
            },
        ),
        ("all-at-once", all),
    ];
    for (name, v) in &cases {
        let got = build(name, v);
        let want_provenance = provenance_by_kind
            .entry(v.lock)
            .or_insert_with(|| got.2.clone());
        if got.1 != first.1 || got.2 != *want_provenance {
            attestations_differ.push(name.to_string());
        }
        rows.push(row(name, &got));
    }
    eprintln!("{}", rows.join("\n"));
    assert!(
        rows.iter().all(|r| r.contains(&baseline)),
        "not one digest:\n{}",
        rows.join("\n")
    );
    assert!(
        attestations_differ.is_empty(),
        "the SBOM (one for all) or the provenance (one per input kind: wheels, lock) differs in {attestations_differ:?}:\n{}",
        rows.join("\n")
    );
}

/// A cold runner whose layers both hit the remote cache, bytecode on, base in the registry: the
/// same digest as the runner that built them, and not one GET of a base layer (the bytecode's key
/// comes from the base's manifest; its interpreter is unpacked only to compile).
#[test]
fn a_remote_cache_hit_with_bytecode_reads_no_base_layer() {
    crate::needs_tools!();
    use crate::support::registry::{Auth, Registry};
    use crate::support::*;
    let reg = Registry::start(Auth::None);
    let t = tempfile::tempdir().unwrap();
    let project = pushing_project(t.path());
    let layout = crate::bytecode::python_base();
    let base = format!("{}/lambda/base:py312", reg.addr);
    let o = run(tool("skopeo")
        .args([
            "copy",
            "-q",
            "--preserve-digests",
            "--dest-tls-verify=false",
        ])
        .arg(format!("oci:{}:py312", layout.display()))
        .arg(format!("docker://{base}")));
    assert!(o.status.success(), "{}", stderr(&o));
    let (_, layers) = layout_manifest(layout, "py312");
    let base_layers: Vec<String> = layers
        .iter()
        .map(|p| format!("sha256:{}", p.file_name().unwrap().to_string_lossy()))
        .collect();
    let base_gets = || -> usize { base_layers.iter().map(|d| reg.count("GET", d)).sum() };
    let push = |cache: &str, tag: &str| {
        let o = run(lamina(&project, &t.path().join(cache))
            .args([
                "build", "--base", &base, "--python", "3.12", "--glibc", "2.34", "--push",
            ])
            .arg(format!("{}/lambda/app:{tag}", reg.addr)));
        assert!(o.status.success(), "{tag}: {}", stderr(&o));
        (digest_of(&stdout(&o)), stderr(&o))
    };
    let (a, err_a) = push("cache-a", "a");
    assert!(
        err_a.contains("bytecode: compiled by the base's /var/lang/bin/python3.12"),
        "{err_a}"
    );
    assert!(base_gets() > 0, "runner A compiled, so it read the base");
    let before = base_gets();
    let (b, err_b) = push("cache-b", "b");
    assert_eq!(a, b, "{err_b}");
    assert!(
        err_b.contains("dependency layer: from the remote cache"),
        "{err_b}"
    );
    assert!(
        err_b.contains("source layer: from the remote cache"),
        "{err_b}"
    );
    assert!(
        err_b.contains(
            "bytecode: every layer came from a cache; the base's interpreter was not needed"
        ),
        "{err_b}"
    );
    assert_eq!(
        base_gets(),
        before,
        "runner B fetched a base layer:\n{err_b}"
    );
}
