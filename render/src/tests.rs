use super::*;
use alloc::vec::Vec;
use embedded_graphics::pixelcolor::{BinaryColor, Rgb565, Rgb888};
use hallq_contract::{WindowState, WindowStatus};

fn state(status: WindowStatus, number: Option<&str>) -> WindowState {
    WindowState::shown("3", "3号窗口", status, number)
}

#[test]
fn text_follows_the_status() {
    let t = |s, n| sign_text(Sign::State(&state(s, n)));
    assert_eq!(
        t(WindowStatus::Calling, Some("A001")),
        SignText {
            big: "A001".into(),
            small: "请到3号窗口".into(),
            look: Look::Calling,
        }
    );
    assert_eq!(t(WindowStatus::Serving, Some("A001")).small, "正在办理");
    assert_eq!(
        t(WindowStatus::Idle, None),
        SignText {
            big: "3号窗口".into(),
            small: "欢迎光临".into(),
            look: Look::Idle,
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
            let mut fb: Framebuffer = Framebuffer::new(128, 32);
            draw_window(&mut fb, &s).unwrap();
            assert!(fb.lit() > 50, "{n} {status:?}");
        }
    }
}

#[test]
fn a_missing_glyph_is_reported_not_skipped() {
    let mut fb: Framebuffer = Framebuffer::new(128, 32);
    let text = SignText {
        big: "A001".into(),
        small: "😀".into(),
        look: Look::Calling,
    };
    assert_eq!(
        draw_sign_text(&mut fb, &text, 0).map(|_| ()),
        Err(RenderError::GlyphNotFound('😀'))
    );
}

#[test]
fn lines_are_centred_and_stacked() {
    let mut fb: Framebuffer = Framebuffer::new(128, 32);
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
    let mut fb: Framebuffer = Framebuffer::new(128, 32);
    draw_window(&mut fb, &state(WindowStatus::Calling, Some("A001"))).unwrap();
    let calling = fb.clone();
    draw_window(&mut fb, &state(WindowStatus::Idle, None)).unwrap();
    let mut fresh: Framebuffer = Framebuffer::new(128, 32);
    draw_window(&mut fresh, &state(WindowStatus::Idle, None)).unwrap();
    assert_eq!(fb, fresh);
    assert_ne!(fb, calling);
}

/// Compares a picture with its golden text picture in `tests/golden/`.
/// After a deliberate change of layout or font, look at the new pictures
/// (`cargo run -p hallq-display --example pictures` writes them as PNG) and
/// save them with `HALLQ_BLESS=1 cargo test -p hallq-render`.
fn golden<C: LedColor>(name: &str, fb: &Framebuffer<C>) {
    extern crate std;
    let path = std::format!("{}/tests/golden/{name}.txt", env!("CARGO_MANIFEST_DIR"));
    if std::env::var_os("HALLQ_BLESS").is_some() {
        std::fs::write(&path, fb.to_ascii()).unwrap();
    }
    let golden = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        fb.to_ascii() == golden,
        "{name} differs from its golden picture\n{}",
        fb.to_halfblocks()
    );
}

fn sign<C: LedColor>(w: u32, h: u32, sign: Sign<'_>, age_ms: u64) -> Framebuffer<C> {
    let mut fb = Framebuffer::new(w, h);
    draw_sign(&mut fb, sign, age_ms).unwrap();
    fb
}

/// Every size from one P10 row to 256×64, one-colour and RGB: a call, and
/// at 128×32 every look.
#[test]
fn signs_match_their_golden_pictures() {
    let calling = state(WindowStatus::Calling, Some("A001"));
    let mut paused = state(WindowStatus::Paused, None);
    paused.pause_reason = Some("系统维护".into());
    let offline = Sign::Offline {
        window_name: "3号窗口",
    };
    for (w, h) in [(64, 16), (96, 16), (128, 32), (256, 64)] {
        let s = Sign::State(&calling);
        golden(
            &alloc::format!("calling-{w}x{h}"),
            &sign::<BinaryColor>(w, h, s, 0),
        );
        golden(
            &alloc::format!("calling-{w}x{h}-rgb"),
            &sign::<Rgb565>(w, h, s, 0),
        );
    }
    for (name, s) in [
        (
            "serving",
            Sign::State(&state(WindowStatus::Serving, Some("B012"))),
        ),
        ("idle", Sign::State(&state(WindowStatus::Idle, None))),
        ("paused", Sign::State(&paused)),
        ("closed", Sign::State(&state(WindowStatus::Closed, None))),
        ("offline", offline),
    ] {
        golden(
            &alloc::format!("{name}-128x32"),
            &sign::<BinaryColor>(128, 32, s, 0),
        );
        golden(
            &alloc::format!("{name}-128x32-rgb"),
            &sign::<Rgb888>(128, 32, s, 0),
        );
    }
    golden("offline-64x16", &sign::<BinaryColor>(64, 16, offline, 0));
}

/// The looks differ where a one-colour board cannot use colour: a paused
/// sign has a lit bar, an offline one a frame.
#[test]
fn looks_are_told_apart_without_colour() {
    let mono = |s| sign::<BinaryColor>(128, 32, s, 0);
    let (idle, paused) = (
        state(WindowStatus::Idle, None),
        state(WindowStatus::Paused, None),
    );
    let idle = mono(Sign::State(&idle));
    let paused = mono(Sign::State(&paused));
    let offline = mono(Sign::Offline {
        window_name: "3号窗口",
    });
    // The paused bar: the lower row is mostly lit.
    let lower_lit = |fb: &Framebuffer| {
        (19..32)
            .map(|y| (0..128).filter(|x| fb.get(*x, y)).count())
            .sum::<usize>()
    };
    assert!(
        lower_lit(&paused) > 128 * 13 / 2,
        "{}",
        paused.to_halfblocks()
    );
    assert!(lower_lit(&idle) < 128 * 13 / 3);
    // The offline frame: the corners and edges are lit, never for idle.
    assert!(offline.get(0, 0) && offline.get(127, 31) && offline.get(0, 31));
    assert!(!idle.get(0, 0));
    // Colours: the number red, the instruction green, the pause amber.
    let rgb = sign::<Rgb888>(
        128,
        32,
        Sign::State(&state(WindowStatus::Calling, Some("A001"))),
        0,
    );
    let colours: alloc::collections::BTreeSet<char> = rgb.to_ascii().chars().collect();
    assert!(
        colours.contains(&'R') && colours.contains(&'G'),
        "{colours:?}"
    );
}

/// A new call blinks: lit, dark, lit, for BLINK_MS; then it stays.
#[test]
fn a_new_call_blinks_then_stays() {
    let calling = state(WindowStatus::Calling, Some("A001"));
    let at = |ms| {
        let mut fb: Framebuffer = Framebuffer::new(128, 32);
        let drawn = draw_sign(&mut fb, Sign::State(&calling), ms).unwrap();
        (fb, drawn.moving)
    };
    let (on, moving) = at(0);
    assert!(moving);
    let (off, _) = at(450);
    let upper = |fb: &Framebuffer| {
        (0..18)
            .map(|y| (0..128).filter(|x| fb.get(*x, y)).count())
            .sum::<usize>()
    };
    assert!(
        upper(&on) > 40 && upper(&off) == 0,
        "{} {}",
        upper(&on),
        upper(&off)
    );
    assert_eq!(at(800).0, on);
    let (steady, moving) = at(BLINK_MS + 450);
    assert_eq!(steady, on, "the number stays lit after the blink");
    assert!(!moving, "nothing moves on a sign that fits");
    // Serving does not blink.
    let serving = state(WindowStatus::Serving, Some("A001"));
    let mut fb: Framebuffer = Framebuffer::new(128, 32);
    assert!(
        !draw_sign(&mut fb, Sign::State(&serving), 450)
            .unwrap()
            .moving
    );
}

/// Text wider than the panel scrolls: its frames follow time, it starts
/// at the left edge and comes back to where it began after one period.
#[test]
fn text_that_does_not_fit_scrolls_with_time() {
    let calling = state(WindowStatus::Calling, Some("A001"));
    let at = |ms| sign::<BinaryColor>(64, 16, Sign::State(&calling), ms);
    let mut fb: Framebuffer = Framebuffer::new(64, 16);
    assert!(
        draw_sign(&mut fb, Sign::State(&calling), BLINK_MS)
            .unwrap()
            .moving
    );
    let a = at(BLINK_MS);
    let b = at(BLINK_MS + 250);
    assert_ne!(a, b, "moved in 250 ms");
    golden("calling-64x16-scrolled", &b);
    // "请到3号窗口" at 16 px is 6 glyphs wide; one period is its width plus
    // the gap, at SCROLL_PX_PER_S: the same frame again.
    let font = text::cjk_font(16);
    let period = text::width::<()>(font, "请到3号窗口").unwrap() as u64 + 24;
    let period_ms = period * 1000 / SCROLL_PX_PER_S;
    assert_eq!(at(BLINK_MS + 250 + period_ms), b);
}

/// Chained P10 modules are one panel to the renderer: 3×1 modules draw as
/// 96×16 and the number keeps its place at the left.
#[test]
fn a_single_row_keeps_the_number_still() {
    let calling = state(WindowStatus::Calling, Some("A001"));
    let left = |fb: &Framebuffer| {
        (0..30)
            .flat_map(|x| (0..16).map(move |y| (x, y)))
            .filter(|(x, y)| fb.get(*x, *y))
            .count()
    };
    let a = sign::<BinaryColor>(96, 16, Sign::State(&calling), BLINK_MS);
    let b = sign::<BinaryColor>(96, 16, Sign::State(&calling), BLINK_MS + 500);
    assert!(left(&a) > 20);
    assert_eq!(left(&a), left(&b));
}

/// The number's font grows with the panel.
#[test]
fn the_number_fills_the_panel_height() {
    let calling = state(WindowStatus::Calling, Some("A001"));
    let rows = |fb: &Framebuffer| {
        (0..fb.height())
            .filter(|y| (0..fb.width()).any(|x| fb.get(x, *y)))
            .count()
    };
    let small = sign::<BinaryColor>(128, 32, Sign::State(&calling), 0);
    let large = sign::<BinaryColor>(256, 64, Sign::State(&calling), 0);
    let number_rows = |fb: &Framebuffer, upto| {
        (0..upto)
            .filter(|y| (0..fb.width()).any(|x| fb.get(x, *y)))
            .count()
    };
    assert!(number_rows(&small, 19) >= 15, "{}", small.to_halfblocks());
    assert!(number_rows(&large, 46) >= 38, "{}", large.to_halfblocks());
    assert!(rows(&large) > rows(&small));
}

fn wall() -> Wall {
    let call = |n: &str, w: &str| WallCall {
        number: n.into(),
        window_name: w.into(),
    };
    let queue = |s: &str, n| WallQueue {
        service_name: s.into(),
        waiting: n,
    };
    Wall {
        calls: alloc::vec![
            call("A012", "3号窗口"),
            call("B004", "7号窗口"),
            call("A011", "1号窗口")
        ],
        queues: alloc::vec![
            queue("社保", 12),
            queue("不动产登记", 3),
            queue("户籍", 0),
            queue("公积金", 5)
        ],
        notice: "今日16:30停止取号 Tickets until 16:30".into(),
    }
}

#[test]
fn the_wall_matches_its_golden_pictures() {
    let w = wall();
    for (width, height) in [(128, 32), (256, 64)] {
        let mut mono: Framebuffer = Framebuffer::new(width, height);
        draw_wall(&mut mono, &w, 0, BLINK_MS).unwrap();
        golden(&alloc::format!("wall-{width}x{height}"), &mono);
        let mut rgb: Framebuffer<Rgb565> = Framebuffer::new(width, height);
        draw_wall(&mut rgb, &w, 0, BLINK_MS).unwrap();
        golden(&alloc::format!("wall-{width}x{height}-rgb"), &rgb);
    }
}

/// The wall's notice scrolls, its queue pages turn, and a notice with a
/// character the font lacks is still shown (without that character).
#[test]
fn the_wall_moves_with_time_and_takes_any_notice() {
    let mut w = wall();
    let at = |w: &Wall, ms| {
        let mut fb: Framebuffer = Framebuffer::new(256, 64);
        let d = draw_wall(&mut fb, w, ms, BLINK_MS).unwrap();
        (fb, d.moving)
    };
    let (a, moving) = at(&w, 0);
    assert!(moving, "the long notice scrolls");
    let (b, _) = at(&w, 500);
    let notice_rows = |fb: &Framebuffer| {
        (48..64)
            .flat_map(|y| (0..256).map(move |x| (x, y)))
            .filter(|(x, y)| fb.get(*x, *y))
            .collect::<Vec<_>>()
    };
    assert_ne!(notice_rows(&a), notice_rows(&b));
    // Four services on three rows: two pages.
    let (p2, _) = at(&w, PAGE_MS);
    let right = |fb: &Framebuffer| {
        (170..256)
            .flat_map(|x| (0..48).map(move |y| (x, y)))
            .filter(|(x, y)| fb.get(*x, *y))
            .collect::<Vec<_>>()
    };
    assert_ne!(right(&a), right(&p2));
    w.notice = "停电😀通知".into();
    let (fb, _) = at(&w, 0);
    assert!(notice_rows(&fb).len() > 40);
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
        let mut fb: Framebuffer = Framebuffer::new(128, 64);
        draw_pad(&mut fb, &screen).unwrap();
        let path = std::format!("{}/tests/golden/{name}.txt", env!("CARGO_MANIFEST_DIR"));
        if std::env::var_os("HALLQ_BLESS").is_some() {
            std::fs::write(&path, fb.to_ascii()).unwrap();
        }
        let golden = std::fs::read_to_string(&path).unwrap();
        assert_eq!(fb.to_ascii(), golden, "{name}\n{}", fb.to_halfblocks());
    }
}
