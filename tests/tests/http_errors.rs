//! Bad HTTP input gets a clear JSON error and changes nothing.

use hallq_tests::{HALL, Server};

#[test]
fn bad_requests_get_json_errors_and_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let seq = server.hall()["seq"].clone();
    let tickets = format!("/api/v1/halls/{HALL}/tickets");
    for (body, status, code) in [
        (r#"{"service":"nope"}"#, 422, "unknown_service"),
        (r#"{"service":"NOT AN ID"}"#, 422, "unknown_service"),
        (r#"{"servic":"business"}"#, 400, "bad_request"),
        ("not json", 400, "bad_request"),
        ("", 400, "bad_request"),
    ] {
        let (s, b) = server.http("POST", &tickets, Some(body));
        assert_eq!(
            (s, b["error"]["code"].as_str()),
            (status, Some(code)),
            "{body}: {b}"
        );
        assert!(
            b["error"]["message"].as_str().unwrap().contains(" / "),
            "bilingual message: {b}"
        );
    }
    let (s, b) = server.http(
        "POST",
        "/api/v1/halls/elsewhere/tickets",
        Some(r#"{"service":"business"}"#),
    );
    assert_eq!(
        (s, b["error"]["code"].as_str()),
        (404, Some("unknown_hall"))
    );
    let (s, b) = server.http("GET", &format!("{tickets}/0000"), None);
    assert_eq!(
        (s, b["error"]["code"].as_str()),
        (404, Some("unknown_ticket"))
    );
    assert_eq!(server.hall()["seq"], seq);
    let (s, b) = server.http("GET", "/healthz", None);
    assert_eq!((s, b["ok"].as_bool()), (200, Some(true)));
}

#[test]
fn prometheus_metrics_follow_the_queue() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    server.take("social");
    server.take("social");
    let mut s = std::net::TcpStream::connect(server.http).unwrap();
    use std::io::{Read, Write};
    write!(
        s,
        "GET /metrics HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    assert!(
        text.contains("hallq_waiting_tickets{service=\"social\"} 2"),
        "{text}"
    );
    assert!(
        text.contains("hallq_window_status{status=\"closed\",window=\"9\"} 1"),
        "{text}"
    );
}

#[test]
fn the_openapi_document_describes_the_served_routes() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let (status, doc) = server.http("GET", "/api/v1/openapi.json", None);
    assert_eq!(status, 200);
    let paths = doc["paths"].as_object().unwrap();
    assert!(paths.len() >= 12);
    for (path, methods) in paths {
        let concrete = path
            .replace("{hall}", HALL)
            .replace("{id}", "x")
            .replace("{window}", "3");
        if concrete.ends_with("/stream") {
            continue; // needs a WebSocket upgrade
        }
        for method in methods.as_object().unwrap().keys() {
            let (s, _, b) = server.http_with(&method.to_uppercase(), &concrete, Some("{}"), &[]);
            // Served: anything but the fallback's 404 and a 405 for the method.
            assert!(
                b["error"]["code"] != "not_found" && s != 405,
                "{method} {path} is documented but not served ({s})"
            );
        }
    }
}
