//! How every hallq program connects to the broker: one place for the
//! options that matter (TCP_NODELAY, or each small message waits ≈ 40 ms for
//! Nagle and delayed ACKs; credentials; a will that is the device's own
//! `device/{dev}/status`, the only will the broker accepts).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use hallq_contract::{DeviceStatus, Topic};
use rumqttc::{
    AsyncClient, EventLoop, LastWill, MqttOptions, NetworkOptions, QoS, TlsConfiguration, Transport,
};

/// Wall-clock milliseconds since the Unix epoch (0 before 1970): the one
/// clock read every hallq program shares.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Where and who.
#[derive(Debug, Clone)]
pub struct Login {
    pub host: String,
    pub port: u16,
    pub hall: String,
    /// The device id, used as the MQTT username.
    pub user: String,
    pub password: String,
    /// Connect over TLS with this configuration (see [`tls_config`]).
    pub tls: Option<Arc<rustls::ClientConfig>>,
}

/// A TLS client configuration that trusts the CA certificates (PEM) in
/// `ca_file`: the hall's own CA, or its self-signed certificate.
pub fn tls_config(ca_file: &Path) -> anyhow::Result<Arc<rustls::ClientConfig>> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    let certs = CertificateDer::pem_file_iter(ca_file)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(|e| anyhow::anyhow!("CA file {}: {e}", ca_file.display()))?;
    anyhow::ensure!(
        !certs.is_empty(),
        "CA file {}: no certificate in it (PEM expected)",
        ca_file.display()
    );
    for c in certs {
        roots
            .add(c)
            .map_err(|e| anyhow::anyhow!("CA file {}: {e}", ca_file.display()))?;
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// The command-line options every device program shares.
#[derive(Debug, Clone, clap::Args)]
pub struct LoginArgs {
    /// The broker's host (the hallq server, or the hall's broker).
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    #[arg(long, default_value_t = 1883)]
    pub port: u16,
    #[arg(long, default_value = "xuchang")]
    pub hall: String,
    /// The device id (MQTT username).
    #[arg(long)]
    pub user: Option<String>,
    #[arg(long, env = "HALLQ_PASSWORD")]
    pub password: String,
    /// Connect over TLS (to the hall's MQTT-over-TLS port, 8883), trusting
    /// the CA certificate(s) in this PEM file.
    #[arg(long)]
    pub cafile: Option<PathBuf>,
}

impl LoginArgs {
    /// The login, with `default_user` when `--user` was not given; an
    /// error when the CA file cannot be read.
    pub fn login(self, default_user: impl FnOnce() -> String) -> anyhow::Result<Login> {
        Ok(Login {
            host: self.host,
            port: self.port,
            hall: self.hall,
            user: self.user.unwrap_or_else(default_user),
            password: self.password,
            tls: self.cafile.as_deref().map(tls_config).transpose()?,
        })
    }
}

/// A device's own status: the will it leaves and what it says when up.
#[derive(Debug, Clone)]
pub struct Presence {
    pub role: &'static str,
    pub window: Option<String>,
}

impl Login {
    /// A client and its event loop; poll the loop to make anything happen.
    /// With a presence, the will says "offline" on the device's own topic.
    pub fn connect(
        &self,
        client_id: &str,
        presence: Option<&Presence>,
    ) -> (AsyncClient, EventLoop) {
        let mut opts = MqttOptions::new(client_id, &self.host, self.port);
        opts.set_credentials(&self.user, &self.password);
        opts.set_keep_alive(Duration::from_secs(10));
        opts.set_clean_session(true);
        opts.set_max_packet_size(256 * 1024, 256 * 1024);
        if let Some(p) = presence {
            opts.set_last_will(LastWill::new(
                self.status_topic(),
                status_json(p, false),
                QoS::AtLeastOnce,
                true,
            ));
        }
        if let Some(tls) = &self.tls {
            opts.set_transport(Transport::tls_with_config(TlsConfiguration::Rustls(
                tls.clone(),
            )));
        }
        let (client, mut eventloop) = AsyncClient::new(opts, 256);
        let mut net = NetworkOptions::new();
        net.set_tcp_nodelay(true);
        net.set_connection_timeout(5);
        eventloop.set_network_options(net);
        (client, eventloop)
    }

    /// A client id for this device: its id, a dot, and `tag`. The broker
    /// takes only client ids that start with the device id (and a character
    /// outside the id rule), so one device cannot take another's session.
    pub fn client_id(&self, tag: impl std::fmt::Display) -> String {
        format!("{}.{tag}", self.user)
    }

    /// `device/{user}/status`.
    pub fn status_topic(&self) -> String {
        Topic::DeviceStatus(&self.user).to_string(&self.hall)
    }

    /// Announces the device online (retained), after each connect.
    pub async fn announce(
        &self,
        client: &AsyncClient,
        presence: &Presence,
    ) -> Result<(), rumqttc::ClientError> {
        client
            .publish(
                self.status_topic(),
                QoS::AtLeastOnce,
                true,
                status_json(presence, true),
            )
            .await
    }
}

fn status_json(p: &Presence, online: bool) -> Vec<u8> {
    let s = DeviceStatus {
        online,
        role: p.role.to_owned(),
        window: p.window.clone(),
    };
    serde_json::to_vec(&s).expect("status serializes")
}
