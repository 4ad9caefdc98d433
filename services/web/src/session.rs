//! Server-side sessions and their CSRF tokens.
//!
//! A browser holds only a random session id (256 bits from the OS, hex) in the cookie
//! `pilot_session`: HttpOnly, SameSite=Strict, Path=/, Secure when the request came over
//! https (or the options say so always). Everything else stays here, in memory:
//! - the API token the user signed in with (none before sign-in), looked up again in the
//!   API's token store on every request, so a revoked or expired token ends the session at
//!   once and roles and offices are exactly the API's;
//! - the session's CSRF token, put in a hidden field of every form and compared (in constant
//!   time) on every POST.
//!
//! Sessions expire after [`IDLE`] without a request and [`LIFETIME`] after they began. Signing
//! in replaces the session id (no fixation); signing out forgets the session. At most
//! [`MAX_SESSIONS`] are held: when full, expired ones go first, then the oldest of those not
//! signed in, then the oldest.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The cookie that carries the session id.
pub const COOKIE: &str = "pilot_session";
/// A session ends after this long without a request.
pub const IDLE: Duration = Duration::from_secs(2 * 60 * 60);
/// A session ends this long after sign-in, however busy.
pub const LIFETIME: Duration = Duration::from_secs(12 * 60 * 60);
/// Sessions held at once (each a few hundred bytes).
pub const MAX_SESSIONS: usize = 10_000;

#[derive(Debug, Clone)]
pub struct Session {
    /// The API token signed in with; `None` for a browser that has not signed in yet (it
    /// still needs a CSRF token for the sign-in form).
    pub token: Option<String>,
    pub csrf: String,
    created: Instant,
    seen: Instant,
}

impl Session {
    fn expired(&self, now: Instant) -> bool {
        now.duration_since(self.seen) > IDLE || now.duration_since(self.created) > LIFETIME
    }
}

#[derive(Debug, Default)]
pub struct Sessions {
    map: Mutex<HashMap<String, Session>>,
}

/// A random 256-bit value as 64 hex digits; `None` if the OS has no randomness to give.
pub fn random_hex() -> Option<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).ok()?;
    Some(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

impl Sessions {
    /// The live session `id`, touched; `None` if unknown or expired (and then forgotten).
    pub fn get(&self, id: &str) -> Option<Session> {
        let now = Instant::now();
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        let session = map.get_mut(id)?;
        if session.expired(now) {
            map.remove(id);
            return None;
        }
        session.seen = now;
        Some(session.clone())
    }

    /// Starts a session (signed in with `token`, or not yet); its id. `None` without
    /// randomness.
    pub fn start(&self, token: Option<String>) -> Option<(String, Session)> {
        let id = random_hex()?;
        let now = Instant::now();
        let session = Session {
            token,
            csrf: random_hex()?,
            created: now,
            seen: now,
        };
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() >= MAX_SESSIONS {
            map.retain(|_, s| !s.expired(now));
        }
        if map.len() >= MAX_SESSIONS {
            // A flood of sign-in forms must not sign anyone out: browsers that have not
            // signed in go first.
            if let Some(oldest) = map
                .iter()
                .min_by_key(|(_, s)| (s.token.is_some(), s.seen))
                .map(|(id, _)| id.clone())
            {
                map.remove(&oldest);
            }
        }
        map.insert(id.clone(), session.clone());
        Some((id, session))
    }

    /// Forgets session `id`.
    pub fn end(&self, id: &str) {
        self.map
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(id);
    }

    pub fn len(&self) -> usize {
        self.map.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Compares two tokens in time that depends only on their lengths.
pub fn same_token(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// The value of cookie `name` in a `Cookie` header.
pub fn cookie<'h>(header: &'h str, name: &str) -> Option<&'h str> {
    header.split(';').find_map(|pair| {
        let (key, value) = pair.trim().split_once('=')?;
        (key == name).then_some(value.trim())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_random_and_sessions_end() {
        let sessions = Sessions::default();
        let (a, first) = sessions.start(None).unwrap();
        let (b, _) = sessions.start(Some("t".into())).unwrap();
        assert_ne!(a, b);
        assert_eq!(a.len(), 64);
        assert_ne!(first.csrf, a);
        assert_eq!(sessions.get(&b).unwrap().token.as_deref(), Some("t"));
        sessions.end(&b);
        assert!(sessions.get(&b).is_none());
        assert!(sessions.get("nonsense").is_none());
    }

    #[test]
    fn a_full_store_drops_browsers_that_have_not_signed_in_first() {
        let sessions = Sessions::default();
        let (signed_in, _) = sessions.start(Some("t".into())).unwrap();
        for _ in 0..MAX_SESSIONS + 5 {
            sessions.start(None).unwrap();
        }
        assert_eq!(sessions.len(), MAX_SESSIONS);
        assert!(sessions.get(&signed_in).is_some());
    }

    #[test]
    fn tokens_compare_whole() {
        assert!(same_token("abc", "abc"));
        assert!(!same_token("abc", "abd"));
        assert!(!same_token("abc", "ab"));
        assert!(!same_token("", "a"));
    }

    #[test]
    fn cookies_are_found_by_exact_name() {
        let header = "a=1; pilot_session=xyz; lang=zh-CN";
        assert_eq!(cookie(header, COOKIE), Some("xyz"));
        assert_eq!(cookie(header, "lang"), Some("zh-CN"));
        assert_eq!(cookie(header, "session"), None);
    }
}
