//! One fixed-width UTC timestamp format for storage and the API, so that stored strings sort
//! in time order (RFC 3339 with a variable number of fraction digits would not).

use time::format_description::FormatItem;
use time::macros::format_description;
use time::{OffsetDateTime, PrimitiveDateTime, UtcOffset};

const FMT: &[FormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");

#[allow(
    clippy::expect_used,
    reason = "RFC 3339 fails only outside years 0-9999, which no clock or parsed input here reaches"
)]
pub fn format(t: OffsetDateTime) -> String {
    t.to_offset(UtcOffset::UTC)
        .format(FMT)
        .expect("a UTC timestamp always formats")
}

pub fn parse(s: &str) -> Option<OffsetDateTime> {
    if let Ok(p) = PrimitiveDateTime::parse(s, FMT) {
        return Some(p.assume_utc());
    }
    OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn stored_times_sort_as_strings_and_parse_back() {
        let a = datetime!(2026-11-23 05:00:00.5 UTC);
        let b = datetime!(2026-11-23 05:00:00.25 UTC) + time::Duration::seconds(1);
        assert!(format(a) < format(b));
        assert_eq!(format(a), "2026-11-23T05:00:00.500Z");
        assert_eq!(parse(&format(a)), Some(a));
        assert_eq!(
            parse("2026-11-23T06:00:00+01:00"),
            Some(datetime!(2026-11-23 05:00 UTC))
        );
        assert_eq!(parse("yesterday"), None);
    }
}
