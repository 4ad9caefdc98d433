//! Connecting to NATS: the `[nats]` settings of `pilot serve` and `pilot init`, and a bare
//! `--nats URL` of the client commands, as async-nats connect options: one way of
//! authenticating, and TLS. A crate of its own so the `pilot` binary and the client commands
//! (`pilot-client`) share one reading of them.

use async_nats::ConnectOptions;
use serde::Deserialize;
use std::path::PathBuf;

/// The `[nats]` table: how to reach and authenticate to an existing NATS.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NatsConfig {
    pub url: Option<String>,
    /// Copies of each stream: 1 on a single server, 3 on a three-node cluster. Streams are
    /// created with it, or checked against it when they exist.
    pub replicas: Option<usize>,
    /// At the centre: the JetStream domains of the office sites (leaf nodes) whose events the
    /// central stream sources (docs/sites.md). Checked against the stream when it exists.
    #[serde(default)]
    pub sites: Vec<String>,
    /// At an office site: the site's JetStream domain. Its pilot writes the office's own
    /// chains and refuses the chains the centre writes (a jurisdiction's).
    pub site: Option<String>,
    pub user: Option<String>,
    pub password: Option<String>,
    pub token: Option<String>,
    /// A file holding an NKey seed (`SU...`).
    pub nkey_seed_file: Option<PathBuf>,
    /// A `.creds` file (JWT and NKey seed), as `nsc` writes them.
    pub creds_file: Option<PathBuf>,
    /// Require TLS even if the URL does not say `tls://`.
    #[serde(default)]
    pub tls_required: bool,
    /// A PEM file of root certificates to trust (a private CA).
    pub tls_ca_file: Option<PathBuf>,
    /// A client certificate and key (PEM) for mutual TLS.
    pub tls_cert_file: Option<PathBuf>,
    pub tls_key_file: Option<PathBuf>,
    /// `[nats.eraser]`: the eraser's login, which alone may destroy keys of the key store
    /// (docs/personal-data.md). Used on the erasure path only; without it this process cannot
    /// erase a person's data.
    pub eraser: Option<Login>,
}

/// A login of its own beside `[nats]`'s (the eraser's): one way of authenticating; the
/// servers and TLS settings are `[nats]`'s.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Login {
    pub user: Option<String>,
    pub password: Option<String>,
    pub token: Option<String>,
    pub nkey_seed_file: Option<PathBuf>,
    pub creds_file: Option<PathBuf>,
}

/// The eraser's NATS user in `deploy/nats/users.conf`: `[nats.eraser]`'s user when it gives
/// a password alone, so `PILOT_NATS_ERASER_PASSWORD`, the variable the deployment's
/// nats-server reads the eraser's password from, is also a whole eraser login for pilot.
pub const DEFAULT_ERASER_USER: &str = "pilot-eraser";

/// Options for the eraser's connection (`[nats.eraser]`), with `[nats]`'s TLS settings;
/// `None` when no eraser login is configured.
pub async fn eraser_options(nats: &NatsConfig) -> Option<Result<ConnectOptions, String>> {
    let login = nats.eraser.clone()?;
    let user = match (&login.user, &login.password) {
        (None, Some(_)) => Some(DEFAULT_ERASER_USER.to_string()),
        _ => login.user,
    };
    let eraser = NatsConfig {
        user,
        password: login.password,
        token: login.token,
        nkey_seed_file: login.nkey_seed_file,
        creds_file: login.creds_file,
        eraser: None,
        ..nats.clone()
    };
    Some(
        connect_options(&eraser)
            .await
            .map_err(|error| format!("[nats.eraser]: {error}")),
    )
}

/// Options for an existing NATS server; a message that says what to fix when the settings
/// contradict each other or name a file that cannot be read.
pub async fn connect_options(nats: &NatsConfig) -> Result<ConnectOptions, String> {
    let ways = [
        nats.user.is_some() || nats.password.is_some(),
        nats.token.is_some(),
        nats.nkey_seed_file.is_some(),
        nats.creds_file.is_some(),
    ];
    if ways.iter().filter(|w| **w).count() > 1 {
        return Err(
            "give one way of authenticating: user and password, token, nkey_seed_file or creds_file"
                .to_string(),
        );
    }
    let mut options = ConnectOptions::new();
    match (&nats.user, &nats.password) {
        (Some(user), Some(password)) => {
            options = options.user_and_password(user.clone(), password.clone())
        }
        (Some(_), None) | (None, Some(_)) => {
            return Err("user and password go together: give both".to_string())
        }
        (None, None) => {}
    }
    if let Some(token) = &nats.token {
        options = options.token(token.clone());
    }
    if let Some(path) = &nats.nkey_seed_file {
        let seed = std::fs::read_to_string(path)
            .map_err(|e| format!("nkey_seed_file {}: {e}", path.display()))?;
        options = options.nkey(seed.trim().to_string());
    }
    if let Some(path) = &nats.creds_file {
        options = options
            .credentials_file(path)
            .await
            .map_err(|e| format!("creds_file {}: {e}", path.display()))?;
    }
    for (name, path) in [
        ("tls_ca_file", &nats.tls_ca_file),
        ("tls_cert_file", &nats.tls_cert_file),
        ("tls_key_file", &nats.tls_key_file),
    ] {
        if let Some(path) = path {
            if !path.is_file() {
                return Err(format!("{name} {}: no such file", path.display()));
            }
        }
    }
    if let Some(ca) = &nats.tls_ca_file {
        options = options.add_root_certificates(ca.clone());
    }
    match (&nats.tls_cert_file, &nats.tls_key_file) {
        (Some(cert), Some(key)) => {
            options = options.add_client_certificate(cert.clone(), key.clone())
        }
        (None, None) => {}
        _ => return Err("tls_cert_file and tls_key_file go together: give both".to_string()),
    }
    Ok(options.require_tls(nats.tls_required))
}

/// `nats://a:4222,nats://b:4222`: every server of a cluster, so pilot can start while one
/// is down (async-nats reads a single string as one URL).
pub fn server_addrs(urls: &str) -> Result<Vec<async_nats::ServerAddr>, String> {
    urls.split(',')
        .map(str::trim)
        .filter(|url| !url.is_empty())
        .map(|url| {
            url.parse()
                .map_err(|error| format!("{url:?} is not a NATS URL: {error}"))
        })
        .collect()
}

/// Options for a bare `--nats URL` of the client commands, the servers, and the URL as it
/// may be shown (its password hidden). A login in the URL (`nats://user:password@host:4222`,
/// e.g. the `pilot-reader` user of deploy/nats/users.conf) is used: async-nats does not read
/// it from the URL itself.
pub fn url_options(
    urls: &str,
) -> Result<(ConnectOptions, Vec<async_nats::ServerAddr>, String), String> {
    let addrs = server_addrs(urls)?;
    let mut options = ConnectOptions::new();
    if let Some(addr) = addrs.iter().find(|a| a.has_user_pass()) {
        options = options.user_and_password(
            addr.username().unwrap_or_default().to_string(),
            addr.password().unwrap_or_default().to_string(),
        );
    }
    let shown: Vec<String> = addrs
        .iter()
        .map(|addr| {
            let mut url = addr.clone().into_inner();
            if url.password().is_some() {
                let _ = url.set_password(Some("***"));
            }
            url.to_string()
        })
        .collect();
    Ok((options, addrs, shown.join(",")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn contradictions_are_refused_with_what_to_fix() {
        let both = NatsConfig {
            token: Some("t".into()),
            user: Some("u".into()),
            password: Some("p".into()),
            ..NatsConfig::default()
        };
        let error = connect_options(&both).await.unwrap_err();
        assert!(error.contains("one way"), "{error}");
        let half = NatsConfig {
            user: Some("u".into()),
            ..NatsConfig::default()
        };
        assert!(connect_options(&half).await.unwrap_err().contains("both"));
        let missing = NatsConfig {
            tls_ca_file: Some("/nonexistent/ca.pem".into()),
            ..NatsConfig::default()
        };
        let error = connect_options(&missing).await.unwrap_err();
        assert!(error.contains("tls_ca_file"), "{error}");
        assert!(connect_options(&NatsConfig::default()).await.is_ok());
    }

    #[tokio::test]
    async fn the_eraser_has_a_login_of_its_own() {
        let service = NatsConfig {
            user: Some("pilot-api".into()),
            password: Some("p".into()),
            ..NatsConfig::default()
        };
        assert!(eraser_options(&service).await.is_none());
        let half = NatsConfig {
            eraser: Some(Login {
                user: Some("pilot-eraser".into()),
                ..Login::default()
            }),
            ..service.clone()
        };
        let error = eraser_options(&half).await.unwrap().unwrap_err();
        assert!(
            error.starts_with("[nats.eraser]: user and password"),
            "{error}"
        );
        let whole = NatsConfig {
            eraser: Some(Login {
                user: Some("pilot-eraser".into()),
                password: Some("e".into()),
                ..Login::default()
            }),
            ..service
        };
        assert!(eraser_options(&whole).await.unwrap().is_ok());
    }

    #[test]
    fn a_login_in_a_url_is_used_and_never_shown() {
        let (_, addrs, shown) = url_options("nats://reader:s3cret@127.0.0.1:4222").unwrap();
        assert_eq!(addrs.len(), 1);
        assert!(!shown.contains("s3cret"), "{shown}");
        assert!(shown.contains("reader"), "{shown}");
    }
}
