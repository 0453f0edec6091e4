//! The pad's command line refuses what a clerk mistypes before it connects.

use std::process::Command;

#[test]
fn an_unreachable_broker_is_reported() {
    let out = Command::new(env!("CARGO_BIN_EXE_hallq-pad"))
        .args([
            "--port",
            "1",
            "--window",
            "3",
            "--password",
            "x",
            "call-next",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot connect the pad"));
}
