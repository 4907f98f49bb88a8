use super::*;

fn resolver(files: &[(&str, &str)], opts: &[(&str, &str)]) -> (tempfile::TempDir, Resolver) {
    let t = tempfile::tempdir().unwrap();
    for (p, text) in files {
        let full = t.path().join(p);
        std::fs::create_dir_all(full.parent().unwrap()).unwrap();
        std::fs::write(full, text).unwrap();
    }
    let opts = opts
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let r = Resolver::open(&t.path().join("serverless.yml"), opts).unwrap();
    (t, r)
}

fn get(r: &mut Resolver, address: &str) -> Result<Option<String>, VarError> {
    let root = r.root();
    let n = r.lookup(&root, address)?.unwrap();
    let n = r.deep(&n)?;
    Ok(n.as_str().map(str::to_string))
}

#[test]
fn sources_defaults_and_nesting() {
    let (_t, mut r) = resolver(
        &[
            (
                "serverless.yml",
                "service: tm\nprovider:\n  stage: ${opt:stage, 'dev'}\n  region: ${opt:region, \"us-east-1\"}\ncustom:\n  dev: {repo: tm-dev}\n  prod: {repo: tm-prod}\n  x: ${self:custom.${sls:stage}.repo}\n  y: ${self:service}-${sls:stage}\n  z: ${env:LAMINA_TEST_UNSET_VAR, self:custom.y}\n  f: ${file(./sls/c.yml):a.b}\n  g: ${param:p}\n  h: ${aws:region}\nstages:\n  default:\n    params: {p: pv}\n",
            ),
            ("sls/c.yml", "a:\n  b: ${self:service}-file\n"),
        ],
        &[],
    );
    assert_eq!(get(&mut r, "custom.x").unwrap().unwrap(), "tm-dev");
    assert_eq!(get(&mut r, "custom.y").unwrap().unwrap(), "tm-dev");
    assert_eq!(get(&mut r, "custom.z").unwrap().unwrap(), "tm-dev");
    assert_eq!(get(&mut r, "custom.f").unwrap().unwrap(), "tm-file");
    assert_eq!(get(&mut r, "custom.g").unwrap().unwrap(), "pv");
    assert_eq!(get(&mut r, "custom.h").unwrap().unwrap(), "us-east-1");
    let (_t, mut r) = resolver(
        &[("serverless.yml", "provider:\n  stage: ${opt:stage, 'dev'}\ncustom:\n  dev: {repo: a}\n  prod: {repo: b}\n  x: ${self:custom.${sls:stage}.repo}\n")],
        &[("stage", "prod")],
    );
    assert_eq!(get(&mut r, "custom.x").unwrap().unwrap(), "b");
}

#[test]
fn unresolvable_is_an_error_with_the_line() {
    let (_t, mut r) = resolver(
        &[("serverless.yml", "a: 1\nb: ${opt:stage}\nc: ${aws:accountId}\nd: ${file(./nope.yml)}\ne: ${self:e}\nf: !Sub '${AWS::Region}-x'\n")],
        &[],
    );
    let e = get(&mut r, "b").unwrap_err().to_string();
    assert!(
        e.contains("serverless.yml:2")
            && e.contains("${opt:stage}")
            && e.contains("no --stage option"),
        "{e}"
    );
    let e = get(&mut r, "c").unwrap_err().to_string();
    assert!(
        e.contains(":3") && e.contains("only when Serverless deploys"),
        "{e}"
    );
    let e = get(&mut r, "d").unwrap_err();
    assert!(matches!(e, VarError::MissingFile { .. }), "{e}");
    assert!(
        e.to_string().contains("serverless.yml:4")
            && e.to_string().contains("nope.yml does not exist"),
        "{e}"
    );
    assert!(get(&mut r, "e")
        .unwrap_err()
        .to_string()
        .contains("refers to itself"));
    assert!(get(&mut r, "f")
        .unwrap_err()
        .to_string()
        .contains("CloudFormation reference"));
}

#[test]
fn an_include_cycle_is_named_where_it_closes() {
    let (_t, mut r) = resolver(
        &[
            (
                "serverless.yml",
                "a: ${file(./loop.yml)}\nb: ${file(./one.yml)}\n",
            ),
            ("loop.yml", "${file(./loop.yml)}\n"),
            ("one.yml", "x:\n  y: ${file(./two.yml)}\n"),
            ("two.yml", "z: ${file(./one.yml)}\n"),
        ],
        &[],
    );
    let e = get(&mut r, "a").unwrap_err();
    assert_eq!(
        e.to_string(),
        "include cycle at loop.yml:1: ${file(./loop.yml)} includes itself"
    );
    // Through a mapping (resolved deep): named, not an endless descent.
    let e = get(&mut r, "b").unwrap_err();
    assert_eq!(
        e.to_string(),
        "include cycle at one.yml:2: ${file(./two.yml)} is included again, through two.yml:1 ${file(./one.yml)}"
    );
}
