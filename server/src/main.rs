//! `hallq`: the queue broker of a service hall.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};
use hallq_server::http::session::{Account, Role, StaffFile, hash_password};
use hallq_server::{BrokerMode, Options, config};

#[derive(Debug, Parser)]
#[command(
    name = "hallq",
    version,
    about = "hallq 政务服务大厅排队叫号 / service hall queue broker"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

// Parsed once per run: the size of the largest variant costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
enum Cmd {
    /// Run the server: embedded MQTT broker, SQLite log, HTTP API.
    Serve {
        /// The hall's layout (TOML); several times for several halls
        /// (default: halls/demo.toml).
        #[arg(long)]
        hall: Vec<PathBuf>,
        /// A folder of hall files (every `*.toml` but `staff.toml`), one
        /// hall each, all served by this server.
        #[arg(long, conflicts_with = "hall")]
        halls: Option<PathBuf>,
        /// Folder for the event log (hall.db; with several halls, one
        /// folder per hall in it).
        #[arg(long, default_value = "data")]
        data: PathBuf,
        /// HTTP address (port 0: any free port).
        #[arg(long, default_value = "127.0.0.1:8080")]
        http: SocketAddr,
        /// Embedded MQTT broker address (port 0: any free port).
        #[arg(long, default_value = "0.0.0.0:1883")]
        mqtt: SocketAddr,
        /// Use an external broker instead: mqtt://user:password@host:port
        #[arg(long, env = "HALLQ_BROKER_URL")]
        broker_url: Option<String>,
        /// Keep the event log in PostgreSQL instead of `DATA/hall.db`:
        /// postgres://user:password@host:port/database
        #[arg(long, env = "HALLQ_STORE")]
        store: Option<String>,
        /// Ignore the hall's opening hours and always issue tickets (demos, tests).
        #[arg(long)]
        always_open: bool,
        /// A demonstration: accept the demo hall's public passwords.
        #[arg(long)]
        demo: bool,
        /// Per client address and minute: tickets without a kiosk login,
        /// bookings, check-ins and ratings.
        #[arg(long, default_value_t = hallq_server::PUBLIC_WRITES_PER_MINUTE)]
        public_writes_per_minute: u32,
        /// Per client address and minute: ticket and booking look-ups.
        #[arg(long, default_value_t = hallq_server::PUBLIC_READS_PER_MINUTE)]
        public_reads_per_minute: u32,
        /// TLS certificate chain (PEM): serve HTTPS on --http and MQTT over
        /// TLS on --mqtt-tls. Needs --tls-key.
        #[arg(long, requires = "tls_key")]
        tls_cert: Option<PathBuf>,
        /// The certificate's private key (PEM).
        #[arg(long, requires = "tls_cert")]
        tls_key: Option<PathBuf>,
        /// The embedded broker's MQTT-over-TLS address (with --tls-cert).
        #[arg(long, default_value = "0.0.0.0:8883")]
        mqtt_tls: SocketAddr,
        /// With TLS: open no plain MQTT listener (devices must use TLS).
        #[arg(long, requires = "tls_cert")]
        tls_only: bool,
        /// This node's name among the nodes sharing one PostgreSQL store
        /// (default: the machine's name). A node restarted under the same
        /// name takes its halls back at once.
        #[arg(long, env = "HALLQ_NODE")]
        node: Option<String>,
        /// Staff accounts for the web (`hallq staff add`); default:
        /// `staff.toml` beside the hall file, if there is one.
        #[arg(long)]
        staff: Option<PathBuf>,
        /// Start even when a hall's event log fails its hash chain (someone
        /// changed it outside hallq): logged loudly at every start. Run
        /// `hallq verify` first to see what was changed.
        #[arg(long)]
        accept_broken_log: bool,
    },
    /// Staff accounts for the web: the dashboard and reports.
    #[command(subcommand)]
    Staff(StaffCmd),
    /// Write Mosquitto's ACL and password files for the hall (external broker).
    Mosquitto {
        /// The hall file; several times for a server with several halls.
        #[arg(long, default_value = "halls/demo.toml")]
        hall: Vec<PathBuf>,
        /// Folder to write `acl` and `passwd` into.
        #[arg(long)]
        out: PathBuf,
        /// The server's own MQTT account on that broker.
        #[arg(long, default_value = "hallq-server")]
        server_user: String,
        #[arg(long, env = "HALLQ_SERVER_PASSWORD")]
        server_password: String,
    },
    /// Make the hash of a clerk's PIN for the hall file's `[[staff]]`
    /// `pin_hash` (reads the PIN from standard input).
    HashPin,
    /// Check a hall's event log against its hash chain and signed digests
    /// (e.g. yesterday's, from the supervisor's copy): says whether
    /// anything was changed since, what, and on which days. Writes
    /// nothing. Exit status 0: unchanged; 1: changed; 2: cannot check.
    Verify {
        /// The data folder (or its hall.db).
        #[arg(long, default_value = "data")]
        data: PathBuf,
        /// The hall: needed for a data folder of several halls and for
        /// PostgreSQL.
        #[arg(long)]
        hall: Option<String>,
        /// Check the log in PostgreSQL instead: postgres://user:password@host/db
        #[arg(long)]
        store: Option<String>,
        /// A signed digest (a file as `GET …/digests/…` or the `digest`
        /// topic gives it; a list of them too); several times.
        #[arg(long = "digest")]
        digests: Vec<PathBuf>,
        /// The hall's public signing key as the supervisor keeps it: its 64
        /// hex digits, or the `sign.pub` file.
        #[arg(long)]
        public_key: Option<String>,
    },
    /// Check a hall file and print what it holds.
    Check {
        #[arg(default_value = "halls/demo.toml")]
        hall: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
enum StaffCmd {
    /// Add a staff member, or reset one's password and role (reads the
    /// password from standard input).
    Add {
        /// The staff file (created when missing).
        #[arg(long, default_value = "halls/staff.toml")]
        file: PathBuf,
        /// Login id, e.g. wang.
        #[arg(long)]
        id: String,
        /// Name shown on the page, e.g. 王经理.
        #[arg(long)]
        name: String,
        /// manager (acts), supervisor (watches), clerk, or department
        /// (back office: decides cases).
        #[arg(long, value_parser = ["manager", "supervisor", "clerk", "department"])]
        role: String,
        /// A department account's department (the hall file's id); none:
        /// every department.
        #[arg(long)]
        department: Option<String>,
        /// The hall this account is for (several times for several); none:
        /// every hall of the server (city level).
        #[arg(long = "hall")]
        halls: Vec<String>,
    },
    /// List the staff file's accounts (never their hashes).
    List {
        #[arg(long, default_value = "halls/staff.toml")]
        file: PathBuf,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,rmqtt=warn,rmqtt_net=warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    match Cli::parse().cmd {
        Cmd::Staff(StaffCmd::Add {
            file,
            id,
            name,
            role,
            halls,
            department,
        }) => {
            hallq_core::Id::parse(&id).map_err(|e| anyhow::anyhow!("id {id:?}: {e}"))?;
            for h in &halls {
                hallq_core::Id::parse(h).map_err(|e| anyhow::anyhow!("hall {h:?}: {e}"))?;
            }
            let mut password = String::new();
            std::io::stdin().read_line(&mut password)?;
            let password = password.trim_end_matches(['\n', '\r']);
            if password.chars().count() < 8 {
                anyhow::bail!("the password must have at least 8 characters");
            }
            let role = match role.as_str() {
                "manager" => Role::Manager,
                "supervisor" => Role::Supervisor,
                "department" => Role::Department,
                _ => Role::Clerk,
            };
            let mut f = StaffFile::load(&file)?;
            let reset = f.user.iter().any(|a| a.id == id);
            f.put(Account {
                id: id.clone(),
                name,
                role,
                password_hash: hash_password(password),
                halls,
                department,
            });
            f.save(&file)?;
            println!(
                "{} {id} in {}",
                if reset { "reset" } else { "added" },
                file.display()
            );
            Ok(())
        }
        Cmd::Staff(StaffCmd::List { file }) => {
            for a in StaffFile::load(&file)?.user {
                let halls = if a.halls.is_empty() {
                    "all halls".to_owned()
                } else {
                    a.halls.join(",")
                };
                println!("{}\t{}\t{:?}\t{halls}", a.id, a.name, a.role);
            }
            Ok(())
        }
        Cmd::HashPin => {
            let mut pin = String::new();
            std::io::stdin().read_line(&mut pin)?;
            let pin = pin.trim();
            anyhow::ensure!(
                (4..=32).contains(&pin.chars().count()),
                "a PIN is 4 to 32 characters"
            );
            println!("{}", hallq_server::staff::hash_pin(pin));
            Ok(())
        }
        Cmd::Verify {
            data,
            hall,
            store,
            digests,
            public_key,
        } => {
            // A plain thread: the PostgreSQL client runs a runtime of its
            // own, which it cannot inside this one.
            let check = move || -> anyhow::Result<_> {
                let mut given = Vec::new();
                for d in &digests {
                    given.extend(hallq_server::verify::read_digests(d)?);
                }
                let key = match public_key {
                    Some(k) if std::path::Path::new(&k).is_file() => Some(
                        std::fs::read_to_string(&k)
                            .with_context(|| format!("key file {k}"))?
                            .trim()
                            .to_owned(),
                    ),
                    k => k,
                };
                match store {
                    Some(url) => {
                        let hall = hall.context("--store needs --hall")?;
                        let mut s = hallq_server::store_pg::PgStore::open_read_only(&url, &hall)?;
                        hallq_server::verify::verify(
                            &mut s,
                            (format!("hall {hall} in PostgreSQL"), Some(&hall)),
                            given,
                            key.as_deref(),
                        )
                    }
                    None => {
                        let file = hallq_server::verify::log_file(&data, hall.as_deref())?;
                        hallq_server::verify::verify_file(
                            &file,
                            hall.as_deref(),
                            given,
                            key.as_deref(),
                        )
                    }
                }
            };
            let report = std::thread::spawn(check)
                .join()
                .unwrap_or_else(|_| Err(anyhow::anyhow!("the check panicked")));
            match report {
                Ok(r) => {
                    print!("{r}");
                    std::process::exit(if r.clean() { 0 } else { 1 });
                }
                Err(e) => {
                    eprintln!("hallq verify: cannot check: {e:#}");
                    std::process::exit(2);
                }
            }
        }
        Cmd::Check { hall } => {
            let c = config::load_hall(&hall)?;
            println!(
                "{}: {} ({}): {} services, {} windows, {} devices — OK",
                hall.display(),
                c.hall.name,
                c.hall.id,
                c.services.len(),
                c.windows.len(),
                c.devices.len()
            );
            Ok(())
        }
        Cmd::Mosquitto {
            hall,
            out,
            server_user,
            server_password,
        } => {
            let c = hall
                .iter()
                .map(|h| config::load_hall(h))
                .collect::<Result<Vec<_>, _>>()?;
            std::fs::create_dir_all(&out)?;
            let (acl, passwd) = (out.join("acl"), out.join("passwd"));
            std::fs::write(&acl, hallq_server::mosquitto::acl_file(&c, &server_user))?;
            std::fs::write(
                &passwd,
                hallq_server::mosquitto::password_file(&c, &server_user, &server_password),
            )?;
            let hashed = std::process::Command::new("mosquitto_passwd")
                .arg("-U")
                .arg(&passwd)
                .status()
                .is_ok_and(|s| s.success());
            println!("wrote {} and {}", acl.display(), passwd.display());
            if !hashed {
                println!(
                    "passwords are in plain text: run `mosquitto_passwd -U {}` to hash them",
                    passwd.display()
                );
            }
            println!(
                "mosquitto.conf: allow_anonymous false / password_file {} / acl_file {}",
                passwd.display(),
                acl.display()
            );
            Ok(())
        }
        Cmd::Serve {
            hall,
            halls,
            data,
            http,
            mqtt,
            broker_url,
            store,
            always_open,
            demo,
            public_writes_per_minute,
            public_reads_per_minute,
            tls_cert,
            tls_key,
            mqtt_tls,
            tls_only,
            node,
            staff,
            accept_broken_log,
        } => {
            let files = match &halls {
                Some(dir) => hall_files(dir)?,
                None if hall.is_empty() => vec![PathBuf::from("halls/demo.toml")],
                None => hall,
            };
            let staff_path = staff.unwrap_or_else(|| match &halls {
                Some(dir) => dir.join("staff.toml"),
                None => files[0].with_file_name("staff.toml"),
            });
            let staff = StaffFile::load(&staff_path)?;
            if !staff.user.is_empty() {
                tracing::info!(file = %staff_path.display(), accounts = staff.user.len(), "web staff accounts");
            }
            let mut configs = Vec::new();
            let mut unreadable = Vec::new();
            for file in &files {
                match config::load_hall(file) {
                    Ok(c) => configs.push(c),
                    // One bad file among several: that hall does not run,
                    // the others do.
                    Err(e) if files.len() > 1 => {
                        tracing::error!(file = %file.display(), error = %format!("{e:#}"), "this hall file is not valid: its hall does not run");
                        unreadable.push(hallq_server::Refused {
                            hall: file.display().to_string(),
                            why: format!("{e:#}"),
                        });
                    }
                    Err(e) => return Err(e.into()),
                }
            }
            anyhow::ensure!(!configs.is_empty(), "no valid hall file");
            let devices: usize = configs.iter().map(|c| c.devices.len()).sum();
            match hallq_server::raise_open_files_limit() {
                Some(n) if (n as usize) < 2 * devices + 1024 => tracing::warn!(
                    open_files = n,
                    devices,
                    "the open-files limit is low for this many devices; raise it (systemd: LimitNOFILE=65536)"
                ),
                Some(n) => tracing::info!(open_files = n, "open-files limit"),
                None => {}
            }
            let broker = match broker_url {
                Some(url) => parse_broker_url(&url)?,
                None => BrokerMode::Embedded(mqtt),
            };
            let running = hallq_server::start(Options {
                halls: configs,
                unreadable,
                node,
                data_dir: data,
                http,
                broker,
                always_open,
                demo,
                public_writes_per_minute,
                public_reads_per_minute,
                tls: tls_cert
                    .zip(tls_key)
                    .map(|(cert, key)| hallq_server::tls::TlsFiles { cert, key }),
                mqtt_tls,
                tls_only,
                staff,
                store,
                accept_broken_log,
            })
            .await?;
            // One machine-readable line for scripts and tests.
            println!(
                "{}",
                serde_json::json!({
                    "ready": true,
                    "http": running.http.to_string(),
                    "https": running.https,
                    "mqtt": running.mqtt.map(|a| a.to_string()),
                    "mqtt_tls": running.mqtt_tls.map(|a| a.to_string()),
                })
            );
            tracing::info!(http = %running.http, https = running.https, mqtt = ?running.mqtt, mqtt_tls = ?running.mqtt_tls, "hallq is up");
            let mut term =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
            tokio::select! {
                r = tokio::signal::ctrl_c() => r?,
                _ = term.recv() => {}
            }
            tracing::info!("stopping: the owner finishes its batch");
            // Whatever is already queued is handled and committed; the
            // embedded broker and open connections end with the process.
            if tokio::time::timeout(std::time::Duration::from_secs(10), running.shutdown())
                .await
                .is_err()
            {
                tracing::error!("the owner did not stop within 10 s");
                std::process::exit(1);
            }
            std::process::exit(0);
        }
    }
}

/// The hall files of a folder: every `*.toml` but `staff.toml`, by name.
fn hall_files(dir: &std::path::Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("hall folder {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.extension().is_some_and(|e| e == "toml")
                && p.file_name().is_some_and(|n| n != "staff.toml")
        })
        .collect();
    files.sort();
    anyhow::ensure!(
        !files.is_empty(),
        "no hall files (*.toml) in {}",
        dir.display()
    );
    Ok(files)
}

/// `mqtt://user:password@host:port`.
fn parse_broker_url(url: &str) -> anyhow::Result<BrokerMode> {
    let rest = url
        .strip_prefix("mqtt://")
        .context("broker URL must start with mqtt://")?;
    let (cred, hostport) = rest
        .rsplit_once('@')
        .context("broker URL needs user:password@")?;
    let (user, password) = cred
        .split_once(':')
        .context("broker URL needs user:password@")?;
    let (host, port) = hostport.rsplit_once(':').unwrap_or((hostport, "1883"));
    Ok(BrokerMode::External {
        host: host.to_owned(),
        port: port.parse().context("bad port in broker URL")?,
        user: user.to_owned(),
        password: password.to_owned(),
    })
}
