//! Writes PNG pictures of every sign look and the wall at several sizes,
//! one-colour and RGB, to look at after a change of the renderer:
//! `cargo run -p hallq-display --example pictures -- DIR`.

use embedded_graphics::pixelcolor::{BinaryColor, Rgb888};
use hallq_contract::{WindowState, WindowStatus};
use hallq_render::{
    BLINK_MS, Framebuffer, LedColor, Sign, Wall, WallCall, WallQueue, draw_sign, draw_wall,
};

fn state(status: WindowStatus, number: Option<&str>) -> WindowState {
    let mut s = WindowState::shown("3", "3号窗口", status, number);
    if status == WindowStatus::Paused {
        s.pause_reason = Some("系统维护".into());
    }
    s
}

fn save<C: LedColor>(dir: &std::path::Path, name: &str, fb: &Framebuffer<C>) {
    let path = dir.join(format!("{name}.png"));
    hallq_display::write_png(fb, &path, 4).expect("png");
    println!("{}", path.display());
}

fn main() {
    let dir =
        std::path::PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| "pictures".into()));
    std::fs::create_dir_all(&dir).expect("dir");
    let looks = [
        ("calling", state(WindowStatus::Calling, Some("A001"))),
        ("serving", state(WindowStatus::Serving, Some("B012"))),
        ("idle", state(WindowStatus::Idle, None)),
        ("paused", state(WindowStatus::Paused, None)),
        ("closed", state(WindowStatus::Closed, None)),
    ];
    for (w, h) in [(64, 16), (96, 16), (128, 32), (256, 64)] {
        for (name, s) in &looks {
            let mut mono: Framebuffer<BinaryColor> = Framebuffer::new(w, h);
            draw_sign(&mut mono, Sign::State(s), BLINK_MS).expect("draws");
            save(&dir, &format!("{name}-{w}x{h}"), &mono);
            let mut rgb: Framebuffer<Rgb888> = Framebuffer::new(w, h);
            draw_sign(&mut rgb, Sign::State(s), BLINK_MS).expect("draws");
            save(&dir, &format!("{name}-{w}x{h}-rgb"), &rgb);
        }
        let offline = Sign::Offline {
            window_name: "3号窗口",
        };
        let mut rgb: Framebuffer<Rgb888> = Framebuffer::new(w, h);
        draw_sign(&mut rgb, offline, 0).expect("draws");
        save(&dir, &format!("offline-{w}x{h}-rgb"), &rgb);
    }
    let call = |n: &str, w: &str| WallCall {
        number: n.into(),
        window_name: w.into(),
    };
    let queue = |s: &str, n| WallQueue {
        service_name: s.into(),
        waiting: n,
    };
    let wall = Wall {
        calls: vec![
            call("A012", "3号窗口"),
            call("B004", "7号窗口"),
            call("A011", "1号窗口"),
        ],
        queues: vec![
            queue("社保", 12),
            queue("不动产登记", 3),
            queue("户籍", 0),
            queue("公积金", 5),
        ],
        notice: "今日16:30停止取号 Tickets until 16:30".into(),
    };
    for (w, h) in [(128, 32), (256, 64), (384, 128)] {
        let mut rgb: Framebuffer<Rgb888> = Framebuffer::new(w, h);
        draw_wall(&mut rgb, &wall, 0, BLINK_MS).expect("draws");
        save(&dir, &format!("wall-{w}x{h}-rgb"), &rgb);
        let mut mono: Framebuffer<BinaryColor> = Framebuffer::new(w, h);
        draw_wall(&mut mono, &wall, 0, BLINK_MS).expect("draws");
        save(&dir, &format!("wall-{w}x{h}"), &mono);
    }
}
