//! The hall's signed log digests over HTTP ([`crate::digest`]): the kept
//! ones and the signing key for anyone (a supervisor's system fetches them
//! to keep copies elsewhere; they hold hashes and counts, nothing
//! personal), a fresh one of the day so far for staff.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Json;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::auth::Class;
use super::session::{StaffLogin, Watching};
use super::{ApiError, AppState, check_hall};
use crate::digest::Digests;

fn digests(state: &AppState) -> Result<Arc<Digests>, ApiError> {
    state.digests.clone().ok_or_else(|| state.unavailable())
}

/// Runs a read of the log on a plain thread (the PostgreSQL client runs a
/// runtime of its own).
async fn off_thread<T: Send + 'static>(
    state: &AppState,
    f: impl FnOnce() -> Result<T, crate::store::StoreError> + Send + 'static,
) -> Result<T, ApiError> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.await
        .map_err(|_| state.unavailable())?
        .map_err(|e| match e {
            crate::store::StoreError::Broken(b) => ApiError::new(
                StatusCode::CONFLICT,
                "log_broken",
                format!("日志哈希链断裂，不能签名 / the log's chain breaks: {b}"),
            ),
            e => {
                tracing::error!(error = %e, "cannot read the log for its digests");
                state.unavailable()
            }
        })
}

/// `GET …/digests`: the kept digests, oldest first.
pub(super) async fn list(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(hall): Path<String>,
) -> Result<Response, ApiError> {
    check_hall(&state, &hall)?;
    state.limits.check(Class::Read, peer.ip())?;
    let d = digests(&state)?;
    let kept = off_thread(&state, move || d.kept()).await?;
    Ok(Json(kept).into_response())
}

/// `GET …/digests/key`: the public half of the hall's signing key.
pub(super) async fn key(
    State(state): State<AppState>,
    Path(hall): Path<String>,
) -> Result<Response, ApiError> {
    check_hall(&state, &hall)?;
    let d = digests(&state)?;
    Ok(Json(json!({
        "hall": state.hall,
        "algorithm": "Ed25519",
        "public_key": d.signer.public_hex(),
    }))
    .into_response())
}

/// `GET …/digests/today` (manager or supervisor): a digest of the day so
/// far, signed now and not kept.
pub(super) async fn today(
    State(state): State<AppState>,
    _: StaffLogin<Watching>,
) -> Result<Response, ApiError> {
    let d = digests(&state)?;
    match off_thread(&state, move || d.today()).await? {
        Some(s) => Ok(Json(s).into_response()),
        None => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "no_records",
            "今天还没有记录 / nothing recorded since the last digest",
        )),
    }
}
