//! TLS as an option: with a certificate the server speaks HTTPS and MQTT
//! over TLS; with `--tls-only` nothing listens in clear. Clients are the
//! everyday tools (`curl`, `mosquitto_sub`), the certificate a self-signed
//! one made by `openssl` for the test.

use std::path::Path;
use std::process::Command;

use hallq_contract::Topic;
use hallq_tests::{HALL, Server, demo_hall, topic};

/// The hall's own CA and a server certificate it signed for 127.0.0.1 and
/// localhost: (CA file, certificate, key).
fn certificate(dir: &Path) -> (String, String, String) {
    let p = |name: &str| dir.join(name).to_str().unwrap().to_owned();
    let openssl = |args: &str| {
        let out = Command::new("openssl")
            .args(args.split(' '))
            .output()
            .expect("openssl");
        assert!(out.status.success(), "{out:?}");
    };
    let ec = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
    let (ca, ca_key, key, csr, cert, ext) = (
        p("ca.pem"),
        p("ca.key"),
        p("key.pem"),
        p("server.csr"),
        p("cert.pem"),
        p("ext.cnf"),
    );
    openssl(&format!(
        "req -x509 {ec} -days 2 -subj /CN=hallq-test-CA -keyout {ca_key} -out {ca}"
    ));
    std::fs::write(
        &ext,
        "basicConstraints=CA:FALSE\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n",
    )
    .unwrap();
    openssl(&format!(
        "req {ec} -subj /CN=hallq -keyout {key} -out {csr}"
    ));
    openssl(&format!(
        "x509 -req -in {csr} -CA {ca} -CAkey {ca_key} -CAcreateserial -days 2 -extfile {ext} -out {cert}"
    ));
    (ca, cert, key)
}

fn curl(args: &[&str]) -> std::process::Output {
    Command::new("curl")
        .args(["-s", "--max-time", "5"])
        .args(args)
        .output()
        .expect("curl")
}

/// A ticket at the kiosk over HTTPS, trusting the hall's CA.
fn take_https(server: &Server, ca: &str) -> serde_json::Value {
    let url = format!(
        "https://127.0.0.1:{}/api/v1/halls/{HALL}/tickets",
        server.http.port()
    );
    let out = curl(&[
        "--cacert",
        ca,
        "-u",
        "kiosk-1:demo-kiosk-1-pass",
        "-H",
        "content-type: application/json",
        "-d",
        r#"{"service":"business"}"#,
        &url,
    ]);
    assert!(out.status.success(), "{out:?}");
    serde_json::from_slice(&out.stdout).expect("a ticket as JSON")
}

fn mosquitto_sub(port: u16, cafile: Option<&str>, state: &str) -> std::process::Output {
    let mut cmd = Command::new("mosquitto_sub");
    cmd.args(["-h", "127.0.0.1", "-p", &port.to_string()])
        .args(["-u", "led-3", "-P", "demo-led-3-pass", "-I", "led-3."])
        .args(["-t", state, "-C", "1", "-W", "5"]);
    if let Some(ca) = cafile {
        cmd.args(["--cafile", ca]);
    }
    cmd.output().expect("mosquitto_sub")
}

#[test]
fn tls_only_serves_https_and_mqtt_over_tls_and_nothing_in_clear() {
    let dir = tempfile::tempdir().unwrap();
    let (ca, cert, key) = certificate(dir.path());
    let server = Server::start_hall(
        &demo_hall(),
        &dir.path().join("data"),
        &[
            "--tls-cert",
            &cert,
            "--tls-key",
            &key,
            "--mqtt-tls",
            "127.0.0.1:0",
            "--tls-only",
        ],
    );
    assert_eq!(
        server.mqtt.port(),
        0,
        "no plain MQTT listener with --tls-only"
    );
    let tls_port = server.mqtt_tls.expect("an MQTT-over-TLS listener").port();

    // HTTPS with the hall's certificate.
    let url = format!(
        "https://127.0.0.1:{}/api/v1/halls/{HALL}",
        server.http.port()
    );
    let ok = curl(&["--cacert", &ca, &url]);
    assert!(ok.status.success(), "{ok:?}");
    let hall: serde_json::Value = serde_json::from_slice(&ok.stdout).unwrap();
    assert_eq!(hall["hall"], HALL);
    // A ticket over HTTPS, with the kiosk's login.
    let t = take_https(&server, &ca);
    assert_eq!(t["number"], "A001", "{t}");
    // Plain HTTP to the same port gets no answer.
    let plain = curl(&[&format!("http://127.0.0.1:{}/healthz", server.http.port())]);
    assert!(
        !String::from_utf8_lossy(&plain.stdout).contains("\"ok\""),
        "{plain:?}"
    );

    // MQTT over TLS: a display gets its window's retained state.
    let state = topic(Topic::WindowState("3"));
    let got = mosquitto_sub(tls_port, Some(&ca), &state);
    assert!(got.status.success(), "{got:?}");
    let shown: serde_json::Value = serde_json::from_slice(&got.stdout).unwrap();
    assert_eq!(shown["window"], "3");
    // Without TLS the same port refuses.
    let refused = mosquitto_sub(tls_port, None, &state);
    assert!(!refused.status.success(), "{refused:?}");
    assert!(refused.stdout.is_empty());
}

#[test]
fn a_bad_certificate_file_stops_the_start_with_its_name() {
    let dir = tempfile::tempdir().unwrap();
    let cert = dir.path().join("cert.pem");
    std::fs::write(&cert, "not a certificate").unwrap();
    let cert = cert.to_str().unwrap();
    let err = Server::try_start(
        &demo_hall(),
        &dir.path().join("data"),
        &["--tls-cert", cert, "--tls-key", cert],
    )
    .unwrap_err();
    assert!(err.contains("cert.pem"), "{err}");
}

#[test]
fn the_pad_program_works_over_tls_with_the_halls_ca() {
    let dir = tempfile::tempdir().unwrap();
    let (ca, cert, key) = certificate(dir.path());
    let server = Server::start_hall(
        &demo_hall(),
        &dir.path().join("data"),
        &[
            "--tls-cert",
            &cert,
            "--tls-key",
            &key,
            "--mqtt-tls",
            "127.0.0.1:0",
            "--tls-only",
        ],
    );
    take_https(&server, &ca);
    let port = server.mqtt_tls.unwrap().port().to_string();
    let pad = |words: &[&str], tls: bool| {
        let mut cmd = Command::new(hallq_tests::binary("hallq-pad"));
        cmd.args([
            "--port",
            &port,
            "--window",
            "3",
            "--password",
            "demo-pad-3-pass",
        ]);
        if tls {
            cmd.args(["--cafile", ca.as_str()]);
        }
        cmd.args(words).output().unwrap()
    };
    let open = pad(&["open", "zhang"], true);
    assert!(open.status.success(), "{open:?}");
    let call = pad(&["call-next"], true);
    assert!(call.status.success(), "{call:?}");
    assert!(
        String::from_utf8_lossy(&call.stdout).contains("A001"),
        "{call:?}"
    );
    // Without the CA (plain MQTT to the TLS port) the pad cannot connect.
    let plain = pad(&["call-next"], false);
    assert!(!plain.status.success());
}
