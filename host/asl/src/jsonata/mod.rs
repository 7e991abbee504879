//! JSONata expressions as Step Functions evaluates them: the reference language (through
//! the `jsonata-core` crate) plus AWS's additions (`$partition`, `$range`, `$hash`,
//! `$random` with a seed, `$uuid`, `$parse`), without `$eval`, and with the data a state
//! sees (`$states`, workflow variables) passed as bindings rather than as `$`.
//!
//! Differences from the reference found by the differential test
//! (`tests/jsonata_differential.rs`) are listed in `tests/jsonata/known-gaps.json`.

mod template;

pub use template::{Failure, QueryError, Template, expression_text};

use jsonata_core::ast::AstNode;
use jsonata_core::evaluator::{Context, Evaluator, EvaluatorError};
use jsonata_core::parser;
use jsonata_core::value::JValue;
use rand::{Rng, SeedableRng};
use serde_json::Value;
use std::sync::Arc;

/// A JSONata error: the language's code (`T2002`, `S0201`, `D3030`, ...; empty when the
/// evaluator gives none) and its message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct JsonataError {
    /// The JSONata error code, if the evaluator gave one.
    pub code: String,
    /// The message, code included as the reference implementation writes it.
    pub message: String,
}

impl JsonataError {
    fn from_message(message: String) -> JsonataError {
        let code = jsonata_core::evaluator::error_code_prefix(&message)
            .unwrap_or_default()
            .to_string();
        JsonataError { code, message }
    }
}

impl From<EvaluatorError> for JsonataError {
    fn from(err: EvaluatorError) -> Self {
        let message = err.message();
        // jsonata 2.0.6 names no function in T1006 (test_math_random_seeded records
        // "T1006: Attempted to invoke a non-function"); jsonata-core appends ": $name".
        let message = match message.split_once("Attempted to invoke a non-function") {
            Some((code, _)) if code.starts_with("T1006") => {
                format!("{code}Attempted to invoke a non-function")
            }
            _ => message.to_string(),
        };
        JsonataError::from_message(message)
    }
}

/// A parsed expression: parsed once, when the definition is validated, and evaluated as
/// often as its state runs.
#[derive(Debug, Clone)]
pub struct Expression {
    text: String,
    ast: Arc<AstNode>,
    /// The `$names` the expression mentions. Only those bindings are handed to the
    /// evaluator: each is a conversion of its whole value.
    names: Arc<[String]>,
}

impl PartialEq for Expression {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

impl Eq for Expression {}

impl Expression {
    /// Parses `text` (the part between `{%` and `%}`).
    pub fn parse(text: &str) -> Result<Expression, JsonataError> {
        let ast = parser::parse(text).map_err(|err| JsonataError::from_message(err.to_string()))?;
        Ok(Self::from_ast(text, ast))
    }

    /// Parses an expression written in a state's field. Step Functions evaluates these
    /// without a context, so one that reads `$`, `$$` or a field name at its top level
    /// (rather than inside a predicate or a function body) is refused, as
    /// CreateStateMachine refuses it.
    pub fn parse_in_state(text: &str) -> Result<Expression, JsonataError> {
        let ast = parser::parse(text).map_err(|err| JsonataError::from_message(err.to_string()))?;
        if let Some(reference) = context_reference(&ast) {
            return Err(JsonataError {
                code: String::new(),
                message: format!(
                    "'{reference}' reads the context at the top level of the expression, but a state's expressions have none; read the state's input as $states.input"
                ),
            });
        }
        Ok(Self::from_ast(text, ast))
    }

    fn from_ast(text: &str, ast: AstNode) -> Expression {
        let mut names = Vec::new();
        variable_names(&ast, &mut names);
        names.sort();
        names.dedup();
        Expression {
            text: text.to_string(),
            ast: Arc::new(ast),
            names: names.into(),
        }
    }

    /// The expression's text.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Evaluates the expression on `input` (the context `$`; Step Functions gives none, so
    /// states pass `Value::Null`) with `bindings` as variables (`states` becomes
    /// `$states`). `None` is JSONata's `undefined`.
    pub fn evaluate(
        &self,
        input: &Value,
        bindings: &[(&str, &Value)],
    ) -> Result<Option<Value>, JsonataError> {
        let result = self.run(input, bindings)?;
        if result.is_undefined() {
            return Ok(None);
        }
        Ok(Some(whole_numbers_as_integers(Value::from(&result))))
    }

    /// The evaluator's own result, functions included.
    pub(crate) fn run(
        &self,
        input: &Value,
        bindings: &[(&str, &Value)],
    ) -> Result<JValue, JsonataError> {
        let mut context = Context::new();
        for (name, value) in bindings {
            if self
                .names
                .binary_search_by(|n| n.as_str().cmp(name))
                .is_ok()
            {
                context.bind((*name).to_string(), JValue::from((*value).clone()));
            }
        }
        let mut evaluator = Evaluator::with_context(context);
        register_aws_functions(&mut evaluator)?;
        Ok(evaluator.evaluate(&self.ast, &JValue::from(input.clone()))?)
    }
}

/// Every `$name` in the expression, wherever it appears (functions included: `$string`
/// is a name too, and binding a variable of that name is what the reference does).
fn variable_names(node: &AstNode, names: &mut Vec<String>) {
    let all = |nodes: &[AstNode], names: &mut Vec<String>| {
        nodes.iter().for_each(|node| variable_names(node, names))
    };
    match node {
        AstNode::Variable(name) => names.push(name.clone()),
        AstNode::Function { name, args, .. } => {
            names.push(name.clone());
            all(args, names);
        }
        AstNode::Path { steps } => {
            for step in steps {
                variable_names(&step.node, names);
                for stage in &step.stages {
                    if let jsonata_core::ast::Stage::Filter(filter) = stage {
                        variable_names(filter, names);
                    }
                }
            }
        }
        AstNode::Binary { lhs, rhs, .. } => {
            variable_names(lhs, names);
            variable_names(rhs, names);
        }
        AstNode::Unary { operand: inner, .. }
        | AstNode::Lambda { body: inner, .. }
        | AstNode::FunctionApplication(inner) => variable_names(inner, names),
        AstNode::Call { procedure, args } => {
            variable_names(procedure, names);
            all(args, names);
        }
        AstNode::Array(items) | AstNode::Block(items) | AstNode::ArrayGroup(items) => {
            all(items, names)
        }
        AstNode::Object(pairs) => pairs.iter().for_each(|(key, value)| {
            variable_names(key, names);
            variable_names(value, names);
        }),
        AstNode::ObjectTransform { input, pattern } => {
            variable_names(input, names);
            pattern.iter().for_each(|(key, value)| {
                variable_names(key, names);
                variable_names(value, names);
            });
        }
        AstNode::Conditional {
            condition,
            then_branch,
            else_branch,
        } => {
            variable_names(condition, names);
            variable_names(then_branch, names);
            if let Some(other) = else_branch {
                variable_names(other, names);
            }
        }
        AstNode::Sort { input, terms } => {
            variable_names(input, names);
            terms
                .iter()
                .for_each(|(term, _)| variable_names(term, names));
        }
        AstNode::Transform {
            location,
            update,
            delete,
        } => {
            variable_names(location, names);
            variable_names(update, names);
            if let Some(delete) = delete {
                variable_names(delete, names);
            }
        }
        AstNode::String(_)
        | AstNode::Name(_)
        | AstNode::Number(_)
        | AstNode::Boolean(_)
        | AstNode::Null
        | AstNode::Undefined
        | AstNode::Placeholder
        | AstNode::Regex { .. }
        | AstNode::ParentVariable(_)
        | AstNode::Wildcard
        | AstNode::Descendant
        | AstNode::Parent(_) => {}
    }
}

/// JSONata computes in doubles, so `2 * 21` comes back as `42.0`; JSON written by
/// JavaScript (and so by Step Functions) says `42`. Doubles that hold a whole number
/// exactly become integers again.
fn whole_numbers_as_integers(value: Value) -> Value {
    /// 2^53: beyond it a double no longer holds every integer.
    const EXACT: f64 = 9_007_199_254_740_992.0;
    match value {
        Value::Number(number) => match number.as_f64() {
            Some(x) if number.is_f64() && x.fract() == 0.0 && x.abs() <= EXACT => {
                Value::from(x as i64)
            }
            _ => Value::Number(number),
        },
        Value::Array(items) => {
            Value::Array(items.into_iter().map(whole_numbers_as_integers).collect())
        }
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| (k, whole_numbers_as_integers(v)))
                .collect(),
        ),
        other => other,
    }
}

/// What the expression reads from the context (`$`, `$$`, a field name, `*`) outside any
/// predicate or function body, if anything.
fn context_reference(node: &AstNode) -> Option<String> {
    let any = |nodes: &[AstNode]| nodes.iter().find_map(context_reference);
    match node {
        AstNode::Variable(name) if name.is_empty() => Some("$".into()),
        AstNode::ParentVariable(_) => Some("$$".into()),
        AstNode::Name(name) => Some(name.clone()),
        AstNode::Wildcard => Some("*".into()),
        AstNode::Descendant => Some("**".into()),
        AstNode::Path { steps } => steps.first().and_then(|step| context_reference(&step.node)),
        AstNode::Binary { lhs, rhs, .. } => {
            context_reference(lhs).or_else(|| context_reference(rhs))
        }
        AstNode::Unary { operand, .. } => context_reference(operand),
        AstNode::Function { args, .. } => any(args),
        AstNode::Call { procedure, args } => context_reference(procedure).or_else(|| any(args)),
        AstNode::Array(items) | AstNode::Block(items) | AstNode::ArrayGroup(items) => any(items),
        AstNode::Object(pairs) => pairs
            .iter()
            .find_map(|(key, value)| context_reference(key).or_else(|| context_reference(value))),
        AstNode::Conditional {
            condition,
            then_branch,
            else_branch,
        } => context_reference(condition)
            .or_else(|| context_reference(then_branch))
            .or_else(|| else_branch.as_deref().and_then(context_reference)),
        _ => None,
    }
}

/// The bindings a state's expression sees: `$states` and every visible variable.
pub(crate) fn bindings<'a>(
    states: &'a Value,
    variables: &'a crate::variables::Variables,
) -> Vec<(&'a str, &'a Value)> {
    std::iter::once(("states", states))
        .chain(variables.iter())
        .collect()
}

fn error(code: &str, message: impl std::fmt::Display) -> EvaluatorError {
    EvaluatorError::EvaluationError(format!("{code}: {message}"))
}

fn number_arg(args: &[JValue], index: usize, function: &str) -> Result<f64, EvaluatorError> {
    args.get(index).and_then(JValue::as_f64).ok_or_else(|| {
        error(
            "T0410",
            format!(
                "Argument {} of function \"{function}\" must be a number",
                index + 1
            ),
        )
    })
}

/// The functions Step Functions adds to JSONata, and `$eval` taken away (AWS refuses it;
/// `$parse` is its replacement).
fn register_aws_functions(evaluator: &mut Evaluator) -> Result<(), EvaluatorError> {
    evaluator.register_fn("partition", |args: &[JValue]| {
        let items = args.first().and_then(JValue::as_array).ok_or_else(|| {
            error(
                "T0410",
                "Argument 1 of function \"partition\" must be an array",
            )
        })?;
        let size = number_arg(args, 1, "partition")?;
        if size < 1.0 || size.fract() != 0.0 {
            return Err(error(
                "D3040",
                "the partition size must be a positive integer",
            ));
        }
        let chunks = items
            .chunks(size as usize)
            .map(|chunk| JValue::array(chunk.to_vec()))
            .collect();
        Ok(JValue::array(chunks))
    })?;
    evaluator.register_fn("range", |args: &[JValue]| {
        let (start, end) = (number_arg(args, 0, "range")?, number_arg(args, 1, "range")?);
        let step = number_arg(args, 2, "range")?;
        if step == 0.0 || !step.is_finite() {
            return Err(error("D3040", "the range step must be a non-zero number"));
        }
        let count = ((end - start) / step).floor();
        if count > 1000.0 {
            return Err(error("D2014", "the range has more than 1000 items"));
        }
        let items: Vec<JValue> = (0..=count.max(-1.0) as i64)
            .map(|i| JValue::from_f64(start + i as f64 * step))
            .collect();
        // A sequence, as in jsonata: one item is that item (test_array_range: `$range(1, 1)`
        // gives 1 on AWS). An empty range stays an empty array rather than undefined.
        Ok(match items.len() {
            0 => JValue::array(items),
            _ => JValue::sequence(items),
        })
    })?;
    evaluator.register_fn("hash", |args: &[JValue]| {
        let data = args
            .first()
            .and_then(JValue::as_str)
            .ok_or_else(|| error("T0410", "Argument 1 of function \"hash\" must be a string"))?;
        let algorithm = args.get(1).and_then(JValue::as_str).unwrap_or_default();
        let digest = crate::intrinsics::hash_hex(data, algorithm)
            .ok_or_else(|| error("D3040", format!("unsupported hash algorithm {algorithm:?}")))?;
        Ok(JValue::from(digest))
    })?;
    evaluator.register_fn_override("random", |args: &[JValue]| {
        let value: f64 = match args.first() {
            None => rand::rng().random(),
            Some(seed) => {
                let seed = seed.as_f64().ok_or_else(|| {
                    error(
                        "T0410",
                        "Argument 1 of function \"random\" must be a number",
                    )
                })?;
                rand::rngs::StdRng::seed_from_u64(seed as u64).random()
            }
        };
        Ok(JValue::from_f64(value))
    })?;
    evaluator.register_fn("uuid", |_: &[JValue]| {
        Ok(JValue::from(uuid::Uuid::new_v4().to_string()))
    })?;
    evaluator.register_fn("parse", |args: &[JValue]| {
        let text = args
            .first()
            .and_then(JValue::as_str)
            .ok_or_else(|| error("T0410", "Argument 1 of function \"parse\" must be a string"))?;
        let value: Value =
            serde_json::from_str(text).map_err(|err| error("D3030", format!("not JSON: {err}")))?;
        Ok(JValue::from(value))
    })?;
    reference_encodings(evaluator)?;
    evaluator.register_fn_override("eval", |_: &[JValue]| {
        Err(error(
            "T1006",
            "$eval is not available in Step Functions; use $parse",
        ))
    })?;
    Ok(())
}

fn string_arg<'a>(args: &'a [JValue], function: &str) -> Result<Option<&'a str>, EvaluatorError> {
    match args.first() {
        None => Ok(None),
        Some(value) if value.is_undefined() => Ok(None),
        Some(value) => value.as_str().map(Some).ok_or_else(|| {
            error(
                "T0410",
                format!("Argument 1 of function \"{function}\" does not match function signature"),
            )
        }),
    }
}

/// Base64 that decodes with or without `=` padding, as Node's `Buffer` does.
const BASE64_ANY_PADDING: base64::engine::GeneralPurpose = base64::engine::GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    base64::engine::GeneralPurposeConfig::new()
        .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
);

/// What JavaScript's `encodeURI` leaves as it is, besides letters and digits.
const URI_RESERVED: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b';')
    .remove(b',')
    .remove(b'/')
    .remove(b'?')
    .remove(b':')
    .remove(b'@')
    .remove(b'&')
    .remove(b'=')
    .remove(b'+')
    .remove(b'$')
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'!')
    .remove(b'~')
    .remove(b'*')
    .remove(b'\'')
    .remove(b'(')
    .remove(b')')
    .remove(b'#');

/// The reference implementation's encodings where `jsonata-core` differs: `$encodeUrl` is
/// JavaScript's `encodeURI` (a space becomes `%20`), and `$base64encode`/`$base64decode`
/// work on Latin-1 bytes, as jsonata-js does under Node (`Buffer`'s "binary" encoding:
/// each UTF-16 unit's low byte), so `café` encodes as `Y2Fm6Q==`.
fn reference_encodings(evaluator: &mut Evaluator) -> Result<(), EvaluatorError> {
    use base64::Engine as _;
    evaluator.register_fn_override("encodeUrl", |args: &[JValue]| {
        Ok(match string_arg(args, "encodeUrl")? {
            None => JValue::Undefined,
            Some(text) => {
                JValue::from(percent_encoding::utf8_percent_encode(text, URI_RESERVED).to_string())
            }
        })
    })?;
    evaluator.register_fn_override("base64encode", |args: &[JValue]| {
        Ok(match string_arg(args, "base64encode")? {
            None => JValue::Undefined,
            Some(text) => {
                let bytes: Vec<u8> = text.encode_utf16().map(|unit| unit as u8).collect();
                JValue::from(base64::engine::general_purpose::STANDARD.encode(bytes))
            }
        })
    })?;
    evaluator.register_fn_override("base64decode", |args: &[JValue]| {
        Ok(match string_arg(args, "base64decode")? {
            None => JValue::Undefined,
            Some(text) => {
                let bytes = BASE64_ANY_PADDING
                    .decode(text)
                    .map_err(|err| error("D3137", format!("not Base64: {err}")))?;
                JValue::from(bytes.into_iter().map(char::from).collect::<String>())
            }
        })
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn eval(text: &str) -> Result<Option<Value>, JsonataError> {
        Expression::parse(text)?.evaluate(&Value::Null, &[])
    }

    #[test]
    fn an_expression_knows_every_name_it_mentions() {
        let expression = Expression::parse(
            "$a + $count($b[$c > 1]) ~> $map(function($x) { $x * $d }) ? {'k': $e} : $f.g^($h)",
        )
        .unwrap();
        let names: Vec<&str> = expression.names.iter().map(String::as_str).collect();
        assert_eq!(
            names,
            ["a", "b", "c", "count", "d", "e", "f", "h", "map", "x"]
        );
        // Only mentioned bindings are converted; the others cannot change the result.
        let big = json!({"huge": vec![0; 10_000]});
        let result = expression_result("$a + 1", &[("a", &json!(41)), ("unused", &big)]);
        assert_eq!(result, Some(json!(42)));
    }

    fn expression_result(text: &str, bindings: &[(&str, &Value)]) -> Option<Value> {
        Expression::parse(text)
            .unwrap()
            .evaluate(&Value::Null, bindings)
            .unwrap()
    }

    #[test]
    fn aws_functions_behave_as_documented() {
        let cases = [
            (
                "$partition([1,2,3,4,5,6,7,8,9], 3)",
                json!([[1, 2, 3], [4, 5, 6], [7, 8, 9]]),
            ),
            ("$partition([1,2,3,4,5], 2)", json!([[1, 2], [3, 4], [5]])),
            ("$range(0, 10, 2)", json!([0, 2, 4, 6, 8, 10])),
            ("$range(5, 1, -2)", json!([5, 3, 1])),
            ("$range(1, 0, 1)", json!([])),
            (
                "$hash('abc', 'SHA-256')",
                json!("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
            ),
            (
                "$hash('abc', 'MD5')",
                json!("900150983cd24fb0d6963f7d28e17f72"),
            ),
            ("$parse('{\"a\": [1, true]}').a[1]", json!(true)),
            ("$random(42) = $random(42)", json!(true)),
            ("$random() >= 0 and $random() < 1", json!(true)),
            ("$length($uuid())", json!(36)),
            ("$uuid() != $uuid()", json!(true)),
        ];
        for (text, expected) in cases {
            assert_eq!(eval(text).unwrap(), Some(expected), "{text}");
        }
        let seeded = eval("$random(7)").unwrap().unwrap();
        assert!((0.0..1.0).contains(&seeded.as_f64().unwrap()));
    }

    #[test]
    fn bad_arguments_and_eval_are_errors_with_codes() {
        for text in [
            "$partition([1], 0)",
            "$partition('x', 1)",
            "$range(0, 1, 0)",
            "$range(0, 5000, 1)",
            "$hash('abc', 'CRC32')",
            "$parse('{not json')",
            "$eval('1 + 2')",
        ] {
            let err = eval(text).unwrap_err();
            assert!(!err.code.is_empty(), "{text}: {err:?}");
        }
    }

    #[test]
    fn state_expressions_cannot_read_the_context_at_their_top_level() {
        for text in [
            "$",
            "$.x",
            "$$",
            "foo",
            "foo.bar",
            "a + 1",
            "$count(items)",
            "*",
            "**.x",
            "[x]",
            "{'k': v}",
            "$x ? a : b",
            "($y := z; $y)",
        ] {
            assert!(Expression::parse_in_state(text).is_err(), "{text}");
        }
        for text in [
            "$states.input.x",
            "$states.input.items[price > 5].sku",
            "$count($states.input.items)",
            "$map($states.input.items, function($i){ $i.price })",
            "($y := 1; $y + 1)",
            "'literal'",
            "$states.input.items.(price * qty)",
        ] {
            assert!(Expression::parse_in_state(text).is_ok(), "{text}");
        }
    }

    #[test]
    fn bindings_are_variables_and_undefined_is_none() {
        let states = json!({"input": {"n": 2}});
        let expression = Expression::parse("$states.input.n * $k").unwrap();
        let result = expression.evaluate(&Value::Null, &[("states", &states), ("k", &json!(21))]);
        assert_eq!(result.unwrap(), Some(json!(42)));
        assert_eq!(eval("$nothing").unwrap(), None);
        assert_eq!(Expression::parse("1 +").unwrap_err().code, "S0207");
    }
}
