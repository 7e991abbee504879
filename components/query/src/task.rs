//! The component: its WIT bindings and the exported `run`. Built only for wasm32, so the
//! pure modules beside it also build natively (unit tests, fuzz targets, benchmarks).

use crate::input::QueryInput;
use cafe_guest::{Bean, Inventory, Supplier, SupplierTotals, parse_input, timefmt, to_output};
use cafe_report_base::names;

wit_bindgen::generate!({ path: "../../wit", world: "query" });

use cafe::report::sql::{self, SqlError, Value};
use cafe::report::{clock, log};
use exports::cafe::report::task::{Guest, TaskError};

struct Query;

impl Guest for Query {
    fn run(input: String) -> Result<String, TaskError> {
        cafe_guest::log_panics!(cafe::report::log);
        let input: Option<QueryInput> = parse_input(&input).map_err(TaskError::InvalidInput)?;
        let input = input.unwrap_or_default();
        let threshold = input.threshold().map_err(TaskError::InvalidInput)?;
        let generated_at = timefmt::rfc3339(clock::now());
        let suppliers = read_suppliers(input.supplier_ids.as_deref()).map_err(sql_failure)?;
        let inventory = Inventory::assemble(generated_at, threshold, suppliers);
        log::log(
            log::Level::Info,
            &format!(
                "read {} suppliers and {} beans",
                inventory.totals.suppliers, inventory.totals.beans
            ),
        );
        Ok(to_output(&inventory))
    }
}

fn sql_failure(err: SqlError) -> TaskError {
    match err {
        SqlError::Unavailable(cause) => TaskError::Failed((names::SQL_UNAVAILABLE.into(), cause)),
        SqlError::InvalidStatement(cause) => {
            TaskError::Failed((names::SQL_QUERY_FAILED.into(), cause))
        }
    }
}

/// `(?, ?, ?)` with one placeholder per id.
fn placeholders(count: usize) -> String {
    let marks = vec!["?"; count].join(", ");
    format!("({marks})")
}

fn read_suppliers(ids: Option<&[i64]>) -> Result<Vec<Supplier>, SqlError> {
    let params: Vec<Value> = ids
        .unwrap_or_default()
        .iter()
        .map(|id| Value::Integer(*id))
        .collect();
    let (supplier_filter, bean_filter) = match ids {
        Some(ids) => (
            format!(" WHERE id IN {}", placeholders(ids.len())),
            format!(" WHERE supplier_id IN {}", placeholders(ids.len())),
        ),
        None => (String::new(), String::new()),
    };
    let supplier_rows = sql::query(
        &format!(
            "SELECT id, name, address, city, state, email, phone FROM suppliers{supplier_filter} ORDER BY id"
        ),
        &params,
    )?;
    let bean_rows = sql::query(
        &format!(
            "SELECT id, supplier_id, type, product_name, price, description, quantity \
             FROM beans{bean_filter} ORDER BY supplier_id, id"
        ),
        &params,
    )?;

    let mut suppliers = Vec::with_capacity(supplier_rows.rows.len());
    for row in &supplier_rows.rows {
        let cells = Cells(row);
        suppliers.push(Supplier {
            id: cells.int(0, "suppliers.id")?,
            name: cells.text(1, "suppliers.name")?.unwrap_or_default(),
            address: cells.text(2, "suppliers.address")?,
            city: cells.text(3, "suppliers.city")?,
            state: cells.text(4, "suppliers.state")?,
            email: cells.text(5, "suppliers.email")?,
            phone: cells.text(6, "suppliers.phone")?,
            beans: Vec::new(),
            totals: SupplierTotals::default(),
        });
    }
    for row in &bean_rows.rows {
        let cells = Cells(row);
        let supplier_id = cells.int(1, "beans.supplier_id")?;
        let bean = Bean {
            id: cells.int(0, "beans.id")?,
            bean_type: cells.text(2, "beans.type")?,
            product_name: cells.text(3, "beans.product_name")?.unwrap_or_default(),
            price: cells.text(4, "beans.price")?,
            description: cells.text(5, "beans.description")?,
            quantity: cells.optional_int(6, "beans.quantity")?.unwrap_or(0),
            low_stock: false,
        };
        // A bean whose supplier row is missing has nowhere to go in the report: log, skip.
        match suppliers.iter_mut().find(|s| s.id == supplier_id) {
            Some(supplier) => supplier.beans.push(bean),
            None => log::log(
                log::Level::Warn,
                &format!("bean {} refers to missing supplier {supplier_id}", bean.id),
            ),
        }
    }
    Ok(suppliers)
}

/// Typed access to one result row; a cell of the wrong type is an invalid statement
/// (the schema is not what this task was written for).
struct Cells<'a>(&'a [Value]);

impl Cells<'_> {
    fn cell(&self, index: usize, column: &str) -> Result<&Value, SqlError> {
        self.0
            .get(index)
            .ok_or_else(|| SqlError::InvalidStatement(format!("{column}: column missing")))
    }

    fn optional_int(&self, index: usize, column: &str) -> Result<Option<i64>, SqlError> {
        match self.cell(index, column)? {
            Value::Null => Ok(None),
            Value::Integer(n) => Ok(Some(*n)),
            Value::Text(text) => text.trim().parse().map(Some).map_err(|_| {
                SqlError::InvalidStatement(format!("{column}: {text:?} is not an integer"))
            }),
            Value::Real(_) => Err(SqlError::InvalidStatement(format!(
                "{column}: expected an integer, got a real number"
            ))),
        }
    }

    fn int(&self, index: usize, column: &str) -> Result<i64, SqlError> {
        self.optional_int(index, column)?
            .ok_or_else(|| SqlError::InvalidStatement(format!("{column}: unexpected NULL")))
    }

    fn text(&self, index: usize, column: &str) -> Result<Option<String>, SqlError> {
        Ok(match self.cell(index, column)? {
            Value::Null => None,
            Value::Text(text) => Some(text.clone()),
            Value::Integer(n) => Some(n.to_string()),
            Value::Real(x) => Some(x.to_string()),
        })
    }
}

export!(Query);
