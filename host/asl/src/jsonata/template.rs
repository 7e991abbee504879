//! A JSONata state's field value (`Arguments`, `Output`, `Assign`, ...): any JSON, in
//! which a string written `{% expression %}` is replaced by the expression's value. A
//! failure names the field the expression sat in (`Output/items[1]/sku`) with AWS's
//! wording, for `States.QueryEvaluationError`'s cause.

use serde_json::{Map, Value};

use super::{Expression, JsonataError};

/// The expression inside `{% ... %}`, when the whole string is one: it starts with `{%`
/// and ends with `%}`, as Step Functions requires. Any other string is a literal.
pub fn expression_text(text: &str) -> Option<&str> {
    text.strip_prefix("{%")?.strip_suffix("%}").map(str::trim)
}

/// A field value with its expressions parsed.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    root: Node,
}

#[derive(Debug, Clone, PartialEq)]
enum Node {
    Literal(Value),
    Expression {
        expression: Expression,
        field: String,
    },
    Object(Vec<(String, Node)>),
    Array(Vec<Node>),
}

/// Why a field could not be evaluated: the expression gave nothing, or failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.cause())]
pub struct QueryError {
    /// The field, e.g. `Output/items[1]`.
    pub field: String,
    /// The expression's text.
    pub expression: String,
    /// What went wrong.
    pub failure: Failure,
}

/// How an expression failed to give a value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// It returned nothing (undefined).
    Undefined,
    /// It returned a function, which no field can hold.
    UnsupportedResult,
    /// It raised an error.
    Threw(JsonataError),
}

impl QueryError {
    /// The cause as AWS words it (without the "An error occurred while executing the
    /// state ..." opening the engine adds).
    pub fn cause(&self) -> String {
        let opening = format!(
            "The JSONata expression '{}' specified for the field '{}'",
            self.expression, self.field
        );
        match &self.failure {
            Failure::Undefined => format!("{opening} returned nothing (undefined)."),
            // test_map_state_items_eval_jsonata_fail[function] on AWS.
            Failure::UnsupportedResult => format!("{opening} returned an unsupported result type."),
            // A coded message is a sentence of its own; a bare one follows a colon.
            Failure::Threw(err) if !err.code.is_empty() => {
                format!(
                    "{opening} threw an error during evaluation. {}",
                    err.message
                )
            }
            Failure::Threw(err) => format!(
                "{opening} threw an error during evaluation: {}",
                err.message
            ),
        }
    }
}

/// A field that could not be evaluated fails the state with
/// `States.QueryEvaluationError`, located in the field (its `EvaluationFailed` event).
impl From<QueryError> for crate::error::StatesError {
    fn from(err: QueryError) -> Self {
        crate::error::StatesError::new(crate::error::names::QUERY_EVALUATION_ERROR, err.cause())
            .at(&err.field)
    }
}

impl Expression {
    /// Evaluates an expression written in a state's `field`: a failure, or nothing
    /// (undefined), is a [`QueryError`] that names the field.
    pub fn evaluate_field(
        &self,
        field: &str,
        bindings: &[(&str, &Value)],
    ) -> Result<Value, QueryError> {
        let error = |failure| QueryError {
            field: field.to_string(),
            expression: self.text().to_string(),
            failure,
        };
        // Step Functions gives expressions no context: `$` is not the input.
        match self.run(&Value::Null, bindings) {
            Ok(result) if result.is_undefined() => Err(error(Failure::Undefined)),
            Ok(result) if result.is_function() => Err(error(Failure::UnsupportedResult)),
            Ok(result) => Ok(super::whole_numbers_as_integers(Value::from(&result))),
            Err(err) => Err(error(Failure::Threw(err))),
        }
    }
}

impl Template {
    /// Parses `value` found in field `field` (`Output`, `Arguments`, `Assign`, ...); an
    /// expression that does not parse is refused with the field it is in.
    pub fn parse(value: &Value, field: &str) -> Result<Template, (String, JsonataError)> {
        Ok(Template {
            root: node(value, field)?,
        })
    }

    /// Whether the value holds no expression at all.
    pub fn is_literal(&self) -> bool {
        matches!(self.root, Node::Literal(_))
    }

    /// The expression's text, when the whole field is one `{% %}` expression.
    pub fn expression_text(&self) -> Option<&str> {
        match &self.root {
            Node::Expression { expression, .. } => Some(expression.text()),
            _ => None,
        }
    }

    /// The value with every expression evaluated with `bindings` (`states`, variables).
    pub fn evaluate(&self, bindings: &[(&str, &Value)]) -> Result<Value, QueryError> {
        evaluate(&self.root, bindings)
    }
}

fn node(value: &Value, field: &str) -> Result<Node, (String, JsonataError)> {
    Ok(match value {
        Value::String(text) => match expression_text(text) {
            Some(expression) => Node::Expression {
                expression: Expression::parse_in_state(expression)
                    .map_err(|err| (field.to_string(), err))?,
                field: field.to_string(),
            },
            None => Node::Literal(value.clone()),
        },
        Value::Object(map) => {
            let fields = map
                .iter()
                .map(|(key, value)| Ok((key.clone(), node(value, &format!("{field}/{key}"))?)))
                .collect::<Result<Vec<_>, _>>()?;
            if fields.iter().all(|(_, n)| matches!(n, Node::Literal(_))) {
                Node::Literal(value.clone())
            } else {
                Node::Object(fields)
            }
        }
        Value::Array(items) => {
            let items = items
                .iter()
                .enumerate()
                .map(|(i, item)| node(item, &format!("{field}[{i}]")))
                .collect::<Result<Vec<_>, _>>()?;
            if items.iter().all(|n| matches!(n, Node::Literal(_))) {
                Node::Literal(value.clone())
            } else {
                Node::Array(items)
            }
        }
        other => Node::Literal(other.clone()),
    })
}

fn evaluate(node: &Node, bindings: &[(&str, &Value)]) -> Result<Value, QueryError> {
    Ok(match node {
        Node::Literal(value) => value.clone(),
        Node::Expression { expression, field } => expression.evaluate_field(field, bindings)?,
        Node::Object(fields) => {
            let mut map = Map::new();
            for (key, node) in fields {
                map.insert(key.clone(), evaluate(node, bindings)?);
            }
            Value::Object(map)
        }
        Node::Array(items) => Value::Array(
            items
                .iter()
                .map(|item| evaluate(item, bindings))
                .collect::<Result<_, _>>()?,
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_whole_strings_in_delimiters_are_expressions() {
        assert_eq!(expression_text("{% $x %}"), Some("$x"));
        assert_eq!(expression_text("{%1+1%}"), Some("1+1"));
        assert_eq!(expression_text(" {% $x %}"), None);
        assert_eq!(expression_text("total: {% $x %}"), None);
        assert_eq!(expression_text("{% $x"), None);
    }

    #[test]
    fn expressions_are_evaluated_at_any_depth_and_literals_kept() {
        let value = json!({
            "id": "{% $states.input.order.id %}",
            "lines": [{"sku": "{% $states.input.order.items[0].sku %}", "fixed": true}, 3],
            "note": "plain {% text",
            "count": "{% $count($states.input.order.items) %}"
        });
        let template = Template::parse(&value, "Output").unwrap();
        assert!(!template.is_literal());
        let states =
            json!({"input": {"order": {"id": "A-1", "items": [{"sku": "K1"}, {"sku": "P2"}]}}});
        assert_eq!(
            template.evaluate(&[("states", &states)]).unwrap(),
            json!({
                "id": "A-1",
                "lines": [{"sku": "K1", "fixed": true}, 3],
                "note": "plain {% text",
                "count": 2
            })
        );
        assert!(
            Template::parse(&json!({"a": [1, "x"]}), "Output")
                .unwrap()
                .is_literal()
        );
    }

    #[test]
    fn failures_name_the_field_as_aws_does() {
        let states = json!({"input": {}});
        let template = Template::parse(
            &json!({"a": {"b": "{% $states.input.missing %}"}}),
            "Output",
        )
        .unwrap();
        let err = template.evaluate(&[("states", &states)]).unwrap_err();
        assert_eq!(err.field, "Output/a/b");
        assert_eq!(
            err.cause(),
            "The JSONata expression '$states.input.missing' specified for the field 'Output/a/b' returned nothing (undefined)."
        );
        let template = Template::parse(&json!(["ok", "{% $abs('x') %}"]), "Arguments").unwrap();
        let err = template.evaluate(&[]).unwrap_err();
        assert_eq!(err.field, "Arguments[1]");
        assert!(
            err.cause().starts_with(
                "The JSONata expression '$abs('x')' specified for the field 'Arguments[1]' threw an error during evaluation. T0410"
            ),
            "{}",
            err.cause()
        );
        let (field, err) = Template::parse(&json!({"x": ["{% 1 + %}"]}), "Assign").unwrap_err();
        assert_eq!(field, "Assign/x[0]");
        assert_eq!(err.code, "S0207");
    }
}
