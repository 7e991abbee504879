//! The notification a person receives: the link, when it stops working, what it shows.

use cafe_guest::{Inventory, timefmt};

const DEFAULT_SUBJECT: &str = "Your coffee inventory report is ready";

pub struct Note {
    pub subject: String,
    pub body: String,
}

pub fn compose(
    subject: Option<&str>,
    url: &str,
    expires_at_ms: u64,
    expires_in: u32,
    inventory: Option<&Inventory>,
) -> Note {
    let mut body =
        String::from("Hello,\n\nYour coffee inventory report is ready. Open it here:\n\n");
    body.push_str(url);
    body.push_str(&format!(
        "\n\nThe link works for {} and stops working at {}.\n",
        timefmt::duration_words(u64::from(expires_in)),
        timefmt::human(expires_at_ms),
    ));
    if let Some(inventory) = inventory {
        let t = &inventory.totals;
        body.push_str(&format!(
            "\nThe report covers {} suppliers and {} beans: {} bags in stock, {} low on stock \
             ({} bags or fewer), stock value ${}.\n",
            t.suppliers,
            t.beans,
            t.quantity,
            t.low_stock,
            inventory.low_stock_threshold,
            t.inventory_value
        ));
        let low: Vec<String> = inventory
            .suppliers
            .iter()
            .flat_map(|s| s.beans.iter().filter(|b| b.low_stock).map(move |b| (s, b)))
            .map(|(s, b)| {
                format!(
                    "  - {} from {}: {} left",
                    b.product_name, s.name, b.quantity
                )
            })
            .collect();
        if !low.is_empty() {
            body.push_str("\nLow on stock:\n");
            body.push_str(&low.join("\n"));
            body.push('\n');
        }
    }
    body.push_str("\n-- cafe-report\n");
    Note {
        subject: subject.unwrap_or(DEFAULT_SUBJECT).to_string(),
        body,
    }
}
