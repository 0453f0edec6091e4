//! One HTTP listener for several halls, and the city view (`/city`) over
//! them. Each hall has its own router, the
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
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;
use tower::ServiceExt;

use super::session::Role;
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
/// refused), that hall's and the city view.
pub fn city(halls: Vec<(String, String, AppState)>, refused: Vec<Refused>) -> Router {
    let one = halls.len() == 1 && refused.is_empty();
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
    let routes = Router::new()
        .route("/api/v1/halls", get(list))
        .route("/api/v1/city", get(city_view))
        .route("/city", get(city_page))
        .route("/city/city.js", get(city_js));
    // One hall: its own health and metrics, as they always were.
    let routes = if one {
        routes
    } else {
        routes
            .route("/healthz", get(health))
            .route("/metrics", get(metrics))
    };
    routes.fallback(dispatch).with_state(Arc::new(city))
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

/// `GET /api/v1/city` (a manager's or supervisor's session): every hall
/// the account is for, with what a city's supervisor (电子监察) looks at
/// first: waiting, the longest wait, open windows, cards in force. A hall
/// another node runs is listed with that node's name.
async fn city_view(State(city): State<Arc<City>>, headers: HeaderMap) -> Response {
    let Some(who) = city.first().state.sessions.who(&headers) else {
        return ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "请先登录 / please log in",
        )
        .into_response();
    };
    if !matches!(who.role, Role::Manager | Role::Supervisor) {
        return ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "您的角色无此权限 / your role may not do this",
        )
        .into_response();
    }
    let mut halls = Vec::new();
    for id in city.order.iter().filter(|id| who.for_hall(id)) {
        let h = &city.halls[id];
        let mut row = json!({
            "hall": id,
            "name": h.name,
            "pages": h.state.prefix,
            "runs_here": h.state.lease.held(),
            "runs_on": h.state.lease.holder(),
        });
        if h.state.lease.held()
            && let Some(m) = h.state.engine.query(|v| v.metrics()).await
        {
            let count = |level: &str| m.cards.iter().filter(|c| c.level == level).count();
            row["waiting"] = m.waiting.into();
            row["longest_wait_s"] = m
                .services
                .iter()
                .map(|s| s.longest_wait_s)
                .max()
                .unwrap_or(0)
                .into();
            row["windows"] = m.windows.len().into();
            row["windows_open"] = m
                .windows
                .iter()
                .filter(|w| w.status != hallq_contract::WindowStatus::Closed)
                .count()
                .into();
            row["issued_today"] = m
                .services
                .iter()
                .map(|s| s.issued_today)
                .sum::<u32>()
                .into();
            row["served_today"] = m.windows.iter().map(|w| w.served_today).sum::<u32>().into();
            row["cards"] = json!({"yellow": count("yellow"), "red": count("red")});
        }
        halls.push(row);
    }
    Json(json!({
        "halls": halls,
        "who": {"name": who.name, "role": who.role},
        "at_ms": crate::engine::now_ms(),
    }))
    .into_response()
}

async fn city_page() -> Response {
    super::pages::asset(
        include_str!("../../web/city.html"),
        "text/html; charset=utf-8",
        false,
    )
}

async fn city_js() -> Response {
    super::pages::asset(
        include_str!("../../web/city.js"),
        "text/javascript; charset=utf-8",
        true,
    )
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
        // A hall another node runs is that node's to report; one whose
        // owner is rebuilding is left out until it is back.
        let state = &city.halls[id].state;
        if !state.lease.held() {
            continue;
        }
        let Some(families) = hall_metrics(state, true).await else {
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
