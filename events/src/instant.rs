//! Instants as people read them in messages and logs: RFC 3339, the format of the wire
//! (`occurred_at`) and of every flag and parameter that takes a time, so a user can paste what
//! an error says back into a command.
//!
//! Why one function: `OffsetDateTime`'s `Display` (`2027-11-05 10:00:00.0 +08:00:00`) is no
//! format anything reads, and each crate formatting RFC 3339 itself fell back to it (or to an
//! empty string) on the instants RFC 3339 cannot express. Every crate above this one uses this.

use time::format_description::well_known::Rfc3339;
use time::{OffsetDateTime, UtcOffset};

/// `at` in RFC 3339 (`2027-11-05T10:00:00+08:00`). RFC 3339 has no seconds in an offset and no
/// years outside 0..=9999: such an instant is shown in UTC, and a year beyond is written out
/// in the same shape.
pub fn rfc3339(at: OffsetDateTime) -> String {
    if let Ok(text) = at.format(&Rfc3339) {
        return text;
    }
    let utc = at.to_offset(UtcOffset::UTC);
    utc.format(&Rfc3339).unwrap_or_else(|_| {
        format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
            utc.year(),
            u8::from(utc.month()),
            utc.day(),
            utc.hour(),
            utc.minute(),
            utc.second()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn an_instant_is_written_as_rfc_3339_in_its_own_offset() {
        assert_eq!(
            rfc3339(datetime!(2027-11-05 10:00:00 +08:00)),
            "2027-11-05T10:00:00+08:00"
        );
        assert_eq!(
            rfc3339(datetime!(2027-11-05 10:00:00.25 UTC)),
            "2027-11-05T10:00:00.25Z"
        );
    }

    #[test]
    fn what_rfc_3339_cannot_say_is_still_not_display() {
        assert_eq!(
            rfc3339(datetime!(2027-11-05 10:00:00 +08:00:30)),
            "2027-11-05T01:59:30Z"
        );
        let text = rfc3339(datetime!(-0044-03-15 12:00:00 UTC));
        assert!(
            text.starts_with("-044-03-15T12:00:00Z") || text.starts_with("-0044"),
            "{text}"
        );
        assert!(!text.contains(' '), "{text}");
    }
}
