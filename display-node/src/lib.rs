//! A window's LED display on a Linux board: follows the window's retained
//! `window/{win}/state`, draws it with [`hallq_render`], and shows it (here:
//! a terminal preview and a PNG rewritten on every change).

use std::io::BufWriter;
use std::path::Path;

use hallq_client::{Login, Presence};
use hallq_contract::{Topic, WindowState};
use hallq_render::{Framebuffer, draw_window};
use rumqttc::{Event, Packet, QoS};

/// Follows one window. Calls `show` with every newer state and its picture;
/// states older than one already shown (by `seq`) are dropped.
pub async fn follow(
    login: Login,
    window: String,
    width: u32,
    height: u32,
    mut show: impl FnMut(&WindowState, &Framebuffer),
) -> anyhow::Result<()> {
    let presence = Presence {
        role: "display",
        window: Some(window.clone()),
    };
    let (client, mut eventloop) =
        login.connect(&login.client_id(std::process::id()), Some(&presence));
    let topic = Topic::WindowState(&window).to_string(&login.hall);
    let mut last_seq = None;
    let mut fb = Framebuffer::new(width, height);
    loop {
        match eventloop.poll().await {
            Ok(Event::Incoming(Packet::ConnAck(_))) => {
                client.subscribe(&topic, QoS::AtLeastOnce).await?;
                login.announce(&client, &presence).await?;
            }
            Ok(Event::Incoming(Packet::Publish(p))) if p.topic == topic => {
                let state: WindowState = match serde_json::from_slice(&p.payload) {
                    Ok(s) => s,
                    Err(e) => {
                        eprintln!("unreadable window state ignored: {e}");
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
                show(&state, &fb);
            }
            Ok(_) => {}
            Err(rumqttc::ConnectionError::ConnectionRefused(code)) => {
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
