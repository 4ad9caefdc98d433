//! Formatting for pages: numbers, dates, query strings, traffic lights. Pure functions.

use pilot_projections::stall::StallStatus;
use time::macros::format_description;
use time::OffsetDateTime;

/// A number with thousands separators (880,000), at most two decimals, no trailing zeros.
pub fn number(value: f64) -> String {
    if !value.is_finite() {
        return value.to_string();
    }
    let negative = value < 0.0;
    let rounded = (value.abs() * 100.0).round() / 100.0;
    let whole = rounded.trunc();
    let fraction = ((rounded - whole) * 100.0).round() as u64;
    let digits = format!("{whole:.0}");
    let mut grouped = String::new();
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    if fraction > 0 {
        let decimals = format!("{fraction:02}");
        grouped.push('.');
        grouped.push_str(decimals.trim_end_matches('0'));
    }
    if negative && (whole > 0.0 || fraction > 0) {
        grouped.insert(0, '-');
    }
    grouped
}

/// The day of an instant in its own offset (the one it was recorded with), `2001-01-01`.
pub fn date(at: OffsetDateTime) -> String {
    at.date()
        .format(format_description!("[year]-[month]-[day]"))
        .unwrap_or_default()
}

/// Date and time of day in its own offset, `2000-12-31 18:00 +08:00`.
pub fn date_time(at: OffsetDateTime) -> String {
    at.format(format_description!(
        "[year]-[month]-[day] [hour]:[minute] [offset_hour sign:mandatory]:[offset_minute]"
    ))
    .unwrap_or_default()
}

/// A query string (`a=1&b=x%20y`) of the non-empty pairs, percent-encoded.
pub fn query(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .filter(|(_, value)| !value.is_empty())
        .map(|(name, value)| format!("{}={}", encode(name), encode(value)))
        .collect::<Vec<_>>()
        .join("&")
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
pub fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// A traffic light, as the alert rules say: within the threshold, due soon, stalled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Light {
    Ok,
    Warning,
    Stalled,
}

impl Light {
    pub fn of(status: &StallStatus) -> Light {
        match status {
            StallStatus::Ok { .. } => Light::Ok,
            StallStatus::Warning { .. } => Light::Warning,
            StallStatus::Firing { .. } => Light::Stalled,
        }
    }

    /// Its CSS class and its catalogue key both end in this.
    pub fn name(self) -> &'static str {
        match self {
            Light::Ok => "ok",
            Light::Warning => "warning",
            Light::Stalled => "stalled",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn numbers_are_grouped() {
        assert_eq!(number(880_000.0), "880,000");
        assert_eq!(number(1_000_000.0), "1,000,000");
        assert_eq!(number(999.0), "999");
        assert_eq!(number(0.0), "0");
        assert_eq!(number(1234.5), "1,234.5");
        assert_eq!(number(-1234.567), "-1,234.57");
        assert_eq!(number(0.88), "0.88");
    }

    #[test]
    fn dates_keep_their_offset() {
        assert_eq!(date(datetime!(2000-12-31 18:00 +08:00)), "2000-12-31");
        assert_eq!(
            date_time(datetime!(2000-12-31 18:00 +08:00)),
            "2000-12-31 18:00 +08:00"
        );
    }

    #[test]
    fn queries_are_encoded_and_skip_empty_values() {
        assert_eq!(
            query(&[("q", "a b&c"), ("stage", ""), ("lang", "zh-CN")]),
            "q=a%20b%26c&lang=zh-CN"
        );
    }
}
