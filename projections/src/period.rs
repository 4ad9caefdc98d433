//! How views show a vague date (schema 2's `precision`): the period, not its first instant.

use pilot_events::Precision;
use time::OffsetDateTime;

/// `at` as a view shows it: "1992" for a year, "2007-07" for a month, "2007-07-15" for a day
/// (read in `at`'s own offset, the jurisdiction's, where the period begins), and the instant in
/// RFC 3339 when no precision was given.
pub fn shown(at: OffsetDateTime, precision: Option<Precision>) -> String {
    match precision {
        Some(Precision::Year) => format!("{:04}", at.year()),
        Some(Precision::Month) => format!("{:04}-{:02}", at.year(), u8::from(at.month())),
        Some(Precision::Day) => format!(
            "{:04}-{:02}-{:02}",
            at.year(),
            u8::from(at.month()),
            at.day()
        ),
        None => pilot_events::rfc3339(at),
    }
}

/// `at` as a page shows a date: its period for a year or a month ("1992", "2007-07"),
/// otherwise its day in its own offset ("2007-07-15").
pub fn day(at: OffsetDateTime, precision: Option<Precision>) -> String {
    match precision {
        Some(Precision::Year | Precision::Month) => shown(at, precision),
        Some(Precision::Day) | None => shown(at, Some(Precision::Day)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn a_period_shows_as_its_year_month_or_day_in_its_own_offset() {
        let at = datetime!(2005-01-01 00:00 +08:00);
        assert_eq!(shown(at, Some(Precision::Year)), "2005");
        assert_eq!(shown(at, Some(Precision::Month)), "2005-01");
        assert_eq!(shown(at, Some(Precision::Day)), "2005-01-01");
        assert_eq!(shown(at, None), "2005-01-01T00:00:00+08:00");
        assert_eq!(day(at, Some(Precision::Year)), "2005");
        assert_eq!(day(datetime!(2005-03-04 23:30 +08:00), None), "2005-03-04");
    }
}
