//! LED displays on a Linux board: a window's sign ([`WindowModel`]) or the
//! hall's LED wall ([`WallModel`]), following the server's retained topics
//! over MQTT and drawn with [`hallq_render`]; shown as a terminal preview,
//! a PNG, and/or a Linux framebuffer device ([`fbdev`]).
//!
//! A display that hears nothing from the server — no message, no
//! `heartbeat` — for `offline_after` shows 离线 instead of an old ticket,
//! and its picture again as soon as the server is back. Scrolling and
//! blinking are redrawn every [`FRAME`] while they last.

pub mod fbdev;
mod wall;
mod window;

use std::io::BufWriter;
use std::path::Path;
use std::time::{Duration, Instant};

use hallq_client::{Login, Presence};
use hallq_contract::Topic;
use hallq_render::{Drawn, Framebuffer, LedColor, RenderError, Sign, draw_sign};
use rumqttc::{Event, Packet, QoS};

pub use hallq_render::{BinaryColor, Rgb565, Rgb888};
pub use wall::WallModel;
pub use window::WindowModel;

/// How often a moving picture is drawn again (25 frames a second).
pub const FRAME: Duration = Duration::from_millis(40);

/// What a display shows and how it reads the server's messages.
pub trait Model {
    /// The topics to subscribe to (the heartbeat is added).
    fn topics(&self, hall: &str) -> Vec<String>;
    /// Takes one message from the server. `Ok(true)`: the picture changed;
    /// `Err`: the message could not be read (the picture stays).
    fn on_message(&mut self, topic: &str, payload: &[u8], now: Instant) -> Result<bool, String>;
    /// Draws the picture as it is at `now`.
    fn draw<C: LedColor>(
        &self,
        fb: &mut Framebuffer<C>,
        now: Instant,
    ) -> Result<Drawn, RenderError<core::convert::Infallible>>;
    /// The name shown with 离线.
    fn name(&self) -> String;
    /// A line for the terminal preview.
    fn caption(&self) -> String;
    /// Whether there is anything to draw yet.
    fn ready(&self) -> bool;
}

/// One picture handed to the output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Frame {
    /// New content (a new state, a call, offline, back).
    Changed,
    /// The same content a moment later (scrolling, blinking).
    Moved,
}

/// Whether the display shows the server's picture or 离线.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shown {
    Live,
    Offline,
}

/// Follows the server for `model`: calls `show` with every new picture
/// and every animation frame, and shows 离线 after `offline_after` of
/// silence. Returns only when the broker refuses the login.
pub async fn follow<M: Model, C: LedColor>(
    login: Login,
    presence: Presence,
    mut model: M,
    (width, height): (u32, u32),
    offline_after: Duration,
    mut show: impl FnMut(&Framebuffer<C>, Frame, Shown, &M),
) -> anyhow::Result<()> {
    let (client, mut eventloop) =
        login.connect(&login.client_id(std::process::id()), Some(&presence));
    let topics = model.topics(&login.hall);
    let heartbeat = Topic::Heartbeat.to_string(&login.hall);
    let mut heard = Instant::now();
    let mut offline = false;
    let mut moving = false;
    let mut warned = false;
    let mut fb = Framebuffer::<C>::new(width, height);
    let mut tick = tokio::time::interval(FRAME);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut redraw = |model: &M, fb: &mut Framebuffer<C>, offline: bool, frame: Frame| -> bool {
        let now = Instant::now();
        let drawn = if offline {
            let name = model.name();
            draw_sign(fb, Sign::Offline { window_name: &name }, 0)
        } else {
            model.draw(fb, now)
        };
        match drawn {
            Ok(d) => {
                let shown = if offline { Shown::Offline } else { Shown::Live };
                show(fb, frame, shown, model);
                d.moving
            }
            Err(e) => {
                eprintln!("cannot draw: {e:?}");
                false
            }
        }
    };
    loop {
        let event = tokio::select! {
            e = eventloop.poll() => e,
            _ = tick.tick() => {
                if !offline && heard.elapsed() >= offline_after {
                    offline = true;
                    moving = redraw(&model, &mut fb, true, Frame::Changed);
                } else if moving {
                    moving = redraw(&model, &mut fb, offline, Frame::Moved);
                }
                continue;
            }
        };
        match event {
            Ok(Event::Incoming(Packet::ConnAck(_))) => {
                for t in &topics {
                    client.subscribe(t, QoS::AtLeastOnce).await?;
                }
                client.subscribe(&heartbeat, QoS::AtMostOnce).await?;
                login.announce(&client, &presence).await?;
            }
            Ok(Event::Incoming(Packet::Publish(p))) => {
                // Any message comes from the server: it is there.
                heard = Instant::now();
                let back = std::mem::take(&mut offline);
                let changed = if p.topic == heartbeat {
                    false
                } else {
                    match model.on_message(&p.topic, &p.payload, Instant::now()) {
                        Ok(changed) => changed,
                        Err(e) => {
                            // The last good picture stays; said once.
                            if !std::mem::replace(&mut warned, true) {
                                eprintln!(
                                    "unreadable message on {} ignored (said once): {e}",
                                    p.topic
                                );
                            }
                            false
                        }
                    }
                };
                if (changed || back) && model.ready() {
                    moving = redraw(&model, &mut fb, false, Frame::Changed);
                } else if back {
                    offline = true;
                }
            }
            Ok(_) => {}
            // A wrong login will not get better: stop and say so. Anything
            // else (the broker busy or restarting) is tried again.
            Err(rumqttc::ConnectionError::ConnectionRefused(
                code @ (rumqttc::ConnectReturnCode::BadUserNamePassword
                | rumqttc::ConnectReturnCode::NotAuthorized
                | rumqttc::ConnectReturnCode::BadClientId),
            )) => {
                anyhow::bail!("broker refused the display's login: {code:?}")
            }
            Err(e) => {
                eprintln!("MQTT: {e}; retrying");
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }
    }
}

/// A PNG rewritten with every new picture and once a second while the
/// picture moves (a PNG is for people and tests, not 25 frames a second).
#[derive(Debug)]
pub struct PngOut {
    pub path: std::path::PathBuf,
    last: Option<Instant>,
}

impl PngOut {
    pub fn new(path: std::path::PathBuf) -> PngOut {
        PngOut { path, last: None }
    }

    pub fn show<C: LedColor>(&mut self, fb: &Framebuffer<C>, frame: Frame) {
        if frame == Frame::Moved
            && self
                .last
                .is_some_and(|t| t.elapsed() < Duration::from_secs(1))
        {
            return;
        }
        self.last = Some(Instant::now());
        if let Err(e) = write_png(fb, &self.path, 4) {
            eprintln!("cannot write {}: {e}", self.path.display());
        }
    }
}

/// Writes the picture as a PNG, each LED `scale`×`scale` pixels, in the
/// panel's colours (a one-colour board red on black). Written to a
/// temporary file and renamed, so a reader never sees half a picture.
pub fn write_png<C: LedColor>(fb: &Framebuffer<C>, path: &Path, scale: u32) -> anyhow::Result<()> {
    let (w, h) = (fb.width() * scale, fb.height() * scale);
    let data: Vec<u8> = fb.to_rgb(scale).into_iter().flatten().collect();
    let tmp = path.with_extension("png.tmp");
    {
        let file = std::fs::File::create(&tmp)?;
        let mut enc = png::Encoder::new(BufWriter::new(file), w, h);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        enc.write_header()?.write_image_data(&data)?;
    }
    std::fs::rename(&tmp, path)?;
    Ok(())
}
