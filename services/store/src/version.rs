//! The server version check: pilot-tracker refuses servers older than 2.12.1.
//!
//! Why: nats-server 2.9.10 (Debian's package) lets several writers win the same expected
//! sequence on replicated streams (fixed in 2.9.21), deduplication across leader changes was
//! fixed in 2.11, and async-nats 0.51 cannot read a 2.9 server's account info, so creating a
//! key-value bucket fails there. Beyond those, pilot-tracker appends several events of one
//! chain as one atomic batch: 2.11 silently ignores `allow_atomic` (a batch with a stale
//! position was partly stored in a test), and 2.12.0 refuses `Nats-Msg-Id` inside a batch
//! (error 10177). 2.12.1 is the first release that does both.

use thiserror::Error;

/// The oldest server pilot-tracker runs against.
pub const MINIMUM: (u64, u64, u64) = (2, 12, 1);

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum VersionError {
    #[error("nats-server {found} is too old: pilot-tracker needs 2.12.1 or newer (older servers let two writers win the same expected sequence on replicated streams, or cannot append a batch of events atomically). Install a current server with scripts/install-nats-server.sh, or see https://docs.nats.io/running-a-nats-service/introduction/installation")]
    TooOld { found: String },
    #[error("the server reports version `{found}`, which is not a version number; pilot-tracker needs nats-server 2.12.1 or newer")]
    Unreadable { found: String },
}

/// Parses `2.15.1`, `v2.11.0-beta.1`, ... into (major, minor, patch).
pub fn parse(version: &str) -> Option<(u64, u64, u64)> {
    let core = version
        .trim()
        .trim_start_matches('v')
        .split(['-', '+'])
        .next()?;
    let mut parts = core.split('.').map(|p| p.parse::<u64>().ok());
    Some((
        parts.next()??,
        parts.next()??,
        parts.next().flatten().unwrap_or(0),
    ))
}

/// Accepts `version` when it is 2.12.1 or newer.
pub fn check(version: &str) -> Result<(), VersionError> {
    match parse(version) {
        Some(found) if found >= MINIMUM => Ok(()),
        Some(_) => Err(VersionError::TooOld {
            found: version.to_string(),
        }),
        None => Err(VersionError::Unreadable {
            found: version.to_string(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_2_11_and_newer_and_refuses_older() {
        assert_eq!(check("2.15.1"), Ok(()));
        assert_eq!(check("2.12.1"), Ok(()));
        assert_eq!(
            check("2.12.0"),
            Err(VersionError::TooOld {
                found: "2.12.0".into()
            })
        );
        assert_eq!(
            check("2.11.11"),
            Err(VersionError::TooOld {
                found: "2.11.11".into()
            })
        );
        assert_eq!(check("v3.0.0-beta.2"), Ok(()));
        assert_eq!(
            check("2.9.10"),
            Err(VersionError::TooOld {
                found: "2.9.10".into()
            })
        );
        assert_eq!(
            check("2.10.29"),
            Err(VersionError::TooOld {
                found: "2.10.29".into()
            })
        );
        assert!(matches!(
            check("banana"),
            Err(VersionError::Unreadable { .. })
        ));
    }

    #[test]
    fn the_refusal_says_what_was_found_and_how_to_fix_it() {
        let message = check("2.9.10").unwrap_err().to_string();
        assert!(
            message.contains("2.9.10") && message.contains("scripts/install-nats-server.sh"),
            "{message}"
        );
    }
}
