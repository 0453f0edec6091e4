//! How every hallq program connects to the broker: one place for the
//! options that matter (TCP_NODELAY, or each small message waits ≈ 40 ms for
//! Nagle and delayed ACKs; credentials; a will that is the device's own
//! `device/{dev}/status`, the only will the broker accepts).

use std::time::Duration;

use hallq_contract::{DeviceStatus, Topic};
use rumqttc::{AsyncClient, EventLoop, LastWill, MqttOptions, NetworkOptions, QoS};

/// Where and who.
#[derive(Debug, Clone)]
pub struct Login {
    pub host: String,
    pub port: u16,
    pub hall: String,
    /// The device id, used as the MQTT username.
    pub user: String,
    pub password: String,
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
}

impl LoginArgs {
    /// The login, with `default_user` when `--user` was not given.
    pub fn login(self, default_user: impl FnOnce() -> String) -> Login {
        Login {
            host: self.host,
            port: self.port,
            hall: self.hall,
            user: self.user.unwrap_or_else(default_user),
            password: self.password,
        }
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
