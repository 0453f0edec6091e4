//! The announcer against the real server and real pads: calls made within
//! 100 ms are said whole, in order, one after another; a recall that comes
//! while a call is being said is said after it, whole. The audio itself is
//! checked: each WAV holds the chime and the expected clips of the pack, in
//! order, sample for sample.

use std::path::{Path, PathBuf};
use std::time::Duration;

use hallq_contract::payload::Op;
use hallq_pad::Pad;
use hallq_tests::{Server, binary};
use serde_json::Value;

fn pack_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../announcer/packs/cmn")
}

/// The clip of `text` in the shipped pack, from its manifest.
fn clip(text: &str) -> Vec<i16> {
    let manifest: toml::Table =
        toml::from_str(&std::fs::read_to_string(pack_dir().join("pack.toml")).unwrap()).unwrap();
    let file = manifest["clips"][text]
        .as_str()
        .unwrap_or_else(|| panic!("no clip {text}"));
    read_wav(&pack_dir().join(file))
}

fn read_wav(path: &Path) -> Vec<i16> {
    hound::WavReader::open(path)
        .unwrap()
        .samples::<i16>()
        .map(Result::unwrap)
        .collect()
}

/// Checks that `audio` holds the clips of `words` in order, each exactly.
fn says(audio: &[i16], words: &[&str]) {
    let mut at = 0;
    for w in words {
        let c = clip(w);
        let found = audio[at..]
            .windows(c.len())
            .position(|x| x == c.as_slice())
            .unwrap_or_else(|| panic!("{w:?} is not said after sample {at} (words {words:?})"));
        at += found + c.len();
    }
}

fn log(dir: &Path) -> Vec<Value> {
    std::fs::read_to_string(dir.join("announcements.jsonl"))
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_are_said_whole_in_order_and_a_recall_waits_its_turn() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"));
    let wav = dir.path().join("voice");
    let mut announcer = std::process::Command::new(binary("hallq-announcer"))
        .args(["--port", &server.mqtt.port().to_string()])
        .args(["--password", "demo-voice-pass", "--repeats", "1"])
        .env("RUST_LOG", "warn")
        .arg("--wav-dir")
        .arg(&wav)
        .spawn()
        .unwrap();
    // The announcer is up once its own status says so.
    let mut online = false;
    for _ in 0..50 {
        if server.hall()["devices"]["voice-1"]["online"] == true {
            online = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(online, "the announcer did not come online");

    assert_eq!(server.take("business")["number"], "A001");
    assert_eq!(server.take("business")["number"], "A002");
    assert_eq!(server.take("social")["number"], "D001");
    let mut pads = Vec::new();
    for w in ["2", "3", "9"] {
        let mut pad = Pad::connect(&server.device(&format!("pad-{w}")), w)
            .await
            .unwrap();
        assert!(
            pad.send(Op::Open {
                clerk: None,
                pin: None
            })
            .await
            .unwrap()
            .ok
        );
        pads.push(pad);
    }
    // Three calls within 100 ms, then a recall while the first is said.
    let t = std::time::Instant::now();
    for pad in &mut pads {
        let r = pad.send(Op::CallNext { service: None }).await.unwrap();
        assert!(r.ok, "{r:?}");
    }
    assert!(
        t.elapsed() < Duration::from_millis(100),
        "{:?}",
        t.elapsed()
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    // A recall is allowed only after the hall's minimum interval.
    let recall = loop {
        let r = pads[0].send(Op::Recall).await.unwrap();
        if r.ok {
            break r;
        }
        assert_eq!(r.error.as_ref().unwrap().code, "recall_too_soon", "{r:?}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    assert!(recall.ok);

    let mut said = Vec::new();
    for _ in 0..300 {
        said = log(&wav);
        if said.len() >= 4 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let _ = announcer.kill();
    let _ = announcer.wait();
    assert_eq!(said.len(), 4, "{said:?}");
    let order: Vec<(&str, &str, bool)> = said
        .iter()
        .map(|a| {
            (
                a["ticket"].as_str().unwrap(),
                a["window"].as_str().unwrap(),
                a["recall"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        order,
        [
            ("A001", "2", false),
            ("A002", "3", false),
            ("D001", "9", false),
            ("A001", "2", true)
        ]
    );
    for pair in said.windows(2) {
        assert!(
            pair[1]["start_ms"].as_i64() >= pair[0]["end_ms"].as_i64(),
            "two announcements overlap: {pair:?}"
        );
    }
    let expected: [&[&str]; 4] = [
        &[
            "叮咚", "请", "A", "零", "零", "一", "号", "到", "二", "号", "窗口", "办理",
        ],
        &[
            "叮咚", "请", "A", "零", "零", "二", "号", "到", "三", "号", "窗口", "办理",
        ],
        &[
            "叮咚", "请", "D", "零", "零", "一", "号", "到", "九", "号", "窗口", "办理",
        ],
        &[
            "叮咚", "请", "A", "零", "零", "一", "号", "再次", "到", "二", "号", "窗口", "办理",
        ],
    ];
    for (a, words) in said.iter().zip(expected) {
        let audio = read_wav(&wav.join(a["file"].as_str().unwrap()));
        says(&audio, words);
        let spoken: Vec<&str> = a["words"]
            .as_array()
            .unwrap()
            .iter()
            .map(|w| w.as_str().unwrap())
            .collect();
        assert_eq!(spoken, words);
        // The file is as long as the log says it is said.
        let ms = (audio.len() as i64 * 1000) / 16_000;
        assert_eq!(
            a["end_ms"].as_i64().unwrap() - a["start_ms"].as_i64().unwrap(),
            ms
        );
    }
}

/// An announcer for some windows or zones only.
fn announcer_for(server: &Server, wav: &Path, filter: &[&str]) -> std::process::Child {
    std::process::Command::new(binary("hallq-announcer"))
        .args(["--port", &server.mqtt.port().to_string()])
        .args(["--password", "demo-voice-pass", "--repeats", "1"])
        .args(filter)
        .env("RUST_LOG", "warn")
        .arg("--wav-dir")
        .arg(wav)
        .spawn()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_announcer_says_only_its_windows_and_zones() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"));
    // The demo hall's windows are all in the zone "front".
    let (only3, lounge, front) = (
        dir.path().join("w3"),
        dir.path().join("lounge"),
        dir.path().join("front"),
    );
    // Three announcers on one login (each its own client id), as a hall
    // with a loudspeaker per area would run them.
    let children = vec![
        announcer_for(&server, &only3, &["--windows", "3"]),
        announcer_for(&server, &lounge, &["--zones", "lounge"]),
        announcer_for(&server, &front, &["--zones", "front"]),
    ];
    tokio::time::sleep(Duration::from_millis(1000)).await;
    server.take("business");
    server.take("business");
    for w in ["2", "3"] {
        let mut pad = Pad::connect(&server.device(&format!("pad-{w}")), w)
            .await
            .unwrap();
        assert!(
            pad.send(Op::Open {
                clerk: None,
                pin: None
            })
            .await
            .unwrap()
            .ok
        );
        assert!(pad.send(Op::CallNext { service: None }).await.unwrap().ok);
    }
    let mut done = false;
    for _ in 0..200 {
        if log(&front).len() >= 2 && !log(&only3).is_empty() {
            done = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for mut c in children {
        let _ = c.kill();
        let _ = c.wait();
    }
    assert!(done, "front {:?}, window 3 {:?}", log(&front), log(&only3));
    let windows = |d: &Path| -> Vec<String> {
        log(d)
            .iter()
            .map(|a| a["window"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(windows(&only3), ["3"]);
    assert_eq!(windows(&front), ["2", "3"]);
    assert!(windows(&lounge).is_empty());
}
