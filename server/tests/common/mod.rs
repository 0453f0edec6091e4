//! The demo hall's owner, in-process, on a fresh log (shared by the
//! server's integration tests).

#![allow(dead_code)]

use std::path::Path;
use std::sync::Arc;

use hallq_server::engine::{Engine, EngineHandle, Sinks};
use hallq_server::store::SqliteStore;
use tokio::sync::{broadcast, mpsc, watch};

/// The demo hall's owner, in-process, on a fresh log.
pub struct Owner {
    pub handle: EngineHandle,
    pub mqtt: mpsc::UnboundedReceiver<hallq_server::engine::Outgoing>,
    pub stream: broadcast::Sender<Arc<hallq_server::stream::Line>>,
    pub storage: watch::Receiver<Option<String>>,
    _dir: tempfile::TempDir,
}

pub fn owner() -> Owner {
    let dir = if Path::new("/dev/shm").is_dir() {
        tempfile::tempdir_in("/dev/shm").unwrap()
    } else {
        tempfile::tempdir().unwrap()
    };
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../halls/demo.toml");
    let mut config = hallq_server::config::load_hall(&path).unwrap();
    config.hours = None;
    let store = SqliteStore::open(&dir.path().join("hall.db")).unwrap();
    let (mqtt_tx, mqtt) = mpsc::unbounded_channel();
    let (stream, _) = broadcast::channel(16);
    let (wake, _) = watch::channel(None);
    let (storage_tx, storage) = watch::channel(None);
    let sinks = Sinks {
        mqtt: hallq_server::engine::MqttOut::Client(mqtt_tx),
        stream: stream.clone(),
        wake,
        storage: storage_tx,
        stages: Default::default(),
        lease: hallq_server::lease::Lease::always("xuchang"),
    };
    let stages = sinks.stages.clone();
    let engine = Engine::load(config, Box::new(store), sinks).unwrap();
    let reader = engine.reader();
    let (tx, rx) = mpsc::channel(64);
    std::thread::spawn(move || {
        let mut rx = rx;
        engine.run(&mut rx)
    });
    Owner {
        handle: EngineHandle { tx, stages, reader },
        mqtt,
        stream,
        storage,
        _dir: dir,
    }
}
