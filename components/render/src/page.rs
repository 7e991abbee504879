//! The report page. maud escapes every interpolated value, so names like
//! `<script>` or `Joe's "Best" & Co` reach the reader as text, never as markup.

use cafe_guest::{Bean, Inventory, Supplier, timefmt};
use maud::{DOCTYPE, Markup, PreEscaped, html};

const STYLE: &str = r#"
:root { color-scheme: light; --ink: #2b1d14; --muted: #7a6a5e; --line: #e8ddd3; --accent: #8a4b20; --low: #b3261e; --low-bg: #fdecea; }
* { box-sizing: border-box; }
body { margin: 0; font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink); background: #faf6f2; }
main { max-width: 1040px; margin: 0 auto; padding: 2rem 1.25rem 4rem; }
header h1 { margin: 0; font-size: 2rem; color: var(--accent); }
header p { margin: .25rem 0 0; color: var(--muted); }
.summary { display: grid; grid-template-columns: repeat(auto-fit, minmax(150px, 1fr)); gap: .75rem; margin: 1.5rem 0 2rem; }
.card { background: #fff; border: 1px solid var(--line); border-radius: 10px; padding: .75rem 1rem; }
.card .n { display: block; font-size: 1.6rem; font-weight: 650; }
.card .l { color: var(--muted); font-size: .85rem; text-transform: uppercase; letter-spacing: .04em; }
.card.alert .n { color: var(--low); }
section.supplier { background: #fff; border: 1px solid var(--line); border-radius: 12px; padding: 1.25rem; margin-bottom: 1.5rem; }
section.supplier h2 { margin: 0 0 .25rem; font-size: 1.3rem; }
.contact { margin: 0 0 1rem; color: var(--muted); font-size: .92rem; }
.contact span + span::before { content: " · "; }
table { width: 100%; border-collapse: collapse; font-size: .95rem; }
th, td { text-align: left; padding: .5rem .6rem; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-size: .8rem; text-transform: uppercase; letter-spacing: .04em; color: var(--muted); }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.low td { background: var(--low-bg); }
.badge { display: inline-block; padding: .05rem .5rem; border-radius: 999px; font-size: .8rem; font-weight: 600; }
.badge.low { background: var(--low); color: #fff; }
.badge.ok { background: #e6f2e8; color: #1e6b34; }
tfoot td { font-weight: 600; border-bottom: none; }
.desc { color: var(--muted); font-size: .88rem; }
.empty { color: var(--muted); font-style: italic; }
footer { color: var(--muted); font-size: .85rem; margin-top: 2rem; }
"#;

/// The page layout's version, shown in the page: a build with the `layout-v2` feature is
/// the second version the hot-swap tests publish over the first.
const LAYOUT: &str = if cfg!(feature = "layout-v2") {
    "v2"
} else {
    "v1"
};

/// The whole page as one HTML document with inline CSS (no external requests).
pub fn render(title: &str, rendered_at: &str, inventory: &Inventory) -> String {
    let totals = &inventory.totals;
    let page = html! {
        (DOCTYPE)
        html lang="en" data-layout=(LAYOUT) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) }
                style { (PreEscaped(STYLE)) }
            }
            body {
                main {
                    header {
                        h1 { (title) }
                        p { "Inventory as of " time datetime=(inventory.generated_at) { (timefmt::human_rfc3339(&inventory.generated_at)) }
                            " · report generated " (rendered_at) }
                    }
                    div.summary {
                        (card(totals.suppliers.to_string(), "suppliers", false))
                        (card(totals.beans.to_string(), "beans", false))
                        (card(totals.quantity.to_string(), "bags in stock", false))
                        (card(totals.low_stock.to_string(), "low on stock", totals.low_stock > 0))
                        (card(format!("${}", totals.inventory_value), "stock value", false))
                    }
                    @if inventory.suppliers.is_empty() {
                        p.empty { "No suppliers in the database." }
                    }
                    @for supplier in &inventory.suppliers {
                        (supplier_section(supplier, inventory.low_stock_threshold))
                    }
                    footer {
                        p { "Beans with " (inventory.low_stock_threshold) " bags or fewer are marked low on stock."
                            @if totals.unpriced_beans > 0 {
                                " " (totals.unpriced_beans) " bean(s) without a usable price are left out of the stock value."
                            }
                        }
                        p.layout { "Report layout " (LAYOUT) }
                    }
                }
            }
        }
    };
    page.into_string()
}

fn card(number: String, label: &str, alert: bool) -> Markup {
    html! {
        div.card.alert[alert] { span.n { (number) } span.l { (label) } }
    }
}

fn supplier_section(supplier: &Supplier, threshold: i64) -> Markup {
    let contact = [
        supplier.address.as_deref(),
        supplier.city.as_deref(),
        supplier.state.as_deref(),
        supplier.email.as_deref(),
        supplier.phone.as_deref(),
    ];
    html! {
        section.supplier id=(format!("supplier-{}", supplier.id)) {
            h2 { (supplier.name) }
            p.contact {
                @for part in contact.iter().flatten().filter(|p| !p.trim().is_empty()) {
                    span { (part) }
                }
            }
            @if supplier.beans.is_empty() {
                p.empty { "No beans listed for this supplier." }
            } @else {
                table {
                    thead { tr { th { "Product" } th { "Type" } th.num { "Price" } th.num { "Quantity" } th { "Stock" } } }
                    tbody { @for bean in &supplier.beans { (bean_row(bean, threshold)) } }
                    tfoot { tr {
                        td colspan="3" { (supplier.totals.beans) " beans" }
                        td.num { (supplier.totals.quantity) }
                        td { @if supplier.totals.low_stock > 0 { (supplier.totals.low_stock) " low" } }
                    } }
                }
            }
        }
    }
}

fn bean_row(bean: &Bean, threshold: i64) -> Markup {
    html! {
        tr.low[bean.low_stock] {
            td {
                (bean.product_name)
                @if let Some(description) = bean.description.as_deref().filter(|d| !d.is_empty()) {
                    div.desc { (description) }
                }
            }
            td { (bean.bean_type.as_deref().unwrap_or("")) }
            td.num { (bean.price.as_deref().unwrap_or("–")) }
            td.num { (bean.quantity) }
            td {
                @if bean.low_stock {
                    span.badge.low title=(format!("{} bags or fewer", threshold)) { "Low stock" }
                } @else {
                    span.badge.ok { "In stock" }
                }
            }
        }
    }
}
