//! The display's command line checks the matrix size.

use std::process::Command;

#[test]
fn a_bad_size_is_refused() {
    let out = Command::new(env!("CARGO_BIN_EXE_hallq-display"))
        .args([
            "--user",
            "led-3",
            "--password",
            "x",
            "--window",
            "3",
            "--size",
            "128by32",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("WIDTHxHEIGHT"));
}
