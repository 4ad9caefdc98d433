//! Offices on their own sites: which chains an office writes, and how the centre names a site.
//!
//! An office runs its own nats-server, a leaf node of the central NATS with its own JetStream
//! domain, and its own `PILOT_EVENTS`; the central `PILOT_EVENTS` sources each site's stream
//! through `$JS.<domain>.API` ([`crate::layout::Layout::sites`]). Two sites must never write
//! the same chain, or the centre would receive two chains under one subject: an office owns
//! the chains of its pilots and stakeholders, and the shared chains (a jurisdiction's
//! context) are written at the centre only ([`written_at_centre`]). See docs/sites.md.

use async_nats::jetstream::Context;
use pilot_events::Subject;
use thiserror::Error;

/// Why a name cannot be a site's JetStream domain.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum SiteError {
    #[error("a site's JetStream domain is empty: give the `domain` of the site's nats-server `jetstream` block")]
    Empty,
    #[error("{domain:?} is not a JetStream domain: use letters, digits, `-` and `_` only (it becomes a NATS subject token, `$JS.<domain>.API`), as in the site's nats-server `jetstream {{ domain: ... }}`")]
    Invalid { domain: String },
    #[error("site {domain:?} is named twice: name each site once")]
    Twice { domain: String },
}

/// Why a site's pilot may not write on the server it reached.
#[derive(Debug, Error)]
pub enum SiteServerError {
    #[error("this pilot writes at office site {site}, but the NATS server it reached has {}: an office's pilot writes on its own site's server, whose `jetstream {{ domain: {site} }}` the centre sources (docs/sites.md)", found.as_deref().map_or("no JetStream domain".to_string(), |d| format!("JetStream domain {d}")))]
    OtherDomain { site: String, found: Option<String> },
    #[error("cannot ask the NATS server for its JetStream domain: {0}")]
    Unavailable(String),
}

/// Checks that the server behind `js` is the site `site`'s own (its JetStream domain): an
/// office's pilot pointed at the centre, or at another office, would write the office's
/// chains where the centre does not source them, or where another office already writes.
pub async fn check_site_server(js: &Context, site: &str) -> Result<(), SiteServerError> {
    let account = js
        .query_account()
        .await
        .map_err(|e| SiteServerError::Unavailable(e.to_string()))?;
    let found = account.domain.filter(|d| !d.is_empty());
    if found.as_deref() == Some(site) {
        Ok(())
    } else {
        Err(SiteServerError::OtherDomain {
            site: site.to_string(),
            found,
        })
    }
}

/// Checks that `domain` can name a site: one subject token that nats-server also takes as a
/// domain (no dots, spaces or wildcards).
pub fn check_domain(domain: &str) -> Result<(), SiteError> {
    if domain.is_empty() {
        return Err(SiteError::Empty);
    }
    let fits = domain
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !fits {
        return Err(SiteError::Invalid {
            domain: domain.to_string(),
        });
    }
    Ok(())
}

/// Checks every domain of a list of sites, and that none is named twice.
pub fn check_domains<'a>(domains: impl IntoIterator<Item = &'a str>) -> Result<(), SiteError> {
    let mut seen = std::collections::HashSet::new();
    for domain in domains {
        check_domain(domain)?;
        if !seen.insert(domain) {
            return Err(SiteError::Twice {
                domain: domain.to_string(),
            });
        }
    }
    Ok(())
}

/// The JetStream API prefix that reaches a site's streams across the leaf connection.
pub fn api_prefix(domain: &str) -> String {
    format!("$JS.{domain}.API")
}

/// The domain an API prefix names, when it is a domain's (`$JS.<domain>.API`).
pub fn domain_of(api_prefix: &str) -> Option<&str> {
    api_prefix
        .strip_prefix("$JS.")?
        .strip_suffix(".API")
        .filter(|d| check_domain(d).is_ok())
}

/// Whether `chain` is shared by every office and so is written at the centre only: a
/// jurisdiction's context is read by the pilots of many offices.
pub fn written_at_centre(chain: Subject) -> bool {
    matches!(chain, Subject::Jurisdiction(_))
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    #[test]
    fn domains_are_single_subject_tokens() {
        assert!(check_domain("office-a").is_ok());
        assert!(check_domain("office_7").is_ok());
        assert_eq!(check_domain(""), Err(SiteError::Empty));
        for bad in ["office.a", "office a", "office*", ">", "$JS"] {
            assert!(
                matches!(check_domain(bad), Err(SiteError::Invalid { .. })),
                "{bad}"
            );
        }
        assert_eq!(
            check_domains(["a", "b", "a"]),
            Err(SiteError::Twice { domain: "a".into() })
        );
    }

    #[test]
    fn api_prefixes_name_their_domain() {
        assert_eq!(api_prefix("office-a"), "$JS.office-a.API");
        assert_eq!(domain_of(&api_prefix("office-a")), Some("office-a"));
        assert_eq!(domain_of("$JS.API"), None);
        assert_eq!(domain_of("$JS.a.b.API"), None);
    }

    #[test]
    fn jurisdictions_are_written_at_the_centre() {
        assert!(written_at_centre(Subject::Jurisdiction(Uuid::nil())));
        assert!(!written_at_centre(Subject::Pilot(Uuid::nil())));
        assert!(!written_at_centre(Subject::Stakeholder(Uuid::nil())));
    }
}
