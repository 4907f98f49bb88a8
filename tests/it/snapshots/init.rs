//! `lamina init` without what it translates.

use super::{snap, Case};
use std::fs;

#[test]
fn no_dockerfile() {
    let c = Case::new();
    let empty = c.path().join("empty");
    fs::create_dir(&empty).unwrap();
    let mut cmd = c.lamina(&["init", "-C", empty.to_str().unwrap()]);
    let o = snap("init_no_dockerfile", &mut cmd, &[c.path()]);
    assert_eq!(o.status.code(), Some(1));
}
