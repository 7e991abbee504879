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

/// Parses `--now` (RFC 3339, not before 1970).
pub fn parse_now(text: &str) -> anyhow::Result<time::OffsetDateTime> {
    let at = time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .map_err(|_| {
            anyhow::anyhow!("{text:?} is not an RFC 3339 time like 2026-11-24T09:31:00Z")
        })?;
    anyhow::ensure!(
        at >= time::OffsetDateTime::UNIX_EPOCH,
        "{text:?} is before 1970"
    );
    Ok(at)
}
