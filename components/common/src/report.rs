//! Where a report is stored. render and presign run side by side on the same input, so
//! both derive the object key from it with this one rule.

use serde::Deserialize;

use crate::Inventory;

/// The longest S3 key allowed.
const MAX_KEY_BYTES: usize = 1024;
/// The longest report id, matching Step Functions' execution-name limit.
const MAX_REPORT_ID_CHARS: usize = 80;

/// The fields of a task input that choose the report object.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ReportTarget {
    /// Explicit object key; wins over `report_id`.
    pub key: Option<String>,
    /// Names the report: the key becomes `reports/<report_id>.html`.
    pub report_id: Option<String>,
}

impl ReportTarget {
    /// The object key: `key`, else `reports/<report_id>.html`, else a report id made from the
    /// inventory's generation time (`reports/inventory-20261124T093100Z.html`).
    pub fn key(&self, inventory: Option<&Inventory>) -> Result<String, String> {
        if let Some(key) = &self.key {
            return validate_key(key).map(|()| key.clone());
        }
        let id = match (&self.report_id, inventory) {
            (Some(id), _) => {
                validate_report_id(id)?;
                id.clone()
            }
            (None, Some(inventory)) => {
                let compact: String = inventory
                    .generated_at
                    .chars()
                    .filter(|c| !matches!(c, '-' | ':'))
                    .collect();
                format!("inventory-{compact}")
            }
            (None, None) => {
                return Err("one of `key`, `report_id` or `inventory` is required".into());
            }
        };
        Ok(format!("reports/{id}.html"))
    }
}

fn validate_key(key: &str) -> Result<(), String> {
    if key.is_empty() {
        return Err("key: must not be empty".into());
    }
    if key.len() > MAX_KEY_BYTES {
        return Err(format!("key: longer than {MAX_KEY_BYTES} bytes"));
    }
    if key.starts_with('/') {
        return Err("key: must not start with '/'".into());
    }
    if key.chars().any(char::is_control) {
        return Err("key: must not contain control characters".into());
    }
    Ok(())
}

fn validate_report_id(id: &str) -> Result<(), String> {
    let count = id.chars().count();
    if count == 0 || count > MAX_REPORT_ID_CHARS {
        return Err(format!(
            "report_id: must be 1 to {MAX_REPORT_ID_CHARS} characters"
        ));
    }
    if let Some(bad) = id
        .chars()
        .find(|c| c.is_whitespace() || c.is_control() || *c == '/')
    {
        return Err(format!("report_id: must not contain {bad:?}"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_rules() {
        let target = |key: Option<&str>, id: Option<&str>| ReportTarget {
            key: key.map(Into::into),
            report_id: id.map(Into::into),
        };
        assert_eq!(
            target(None, Some("abc")).key(None).unwrap(),
            "reports/abc.html"
        );
        assert_eq!(
            target(Some("x/y z.html"), Some("abc")).key(None).unwrap(),
            "x/y z.html"
        );
        assert!(target(None, Some("a/b")).key(None).is_err());
        assert!(target(Some("/abs"), None).key(None).is_err());
        assert!(target(None, None).key(None).is_err());
        let inv = Inventory::assemble("2026-11-24T09:31:00Z".into(), 10, vec![]);
        assert_eq!(
            target(None, None).key(Some(&inv)).unwrap(),
            "reports/inventory-20261124T093100Z.html"
        );
    }
}
