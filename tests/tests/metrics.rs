//! `/metrics` for Prometheus: the histograms and counters of the day, and
//! the Grafana dashboard in `deploy/grafana` asking only for figures hallq
//! serves.

use std::collections::BTreeSet;

use hallq_contract::payload::Op;
use hallq_tests::Server;

fn scrape(server: &Server) -> String {
    hallq_tests::http_raw(server.http, "/metrics", &[])
}

/// A day's worth of everything: served, a no-show, waits.
async fn a_little_day(server: &Server) {
    for _ in 0..3 {
        server.take("social");
    }
    let mut pad = server.open_pad("9").await;
    let call = || Op::CallNext { service: None };
    hallq_tests::send_all(
        &mut pad,
        [call(), Op::Start, Op::Finish, call(), Op::NoShow],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn histograms_and_counters_of_the_day() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    a_little_day(&server).await;
    let text = scrape(&server);
    for want in [
        "hallq_wait_seconds_count{service=\"social\"} 2",
        "hallq_wait_seconds_bucket{service=\"social\",le=\"30\"} 2",
        "hallq_service_seconds_count{service=\"social\"} 1",
        "hallq_served_total{clerk=\"\",window=\"9\"} 1",
        "hallq_no_shows_total{clerk=\"\",window=\"9\"} 1",
        "hallq_devices_online{online=\"true\",role=\"pad\"} 1",
        // The no-show went back in the queue once (the demo hall's rule).
        "hallq_waiting_tickets{service=\"social\"} 2",
    ] {
        assert!(text.contains(want), "{want} missing in\n{text}");
    }
    // The pad commands' time in the server, stage by stage: each stage
    // ends no earlier than the one before it.
    let median = |stage: &str| -> f64 {
        let key = format!("hallq_pad_command_seconds{{quantile=\"0.5\",stage=\"{stage}\"}} ");
        let line = text
            .lines()
            .find(|l| l.starts_with(&key))
            .unwrap_or_else(|| panic!("{key} missing in\n{text}"));
        line[key.len()..].parse().unwrap()
    };
    let stages = [
        "queued",
        "decided",
        "committed",
        "prepared",
        "published",
        "replied",
    ]
    .map(median);
    assert!(stages[2] > 0.0, "a commit takes time: {stages:?}");
    assert!(stages.windows(2).all(|w| w[0] <= w[1]), "{stages:?}");
}

/// Every metric the Grafana dashboard queries is one hallq exports, and
/// the file is a dashboard Grafana can import: a uid, a title, panels with
/// a query each, the data source as a variable.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_grafana_dashboard_asks_for_what_hallq_serves() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../deploy/grafana/hallq-dashboard.json"
    );
    let dash: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    assert_eq!(dash["uid"], "hallq-hall");
    assert!(dash["title"].as_str().is_some_and(|t| !t.is_empty()));
    assert_eq!(dash["templating"]["list"][0]["type"], "datasource");
    let panels = dash["panels"].as_array().unwrap();
    assert!(panels.len() >= 8);
    let mut wanted = BTreeSet::new();
    let mut ids = BTreeSet::new();
    for p in panels {
        assert!(
            ids.insert(p["id"].as_u64().unwrap()),
            "panel ids are unique"
        );
        assert!(p["gridPos"]["w"].as_u64().is_some(), "{p}");
        for t in p["targets"].as_array().unwrap() {
            let expr = t["expr"].as_str().unwrap();
            assert_eq!(t["datasource"]["uid"], "${datasource}");
            let mut rest = expr;
            while let Some(i) = rest.find("hallq_") {
                let name: String = rest[i..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                rest = &rest[i + name.len()..];
                wanted.insert(name);
            }
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    a_little_day(&server).await;
    let text = scrape(&server);
    let served: BTreeSet<String> = text
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split(['{', ' ']).next())
        .map(str::to_owned)
        .collect();
    for name in &wanted {
        assert!(
            served.contains(name),
            "the dashboard asks for {name}, which /metrics does not serve"
        );
    }
}
