//! The announcer's command line: a broken pack or a bad option stops it at
//! start with a message that names the problem.

use std::process::Command;

fn announcer(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_hallq-announcer"))
        .args(["--password", "x", "--port", "1"])
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn a_missing_pack_is_named() {
    let out = announcer(&["--pack", "/nonexistent/pack", "--wav-dir", "/tmp"]);
    assert!(!out.status.success());
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("/nonexistent/pack/pack.toml"), "{said}");
}

#[test]
fn bad_quiet_hours_are_refused() {
    let out = announcer(&["--quiet", "25:00-07:00"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no such time"));
}

#[test]
fn without_a_sound_card_it_says_to_use_wav_files() {
    // This machine has no sound card; a build without `sound` has no output
    // but WAV files. Either way the announcer stops and says what to do.
    let out = announcer(&[]);
    assert!(!out.status.success());
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("--wav-dir"), "{said}");
}
