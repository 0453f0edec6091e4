//! Staff on the web: accounts in a file beside the hall file (`staff.toml`,
//! Argon2id password hashes, made by `hallq staff add`), a login form, a
//! session cookie (HttpOnly, SameSite=Strict), and three roles: a manager
//! acts, a supervisor watches, a clerk has the pad (neither page nor
//! report). HTTP Basic with a manager device's credentials stays for
//! scripts. Failed logins count against the address like every login.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::Json;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use super::{ApiError, AppState, json_body};

/// What a staff member may do on the web.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Watches and acts: rebalancing, notices, reports.
    Manager,
    /// Watches: dashboard and reports, no action.
    Supervisor,
    /// Has a pad; no dashboard. On the web: a case's pick-up and post.
    Clerk,
    /// Back office (后台审批): decides the cases of one department (or of
    /// every department, without `department`).
    Department,
}

/// One account of `staff.toml`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    pub id: String,
    pub name: String,
    pub role: Role,
    /// Argon2id PHC string; never the password.
    pub password_hash: String,
    /// The halls this account is for; none: every hall of the server (a
    /// city's supervisors).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub halls: Vec<String>,
    /// A back-office account's department (the hall file's id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub department: Option<String>,
}

/// The file: `[[user]]` tables.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct StaffFile {
    #[serde(default)]
    pub user: Vec<Account>,
}

impl StaffFile {
    /// Reads a staff file; a missing file is an empty list.
    pub fn load(path: &Path) -> anyhow::Result<StaffFile> {
        match std::fs::read_to_string(path) {
            Ok(text) => {
                let f: StaffFile = toml::from_str(&text)
                    .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
                for a in &f.user {
                    argon2::password_hash::PasswordHash::new(&a.password_hash).map_err(|e| {
                        anyhow::anyhow!("{}: user {}: bad password_hash: {e}", path.display(), a.id)
                    })?;
                }
                Ok(f)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(StaffFile::default()),
            Err(e) => Err(anyhow::anyhow!("{}: {e}", path.display())),
        }
    }

    /// Adds an account or replaces the one with the same id (a password
    /// reset), then writes the file whole (it is the program's, not edited
    /// by hand: comments are not kept).
    pub fn put(&mut self, account: Account) {
        match self.user.iter_mut().find(|a| a.id == account.id) {
            Some(a) => *a = account,
            None => self.user.push(account),
        }
    }

    pub fn save(&self, path: &Path) -> anyhow::Result<()> {
        let text = format!(
            "# hallq staff accounts for the web (dashboard, reports). Written by\n\
             # `hallq staff add`; roles: manager, supervisor, clerk, department.\n\n{}",
            toml::to_string(self)?
        );
        let tmp = path.with_extension("toml.tmp");
        std::fs::write(&tmp, text)?;
        std::fs::rename(&tmp, path)?;
        Ok(())
    }
}

/// Who is asking, once logged in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Who {
    pub id: String,
    pub name: String,
    pub role: Role,
    /// The halls this login is for; none: every hall.
    pub halls: Vec<String>,
    /// A back-office login's department; none: every department.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub department: Option<String>,
}

impl Who {
    /// Whether this login is for `hall`.
    pub fn for_hall(&self, hall: &str) -> bool {
        self.halls.is_empty() || self.halls.iter().any(|h| h == hall)
    }
}

/// How long a session lasts without use.
const SESSION_IDLE: Duration = Duration::from_secs(12 * 3600);
/// The cookie's name.
pub const COOKIE: &str = "hallq_session";

/// The accounts and the open sessions (in memory: a restart logs everyone
/// out, which a hall's server does at night at most).
#[derive(Debug, Default)]
pub struct Sessions {
    accounts: HashMap<String, Account>,
    /// The demo hall's public accounts (`--demo` without a staff file).
    demo: bool,
    open: Mutex<HashMap<String, (Who, Instant)>>,
}

/// The demo's accounts, one per role, with public passwords like the demo
/// hall's devices: `manager`, `supervisor`, `clerk` / `demo-{id}-pass`.
/// Hashed at the first login, not at every start.
static DEMO_ACCOUNTS: std::sync::LazyLock<Vec<Account>> = std::sync::LazyLock::new(|| {
    [
        ("manager", "演示经理", Role::Manager),
        ("supervisor", "演示督查", Role::Supervisor),
        ("clerk", "演示窗口人员", Role::Clerk),
        ("officer", "演示审批人员", Role::Department),
    ]
    .into_iter()
    .map(|(id, name, role)| Account {
        id: id.into(),
        name: name.into(),
        role,
        password_hash: hash_password(&format!("demo-{id}-pass")),
        halls: Vec::new(),
        department: None,
    })
    .collect()
});

impl Sessions {
    /// The accounts of a staff file; with `demo` and an empty file, the
    /// demo's public accounts.
    pub fn new(file: StaffFile, demo: bool) -> Sessions {
        Sessions {
            demo: demo && file.user.is_empty(),
            accounts: file.user.into_iter().map(|a| (a.id.clone(), a)).collect(),
            open: Mutex::default(),
        }
    }

    /// An account by id (blocking: the demo's are hashed on first use).
    fn account(&self, id: &str) -> Option<Account> {
        if self.demo {
            return DEMO_ACCOUNTS.iter().find(|a| a.id == id).cloned();
        }
        self.accounts.get(id).cloned()
    }

    /// The session of a request's cookie, if it is open (and keeps it so).
    pub fn who(&self, headers: &HeaderMap) -> Option<Who> {
        let token = cookie(headers, COOKIE)?;
        let mut open = self.open.lock().expect("sessions");
        let now = Instant::now();
        open.retain(|_, (_, last)| now.duration_since(*last) < SESSION_IDLE);
        let (who, last) = open.get_mut(token)?;
        *last = now;
        Some(who.clone())
    }

    fn start(&self, who: Who) -> String {
        let mut bytes = [0u8; 32];
        ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut bytes)
            .expect("system randomness");
        let token: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        self.open
            .lock()
            .expect("sessions")
            .insert(token.clone(), (who, Instant::now()));
        token
    }

    fn end(&self, headers: &HeaderMap) {
        if let Some(token) = cookie(headers, COOKIE) {
            self.open.lock().expect("sessions").remove(token);
        }
    }
}

/// A cookie's value from the request.
fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

pub use crate::staff::hash_pin as hash_password;
use crate::staff::verify;

#[derive(Debug, Deserialize)]
struct LoginBody {
    id: String,
    password: String,
}

/// `POST /api/v1/login` `{"id","password"}`: a session cookie, or 401.
pub(super) async fn login(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let ip = peer.ip();
    if !state.throttle.allowed(ip, Instant::now()) {
        return Err(locked_out());
    }
    let req: LoginBody = json_body(&body)?;
    let password = req.password;
    let sessions = state.sessions.clone();
    // Argon2 is slow on purpose: off the async threads. An unknown id is
    // checked against a dummy so that it takes as long.
    let ok = tokio::task::spawn_blocking(move || match &sessions.account(&req.id) {
        Some(a) => verify(&password, &a.password_hash).then(|| a.clone()),
        None => {
            let _ = verify(&password, &DUMMY_HASH);
            None
        }
    })
    .await
    .unwrap_or(None);
    let Some(a) = ok else {
        if state.throttle.failed(ip, Instant::now()) {
            tracing::warn!(%ip, "web logins locked out after repeated failures");
        }
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "bad_login",
            "工号或密码错误 / wrong id or password",
        ));
    };
    let who = Who {
        id: a.id,
        name: a.name,
        role: a.role,
        halls: a.halls,
        department: a.department,
    };
    tracing::info!(staff = %who.id, role = ?who.role, "web login");
    let token = state.sessions.start(who.clone());
    let mut res = Json(&who).into_response();
    let secure = if state.https { "; Secure" } else { "" };
    let cookie = format!("{COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict{secure}");
    res.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_str(&cookie).expect("ascii cookie"),
    );
    Ok(res)
}

/// An Argon2id hash of nothing anyone types, to spend the same time on an
/// unknown id.
static DUMMY_HASH: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| hash_password("no account has this password"));

/// `POST /api/v1/logout`.
pub(super) async fn logout(State(state): State<AppState>, headers: HeaderMap) -> Response {
    state.sessions.end(&headers);
    let mut res = StatusCode::NO_CONTENT.into_response();
    res.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static("hallq_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"),
    );
    res
}

/// `GET /api/v1/me`: who the session is, or 401.
pub(super) async fn me(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let who = state.sessions.who(&headers).ok_or_else(login_required)?;
    // The hall the pages open with (a page under /h/{hall}/ has its own).
    let hall = match who.halls.first() {
        Some(h) if !who.for_hall(&state.hall) => h.clone(),
        _ => state.hall.clone(),
    };
    let mut body = serde_json::to_value(who).expect("who serializes");
    body["hall"] = hall.into();
    Ok(Json(body).into_response())
}

fn locked_out() -> ApiError {
    let mut e = ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "locked_out",
        "登录失败次数过多，请稍后再试 / too many failed logins; try again later",
    );
    e.retry_after = Some(60);
    e
}

fn login_required() -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        "unauthorized",
        "请先登录 / please log in",
    )
}

/// A staff route's login, checked before the handler runs: the path's
/// `{hall}` is this server's hall (404 `unknown_hall`), and the login — a
/// session, or HTTP Basic with a manager device — may do what `N` says
/// (401, 403). `who` is who asked.
#[derive(Debug)]
pub struct StaffLogin<N> {
    pub who: Who,
    need: std::marker::PhantomData<N>,
}

/// What a [`StaffLogin`] needs, as a type.
pub trait Needs {
    const NEED: Need;
}

/// Watching: a manager or a supervisor.
#[derive(Debug)]
pub struct Watching;
/// Acting: a manager.
#[derive(Debug)]
pub struct Acting;
/// Cases: any staff login (the route checks what the role may do).
#[derive(Debug)]
pub struct CaseStaff;

impl Needs for Watching {
    const NEED: Need = Need::Watch;
}
impl Needs for Acting {
    const NEED: Need = Need::Act;
}
impl Needs for CaseStaff {
    const NEED: Need = Need::Cases;
}

impl<N: Needs + Send + Sync> axum::extract::FromRequestParts<AppState> for StaffLogin<N> {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &AppState,
    ) -> Result<Self, ApiError> {
        let params = axum::extract::RawPathParams::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such route"))?;
        if let Some((_, hall)) = params.iter().find(|(k, _)| *k == "hall") {
            super::check_hall(state, hall)?;
        }
        let ConnectInfo(peer) = ConnectInfo::<SocketAddr>::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::unavailable())?;
        let who = staff(state, peer.ip(), &parts.headers, N::NEED)?;
        Ok(StaffLogin {
            who,
            need: std::marker::PhantomData,
        })
    }
}

/// What a route needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// Watch: a manager or a supervisor.
    Watch,
    /// Act: a manager.
    Act,
    /// Cases after the counter: any staff login (each route checks what
    /// the role may do with them).
    Cases,
}

/// Who may do this: a session of the right role, or HTTP Basic with a
/// manager device (scripts; it may act). 401 without a login, 403 for a
/// role that may not.
pub fn staff(
    state: &AppState,
    ip: IpAddr,
    headers: &HeaderMap,
    need: Need,
) -> Result<Who, ApiError> {
    if let Some(who) = state.sessions.who(headers) {
        if !who.for_hall(&state.hall) {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                "您的账号不管理这个大厅 / your account is not for this hall",
            ));
        }
        let may = match need {
            Need::Watch => matches!(who.role, Role::Manager | Role::Supervisor),
            Need::Act => who.role == Role::Manager,
            Need::Cases => true,
        };
        if !may {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                "您的角色无此权限 / your role may not do this",
            ));
        }
        return Ok(who);
    }
    // No session: HTTP Basic for scripts, with its challenge. A page's own
    // requests (a browser says so in Sec-Fetch-Mode) get a plain 401: the
    // challenge would pop up the browser's password dialog over the page.
    let from_page = headers
        .get("sec-fetch-mode")
        .is_some_and(|m| m.as_bytes() != b"navigate");
    if from_page && !headers.contains_key(header::AUTHORIZATION) {
        return Err(login_required());
    }
    // A manager device is one hall's.
    let id = super::auth::manager(state, ip, headers)?;
    Ok(Who {
        name: id.clone(),
        id,
        role: Role::Manager,
        halls: vec![state.hall.clone()],
        department: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accounts_round_trip_and_a_reset_replaces() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("staff.toml");
        assert!(
            StaffFile::load(&path).unwrap().user.is_empty(),
            "missing: empty"
        );
        let mut f = StaffFile::default();
        let account = |pw: &str, role| Account {
            id: "wang".into(),
            name: "王经理".into(),
            role,
            password_hash: hash_password(pw),
            halls: Vec::new(),
            department: None,
        };
        f.put(account("first", Role::Manager));
        f.put(account("second", Role::Supervisor));
        f.save(&path).unwrap();
        let back = StaffFile::load(&path).unwrap();
        assert_eq!(back.user.len(), 1);
        assert_eq!(back.user[0].role, Role::Supervisor);
        assert!(verify("second", &back.user[0].password_hash));
        assert!(!verify("first", &back.user[0].password_hash));
        std::fs::write(
            &path,
            "[[user]]\nid='x'\nname='x'\nrole='manager'\npassword_hash='plain'\n",
        )
        .unwrap();
        assert!(
            StaffFile::load(&path).is_err(),
            "a plain password is refused"
        );
    }

    #[test]
    fn cookies_are_found_among_others() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; hallq_session=abc; b=2"),
        );
        assert_eq!(cookie(&h, COOKIE), Some("abc"));
        assert_eq!(cookie(&h, "c"), None);
    }
}
