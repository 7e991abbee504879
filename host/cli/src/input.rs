//! Reading JSON arguments: inline text, `@file`, or `-` for standard input.

use std::io::Read;

use anyhow::Context;

/// The text an `--input` argument names.
pub fn read(arg: &str) -> anyhow::Result<String> {
    if arg == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .context("reading the input from standard input")?;
        Ok(text)
    } else if let Some(path) = arg.strip_prefix('@') {
        std::fs::read_to_string(path).with_context(|| format!("reading the input from {path}"))
    } else {
        Ok(arg.to_string())
    }
}

/// Parses `--now` (RFC 3339) into milliseconds since the epoch.
pub fn parse_now(text: &str) -> anyhow::Result<u64> {
    let at = time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .with_context(|| {
            format!("--now {text:?} is not an RFC 3339 time like 2026-11-24T09:31:00Z")
        })?;
    u64::try_from(at.unix_timestamp_nanos() / 1_000_000)
        .with_context(|| format!("--now {text:?} is before 1970"))
}

/// Parses `--now` (RFC 3339) into a time.
pub fn parse_time(text: &str) -> anyhow::Result<time::OffsetDateTime> {
    let millis = parse_now(text)?;
    Ok(time::OffsetDateTime::from_unix_timestamp_nanos(
        i128::from(millis) * 1_000_000,
    )?)
}
