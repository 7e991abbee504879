//! The presign task's input, parsed and checked without signing or publishing (so it can
//! be unit-tested and fuzzed natively).

use cafe_guest::{Inventory, ReportTarget};
use serde::Deserialize;

const DEFAULT_EXPIRES_IN: u32 = 120;
/// SigV4 presigned URLs live at most seven days.
const MAX_EXPIRES_IN: u64 = 604_800;

/// `{"bucket", "key"?, "report_id"?, "inventory"?, "expires_in"?, "subject"?}`.
#[derive(Debug, Deserialize)]
pub struct PresignInput {
    pub bucket: String,
    #[serde(flatten)]
    pub target: ReportTarget,
    pub inventory: Option<Inventory>,
    pub expires_in: Option<serde_json::Number>,
    pub subject: Option<String>,
    /// Where the link points is the host's to say now; an input still naming it is told so
    /// rather than silently ignored.
    #[serde(flatten)]
    pub retired: Retired,
}

/// Fields earlier versions took.
#[derive(Debug, Default, Deserialize)]
pub struct Retired {
    endpoint: Option<serde_json::Value>,
    addressing: Option<serde_json::Value>,
    region: Option<serde_json::Value>,
}

impl PresignInput {
    /// The object key the link points at (the rule render shares).
    pub fn key(&self) -> Result<String, String> {
        self.target.key(self.inventory.as_ref())
    }

    /// Refuses the fields the host now decides.
    pub fn check_retired(&self) -> Result<(), String> {
        let r = &self.retired;
        for (name, value) in [
            ("endpoint", &r.endpoint),
            ("addressing", &r.addressing),
            ("region", &r.region),
        ] {
            if value.is_some() {
                return Err(format!(
                    "{name}: the host's configuration decides where links point; remove this field"
                ));
            }
        }
        Ok(())
    }

    /// The link's lifetime in seconds: 120 unless given, at most seven days (the host
    /// holds it to its own, shorter, maximum).
    pub fn expires_in(&self) -> Result<u32, String> {
        let Some(number) = &self.expires_in else {
            return Ok(DEFAULT_EXPIRES_IN);
        };
        match number.as_u64() {
            Some(seconds) if (1..=MAX_EXPIRES_IN).contains(&seconds) => Ok(seconds as u32),
            _ => Err(format!(
                "expires_in: must be a whole number of seconds from 1 to {MAX_EXPIRES_IN}, got {number}"
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> PresignInput {
        serde_json::from_str(text).unwrap()
    }

    #[test]
    fn the_host_decides_where_links_point() {
        assert_eq!(parse(r#"{"bucket": "b"}"#).check_retired(), Ok(()));
        for field in ["endpoint", "addressing", "region"] {
            let input = parse(&format!(r#"{{"bucket": "b", "{field}": ""}}"#));
            assert_eq!(
                input.check_retired(),
                Err(format!(
                    "{field}: the host's configuration decides where links point; remove this field"
                ))
            );
        }
    }

    #[test]
    fn expiry_is_whole_seconds_up_to_seven_days() {
        assert_eq!(parse(r#"{"bucket": "b"}"#).expires_in(), Ok(120));
        assert_eq!(
            parse(r#"{"bucket": "b", "expires_in": 604800}"#).expires_in(),
            Ok(604_800)
        );
        for bad in ["0", "604801", "-1", "1.5"] {
            let input = parse(&format!(r#"{{"bucket": "b", "expires_in": {bad}}}"#));
            assert!(
                input.expires_in().unwrap_err().starts_with("expires_in:"),
                "{bad}"
            );
        }
    }
}
