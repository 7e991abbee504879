//! Timestamps as ASL writes them: RFC 3339 with an uppercase `T` and `Z` (or an offset).

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Parses an ASL timestamp; `None` when it is not one.
pub(crate) fn parse(text: &str) -> Option<OffsetDateTime> {
    // AWS wants the uppercase separators the RFC also allows in lowercase.
    // The date and time are joined by `T`, never by the space RFC 3339 also allows
    // (test_wait_timestamp_path[NO_T] fails on AWS).
    if text.contains(['t', 'z']) || text.as_bytes().get(10) != Some(&b'T') {
        return None;
    }
    OffsetDateTime::parse(text, &Rfc3339).ok()
}

/// Formats a time as history events and execution records show it
/// (`2026-11-24T09:31:00.000Z`, UTC, milliseconds).
pub fn format(at: OffsetDateTime) -> String {
    let at = at.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second(),
        at.millisecond()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_asl_profile_only() {
        assert!(parse("2026-11-24T09:31:00Z").is_some());
        assert!(parse("2026-11-24T09:31:00.5+01:00").is_some());
        assert!(parse("2026-11-24t09:31:00z").is_none());
        assert!(parse("2026-11-24").is_none());
        assert!(parse("2016-12-05 21:29:29Z").is_none(), "no T");
        assert!(parse("2016-12-05T21:29:29").is_none(), "no offset");
        let at = parse("2026-11-24T10:31:00.25+01:00").unwrap();
        assert_eq!(format(at), "2026-11-24T09:31:00.250Z");
    }
}
