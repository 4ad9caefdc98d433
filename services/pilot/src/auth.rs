//! API tokens and roles.
//!
//! Tokens are configured by their SHA-256 (hex), never in clear: in the `[[tokens]]` tables of
//! the configuration file and in the tokens file (`<data-dir>/tokens.toml` unless
//! `tokens_file` says otherwise; `pilot token new` appends to it). `PILOT_ADMIN_TOKEN` is a
//! bootstrap admin token for a first start: it is honoured only while no token is configured.
//!
//! | role | may |
//! |---|---|
//! | `clerk` | read; append events to pilots of its own office (and propose pilots and register stakeholders as its office); retract only events its office recorded, merge only into its office's pilots ([`crate::offices`]) |
//! | `analyst` | read, export (`GET /api/v1/events`), replay |
//! | `admin` | everything, including import and appends for any office |
//!
//! Open without a token: `/healthz`, `/readyz`, `/metrics`, `/api/v1/openapi.json`.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

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

/// The configured tokens, by their hash.
#[derive(Debug, Clone, Default)]
pub struct Tokens {
    by_hash: HashMap<[u8; 32], Caller>,
}

impl Tokens {
    /// The tokens of the configuration file plus those of `file` (if it exists); with none at
    /// all, `bootstrap_admin` (PILOT_ADMIN_TOKEN) as an admin token.
    pub fn load(
        configured: Vec<TokenEntry>,
        file: &Path,
        bootstrap_admin: Option<&str>,
    ) -> Result<Tokens, TokensError> {
        let mut entries = configured;
        entries.extend(read_tokens_file(file)?.tokens);
        let mut tokens = Tokens::default();
        for entry in entries {
            tokens.add(entry)?;
        }
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
        match bootstrap_admin {
            Some(token) if tokens.is_empty() => {
                tokens.add_clear("bootstrap-admin", Role::Admin, None, token)
            }
            Some(_) => tracing::warn!(
                message = "PILOT_ADMIN_TOKEN is ignored: tokens are configured.",
                tokens = tokens.len()
            ),
            _ => {}
        }
        Ok(tokens)
    }

    /// Adds a token given in clear (tests, the bootstrap token).
    pub fn add_clear(&mut self, name: &str, role: Role, office: Option<&str>, token: &str) {
        self.by_hash.insert(
            digest(token),
            Caller {
                name: name.to_string(),
                role,
                office: office.map(str::to_string),
            },
        );
    }

    fn add(&mut self, entry: TokenEntry) -> Result<(), TokensError> {
        let problem = |problem: &str| TokensError::Entry {
            name: entry.name.clone(),
            problem: problem.to_string(),
        };
        let hash = parse_hex(&entry.sha256).ok_or_else(|| {
            problem("sha256 must be 64 hex digits (`pilot token hash` prints it)")
        })?;
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
        if self.by_hash.contains_key(&hash) {
            return Err(problem(
                "the same token is configured twice; give each holder their own",
            ));
        }
        self.by_hash.insert(
            hash,
            Caller {
                name: entry.name,
                role: entry.role,
                office: entry.office,
            },
        );
        Ok(())
    }

    pub fn is_empty(&self) -> bool {
        self.by_hash.is_empty()
    }

    pub fn len(&self) -> usize {
        self.by_hash.len()
    }

    /// The caller a presented token belongs to.
    pub fn caller(&self, token: &str) -> Option<&Caller> {
        self.by_hash.get(&digest(token))
    }
}

fn read_tokens_file(path: &Path) -> Result<TokensFile, TokensError> {
    match std::fs::read_to_string(path) {
        Ok(text) => toml::from_str(&text).map_err(|error| TokensError::Invalid {
            path: path.to_path_buf(),
            message: error.to_string(),
        }),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(TokensFile::default()),
        Err(source) => Err(TokensError::Read {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// Makes a new random token for `name`, appends its hash to the tokens file and returns the
/// token in clear: the only time it is ever shown.
pub fn new_token(
    path: &Path,
    name: &str,
    role: Role,
    office: Option<&str>,
) -> Result<String, TokensError> {
    let mut file = read_tokens_file(path)?;
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
        sha256: hash_hex(&token),
    };
    // Validate it the way a start would, against the tokens already there.
    let mut check = Tokens::default();
    for existing in file.tokens.iter().cloned().chain([entry.clone()]) {
        check.add(existing)?;
    }
    file.tokens.push(entry);
    let text = toml::to_string(&file).map_err(|error| TokensError::Invalid {
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
    let header = "# pilot's API tokens, by SHA-256. `pilot token new` adds to this file.\n";
    std::fs::write(path, format!("{header}{text}")).map_err(write)?;
    Ok(token)
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
        let first = new_token(&path, "alice", Role::Clerk, Some("SSDNC")).unwrap();
        let second = new_token(&path, "bob", Role::Analyst, None).unwrap();
        assert_ne!(first, second);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(!text.contains(&first), "the file holds hashes, not tokens");
        let tokens = Tokens::load(vec![], &path, Some("ignored-admin-token")).unwrap();
        assert_eq!(
            tokens.caller(&first).unwrap().office.as_deref(),
            Some("SSDNC")
        );
        assert_eq!(tokens.caller(&second).unwrap().role, Role::Analyst);
        assert!(tokens.caller("ignored-admin-token").is_none());
        assert!(new_token(&path, "carol", Role::Clerk, None).is_err());
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
