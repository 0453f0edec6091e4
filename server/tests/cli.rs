//! The `hallq` binary's command line: config errors are located for the
//! person who installs the hall.

use std::process::Command;

fn hallq() -> Command {
    Command::new(env!("CARGO_BIN_EXE_hallq"))
}

#[test]
fn check_accepts_the_demo_hall() {
    let out = hallq()
        .args([
            "check",
            concat!(env!("CARGO_MANIFEST_DIR"), "/../halls/demo.toml"),
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("许昌市民之家") && text.contains("12 windows"),
        "{text}"
    );
}

#[test]
fn a_bad_hall_file_is_named_with_line_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    let demo = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../halls/demo.toml"))
        .unwrap();
    let bad = demo.replacen("serves = [\"social\"]", "serves = [\"socail\"]", 1);
    let line = bad.lines().position(|l| l.contains("socail")).unwrap() + 1;
    std::fs::write(&path, bad).unwrap();
    for args in [
        vec!["check", path.to_str().unwrap()],
        vec![
            "serve",
            "--hall",
            path.to_str().unwrap(),
            "--http",
            "127.0.0.1:0",
            "--mqtt",
            "127.0.0.1:0",
        ],
    ] {
        let out = hallq().args(&args).output().unwrap();
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains(&format!(
                "bad.toml:{line}: windows[8].serves: unknown service"
            )),
            "{err}"
        );
    }
}
