//! A real Mosquitto for the tests that run hallq behind an external broker.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::binary;

/// A running Mosquitto, killed when dropped.
#[derive(Debug)]
pub struct Mosquitto(Child);

impl Drop for Mosquitto {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A port nothing listens on now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Mosquitto configured with the files `hallq mosquitto` writes for these
/// halls (server account `hallq-server` / `server-secret-1`), in `dir`.
pub fn mosquitto(dir: &Path, halls: &[&Path]) -> (Mosquitto, u16) {
    let out = Command::new(binary("hallq"))
        .arg("mosquitto")
        .args(halls.iter().flat_map(|h| [Path::new("--hall"), h]))
        .arg("--out")
        .arg(dir)
        .args(["--server-password", "server-secret-1"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let passwd = dir.join("passwd");
    assert!(
        !std::fs::read_to_string(&passwd)
            .unwrap()
            .contains("demo-pad-3-pass"),
        "passwords were not hashed"
    );
    let port = free_port();
    let conf = dir.join("mosquitto.conf");
    // `user root`: Mosquitto started as root would drop to its own user and
    // then could not read the password file in our private temp folder.
    std::fs::write(
        &conf,
        format!("user root\nlistener {port} 127.0.0.1\nallow_anonymous false\npassword_file {}\nacl_file {}\nset_tcp_nodelay true\npersistence false\n", passwd.display(), dir.join("acl").display()),
    )
    .unwrap();
    (run_mosquitto(&conf, port), port)
}

/// Starts Mosquitto with a config and waits until it listens on `port`.
pub fn run_mosquitto(conf: &Path, port: u16) -> Mosquitto {
    let exe = if Path::new("/usr/sbin/mosquitto").exists() {
        "/usr/sbin/mosquitto"
    } else {
        "mosquitto"
    };
    let child = Command::new(exe)
        .arg("-c")
        .arg(conf)
        .stderr(Stdio::null())
        .spawn()
        .expect("mosquitto (apt-get install mosquitto)");
    let broker = Mosquitto(child);
    for _ in 0..50 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return broker;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("mosquitto did not start");
}
