//! Query parameters: only the ones an endpoint takes, each at most once, and the two clocks of
//! time travel (`as_of`, `known_at`).
//!
//! A time is either an RFC 3339 timestamp with an offset (`2000-12-31T18:00:00+08:00`,
//! `2001-01-01T00:00:00Z`) or a date (`2001-01-01`), which means the **end of that day in
//! UTC** (23:59:59.999999999Z): everything that happened, or was logged, on that day counts.
//! A `+` in an offset that arrives as a space (an unencoded `+` in a query string is a space)
//! is read as the `+` it was meant to be.

use crate::error::ApiError;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query};
use std::collections::BTreeMap;
use time::format_description::well_known::Rfc3339;
use time::macros::{format_description, time};
use time::{Date, OffsetDateTime};
use uuid::Uuid;

/// The two clocks of time travel as the OpenAPI document describes them (`as_of`, `known_at`;
/// [`parse_instant`] reads each).
#[derive(Debug, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // Describes the query for the document; the handlers read `Params`.
pub struct TimeTravel {
    /// A world date: the view as of this instant (RFC 3339 with an offset), or the end of
    /// this date (`2001-01-01`, UTC).
    as_of: Option<String>,
    /// A system date: the view as the log knew it at this instant, or the end of this date.
    known_at: Option<String>,
}

/// An endpoint's query string as axum hands it over, read by [`params`].
pub type Params = Result<Query<Vec<(String, String)>>, QueryRejection>;

pub fn params(
    query: Params,
    allowed: &[&'static str],
) -> Result<Vec<(&'static str, String)>, ApiError> {
    let Query(mut pairs) = query.map_err(|rejection| {
        ApiError::invalid_query(format!("the query string cannot be read: {rejection}"))
    })?;
    // Every /api/v1 request takes `min_position`; `wait_for_position` has acted on it.
    pairs.retain(|(name, _)| name != "min_position");
    Ok(select(pairs, allowed)?.into_iter().collect())
}

pub fn pilot_id(id: Result<Path<String>, PathRejection>) -> Result<Uuid, ApiError> {
    let Path(raw) = id.map_err(|rejection| ApiError::invalid("id", rejection.body_text()))?;
    Uuid::parse_str(&raw).map_err(|_| {
        ApiError::invalid("id", format!("id must be a pilot_id (a UUID); got {raw:?}"))
    })
}

/// The query's parameters by name, refusing any that are not in `allowed` and any given twice.
pub fn select(
    pairs: Vec<(String, String)>,
    allowed: &[&'static str],
) -> Result<BTreeMap<&'static str, String>, ApiError> {
    let mut selected = BTreeMap::new();
    for (name, value) in pairs {
        let Some(known) = allowed.iter().copied().find(|a| *a == name) else {
            return Err(ApiError::unknown_parameter(&name, allowed));
        };
        if selected.insert(known, value).is_some() {
            return Err(ApiError::invalid(known, format!("{known} is given twice")));
        }
    }
    Ok(selected)
}

/// Reads `value` of parameter `field` as `true` or `false`.
pub fn parse_bool(field: &str, value: &str) -> Result<bool, ApiError> {
    match value.trim() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(ApiError::invalid(
            field,
            format!("{field} must be true or false; got {value:?}"),
        )),
    }
}

/// Reads `value` of parameter `field` as an instant (see the module docs).
pub fn parse_instant(field: &str, value: &str) -> Result<OffsetDateTime, ApiError> {
    let value = value.trim();
    if let Ok(instant) = OffsetDateTime::parse(value, &Rfc3339) {
        return Ok(instant);
    }
    if value.contains(' ') {
        if let Ok(instant) = OffsetDateTime::parse(&value.replace(' ', "+"), &Rfc3339) {
            return Ok(instant);
        }
    }
    if let Ok(date) = Date::parse(value, format_description!("[year]-[month]-[day]")) {
        return Ok(date.with_time(time!(23:59:59.999_999_999)).assume_utc());
    }
    Err(ApiError::invalid(
        field,
        format!(
            "{field} must be an RFC 3339 timestamp with an offset (2001-01-01T00:00:00+08:00) \
             or a date (2001-01-01, meaning the end of that day in UTC); got {value:?}"
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::StatusCode;
    use time::macros::datetime;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn a_date_is_the_end_of_that_day_in_utc() {
        assert_eq!(
            parse_instant("as_of", "2001-01-01").unwrap(),
            datetime!(2001-01-01 23:59:59.999_999_999 UTC)
        );
    }

    #[test]
    fn timestamps_keep_their_offset() {
        assert_eq!(
            parse_instant("as_of", "2000-12-31T18:00:00+08:00").unwrap(),
            datetime!(2000-12-31 10:00 UTC)
        );
        assert_eq!(
            parse_instant("known_at", "2000-12-31T10:00:00Z").unwrap(),
            datetime!(2000-12-31 10:00 UTC)
        );
    }

    #[test]
    fn an_unencoded_plus_in_the_offset_is_a_plus() {
        assert_eq!(
            parse_instant("as_of", "2000-12-31T18:00:00 08:00").unwrap(),
            datetime!(2000-12-31 10:00 UTC)
        );
    }

    #[test]
    fn anything_else_is_refused_naming_the_field() {
        for bad in [
            "",
            "yesterday",
            "2001-13-01",
            "2001-02-30",
            "2001-01-01T00:00:00",
            "01/01/2001",
            "2001-01-01 00:00",
        ] {
            let error = parse_instant("known_at", bad).unwrap_err();
            assert_eq!(error.status, StatusCode::BAD_REQUEST, "{bad:?}");
            assert_eq!(error.field.as_deref(), Some("known_at"), "{bad:?}");
        }
    }

    #[test]
    fn selects_only_allowed_parameters_once_each() {
        let allowed = ["as_of", "known_at"];
        let selected = select(pairs(&[("as_of", "2001-01-01")]), &allowed).unwrap();
        assert_eq!(
            selected.get("as_of").map(String::as_str),
            Some("2001-01-01")
        );
        assert!(!selected.contains_key("known_at"));

        let unknown = select(pairs(&[("asof", "2001")]), &allowed).unwrap_err();
        assert_eq!(unknown.code, "unknown_parameter");
        assert_eq!(unknown.field.as_deref(), Some("asof"));

        let twice = select(pairs(&[("as_of", "a"), ("as_of", "b")]), &allowed).unwrap_err();
        assert_eq!(twice.code, "invalid_parameter");
        assert_eq!(twice.field.as_deref(), Some("as_of"));

        let none = select(pairs(&[("x", "1")]), &[]).unwrap_err();
        assert!(none.message.contains("takes none"), "{}", none.message);
    }
}
