//! API tokens and roles.
//!
//! Tokens are configured by their SHA-256 (hex), never in clear: in the `[[tokens]]` tables of
//! the configuration file and in the tokens file (`<data-dir>/tokens.toml` unless
//! `tokens_file` says otherwise; `pilot token new` appends to it, `pilot token revoke` removes
//! from it, and a running pilot reads it again within seconds). A token may carry an `expires`
//! instant; past it, it gets 401 saying so. `PILOT_ADMIN_TOKEN` is a bootstrap admin token for
//! a first start: it is honoured only while no token is configured, and refused at start if
//! shorter than [`MIN_ADMIN_TOKEN_CHARS`].
//!
//! | role | may |
//! |---|---|
//! | `clerk` | read; append events to pilots of its own office (and propose pilots and register stakeholders as its office); retract only events its office recorded, merge only into its office's pilots ([`crate::offices`]) |
//! | `analyst` | read, export (`GET /api/v1/events`), replay |
//! | `admin` | everything, including import and appends for any office |
//!
//! Open without a token: `/healthz`, `/readyz`, `/metrics`, `/api/v1/openapi.json`,
//! `/api/v1/docs/`.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// The tokens file's name inside the data directory.
pub const TOKENS_FILE: &str = "tokens.toml";

/// The shortest `PILOT_ADMIN_TOKEN` pilot accepts. The bootstrap token opens everything and is
/// typed by a person, so a short one could be guessed; 16 characters is the floor, and
/// `pilot token new` makes 67.
pub const MIN_ADMIN_TOKEN_CHARS: usize = 16;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Clerk,
    Analyst,
    Admin,
}

impl Role {
    pub fn name(self) -> &'static str {
        match self {
            Role::Clerk => "clerk",
            Role::Analyst => "analyst",
            Role::Admin => "admin",
        }
    }
}

/// One configured token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenEntry {
    /// Who holds it: shown in logs, never secret.
    pub name: String,
    pub role: Role,
    /// The clerk's office (required for clerks, refused for other roles).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub office: Option<String>,
    /// When the token stops working (RFC 3339); none: never. Past it, the token gets 401
    /// saying it expired.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "time::serde::rfc3339::option"
    )]
    pub expires: Option<OffsetDateTime>,
    /// SHA-256 of the token, 64 hex digits.
    pub sha256: String,
}

/// Who is calling, once their token is known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub name: String,
    pub role: Role,
    pub office: Option<String>,
}

impl Caller {
    /// Reads are open to every role.
    pub fn may_export(&self) -> bool {
        matches!(self.role, Role::Analyst | Role::Admin)
    }

    /// Whether this caller may append events that act for `office`.
    pub fn may_write_for(&self, office: &str) -> bool {
        match self.role {
            Role::Admin => true,
            Role::Clerk => self.office.as_deref() == Some(office),
            Role::Analyst => false,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TokensError {
    #[error("cannot read the tokens file {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the tokens file {path} is not valid: {message}")]
    Invalid { path: PathBuf, message: String },
    #[error("token {name:?}: {problem}")]
    Entry { name: String, problem: String },
    #[error(
        "PILOT_ADMIN_TOKEN is {chars} characters long; it must have at least {min}, since it \
         opens everything: use a long random value (e.g. `openssl rand -hex 24`), or make an \
         admin token with `pilot token new --role admin` and unset PILOT_ADMIN_TOKEN"
    )]
    ShortAdminToken { chars: usize, min: usize },
    #[error("no token is named {name:?} in {path} (`pilot token list` shows them; tokens in the configuration file's [[tokens]] are removed there)")]
    NoSuchToken { name: String, path: PathBuf },
    #[error("cannot write the tokens file {path}: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

#[derive(Debug, Deserialize, Serialize, Default)]
#[serde(deny_unknown_fields)]
struct TokensFile {
    #[serde(default)]
    tokens: Vec<TokenEntry>,
}

/// The configured tokens, by their hash: a shared handle.
///
/// Clones share one set, so [`Tokens::reload`] (run every second while pilot serves, by
/// the `pilot` binary's `token_reload`) changes what every request sees without a restart: a token added
/// with `pilot token new` works, and one revoked with `pilot token revoke` is refused, within
/// seconds.
#[derive(Debug, Clone, Default)]
pub struct Tokens {
    shared: Arc<RwLock<TokenSet>>,
}

#[derive(Debug, Default)]
struct TokenSet {
    by_hash: HashMap<[u8; 32], Holder>,
    /// Where the set came from, to build it again; none for a set made in code (tests).
    source: Option<Source>,
}

#[derive(Debug, Clone)]
struct Holder {
    caller: Caller,
    expires: Option<OffsetDateTime>,
}

#[derive(Debug)]
struct Source {
    configured: Vec<TokenEntry>,
    file: PathBuf,
    bootstrap_admin: Option<String>,
    /// The tokens file's bytes when last read; none while there is no file.
    seen: Option<Vec<u8>>,
}

/// What a presented token is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    Known(Caller),
    /// A configured token whose `expires` has passed.
    Expired {
        name: String,
        at: OffsetDateTime,
    },
    Unknown,
}

/// The name the bootstrap admin token (PILOT_ADMIN_TOKEN) goes by.
const BOOTSTRAP_ADMIN: &str = "bootstrap-admin";

impl Tokens {
    /// The tokens of the configuration file plus those of `file` (if it exists); with none at
    /// all, `bootstrap_admin` (PILOT_ADMIN_TOKEN) as an admin token.
    pub fn load(
        configured: Vec<TokenEntry>,
        file: &Path,
        bootstrap_admin: Option<&str>,
    ) -> Result<Tokens, TokensError> {
        let bootstrap_admin = bootstrap_admin.map(str::trim).filter(|t| !t.is_empty());
        // Refused even while other tokens make it unused: it would count again once they go.
        if let Some(token) = bootstrap_admin {
            let chars = token.chars().count();
            if chars < MIN_ADMIN_TOKEN_CHARS {
                return Err(TokensError::ShortAdminToken {
                    chars,
                    min: MIN_ADMIN_TOKEN_CHARS,
                });
            }
        }
        let seen = read_bytes(file)?;
        let by_hash = build(&configured, file, seen.as_deref(), bootstrap_admin)?;
        let source = Source {
            configured,
            file: file.to_path_buf(),
            bootstrap_admin: bootstrap_admin.map(str::to_string),
            seen,
        };
        Ok(Tokens {
            shared: Arc::new(RwLock::new(TokenSet {
                by_hash,
                source: Some(source),
            })),
        })
    }

    /// Reads the tokens file again and, if its contents changed, replaces the set (true). A
    /// file that cannot be read or is not valid leaves the set as it was: the error comes
    /// back once per change of the file.
    pub fn reload(&self) -> Result<bool, TokensError> {
        let mut guard = self.write();
        let TokenSet { by_hash, source } = &mut *guard;
        let Some(source) = source else {
            return Ok(false);
        };
        let bytes = read_bytes(&source.file)?;
        if bytes == source.seen {
            return Ok(false);
        }
        source.seen.clone_from(&bytes);
        *by_hash = build(
            &source.configured,
            &source.file,
            bytes.as_deref(),
            source.bootstrap_admin.as_deref(),
        )?;
        Ok(true)
    }

    /// Adds a token given in clear (tests).
    pub fn add_clear(&mut self, name: &str, role: Role, office: Option<&str>, token: &str) {
        self.write().by_hash.insert(
            digest(token),
            Holder {
                caller: Caller {
                    name: name.to_string(),
                    role,
                    office: office.map(str::to_string),
                },
                expires: None,
            },
        );
    }

    pub fn is_empty(&self) -> bool {
        self.read().by_hash.is_empty()
    }

    pub fn len(&self) -> usize {
        self.read().by_hash.len()
    }

    /// Whether PILOT_ADMIN_TOKEN was given while other tokens are configured, so that it counts
    /// for nothing (the service says so at start).
    pub fn ignores_bootstrap_admin(&self) -> bool {
        let set = self.read();
        let given = set
            .source
            .as_ref()
            .is_some_and(|source| source.bootstrap_admin.is_some());
        given
            && !set
                .by_hash
                .values()
                .any(|h| h.caller.name == BOOTSTRAP_ADMIN)
    }

    /// Who a presented token belongs to, if it is configured and has not expired.
    pub fn lookup(&self, token: &str) -> Lookup {
        match self.read().by_hash.get(&digest(token)) {
            None => Lookup::Unknown,
            Some(Holder {
                caller,
                expires: Some(at),
            }) if *at <= OffsetDateTime::now_utc() => Lookup::Expired {
                name: caller.name.clone(),
                at: *at,
            },
            Some(holder) => Lookup::Known(holder.caller.clone()),
        }
    }

    /// The caller a presented token belongs to, while it is valid.
    pub fn caller(&self, token: &str) -> Option<Caller> {
        match self.lookup(token) {
            Lookup::Known(caller) => Some(caller),
            Lookup::Expired { .. } | Lookup::Unknown => None,
        }
    }

    // Nothing panics while holding the lock; a poisoned one still holds a whole set.
    fn read(&self) -> RwLockReadGuard<'_, TokenSet> {
        self.shared.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, TokenSet> {
        self.shared.write().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The set of `configured` plus the tokens file's entries (`file`, read from `path`); with
/// none at all, the bootstrap admin token.
fn build(
    configured: &[TokenEntry],
    path: &Path,
    file: Option<&[u8]>,
    bootstrap_admin: Option<&str>,
) -> Result<HashMap<[u8; 32], Holder>, TokensError> {
    let from_file = match file {
        Some(bytes) => parse_tokens_file(path, bytes)?.tokens,
        None => Vec::new(),
    };
    let mut set = HashMap::new();
    for entry in configured.iter().cloned().chain(from_file) {
        add(&mut set, entry)?;
    }
    // With other tokens it counts for nothing; the service says so at start
    // (`Tokens::ignores_bootstrap_admin`).
    if let Some(token) = bootstrap_admin.filter(|_| set.is_empty()) {
        set.insert(
            digest(token),
            Holder {
                caller: Caller {
                    name: BOOTSTRAP_ADMIN.to_string(),
                    role: Role::Admin,
                    office: None,
                },
                expires: None,
            },
        );
    }
    Ok(set)
}

fn add(set: &mut HashMap<[u8; 32], Holder>, entry: TokenEntry) -> Result<(), TokensError> {
    let problem = |problem: &str| TokensError::Entry {
        name: entry.name.clone(),
        problem: problem.to_string(),
    };
    let hash = parse_hex(&entry.sha256)
        .ok_or_else(|| problem("sha256 must be 64 hex digits (`pilot token hash` prints it)"))?;
    match (entry.role, entry.office.as_deref().map(str::trim)) {
        (Role::Clerk, None | Some("")) => {
            return Err(problem("a clerk needs an office: add `office = \"...\"`"))
        }
        (Role::Analyst | Role::Admin, Some(_)) => {
            return Err(problem(
                "only clerks belong to an office; remove `office` or make the role clerk",
            ))
        }
        _ => {}
    }
    if set.contains_key(&hash) {
        return Err(problem(
            "the same token is configured twice; give each holder their own",
        ));
    }
    set.insert(
        hash,
        Holder {
            caller: Caller {
                name: entry.name,
                role: entry.role,
                office: entry.office,
            },
            expires: entry.expires,
        },
    );
    Ok(())
}

/// The tokens file's bytes; none if there is no file.
fn read_bytes(path: &Path) -> Result<Option<Vec<u8>>, TokensError> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(TokensError::Read {
            path: path.to_path_buf(),
            source,
        }),
    }
}

fn parse_tokens_file(path: &Path, bytes: &[u8]) -> Result<TokensFile, TokensError> {
    let invalid = |message: String| TokensError::Invalid {
        path: path.to_path_buf(),
        message,
    };
    let text = std::str::from_utf8(bytes).map_err(|error| invalid(error.to_string()))?;
    toml::from_str(text).map_err(|error| invalid(error.to_string()))
}

fn read_tokens_file(path: &Path) -> Result<TokensFile, TokensError> {
    match read_bytes(path)? {
        Some(bytes) => parse_tokens_file(path, &bytes),
        None => Ok(TokensFile::default()),
    }
}

/// Writes the tokens file whole, through a temporary file renamed over it, so that a
/// running pilot never reads half of it.
fn write_tokens_file(path: &Path, file: &TokensFile) -> Result<(), TokensError> {
    let text = toml::to_string(file).map_err(|error| TokensError::Invalid {
        path: path.to_path_buf(),
        message: error.to_string(),
    })?;
    let write = |source| TokensError::Write {
        path: path.to_path_buf(),
        source,
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(write)?;
    }
    let header = "# pilot's API tokens, by SHA-256. `pilot token new` adds to this file, \
                  `pilot token revoke` removes from it; a running pilot reads it again within \
                  seconds.\n";
    let mut temporary = path.as_os_str().to_owned();
    temporary.push(".tmp");
    let temporary = PathBuf::from(temporary);
    // Owner only: whoever may write this file may make an admin token, and a running pilot
    // honours it within seconds.
    let mut out = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&temporary)
        .map_err(write)?;
    out.write_all(format!("{header}{text}").as_bytes())
        .map_err(write)?;
    drop(out);
    std::fs::rename(&temporary, path).map_err(write)
}

/// Makes a new random token for `name`, appends its hash to the tokens file and returns the
/// token in clear: the only time it is ever shown.
pub fn new_token(
    path: &Path,
    name: &str,
    role: Role,
    office: Option<&str>,
    expires: Option<OffsetDateTime>,
) -> Result<String, TokensError> {
    let mut file = read_tokens_file(path)?;
    // One name, one token: `pilot token revoke NAME` must say which one goes.
    if file.tokens.iter().any(|t| t.name == name) {
        return Err(TokensError::Entry {
            name: name.to_string(),
            problem: "a token of that name exists already: choose another name, or revoke it \
                      first (`pilot token revoke`)"
                .to_string(),
        });
    }
    // Two v4 UUIDs: 244 random bits from the operating system's generator.
    let token = format!(
        "pt_{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    );
    let entry = TokenEntry {
        name: name.to_string(),
        role,
        office: office.map(str::to_string),
        expires,
        sha256: hash_hex(&token),
    };
    // Validate it the way a start would, against the tokens already there.
    let mut check = HashMap::new();
    for existing in file.tokens.iter().cloned().chain([entry.clone()]) {
        add(&mut check, existing)?;
    }
    file.tokens.push(entry);
    write_tokens_file(path, &file)?;
    Ok(token)
}

/// The entries of the tokens file, in its order (no file: none).
pub fn list_tokens(path: &Path) -> Result<Vec<TokenEntry>, TokensError> {
    Ok(read_tokens_file(path)?.tokens)
}

/// Removes every entry named `name` from the tokens file; how many there were.
pub fn revoke_token(path: &Path, name: &str) -> Result<usize, TokensError> {
    let mut file = read_tokens_file(path)?;
    let before = file.tokens.len();
    file.tokens.retain(|t| t.name != name);
    let revoked = before - file.tokens.len();
    if revoked == 0 {
        return Err(TokensError::NoSuchToken {
            name: name.to_string(),
            path: path.to_path_buf(),
        });
    }
    write_tokens_file(path, &file)?;
    Ok(revoked)
}

/// `--expires`: an RFC 3339 instant, or a span from `now` (`90d`, `12h`, `30m`, `45s`).
/// It must lie in the future.
pub fn parse_expiry(text: &str, now: OffsetDateTime) -> Result<OffsetDateTime, String> {
    let text = text.trim();
    let bad = || {
        format!(
            "--expires {text:?}: give an RFC 3339 instant (2027-06-30T18:00:00+08:00) or a span \
             from now: a number and d, h, m or s (90d)"
        )
    };
    let at = match OffsetDateTime::parse(text, &Rfc3339) {
        Ok(at) => at,
        Err(_) => {
            let split = text
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(text.len());
            let (number, unit) = text.split_at(split);
            let n: i64 = number.parse().map_err(|_| bad())?;
            let span = match unit {
                "d" => time::Duration::days(n),
                "h" => time::Duration::hours(n),
                "m" => time::Duration::minutes(n),
                "s" => time::Duration::seconds(n),
                _ => return Err(bad()),
            };
            now.checked_add(span).ok_or_else(bad)?
        }
    };
    if at <= now {
        return Err(format!(
            "--expires {text:?}: that instant has passed already"
        ));
    }
    Ok(at)
}

fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// The SHA-256 of `token` as 64 lowercase hex digits: what the configuration holds.
pub fn hash_hex(token: &str) -> String {
    digest(token).iter().map(|b| format!("{b:02x}")).collect()
}

fn parse_hex(text: &str) -> Option<[u8; 32]> {
    let text = text.trim();
    if text.len() != 64 || !text.is_ascii() {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(name: &str, role: Role, office: Option<&str>, token: &str) -> TokenEntry {
        TokenEntry {
            name: name.into(),
            role,
            office: office.map(Into::into),
            expires: None,
            sha256: hash_hex(token),
        }
    }

    #[test]
    fn tokens_are_found_by_their_hash_only() {
        let tokens = Tokens::load(
            vec![entry("ana", Role::Analyst, None, "secret-1")],
            Path::new("/nonexistent/tokens.toml"),
            None,
        )
        .unwrap();
        assert_eq!(tokens.caller("secret-1").unwrap().role, Role::Analyst);
        assert!(tokens.caller("secret-2").is_none());
        assert!(tokens.caller(&hash_hex("secret-1")).is_none());
    }

    #[test]
    fn the_bootstrap_token_counts_only_while_none_is_configured() {
        let none = Path::new("/nonexistent/tokens.toml");
        let first = "first-admin-token-0123";
        let bootstrap = Tokens::load(vec![], none, Some(first)).unwrap();
        assert_eq!(bootstrap.caller(first).unwrap().role, Role::Admin);
        let configured = Tokens::load(
            vec![entry("ana", Role::Analyst, None, "secret-1")],
            none,
            Some(first),
        )
        .unwrap();
        assert!(configured.caller(first).is_none());
    }

    #[test]
    fn a_short_bootstrap_admin_token_is_refused_even_when_unused() {
        let none = Path::new("/nonexistent/tokens.toml");
        let error = Tokens::load(vec![], none, Some("secret-15-chars")).unwrap_err();
        let text = error.to_string();
        assert!(text.contains("15 characters"), "{text}");
        assert!(text.contains("at least 16"), "{text}");
        let configured = vec![entry("ana", Role::Analyst, None, "secret-1")];
        assert!(Tokens::load(configured, none, Some("short")).is_err());
        assert!(Tokens::load(vec![], none, Some("sixteen-chars-ok")).is_ok());
    }

    #[test]
    fn bad_entries_say_what_to_fix() {
        let none = Path::new("/nonexistent/tokens.toml");
        let clerk = Tokens::load(vec![entry("c", Role::Clerk, None, "x")], none, None);
        assert!(clerk.unwrap_err().to_string().contains("office"));
        let admin = Tokens::load(vec![entry("a", Role::Admin, Some("X"), "x")], none, None);
        assert!(admin.unwrap_err().to_string().contains("only clerks"));
        let mut bad = entry("b", Role::Admin, None, "x");
        bad.sha256 = "xyz".into();
        let error = Tokens::load(vec![bad], none, None).unwrap_err().to_string();
        assert!(error.contains("64 hex"), "{error}");
    }

    #[test]
    fn new_tokens_are_appended_to_the_file_and_work() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub").join(TOKENS_FILE);
        let first = new_token(&path, "alice", Role::Clerk, Some("SSDNC"), None).unwrap();
        let second = new_token(&path, "bob", Role::Analyst, None, None).unwrap();
        assert_ne!(first, second);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(!text.contains(&first), "the file holds hashes, not tokens");
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{mode:o}");
        let tokens = Tokens::load(vec![], &path, Some("ignored-admin-token")).unwrap();
        assert_eq!(
            tokens.caller(&first).unwrap().office.as_deref(),
            Some("SSDNC")
        );
        assert_eq!(tokens.caller(&second).unwrap().role, Role::Analyst);
        assert!(tokens.caller("ignored-admin-token").is_none());
        assert!(new_token(&path, "carol", Role::Clerk, None, None).is_err());
        let twice = new_token(&path, "bob", Role::Admin, None, None).unwrap_err();
        assert!(twice.to_string().contains("exists already"), "{twice}");
    }

    #[test]
    fn an_expired_token_is_known_as_expired() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(TOKENS_FILE);
        let mut old = entry("old", Role::Analyst, None, "old-token");
        old.expires = Some(time::macros::datetime!(2001-01-01 00:00 UTC));
        let mut later = entry("later", Role::Analyst, None, "later-token");
        later.expires = Some(OffsetDateTime::now_utc() + time::Duration::days(1));
        let tokens = Tokens::load(vec![old, later], &path, None).unwrap();
        assert_eq!(
            tokens.lookup("old-token"),
            Lookup::Expired {
                name: "old".into(),
                at: time::macros::datetime!(2001-01-01 00:00 UTC)
            }
        );
        assert!(tokens.caller("old-token").is_none());
        assert_eq!(tokens.caller("later-token").unwrap().name, "later");
        assert_eq!(tokens.lookup("nobody"), Lookup::Unknown);
    }

    #[test]
    fn a_reload_picks_up_new_and_revoked_tokens_and_keeps_the_set_on_a_bad_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(TOKENS_FILE);
        let ana = new_token(&path, "ana", Role::Analyst, None, None).unwrap();
        let tokens = Tokens::load(vec![], &path, None).unwrap();
        let shared = tokens.clone();
        assert!(!tokens.reload().unwrap(), "unchanged");
        let bob = new_token(&path, "bob", Role::Admin, None, None).unwrap();
        assert_eq!(revoke_token(&path, "ana").unwrap(), 1);
        assert!(tokens.reload().unwrap());
        assert!(shared.caller(&ana).is_none(), "clones see the reload");
        assert_eq!(shared.caller(&bob).unwrap().role, Role::Admin);
        std::fs::write(&path, "tokens = 3").unwrap();
        assert!(tokens.reload().is_err());
        assert!(tokens.caller(&bob).is_some(), "a bad file changes nothing");
        let error = revoke_token(&path, "nobody");
        assert!(error.is_err());
    }

    #[test]
    fn expiry_is_an_instant_or_a_span_in_the_future() {
        let now = time::macros::datetime!(2026-12-01 12:00 UTC);
        assert_eq!(
            parse_expiry("90d", now).unwrap(),
            time::macros::datetime!(2027-03-01 12:00 UTC)
        );
        assert_eq!(
            parse_expiry("2027-01-01T08:00:00+08:00", now).unwrap(),
            time::macros::datetime!(2027-01-01 00:00 UTC)
        );
        assert!(parse_expiry("2001-01-01T00:00:00Z", now)
            .unwrap_err()
            .contains("passed"));
        assert!(parse_expiry("soon", now).unwrap_err().contains("90d"));
        assert!(parse_expiry("10w", now).is_err());
    }

    #[test]
    fn clerks_write_only_for_their_office() {
        let clerk = Caller {
            name: "c".into(),
            role: Role::Clerk,
            office: Some("SSDNC".into()),
        };
        assert!(clerk.may_write_for("SSDNC"));
        assert!(!clerk.may_write_for("Bureau of Finance"));
        assert!(!clerk.may_export());
        let analyst = Caller {
            name: "a".into(),
            role: Role::Analyst,
            office: None,
        };
        assert!(!analyst.may_write_for("SSDNC"));
        assert!(analyst.may_export());
    }
}
