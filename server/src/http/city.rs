//! One HTTP listener for several halls. Each hall has its own router, the
//! same as a server with one hall has; this one hands every request to its
//! hall's:
//!
//! - `/api/v1/halls/{hall}…`: that hall's API (the paths a one-hall server
//!   has);
//! - `/h/{hall}/…`: that hall's pages, with the rest of the path as a
//!   one-hall server has it (`/h/{hall}/kiosk`, `/h/{hall}/screen`,
//!   `/h/{hall}/manager`, `/h/{hall}/t/{ticket}`, `/h/{hall}/healthz`);
//! - `/api/v1/halls`: the halls (public: ids, names, where their pages
//!   are), and `/healthz` and `/metrics` for them all (a hall another node
//!   runs is fine for this node's health; `/h/{hall}/healthz` is 503 on
//!   every node but the one that runs it, for a load balancer);
//! - everything else (scripts, styles, staff login, `/api/v1/me`): the
//!   first hall's router, where it is the same for every hall.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::{Request, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;
use tower::ServiceExt;

use super::{ApiError, AppState, app, hall_health, hall_metrics, prometheus_text};
use crate::Refused;

struct Hall {
    router: Router,
    state: AppState,
    name: String,
}

struct City {
    /// In the order the server was given them.
    order: Vec<String>,
    halls: HashMap<String, Hall>,
    refused: Vec<Refused>,
}

impl City {
    fn first(&self) -> &Hall {
        &self.halls[&self.order[0]]
    }
}

/// The routes of a server with these halls: with one hall (and none
/// refused), exactly that hall's.
pub fn city(halls: Vec<(String, String, AppState)>, refused: Vec<Refused>) -> Router {
    if halls.len() == 1 && refused.is_empty() {
        let (_, _, state) = halls.into_iter().next().expect("one hall");
        return app(state);
    }
    let city = City {
        order: halls.iter().map(|(id, _, _)| id.clone()).collect(),
        halls: halls
            .into_iter()
            .map(|(id, name, state)| {
                let hall = Hall {
                    router: app(state.clone()),
                    state,
                    name,
                };
                (id, hall)
            })
            .collect(),
        refused,
    };
    Router::new()
        .route("/api/v1/halls", get(list))
        .route("/healthz", get(health))
        .route("/metrics", get(metrics))
        .fallback(dispatch)
        .with_state(Arc::new(city))
}

fn unknown_hall(hall: &str) -> Response {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "unknown_hall",
        format!("没有这个大厅 / unknown hall {hall}"),
    )
    .into_response()
}

/// Hands the request to its hall's router.
async fn dispatch(State(city): State<Arc<City>>, mut req: Request) -> Response {
    let path = req.uri().path().to_owned();
    let hall = if let Some(rest) = path.strip_prefix("/api/v1/halls/") {
        let id = rest.split('/').next().unwrap_or_default();
        match city.halls.get(id) {
            Some(h) => h,
            None => return unknown_hall(id),
        }
    } else if let Some(rest) = path.strip_prefix("/h/") {
        let (id, tail) = rest.split_once('/').unwrap_or((rest, ""));
        let Some(h) = city.halls.get(id) else {
            return unknown_hall(id);
        };
        let inner = match req.uri().query() {
            Some(q) => format!("/{tail}?{q}"),
            None => format!("/{tail}"),
        };
        let mut parts = req.uri().clone().into_parts();
        match inner.parse() {
            Ok(pq) => parts.path_and_query = Some(pq),
            Err(_) => return unknown_hall(id),
        }
        match Uri::from_parts(parts) {
            Ok(uri) => *req.uri_mut() = uri,
            Err(_) => return unknown_hall(id),
        }
        h
    } else {
        city.first()
    };
    match hall.router.clone().oneshot(req).await {
        Ok(r) => r,
        Err(never) => match never {},
    }
}

/// `GET /api/v1/halls`: the halls this server runs, and those it could not
/// start (ids only: why is in the log and `/healthz`).
async fn list(State(city): State<Arc<City>>) -> Response {
    let halls: Vec<_> = city
        .order
        .iter()
        .map(|id| {
            let h = &city.halls[id];
            json!({
                "hall": id,
                "name": h.name,
                "pages": h.state.prefix,
            })
        })
        .collect();
    let refused: Vec<_> = city.refused.iter().map(|r| &r.hall).collect();
    Json(json!({ "halls": halls, "not_running": refused })).into_response()
}

/// `GET /healthz`: 200 when every hall answers and takes writes; each
/// hall's state, and the halls that could not start, with why.
async fn health(State(city): State<Arc<City>>) -> Response {
    let mut all_ok = city.refused.is_empty();
    let mut halls = BTreeMap::new();
    for id in &city.order {
        let state = &city.halls[id].state;
        if !state.lease.held() {
            // Another node runs it: nothing wrong with this one.
            let body = json!({"ok": true, "standby": true, "runs_on": state.lease.holder()});
            halls.insert(id.clone(), body);
            continue;
        }
        let (ok, body) = hall_health(state).await;
        all_ok &= ok;
        halls.insert(id.clone(), body);
    }
    let status = if all_ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = json!({ "ok": all_ok, "halls": halls, "not_running": city.refused });
    (status, Json(body)).into_response()
}

/// `GET /metrics`: every hall's, each with its `hall` label.
async fn metrics(State(city): State<Arc<City>>) -> Response {
    let mut merged: BTreeMap<String, prometheus::proto::MetricFamily> = BTreeMap::new();
    for id in &city.order {
        // A hall whose owner is rebuilding is left out until it is back.
        let Some(families) = hall_metrics(&city.halls[id].state, true).await else {
            continue;
        };
        for mut f in families {
            match merged.get_mut(f.name()) {
                Some(m) => m.mut_metric().extend(f.take_metric()),
                None => {
                    merged.insert(f.name().to_owned(), f);
                }
            }
        }
    }
    prometheus_text(&merged.into_values().collect::<Vec<_>>())
}
