//! The embedded MQTT broker (rmqtt), with the contract's permissions
//! enforced by our own hooks:
//!
//! - connect: the username must be a device of one of the halls the server
//!   runs, with its password; the client id must start with the
//!   device id (a new session with a taken client id replaces the old one,
//!   so this keeps one device from knocking another, or the server, off);
//!   a will may only be the device's own `device/{dev}/status` (rmqtt does
//!   not check wills against the publish ACL, so a forged will is refused
//!   here, at login); an address with too many failed logins is locked out
//!   for a while ([`LoginThrottle`]);
//! - publish and subscribe: [`hallq_contract::Identity`] decides, including
//!   who may set the retain flag (never on a command).
//!
//! The server itself is no MQTT client of its own broker: what devices send
//! to it (pad commands, ratings, statuses, wills) is handed to its [`Inbox`]
//! by the hooks once the permissions allow it, and what it publishes goes
//! straight into the broker's routing through the [`Injector`] — no socket,
//! no encoding, no client event loop in between.
//!
//! Retained messages live in memory without expiry ([`RamRetain`]): the server
//! republishes every window state on start, so nothing retained needs to
//! outlive the process.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use crate::throttle::LoginThrottle;
use async_trait::async_trait;
use hallq_contract::{Identity, Role};
use hallq_core::{DeviceRole, HallConfig};
use rmqtt::codec::v5::SubscribeAckReason;
use rmqtt::context::ServerContext;
use rmqtt::hook::{Handler, HookResult, Parameter, ReturnType, Type};
use rmqtt::net::Builder;
use rmqtt::retain::{DefaultRetainStorage, RetainStorage};
use rmqtt::server::MqttServer;
use rmqtt::session::SessionState;
use rmqtt::types::{
    AuthResult, CodecPublish, ConnectInfo, From, FromType, Id, LastWill, ListenerId, Publish,
    PublishAclResult, Retain, SubscribeAclResult, TopicFilter, TopicName,
};

/// Where the broker hands what devices send to the server.
#[async_trait]
pub trait Inbox: Send + Sync + std::fmt::Debug {
    /// A message on one of the server's topics (`pad/+/cmd`, `rating/+`,
    /// `device/+/status`), already allowed by the permissions. It may wait
    /// for room in the owner's queue (that holds up the sender's session
    /// only), never for a commit.
    async fn deliver(&self, topic: &str, payload: &[u8], retained: bool);
}

/// What the broker serves: who may log in, and each hall's inbox.
#[derive(Debug, Default)]
pub struct Served {
    pub accounts: Accounts,
    /// By hall id.
    pub inboxes: HashMap<String, Arc<dyn Inbox>>,
}

/// Publishes into the embedded broker from inside the process, as the
/// server's account.
#[derive(Clone)]
pub struct Injector {
    scx: ServerContext,
    from: From,
    runtime: tokio::runtime::Handle,
}

impl std::fmt::Debug for Injector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Injector")
    }
}

impl Injector {
    fn new(scx: ServerContext) -> Injector {
        let user = hallq_contract::SERVER_USER;
        let id = Id::new(
            scx.node.id(),
            INTERNAL,
            None,
            None,
            format!("{user}.in-process").into(),
            Some(user.into()),
        );
        Injector {
            scx,
            from: From::from_system(id),
            runtime: tokio::runtime::Handle::current(),
        }
    }

    /// Routes one message to its subscribers (and the retained store).
    async fn publish(&self, topic: String, payload: Vec<u8>, retain: bool, qos: u8) {
        let publish = Publish::from(CodecPublish {
            dup: false,
            retain,
            qos: if qos == 0 {
                rmqtt::codec::types::QoS::AtMostOnce
            } else {
                rmqtt::codec::types::QoS::AtLeastOnce
            },
            topic: topic.into(),
            packet_id: None,
            payload: payload.into(),
            properties: None,
        });
        let expiry = Some(Duration::from_secs(u32::MAX as u64));
        if let Err(e) =
            SessionState::forwards(&self.scx, self.from.clone(), publish, false, expiry).await
        {
            tracing::error!(error = %e, "publish into the embedded broker failed");
        }
    }

    /// [`Injector::publish`] of each, in order, from any thread: finished
    /// before it returns when called outside the runtime (the owner thread:
    /// its messages keep their order, and one call costs one entry into the
    /// runtime), spawned when called on it.
    pub fn send_all(&self, all: Vec<crate::engine::Outgoing>) {
        let this = self.clone();
        let work = async move {
            for o in all {
                this.publish(o.topic, o.payload, o.retain, o.qos).await;
            }
        };
        match tokio::runtime::Handle::try_current() {
            Ok(_) => {
                tokio::spawn(work);
            }
            Err(_) => self.runtime.block_on(work),
        }
    }
}

/// One account the broker accepts.
#[derive(Debug, Clone)]
pub struct Account {
    /// The hall the device belongs to.
    pub hall: String,
    pub password: String,
    pub role: Role,
    pub window: Option<String>,
}

/// Accounts by username (= device id, unique across the halls one broker
/// serves: a device id names one device of one hall).
#[derive(Debug, Clone, Default)]
pub struct Accounts {
    pub by_user: HashMap<String, Account>,
}

impl Accounts {
    /// The halls' devices. The server itself has no account: it is in the
    /// process, and nobody can log in as it. A device id that two halls
    /// use is an error (the server refuses the second hall before this).
    pub fn from_halls<'a>(halls: impl IntoIterator<Item = &'a HallConfig>) -> Accounts {
        let mut by_user = HashMap::new();
        for hall in halls {
            for d in &hall.devices {
                let Some(role) = role_of(d.role) else {
                    continue;
                };
                let account = Account {
                    hall: hall.hall.id.to_string(),
                    password: d.password.clone(),
                    role,
                    window: d.window.as_ref().map(|w| w.to_string()),
                };
                let clash = by_user.insert(d.id.to_string(), account);
                debug_assert!(clash.is_none(), "device {} in two halls", d.id);
            }
        }
        Accounts { by_user }
    }

    fn identity<'a>(&'a self, user: &'a str) -> Option<Identity<'a>> {
        let a = self.by_user.get(user)?;
        Some(Identity {
            hall: &a.hall,
            device: user,
            role: a.role,
            window: a.window.as_deref(),
        })
    }
}

/// The contract role of a configured device; none for one that never
/// speaks MQTT (an approval system: HTTP only).
pub fn role_of(r: DeviceRole) -> Option<Role> {
    Some(match r {
        DeviceRole::Pad => Role::Pad,
        DeviceRole::Display => Role::Display,
        DeviceRole::Announcer => Role::Announcer,
        DeviceRole::RatingPad => Role::RatingPad,
        DeviceRole::Kiosk => Role::Kiosk,
        DeviceRole::Manager => Role::Manager,
        DeviceRole::Approval => return None,
    })
}

/// Where the embedded broker listens.
#[derive(Debug, Clone)]
pub struct Listen {
    /// Plain MQTT (1883), if any.
    pub plain: Option<SocketAddr>,
    /// MQTT over TLS (8883), with its certificate, if any.
    pub tls: Option<(SocketAddr, crate::tls::TlsFiles)>,
}

/// Where it listens, bound.
#[derive(Clone, Copy, Debug)]
pub struct Bound {
    pub plain: Option<SocketAddr>,
    pub tls: Option<SocketAddr>,
}

const PLAIN: ListenerId = 1;
const TLS: ListenerId = 2;
/// Not a listener: the id the server's own messages carry.
const INTERNAL: ListenerId = 3;

/// The broker before it listens: the server takes its injector first (its
/// halls' owners publish through it), and gives the accounts and inboxes
/// with [`Broker::listen`], so no device's message finds nobody there
/// (after a restart they all come back at once).
pub struct Broker {
    server: rmqtt::server::MqttServerBuilder,
    injector: Injector,
    served: Arc<OnceLock<Served>>,
}

impl std::fmt::Debug for Broker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Broker")
    }
}

impl Broker {
    pub async fn new(throttle: Arc<LoginThrottle>) -> Broker {
        // rmqtt refuses logins ("service unavailable") while it judges the
        // machine busy by its load average; a hall's server on a small box
        // that is compiling or backing up must still let its displays back in.
        let scx = ServerContext::new().busy_check_enable(false).build().await;
        *scx.extends.retain_mut().await = Box::new(RamRetain(DefaultRetainStorage::new()));
        let served = Arc::new(OnceLock::new());
        let guard = Arc::new(Shared {
            throttle,
            served: served.clone(),
        });
        let register = scx.extends.hook_mgr().register();
        for typ in [
            Type::ClientAuthenticate,
            Type::ClientSubscribeCheckAcl,
            Type::MessagePublishCheckAcl,
            Type::MessagePublish,
        ] {
            register
                .add_priority(typ, 1000, Box::new(Guard(guard.clone())))
                .await;
        }
        register.start().await;
        Broker {
            injector: Injector::new(scx.clone()),
            server: MqttServer::new(scx),
            served,
        }
    }

    pub fn injector(&self) -> Injector {
        self.injector.clone()
    }

    /// Takes who may log in and where each hall's messages go, binds the
    /// listeners (port 0: any free port) and runs the broker until the
    /// process ends (rmqtt has no shutdown API).
    pub fn listen(self, listen: Listen, served: Served) -> anyhow::Result<Bound> {
        if self.served.set(served).is_err() {
            unreachable!("listen takes the broker");
        }
        let mut server = self.server;
        let mut bound = Bound {
            plain: None,
            tls: None,
        };
        if let Some(addr) = listen.plain {
            let (l, local) = bind(addr, "hallq/tcp", None)?;
            server = server.listener_by_id(l, PLAIN);
            bound.plain = Some(local);
        }
        if let Some((addr, files)) = listen.tls {
            // Our own reading of the files first: its errors name the file.
            files.server_config()?;
            let (l, local) = bind(addr, "hallq/tls", Some(&files))?;
            server = server.listener_by_id(l, TLS);
            bound.tls = Some(local);
        }
        tokio::spawn(async move {
            if let Err(e) = server.build().run().await {
                tracing::error!(error = %e, "embedded MQTT broker stopped");
            }
        });
        Ok(bound)
    }
}

/// One listener with the hall's settings; TLS when `tls` is given.
fn bind(
    addr: SocketAddr,
    name: &str,
    tls: Option<&crate::tls::TlsFiles>,
) -> anyhow::Result<(rmqtt::net::Listener, SocketAddr)> {
    let path = |p: &std::path::Path| p.to_string_lossy().into_owned();
    let listener = Builder::new()
        .name(name)
        .laddr(addr)
        .nodelay(true)
        // A restarted server must bind its port at once, not after the
        // old connections' TIME_WAIT (60 s here): every display waits on it.
        .reuseaddr(Some(true))
        .allow_anonymous(false)
        // The contract's largest message is a few kilobytes.
        .max_packet_size(MAX_PACKET)
        // A hall's devices come back together after a power cut or a
        // restart: thousands may be in the middle of logging in at once
        // (rmqtt's default refuses beyond 1 000 and queues 512).
        .backlog(4096)
        .max_handshaking_limit(20_000)
        // What one device may have waiting: a display that was slow for a
        // moment during a burst of calls must not lose one (the default is
        // 1 000 queued and 16 unacknowledged).
        .max_mqueue_len(10_000)
        .max_inflight(std::num::NonZeroU16::new(256).expect("not zero"))
        // Retained window states must not expire (rmqtt's default is 5 minutes).
        .message_expiry_interval(Duration::from_secs(u32::MAX as u64))
        .tls_cert(tls.map(|t| path(&t.cert)))
        .tls_key(tls.map(|t| path(&t.key)))
        .bind()
        .map_err(|e| anyhow::anyhow!("MQTT listener on {addr}: {e}"))?;
    let local = listener.local_addr().map_err(|e| anyhow::anyhow!("{e}"))?;
    let listener = match tls {
        Some(_) => listener.tls(),
        None => listener.tcp(),
    }
    .map_err(|e| anyhow::anyhow!("MQTT listener on {addr}: {e}"))?;
    Ok((listener, local))
}

/// The largest MQTT packet the broker takes (bytes).
pub const MAX_PACKET: u32 = 64 * 1024;

struct Shared {
    throttle: Arc<LoginThrottle>,
    /// Set before the broker listens.
    served: Arc<OnceLock<Served>>,
}

static NOBODY: std::sync::LazyLock<Accounts> = std::sync::LazyLock::new(Accounts::default);

/// The hook handler that applies [`Identity`]'s rules and hands the
/// server's messages to its inbox.
struct Guard(Arc<Shared>);

impl Guard {
    fn accounts(&self) -> &Accounts {
        self.0.served.get().map_or(&NOBODY, |s| &s.accounts)
    }

    /// The inbox of the hall whose server takes messages on this topic.
    fn for_server(&self, topic: &str) -> Option<&Arc<dyn Inbox>> {
        use hallq_contract::Topic;
        match Topic::parse(topic) {
            Some((h, Topic::PadCmd(_) | Topic::Rating(_) | Topic::DeviceStatus(_))) => {
                self.0.served.get()?.inboxes.get(h)
            }
            _ => None,
        }
    }

    fn authenticate(&self, c: &ConnectInfo) -> AuthResult {
        let throttle = &self.0.throttle;
        let ip = c.id().remote_addr.map(|a| a.ip());
        if let Some(ip) = ip
            && !throttle.allowed(ip, Instant::now())
        {
            tracing::warn!(%ip, "MQTT login refused: too many failed logins from this address");
            return AuthResult::NotAuthorized;
        }
        let fail = |why: &str, user: &str| {
            tracing::warn!(user, ?ip, "MQTT login refused: {why}");
            if let Some(ip) = ip
                && throttle.failed(ip, Instant::now())
            {
                tracing::warn!(%ip, "too many failed logins: address locked out for a minute");
            }
            AuthResult::BadUsernameOrPassword
        };
        let (Some(user), Some(pass)) = (c.username(), c.password()) else {
            return fail("no username or password", "");
        };
        let Some(account) = self.accounts().by_user.get(user.as_ref() as &str) else {
            return fail("unknown device", user);
        };
        if !constant_time_eq(account.password.as_bytes(), pass.as_ref()) {
            return fail("wrong password", user);
        }
        if let Some(ip) = ip {
            throttle.succeeded(ip);
        }
        let id = self.accounts().identity(user).expect("account exists");
        let client_id: &str = c.client_id();
        if !id.may_use_client_id(client_id) {
            tracing::warn!(user = %user, client_id, "MQTT login refused: the client id must start with the device id");
            return AuthResult::NotAuthorized;
        }
        if let Some(will) = c.last_will() {
            let topic = match will {
                LastWill::V3(w) => w.topic.to_string(),
                LastWill::V5(w) => w.topic.to_string(),
            };
            if !id.may_will(&topic) {
                tracing::warn!(user = %user, %topic, "MQTT login refused: will on a foreign topic");
                return AuthResult::NotAuthorized;
            }
        }
        AuthResult::Allow(false, None)
    }
}

#[async_trait]
impl Handler for Guard {
    async fn hook(&self, param: &Parameter, acc: Option<HookResult>) -> ReturnType {
        match param {
            Parameter::ClientAuthenticate(c) => {
                (false, Some(HookResult::AuthResult(self.authenticate(c))))
            }
            Parameter::ClientSubscribeCheckAcl(s, sub) => {
                let user = s.id.username_ref();
                let ok = self
                    .accounts()
                    .identity(user)
                    .is_some_and(|id| id.may_subscribe(&sub.topic_filter));
                let r = if ok {
                    SubscribeAclResult::new_success(sub.opts.qos(), None)
                } else {
                    tracing::warn!(user, filter = %sub.topic_filter, "MQTT subscribe refused");
                    SubscribeAclResult::new_failure(SubscribeAckReason::NotAuthorized)
                };
                (false, Some(HookResult::SubscribeAclResult(r)))
            }
            Parameter::MessagePublishCheckAcl(s, p) => {
                let user = s.id.username_ref();
                let id = self.accounts().identity(user);
                let ok = id.is_some_and(|id| id.may_publish(&p.topic));
                let retain_ok = !p.retain || id.is_some_and(|id| id.may_retain(&p.topic));
                let r = if ok && retain_ok {
                    if let Some(inbox) = self.for_server(&p.topic) {
                        inbox.deliver(&p.topic, &p.payload, p.retain).await;
                    }
                    PublishAclResult::allow()
                } else if ok {
                    tracing::warn!(user, topic = %p.topic, "MQTT publish refused: retained message on a topic that is never retained");
                    PublishAclResult::rejected(false, None)
                } else {
                    tracing::warn!(user, topic = %p.topic, "MQTT publish refused");
                    PublishAclResult::rejected(false, None)
                };
                (false, Some(HookResult::PublishAclResult(r)))
            }
            // A will is checked at login (its topic is the device's own
            // status) and published without the publish check: the server
            // hears of the device's going here.
            Parameter::MessagePublish(_, from, p) if matches!(from.typ(), FromType::LastWill) => {
                if let Some(inbox) = self.for_server(&p.topic) {
                    inbox.deliver(&p.topic, &p.payload, p.retain).await;
                }
                (true, acc)
            }
            _ => (true, acc),
        }
    }
}

/// Compares secrets in time that does not depend on where they differ.
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Retained messages in memory, kept until replaced (no expiry).
struct RamRetain(DefaultRetainStorage);

#[async_trait]
impl RetainStorage for RamRetain {
    fn enable(&self) -> bool {
        true
    }

    async fn set(
        &self,
        topic: &TopicName,
        retain: Retain,
        _expiry: Option<Duration>,
    ) -> rmqtt::Result<()> {
        self.0.set_with_timeout(topic, retain, None).await
    }

    async fn get(&self, filter: &TopicFilter) -> rmqtt::Result<Vec<(TopicName, Retain)>> {
        self.0.get_message(filter).await
    }

    async fn count(&self) -> isize {
        self.0
            .get_all_paginated(0, usize::MAX)
            .await
            .map(|(v, _)| v.len() as isize)
            .unwrap_or(0)
    }

    async fn max(&self) -> isize {
        self.count().await
    }
}
