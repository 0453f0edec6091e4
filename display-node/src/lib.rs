//! A window's LED display on a Linux board: follows the window's retained
//! `window/{win}/state`, draws it with [`hallq_render`], and shows it (here:
//! a terminal preview and a PNG rewritten on every change). A display that
//! hears nothing from the server — no state, no `heartbeat` — for
//! `offline_after` shows 离线 instead of an old ticket, and the window's
//! state again as soon as the server is back.

use std::io::BufWriter;
use std::path::Path;
use std::time::{Duration, Instant};

use hallq_client::{Login, Presence};
use hallq_contract::{Topic, WindowState};
use hallq_render::{Framebuffer, draw_text, draw_window, offline_text};
use rumqttc::{Event, Packet, QoS};

/// What a display shows.
#[derive(Debug, Clone, Copy)]
pub enum Shown<'a> {
    State(&'a WindowState),
    /// Nothing heard from the server for a while.
    Offline,
}

/// Follows one window. Calls `show` with every newer state and its picture,
/// and with [`Shown::Offline`] when the server has been silent for
/// `offline_after`; states older than one already shown (by `seq`) are
/// dropped.
pub async fn follow(
    login: Login,
    window: String,
    width: u32,
    height: u32,
    offline_after: Duration,
    mut show: impl FnMut(Shown<'_>, &Framebuffer),
) -> anyhow::Result<()> {
    let presence = Presence {
        role: "display",
        window: Some(window.clone()),
    };
    let (client, mut eventloop) =
        login.connect(&login.client_id(std::process::id()), Some(&presence));
    let topic = Topic::WindowState(&window).to_string(&login.hall);
    let heartbeat = Topic::Heartbeat.to_string(&login.hall);
    let mut last_seq = None;
    let mut last: Option<WindowState> = None;
    let mut heard = Instant::now();
    let mut offline = false;
    let mut warned = false;
    let mut fb = Framebuffer::new(width, height);
    let mut check = tokio::time::interval(Duration::from_millis(250));
    loop {
        let event = tokio::select! {
            e = eventloop.poll() => e,
            _ = check.tick() => {
                if !offline && heard.elapsed() >= offline_after {
                    offline = true;
                    let name = last.as_ref().map_or_else(|| format!("{window}号窗口"), |s| s.name.clone());
                    if draw_text(&mut fb, &offline_text(&name)).is_ok() {
                        show(Shown::Offline, &fb);
                    }
                }
                continue;
            }
        };
        match event {
            Ok(Event::Incoming(Packet::ConnAck(_))) => {
                client.subscribe(&topic, QoS::AtLeastOnce).await?;
                client.subscribe(&heartbeat, QoS::AtMostOnce).await?;
                login.announce(&client, &presence).await?;
            }
            Ok(Event::Incoming(Packet::Publish(p))) if p.topic == heartbeat => {
                heard = Instant::now();
                if std::mem::take(&mut offline)
                    && let Some(state) = &last
                    && draw_window(&mut fb, state).is_ok()
                {
                    show(Shown::State(state), &fb);
                }
            }
            Ok(Event::Incoming(Packet::Publish(p))) if p.topic == topic => {
                heard = Instant::now();
                offline = false;
                let state: WindowState = match serde_json::from_slice(&p.payload) {
                    Ok(s) => s,
                    Err(e) => {
                        // The last good picture stays; said once, not per message.
                        if !std::mem::replace(&mut warned, true) {
                            eprintln!("unreadable window state ignored (said once): {e}");
                        }
                        continue;
                    }
                };
                if last_seq.is_some_and(|s| state.seq < s) {
                    continue;
                }
                last_seq = Some(state.seq);
                if let Err(e) = draw_window(&mut fb, &state) {
                    eprintln!("cannot draw {state:?}: {e:?}");
                    continue;
                }
                show(Shown::State(&state), &fb);
                last = Some(state);
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
                tokio::time::sleep(std::time::Duration::from_millis(500)).await;
            }
        }
    }
}

/// Writes the picture as a PNG, each LED `scale`×`scale` pixels, lit LEDs
/// red on black like a hall's LED board. Written to a temporary file and
/// renamed, so a reader never sees half a picture.
pub fn write_png(fb: &Framebuffer, path: &Path, scale: u32) -> anyhow::Result<()> {
    let (w, h) = (fb.width() * scale, fb.height() * scale);
    let mut data = Vec::with_capacity((w * h * 3) as usize);
    for y in 0..h {
        for x in 0..w {
            let on = fb.get(x / scale, y / scale);
            data.extend_from_slice(if on { &[255, 40, 20] } else { &[20, 0, 0] });
        }
    }
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
