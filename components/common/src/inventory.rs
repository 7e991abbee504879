//! The inventory document: query's output, render's and presign's input.
//!
//! ```json
//! { "generated_at": "2026-11-24T09:31:00Z", "low_stock_threshold": 10,
//!   "suppliers": [ { "id": 1, "name": "...", "address": "...", "city": "...", "state": "...",
//!                    "email": "...", "phone": "...",
//!                    "beans": [ { "id": 1, "type": "Arabica", "product_name": "...",
//!                                 "price": "12.50", "description": "...", "quantity": 40,
//!                                 "low_stock": false } ],
//!                    "totals": { "beans": 1, "quantity": 40, "low_stock": 0 } } ],
//!   "totals": { "suppliers": 1, "beans": 1, "quantity": 40, "low_stock": 0,
//!               "inventory_value": "500.00", "unpriced_beans": 0 } }
//! ```

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Inventory {
    /// When the data was read, RFC 3339 UTC.
    pub generated_at: String,
    /// Beans with `quantity` at or below this are flagged `low_stock`.
    pub low_stock_threshold: i64,
    pub suppliers: Vec<Supplier>,
    pub totals: Totals,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Supplier {
    pub id: i64,
    pub name: String,
    pub address: Option<String>,
    pub city: Option<String>,
    pub state: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub beans: Vec<Bean>,
    pub totals: SupplierTotals,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bean {
    pub id: i64,
    #[serde(rename = "type")]
    pub bean_type: Option<String>,
    pub product_name: String,
    /// As stored (the column is VARCHAR), e.g. "12.50".
    pub price: Option<String>,
    pub description: Option<String>,
    pub quantity: i64,
    pub low_stock: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SupplierTotals {
    pub beans: u64,
    pub quantity: i64,
    pub low_stock: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Totals {
    pub suppliers: u64,
    pub beans: u64,
    pub quantity: i64,
    pub low_stock: u64,
    /// Sum of price x quantity over beans whose price parses as a decimal amount, two decimals.
    pub inventory_value: String,
    /// Beans whose price is missing or not a decimal amount, left out of `inventory_value`.
    pub unpriced_beans: u64,
}

/// Parses a decimal amount like "12.5", "12.50" or "12" into cents; anything else is `None`.
pub fn price_cents(price: &str) -> Option<i64> {
    let price = price.trim().trim_start_matches('$');
    let (whole, frac) = price.split_once('.').unwrap_or((price, ""));
    if whole.is_empty() || !whole.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if frac.len() > 2 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let whole: i64 = whole.parse().ok()?;
    let frac: i64 = format!("{frac:0<2}").parse().ok()?;
    whole.checked_mul(100)?.checked_add(frac)
}

/// Formats cents as a decimal amount with two places.
pub fn format_cents(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let cents = cents.unsigned_abs();
    format!("{sign}{}.{:02}", cents / 100, cents % 100)
}

impl Inventory {
    /// Builds the document from suppliers and their beans, computing every flag and total,
    /// so the rules live in one place.
    pub fn assemble(
        generated_at: String,
        low_stock_threshold: i64,
        mut suppliers: Vec<Supplier>,
    ) -> Inventory {
        let mut totals = Totals::default();
        let mut value_cents: i64 = 0;
        for supplier in &mut suppliers {
            let mut sub = SupplierTotals::default();
            for bean in &mut supplier.beans {
                bean.low_stock = bean.quantity <= low_stock_threshold;
                sub.beans += 1;
                sub.quantity += bean.quantity;
                sub.low_stock += u64::from(bean.low_stock);
                match bean.price.as_deref().and_then(price_cents) {
                    Some(cents) => {
                        value_cents =
                            value_cents.saturating_add(cents.saturating_mul(bean.quantity))
                    }
                    None => totals.unpriced_beans += 1,
                }
            }
            totals.beans += sub.beans;
            totals.quantity += sub.quantity;
            totals.low_stock += sub.low_stock;
            supplier.totals = sub;
        }
        totals.suppliers = suppliers.len() as u64;
        totals.inventory_value = format_cents(value_cents);
        Inventory {
            generated_at,
            low_stock_threshold,
            suppliers,
            totals,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prices_parse_to_cents() {
        assert_eq!(price_cents("12.50"), Some(1250));
        assert_eq!(price_cents("12.5"), Some(1250));
        assert_eq!(price_cents("$7"), Some(700));
        assert_eq!(price_cents("7.125"), None);
        assert_eq!(price_cents("ask us"), None);
        assert_eq!(price_cents(".5"), None);
        assert_eq!(format_cents(123456), "1234.56");
        assert_eq!(format_cents(5), "0.05");
    }
}
