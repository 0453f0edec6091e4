//! A real PostgreSQL server for a test: `initdb` and `pg_ctl` of Debian's
//! `postgresql` in a temporary folder, on a free port, trust login for
//! user `hallq` on loopback; stopped (immediately) when dropped. As root it
//! runs as the `postgres` user (PostgreSQL refuses to run as root).

use std::path::PathBuf;
use std::process::Command;

/// A running PostgreSQL for one test.
#[derive(Debug)]
pub struct PgCluster {
    bin: PathBuf,
    data: PathBuf,
    port: u16,
    as_postgres: bool,
    _dir: tempfile::TempDir,
}

impl PgCluster {
    pub fn start() -> PgCluster {
        let bin = bin_dir();
        let dir = tempfile::tempdir().expect("temp dir");
        let as_postgres = is_root();
        let data = dir.path().join("data");
        if as_postgres {
            // The postgres user must reach its folder.
            run("chmod", &["0755".as_ref(), dir.path().as_os_str()]);
            std::fs::create_dir(&data).unwrap();
            run("chown", &["postgres:postgres".as_ref(), data.as_os_str()]);
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let me = PgCluster {
            bin,
            data,
            port,
            as_postgres,
            _dir: dir,
        };
        me.pg(
            "initdb",
            &[
                "-D",
                me.data.to_str().unwrap(),
                "-U",
                "hallq",
                "--auth=trust",
                "-E",
                "UTF8",
            ],
        );
        me.start_again();
        me
    }

    /// Starts the server (again, after [`PgCluster::stop`]) on its port.
    pub fn start_again(&self) {
        let opts = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1",
            self.port,
            self.data.display()
        );
        let log = self.data.join("server.log");
        self.pg(
            "pg_ctl",
            &[
                "-D",
                self.data.to_str().unwrap(),
                "-o",
                &opts,
                "-l",
                log.to_str().unwrap(),
                "-w",
                "start",
            ],
        );
    }

    /// Stops the server as a crash would (`-m immediate`): the database is
    /// gone until [`PgCluster::start_again`].
    pub fn stop(&self) {
        let data = self.data.to_str().unwrap().to_owned();
        self.pg("pg_ctl", &["-D", &data, "-m", "immediate", "-w", "stop"]);
    }

    /// `postgres://hallq@127.0.0.1:PORT/postgres`.
    pub fn url(&self) -> String {
        format!("postgres://hallq@127.0.0.1:{}/postgres", self.port)
    }

    fn pg(&self, tool: &str, args: &[&str]) {
        let exe = self.bin.join(tool);
        let out = if self.as_postgres {
            Command::new("runuser")
                .args(["-u", "postgres", "--"])
                .arg(&exe)
                .args(args)
                .output()
        } else {
            Command::new(&exe).args(args).output()
        }
        .unwrap_or_else(|e| panic!("{}: {e}", exe.display()));
        assert!(
            out.status.success(),
            "{tool} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        // Stopped already, perhaps: then there is nothing to do.
        let data = self.data.to_str().unwrap().to_owned();
        let _ = Command::new(self.bin.join("pg_ctl"))
            .args(["-D", &data, "status"])
            .output()
            .map(|o| o.status.success().then(|| self.stop()));
    }
}

/// Debian keeps the server's programs out of PATH.
fn bin_dir() -> PathBuf {
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path().join("bin"))
        .filter(|b| b.join("initdb").exists())
        .collect();
    found.sort();
    found
        .pop()
        .expect("PostgreSQL's server programs (Debian: apt-get install postgresql)")
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

fn run(cmd: &str, args: &[&std::ffi::OsStr]) {
    let ok = Command::new(cmd)
        .args(args)
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "{cmd} failed");
}
