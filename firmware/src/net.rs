//! The display's MQTT client: connects to the hall's broker over any
//! `embedded-nal-async` TCP stack with rust-mqtt (MQTT 5), sets its will
//! (`device/{id}/status` offline, retained), says it is online, subscribes
//! to its window's state and the server's heartbeat, and feeds every
//! message to the [`WindowDisplay`]. A lost connection is made again with
//! backoff (0.5 s doubling to 30 s); the panel keeps its picture and shows
//! 离线 by itself when the server stays silent.
//!
//! The board gives three things: a TCP stack, a delay and a monotonic clock
//! ([`Board`]), so the same code runs on a microcontroller (embassy-net,
//! a W5500, an ESP32's stack) and on the host board of the tests.

use alloc::format;
use core::net::SocketAddr;
use core::num::NonZero;

use embassy_futures::select::{Either, select};
use embedded_graphics::prelude::*;
use embedded_hal_async::delay::DelayNs;
use embedded_nal_async::TcpConnect;
use hallq_contract::Topic;
use hallq_render::LedColor;
use rust_mqtt::Bytes;
use rust_mqtt::buffer::AllocBuffer;
use rust_mqtt::client::Client;
use rust_mqtt::client::event::Event;
use rust_mqtt::client::options::{
    ConnectOptions, PublicationOptions, SubscriptionOptions, TopicReference, WillOptions,
};
use rust_mqtt::config::KeepAlive;
use rust_mqtt::types::{MqttBinary, MqttString, TopicFilter, TopicName};

use crate::WindowDisplay;

/// What the board provides besides its panel: a TCP stack, a delay and a
/// monotonic clock.
pub struct Board<'b, N, T, K> {
    pub net: &'b N,
    pub delay: &'b mut T,
    pub clock: &'b K,
}

impl<N, T, K> core::fmt::Debug for Board<'_, N, T, K> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Board")
    }
}

/// A monotonic clock in milliseconds (embassy-time's `Instant::now()` on a
/// microcontroller).
pub trait Clock {
    fn now_ms(&self) -> u64;
}

impl<B: Fn() -> u64> Clock for B {
    fn now_ms(&self) -> u64 {
        self()
    }
}

/// The display's login and its broker.
#[derive(Debug, Clone, Copy)]
pub struct Settings<'a> {
    pub broker: SocketAddr,
    pub hall: &'a str,
    pub window: &'a str,
    /// The device id (`led-3`); the MQTT username.
    pub device: &'a str,
    pub password: &'a str,
}

/// Keep-alive asked of the broker; a ping goes out after half of it.
const KEEP_ALIVE_S: u16 = 10;
/// The connection counts as dead after this long without any packet (the
/// server's heartbeat comes every 5 s).
const SILENT_MS: u64 = 3 * KEEP_ALIVE_S as u64 * 1000 / 2;
/// How often the panel is ticked (blinking, scrolling, offline).
const TICK_MS: u32 = 40;
const BACKOFF_FIRST_MS: u32 = 500;
const BACKOFF_MAX_MS: u32 = 30_000;

/// Why a connection ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// The TCP connection could not be made.
    Connect,
    /// The broker refused the login or the session failed.
    Mqtt,
    /// Nothing came for too long.
    Silent,
}

/// Runs the display for ever: connects, follows, reconnects with backoff.
pub async fn run<N, T, K, D, C>(
    board: Board<'_, N, T, K>,
    settings: Settings<'_>,
    display: &mut WindowDisplay<D>,
) -> !
where
    N: TcpConnect,
    T: DelayNs,
    K: Clock,
    D: DrawTarget<Color = C>,
    C: LedColor,
{
    let mut backoff = BACKOFF_FIRST_MS;
    loop {
        let started = board.clock.now_ms();
        let _ended = session(board.net, board.delay, board.clock, settings, display).await;
        // A session that ran a while was a good one: start the backoff over.
        if board.clock.now_ms() - started > 10_000 {
            backoff = BACKOFF_FIRST_MS;
        }
        // The panel keeps ticking while we wait: 离线 comes on time.
        let mut waited = 0;
        while waited < backoff {
            board.delay.delay_ms(TICK_MS).await;
            waited += TICK_MS;
            display.tick(board.clock.now_ms());
        }
        backoff = (backoff * 2).min(BACKOFF_MAX_MS);
    }
}

/// One connection, from connect to its end.
pub async fn session<N, T, K, D, C>(
    net: &N,
    delay: &mut T,
    clock: &K,
    settings: Settings<'_>,
    display: &mut WindowDisplay<D>,
) -> Ended
where
    N: TcpConnect,
    T: DelayNs,
    K: Clock,
    D: DrawTarget<Color = C>,
    C: LedColor,
{
    let Ok(conn) = net.connect(settings.broker).await else {
        return Ended::Connect;
    };
    let mut buffer = AllocBuffer;
    // 1 subscribe in flight at a time … no topic aliases.
    let mut client = Client::<'_, '_, _, _, 2, 8, 2, 1, 0, 0, 0>::new(&mut buffer);
    let status = Topic::DeviceStatus(settings.device).to_string(settings.hall);
    let offline = format!(
        r#"{{"online":false,"role":"display","window":"{}"}}"#,
        settings.window
    );
    let online = format!(
        r#"{{"online":true,"role":"display","window":"{}"}}"#,
        settings.window
    );
    let client_id = format!("{}.fw", settings.device);
    let (Ok(user), Ok(password), Ok(status_str), Ok(id)) = (
        MqttString::try_from(settings.device),
        MqttBinary::try_from(settings.password.as_bytes()),
        MqttString::try_from(status.as_str()),
        MqttString::try_from(client_id.as_str()),
    ) else {
        return Ended::Mqtt;
    };
    let Some(status_topic) = TopicName::new(status_str) else {
        return Ended::Mqtt;
    };
    let Ok(will_message) = MqttBinary::try_from(offline.as_bytes()) else {
        return Ended::Mqtt;
    };
    let options = ConnectOptions::new()
        .clean_start()
        .keep_alive(KeepAlive::Seconds(
            NonZero::new(KEEP_ALIVE_S).expect("non-zero"),
        ))
        .user_name(user)
        .password(password)
        .will(
            WillOptions::new(status_topic.clone(), will_message)
                .at_least_once()
                .retain(),
        );
    if client.connect(conn, &options, Some(id)).await.is_err() {
        return Ended::Mqtt;
    }
    let publish = PublicationOptions::new(TopicReference::Name(status_topic))
        .at_least_once()
        .retain();
    if client
        .publish(&publish, Bytes::from(online.as_bytes()))
        .await
        .is_err()
    {
        return Ended::Mqtt;
    }
    for (topic, once) in [(display.topic(), true), (display.heartbeat_topic(), false)] {
        let Some(filter) = MqttString::try_from(topic).ok().and_then(TopicFilter::new) else {
            return Ended::Mqtt;
        };
        let opts = if once {
            SubscriptionOptions::new().at_least_once()
        } else {
            SubscriptionOptions::new()
        };
        if client.subscribe(filter, &opts).await.is_err() {
            return Ended::Mqtt;
        }
    }
    let mut heard = clock.now_ms();
    let mut sent = clock.now_ms();
    loop {
        let now = clock.now_ms();
        if now - heard > SILENT_MS {
            return Ended::Silent;
        }
        if now - sent > u64::from(KEEP_ALIVE_S) * 1000 / 2 {
            if client.ping().await.is_err() {
                return Ended::Mqtt;
            }
            sent = now;
        }
        let header = match select(client.poll_header(), delay.delay_ms(TICK_MS)).await {
            Either::First(Ok(h)) => h,
            Either::First(Err(_)) => return Ended::Mqtt,
            Either::Second(()) => {
                display.tick(clock.now_ms());
                continue;
            }
        };
        heard = clock.now_ms();
        match client.poll_body(header).await {
            Ok(Event::Publish(p)) => {
                if let Some(name) = p.topic.name() {
                    let topic: &MqttString<'_> = name.as_ref();
                    display.on_message_at(topic.as_str(), p.message.as_bytes(), heard);
                }
            }
            Ok(_) => {}
            Err(_) => return Ended::Mqtt,
        }
        display.tick(clock.now_ms());
    }
}
