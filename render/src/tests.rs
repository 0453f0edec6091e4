use super::*;
use alloc::vec::Vec;
use hallq_contract::TicketRef;

fn state(status: WindowStatus, number: Option<&str>) -> WindowState {
    WindowState {
        window: "3".into(),
        name: "3号窗口".into(),
        status,
        ticket: number.map(|n| TicketRef {
            number: n.into(),
            service: None,
            service_name: None,
            materials: Vec::new(),
            class: None,
            owner: None,
            limit_min: None,
        }),
        waiting: 4,
        seq: 1,
        clerk: None,
        pause_reason: None,
        held: Vec::new(),
        queues: Vec::new(),
        clerk_today: None,
    }
}

#[test]
fn text_follows_the_status() {
    let t = |s, n| window_text(&state(s, n));
    assert_eq!(
        t(WindowStatus::Calling, Some("A001")),
        WindowText {
            big: "A001".into(),
            small: "请到3号窗口".into()
        }
    );
    assert_eq!(t(WindowStatus::Serving, Some("A001")).small, "正在办理");
    assert_eq!(
        t(WindowStatus::Idle, None),
        WindowText {
            big: "3号窗口".into(),
            small: "欢迎光临".into()
        }
    );
    assert_eq!(t(WindowStatus::Paused, None).small, "暂停服务");
    assert_eq!(t(WindowStatus::Closed, None).small, "窗口关闭");
}

#[test]
fn every_window_and_status_renders_in_the_fonts() {
    for n in 1..=12 {
        for (status, number) in [
            (WindowStatus::Calling, Some("A001")),
            (WindowStatus::Serving, Some("F123")),
            (WindowStatus::Idle, None),
            (WindowStatus::Paused, None),
            (WindowStatus::Closed, None),
        ] {
            let mut s = state(status, number);
            s.name = alloc::format!("{n}号窗口");
            let mut fb = Framebuffer::new(128, 32);
            draw_window(&mut fb, &s).unwrap();
            assert!(fb.lit() > 50, "{n} {status:?}");
        }
    }
}

#[test]
fn a_missing_glyph_is_reported_not_skipped() {
    let mut fb = Framebuffer::new(128, 32);
    let text = WindowText {
        big: "A001".into(),
        small: "😀".into(),
    };
    assert_eq!(
        draw_text(&mut fb, &text),
        Err(RenderError::GlyphNotFound('😀'))
    );
}

#[test]
fn lines_are_centred_and_stacked() {
    let mut fb = Framebuffer::new(128, 32);
    draw_window(&mut fb, &state(WindowStatus::Calling, Some("A001"))).unwrap();
    let cols: Vec<u32> = (0..128)
        .filter(|x| (0..32).any(|y| fb.get(*x, y)))
        .collect();
    let (left, right) = (cols[0], 127 - cols[cols.len() - 1]);
    assert!(
        left.abs_diff(right) <= 2,
        "left margin {left}, right margin {right}"
    );
    let upper = (0..14)
        .flat_map(|y| (0..128).map(move |x| (x, y)))
        .filter(|(x, y)| fb.get(*x, *y))
        .count();
    let lower = (18..32)
        .flat_map(|y| (0..128).map(move |x| (x, y)))
        .filter(|(x, y)| fb.get(*x, *y))
        .count();
    assert!(upper > 30 && lower > 30, "upper {upper}, lower {lower}");
}

#[test]
fn redrawing_clears_the_old_picture() {
    let mut fb = Framebuffer::new(128, 32);
    draw_window(&mut fb, &state(WindowStatus::Calling, Some("A001"))).unwrap();
    let calling = fb.clone();
    draw_window(&mut fb, &state(WindowStatus::Idle, None)).unwrap();
    let mut fresh = Framebuffer::new(128, 32);
    draw_window(&mut fresh, &state(WindowStatus::Idle, None)).unwrap();
    assert_eq!(fb, fresh);
    assert_ne!(fb, calling);
}

/// The picture of "A001 / 请到3号窗口" at 128×32, pixel for pixel. After a
/// deliberate change of layout or font, look at the new picture and save it
/// with `HALLQ_BLESS=1 cargo test -p hallq-render`.
#[test]
fn calling_picture_matches_the_golden_image() {
    extern crate std;
    let mut fb = Framebuffer::new(128, 32);
    draw_window(&mut fb, &state(WindowStatus::Calling, Some("A001"))).unwrap();
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/golden/calling-128x32.txt"
    );
    if std::env::var_os("HALLQ_BLESS").is_some() {
        std::fs::write(path, fb.to_ascii()).unwrap();
    }
    let golden = std::fs::read_to_string(path).unwrap();
    assert_eq!(fb.to_ascii(), golden, "\n{}", fb.to_halfblocks());
}

fn pad(status: WindowStatus, number: Option<&str>, online: bool) -> PadScreen {
    PadScreen {
        window_name: "3号窗口".into(),
        clerk: Some("zhang".into()),
        status,
        number: number.map(Into::into),
        service_name: number.map(|_| "商事登记".into()),
        elapsed_s: number.map(|_| 135),
        waiting: 4,
        online,
        message: Some("√好".into()).filter(|_| online),
    }
}

/// The hardware pad's screen at 128×64, pixel for pixel, for three looks.
/// Bless a deliberate change with `HALLQ_BLESS=1 cargo test -p hallq-render`
/// after looking at the new pictures (`to_halfblocks` in the failure).
#[test]
fn pad_screens_match_their_golden_images() {
    extern crate std;
    for (name, screen) in [
        (
            "pad-calling-128x64",
            pad(WindowStatus::Calling, Some("A001"), true),
        ),
        ("pad-idle-128x64", pad(WindowStatus::Idle, None, true)),
        (
            "pad-offline-128x64",
            pad(WindowStatus::Serving, Some("B012"), false),
        ),
    ] {
        let mut fb = Framebuffer::new(128, 64);
        draw_pad(&mut fb, &screen).unwrap();
        let path = std::format!("{}/tests/golden/{name}.txt", env!("CARGO_MANIFEST_DIR"));
        if std::env::var_os("HALLQ_BLESS").is_some() {
            std::fs::write(&path, fb.to_ascii()).unwrap();
        }
        let golden = std::fs::read_to_string(&path).unwrap();
        assert_eq!(fb.to_ascii(), golden, "{name}\n{}", fb.to_halfblocks());
    }
}
