//! Time formatting for millisecond timestamps from the `clock` capability.

use time::OffsetDateTime;
use time::macros::format_description;

fn datetime(millis: u64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(millis) * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// `2026-11-24T09:31:00Z` (whole seconds, UTC).
pub fn rfc3339(millis: u64) -> String {
    let fmt = format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
    datetime(millis).format(fmt).unwrap_or_default()
}

/// `24 November 2026, 09:31 UTC`, for people.
pub fn human(millis: u64) -> String {
    let fmt = format_description!(
        "[day padding:none] [month repr:long] [year], [hour]:[minute]:[second] UTC"
    );
    datetime(millis).format(fmt).unwrap_or_default()
}

/// An RFC 3339 time (as in the inventory's `generated_at`) for people; unparseable text
/// is returned as it is.
pub fn human_rfc3339(text: &str) -> String {
    match OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339) {
        Ok(at) => {
            let millis = (at.unix_timestamp_nanos() / 1_000_000).max(0) as u64;
            human(millis)
        }
        Err(_) => text.to_string(),
    }
}

/// "2 minutes", "1 hour 5 minutes", "45 seconds", "7 days".
pub fn duration_words(seconds: u64) -> String {
    let units = [
        ("day", 86_400),
        ("hour", 3_600),
        ("minute", 60),
        ("second", 1),
    ];
    let mut parts = Vec::new();
    let mut rest = seconds;
    for (name, size) in units {
        let n = rest / size;
        rest %= size;
        if n > 0 && parts.len() < 2 {
            parts.push(format!("{n} {name}{}", if n == 1 { "" } else { "s" }));
        }
    }
    if parts.is_empty() {
        "0 seconds".into()
    } else {
        parts.join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        let t = 1_795_512_660_000; // 2026-11-24T09:31:00Z
        assert_eq!(rfc3339(t), "2026-11-24T09:31:00Z");
        assert_eq!(human(t), "24 November 2026, 09:31:00 UTC");
        assert_eq!(
            human_rfc3339("2026-11-24T09:31:00Z"),
            "24 November 2026, 09:31:00 UTC"
        );
        assert_eq!(human_rfc3339("yesterday"), "yesterday");
        assert_eq!(duration_words(120), "2 minutes");
        assert_eq!(duration_words(3_900), "1 hour 5 minutes");
        assert_eq!(duration_words(604_800), "7 days");
    }
}
