//! Choice rules: their parsed form and their evaluation.

use std::cmp::Ordering;

use serde_json::{Map, Value};

use crate::error::{StatesError, names};
use crate::jsonata::{Expression, bindings};
use crate::path::Path;
use crate::timestamp;
use crate::variables::Env;

/// A Boolean expression of a Choice rule.
#[derive(Debug)]
pub(crate) enum Condition {
    And(Vec<Condition>),
    Or(Vec<Condition>),
    Not(Box<Condition>),
    Compare(Comparison),
    /// A JSONata state's rule: `"Condition": "{% ... %}"`, which must give a boolean.
    Jsonata(Expression),
}

/// `Variable` compared by one operator.
#[derive(Debug)]
pub(crate) struct Comparison {
    variable: Path,
    test: Test,
}

#[derive(Debug)]
enum Test {
    Compare {
        ty: Type,
        relation: Ordering,
        or_equal: bool,
        operand: Operand,
    },
    Matches(String),
    Is {
        what: Is,
        expected: bool,
    },
}

/// The other side of a comparison: a literal or a path (`...Path` operators).
#[derive(Debug)]
pub(crate) enum Operand {
    Value(Value),
    Path(Path),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Type {
    String,
    Numeric,
    Boolean,
    Timestamp,
}

#[derive(Debug, Clone, Copy)]
enum Is {
    Null,
    Present,
    Numeric,
    String,
    Boolean,
    Timestamp,
}

/// Splits an operator name into its type, relation and whether it compares with a path.
fn comparison_operator(name: &str) -> Option<(Type, Ordering, bool, bool)> {
    let (name, by_path) = match name.strip_suffix("Path") {
        Some(base) => (base, true),
        None => (name, false),
    };
    let (ty, relation) = [
        ("String", Type::String),
        ("Numeric", Type::Numeric),
        ("Boolean", Type::Boolean),
        ("Timestamp", Type::Timestamp),
    ]
    .into_iter()
    .find_map(|(prefix, ty)| name.strip_prefix(prefix).map(|rest| (ty, rest)))?;
    let (ordering, or_equal) = match relation {
        "Equals" => (Ordering::Equal, true),
        "LessThan" => (Ordering::Less, false),
        "GreaterThan" => (Ordering::Greater, false),
        "LessThanEquals" => (Ordering::Less, true),
        "GreaterThanEquals" => (Ordering::Greater, true),
        _ => return None,
    };
    if ty == Type::Boolean && ordering != Ordering::Equal {
        return None;
    }
    Some((ty, ordering, or_equal, by_path))
}

fn type_test(name: &str) -> Option<Is> {
    Some(match name {
        "IsNull" => Is::Null,
        "IsPresent" => Is::Present,
        "IsNumeric" => Is::Numeric,
        "IsString" => Is::String,
        "IsBoolean" => Is::Boolean,
        "IsTimestamp" => Is::Timestamp,
        _ => return None,
    })
}

impl Condition {
    /// Parses a rule object. `top` rules carry `Next`; nested ones must not.
    pub(crate) fn parse(
        rule: &Map<String, Value>,
        at: &str,
        top: bool,
        errors: &mut Vec<(String, String)>,
    ) -> Option<Self> {
        // A top-level rule's `Assign` is read by the Choice state's parser.
        let mut operators = rule.keys().filter(|k| match k.as_str() {
            "Variable" | "Next" | "Comment" => false,
            "Assign" => !top,
            _ => true,
        });
        let Some(operator) = operators.next() else {
            errors.push((
                at.into(),
                "a Choice rule needs a comparison operator, And, Or or Not".into(),
            ));
            return None;
        };
        if let Some(extra) = operators.next() {
            errors.push((
                format!("{at}/{extra}"),
                format!("a Choice rule has exactly one operator; found '{operator}' and '{extra}'"),
            ));
            return None;
        }
        if !top && rule.contains_key("Next") {
            errors.push((
                format!("{at}/Next"),
                "only top-level Choice rules have Next".into(),
            ));
        }
        let value = &rule[operator];
        let field = format!("{at}/{operator}");
        let nested =
            |items: &Value, errors: &mut Vec<(String, String)>| -> Option<Vec<Condition>> {
                let Some(list) = items.as_array().filter(|l| !l.is_empty()) else {
                    errors.push((
                        field.clone(),
                        format!("'{operator}' takes a non-empty array of rules"),
                    ));
                    return None;
                };
                let mut rules = Vec::new();
                for (i, item) in list.iter().enumerate() {
                    let at = format!("{field}/{i}");
                    match item.as_object() {
                        Some(map) => rules.push(Self::parse(map, &at, false, errors)?),
                        None => {
                            errors.push((at, "a Choice rule must be an object".into()));
                            return None;
                        }
                    }
                }
                Some(rules)
            };
        let logical = match operator.as_str() {
            "And" => Some(Condition::And(nested(value, errors)?)),
            "Or" => Some(Condition::Or(nested(value, errors)?)),
            "Not" => {
                let Some(map) = value.as_object() else {
                    errors.push((field, "'Not' takes one rule object".into()));
                    return None;
                };
                Some(Condition::Not(Box::new(Self::parse(
                    map, &field, false, errors,
                )?)))
            }
            _ => None,
        };
        if let Some(logical) = logical {
            if rule.contains_key("Variable") {
                errors.push((
                    format!("{at}/Variable"),
                    format!("'{operator}' rules have no Variable"),
                ));
            }
            return Some(logical);
        }
        let variable = match rule.get("Variable") {
            Some(Value::String(text)) => match Path::parse(text) {
                Ok(path) => path,
                Err(why) => {
                    errors.push((format!("{at}/Variable"), why));
                    return None;
                }
            },
            Some(_) => {
                errors.push((
                    format!("{at}/Variable"),
                    "Variable must be a path (string)".into(),
                ));
                return None;
            }
            None => {
                errors.push((at.into(), format!("a '{operator}' rule needs a Variable")));
                return None;
            }
        };
        let test = Self::test(operator, value, &field, errors)?;
        Some(Condition::Compare(Comparison { variable, test }))
    }

    fn test(
        operator: &str,
        value: &Value,
        field: &str,
        errors: &mut Vec<(String, String)>,
    ) -> Option<Test> {
        let mut fail = |why: String| {
            errors.push((field.to_string(), why));
            None
        };
        if let Some(what) = type_test(operator) {
            return match value {
                Value::Bool(expected) => Some(Test::Is {
                    what,
                    expected: *expected,
                }),
                _ => fail(format!("'{operator}' takes true or false")),
            };
        }
        if operator == "StringMatches" {
            return match value {
                Value::String(pattern) => Some(Test::Matches(pattern.clone())),
                _ => fail("'StringMatches' takes a pattern string".into()),
            };
        }
        let Some((ty, relation, or_equal, by_path)) = comparison_operator(operator) else {
            return fail(format!("'{operator}' is not a Choice operator"));
        };
        let operand = if by_path {
            match value.as_str().map(Path::parse) {
                Some(Ok(path)) => Operand::Path(path),
                Some(Err(why)) => return fail(why),
                None => return fail(format!("'{operator}' takes a path (string)")),
            }
        } else {
            let fits = match ty {
                Type::String => value.is_string(),
                Type::Numeric => value.is_number(),
                Type::Boolean => value.is_boolean(),
                Type::Timestamp => value.as_str().and_then(timestamp::parse).is_some(),
            };
            if !fits {
                return fail(format!(
                    "'{operator}' takes a {} value, got {value}",
                    match ty {
                        Type::String => "string",
                        Type::Numeric => "numeric",
                        Type::Boolean => "boolean",
                        Type::Timestamp => "timestamp (RFC 3339)",
                    }
                ));
            }
            Operand::Value(value.clone())
        };
        Some(Test::Compare {
            ty,
            relation,
            or_equal,
            operand,
        })
    }

    /// Evaluates the rule. A missing `Variable` is a `States.Runtime` error (except for
    /// `IsPresent`); values of another type than the operator's compare as false.
    pub(crate) fn eval(&self, input: &Value, env: Env<'_>) -> Result<bool, StatesError> {
        match self {
            Condition::And(rules) => {
                for rule in rules {
                    if !rule.eval(input, env)? {
                        return Ok(false);
                    }
                }
                Ok(true)
            }
            Condition::Or(rules) => {
                for rule in rules {
                    if rule.eval(input, env)? {
                        return Ok(true);
                    }
                }
                Ok(false)
            }
            Condition::Not(rule) => Ok(!rule.eval(input, env)?),
            Condition::Compare(comparison) => comparison.eval(input, env),
            Condition::Jsonata(expression) => {
                let states = serde_json::json!({ "input": input, "context": env.context });
                match expression.evaluate_field("Condition", &bindings(&states, env.variables))? {
                    Value::Bool(matched) => Ok(matched),
                    other => Err(StatesError::new(
                        names::QUERY_EVALUATION_ERROR,
                        format!(
                            "The JSONata expression '{}' specified for the field 'Condition' returned {other}, not a boolean.",
                            expression.text()
                        ),
                    )),
                }
            }
        }
    }
}

impl Comparison {
    fn eval(&self, input: &Value, env: Env<'_>) -> Result<bool, StatesError> {
        let found = self.variable.find(input, env);
        if let Test::Is {
            what: Is::Present,
            expected,
        } = self.test
        {
            return Ok(found.is_some() == expected);
        }
        let value = found.ok_or_else(|| {
            StatesError::runtime(format!(
                "Invalid path '{}': The choice state's condition path references an invalid value.",
                self.variable.text()
            ))
        })?;
        Ok(match &self.test {
            Test::Is { what, expected } => {
                let is = match what {
                    Is::Null => value.is_null(),
                    Is::Present => true,
                    Is::Numeric => value.is_number(),
                    Is::String => value.is_string(),
                    Is::Boolean => value.is_boolean(),
                    Is::Timestamp => value.as_str().and_then(timestamp::parse).is_some(),
                };
                is == *expected
            }
            Test::Matches(pattern) => value
                .as_str()
                .is_some_and(|text| glob_matches(pattern, text)),
            Test::Compare {
                ty,
                relation,
                or_equal,
                operand,
            } => {
                let other = match operand {
                    Operand::Value(v) => v.clone(),
                    Operand::Path(path) => path.select(input, env)?,
                };
                match compare(*ty, &value, &other) {
                    Some(Ordering::Equal) => *or_equal,
                    Some(ordering) => ordering == *relation,
                    None => false,
                }
            }
        })
    }
}

/// Orders two values as the operator's type; `None` when either is of another type.
fn compare(ty: Type, left: &Value, right: &Value) -> Option<Ordering> {
    match ty {
        Type::String => Some(left.as_str()?.cmp(right.as_str()?)),
        // Only BooleanEquals exists: unequal values just need to differ from Equal.
        Type::Boolean => Some(if left.as_bool()? == right.as_bool()? {
            Ordering::Equal
        } else {
            Ordering::Less
        }),
        Type::Numeric => match (left.as_i64(), right.as_i64()) {
            (Some(a), Some(b)) => Some(a.cmp(&b)),
            _ => left.as_f64()?.partial_cmp(&right.as_f64()?),
        },
        Type::Timestamp => {
            let a = timestamp::parse(left.as_str()?)?;
            let b = timestamp::parse(right.as_str()?)?;
            Some(a.cmp(&b))
        }
    }
}

/// `StringMatches`: `*` matches any run of characters; `\*` and `\\` are literal.
fn glob_matches(pattern: &str, text: &str) -> bool {
    #[derive(Clone, Copy, PartialEq)]
    enum Token {
        Star,
        Char(char),
    }
    let mut tokens = Vec::new();
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        tokens.push(match c {
            '\\' => Token::Char(chars.next().unwrap_or('\\')),
            '*' => Token::Star,
            c => Token::Char(c),
        });
    }
    let text: Vec<char> = text.chars().collect();
    // Classic two-pointer wildcard match with backtracking to the last star.
    let (mut t, mut p) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match tokens.get(p) {
            Some(Token::Char(c)) if *c == text[t] => {
                t += 1;
                p += 1;
            }
            Some(Token::Star) => {
                star = Some((p, t));
                p += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    p = sp + 1;
                    t = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    tokens[p..].iter().all(|token| *token == Token::Star)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rule(value: Value) -> Condition {
        let mut errors = Vec::new();
        let parsed = Condition::parse(value.as_object().unwrap(), "", true, &mut errors);
        assert!(errors.is_empty(), "{errors:?}");
        parsed.unwrap()
    }

    fn eval(value: Value, input: &Value) -> Result<bool, StatesError> {
        let variables = crate::variables::Variables::default();
        let env = Env {
            context: &json!({}),
            variables: &variables,
            random: &cafe_report_base::random::SystemRandom,
        };
        rule(value).eval(input, env)
    }

    fn holds(value: Value, input: &Value) -> bool {
        eval(value, input).unwrap()
    }

    #[test]
    fn every_comparison_operator() {
        let input = json!({
            "s": "b", "n": 5, "f": 2.5, "t": true, "ts": "2026-11-24T09:31:00Z",
            "other": {"s": "b", "n": 5, "ts": "2026-11-24T10:31:00+01:00", "t": true}
        });
        let cases = [
            (json!({"Variable": "$.s", "StringEquals": "b"}), true),
            (json!({"Variable": "$.s", "StringLessThan": "c"}), true),
            (json!({"Variable": "$.s", "StringGreaterThan": "c"}), false),
            (
                json!({"Variable": "$.s", "StringLessThanEquals": "b"}),
                true,
            ),
            (
                json!({"Variable": "$.s", "StringGreaterThanEquals": "a"}),
                true,
            ),
            (
                json!({"Variable": "$.s", "StringEqualsPath": "$.other.s"}),
                true,
            ),
            (json!({"Variable": "$.n", "NumericEquals": 5}), true),
            (json!({"Variable": "$.n", "NumericEquals": 5.0}), true),
            (json!({"Variable": "$.f", "NumericLessThan": 3}), true),
            (json!({"Variable": "$.f", "NumericGreaterThan": 3}), false),
            (
                json!({"Variable": "$.n", "NumericLessThanEqualsPath": "$.other.n"}),
                true,
            ),
            (
                json!({"Variable": "$.n", "NumericGreaterThanEquals": 6}),
                false,
            ),
            (json!({"Variable": "$.t", "BooleanEquals": true}), true),
            (
                json!({"Variable": "$.t", "BooleanEqualsPath": "$.other.t"}),
                true,
            ),
            (
                json!({"Variable": "$.ts", "TimestampEquals": "2026-11-24T09:31:00Z"}),
                true,
            ),
            (
                json!({"Variable": "$.ts", "TimestampEqualsPath": "$.other.ts"}),
                true,
            ),
            (
                json!({"Variable": "$.ts", "TimestampLessThan": "2026-11-24T09:31:01Z"}),
                true,
            ),
            (
                json!({"Variable": "$.ts", "TimestampGreaterThanEquals": "2027-01-01T00:00:00Z"}),
                false,
            ),
            (json!({"Variable": "$.s", "NumericEquals": 5}), false),
            (json!({"Variable": "$.n", "StringEquals": "5"}), false),
            (json!({"Variable": "$.s", "IsString": true}), true),
            (json!({"Variable": "$.n", "IsNumeric": true}), true),
            (json!({"Variable": "$.t", "IsBoolean": true}), true),
            (json!({"Variable": "$.ts", "IsTimestamp": true}), true),
            (json!({"Variable": "$.s", "IsTimestamp": true}), false),
            (json!({"Variable": "$.s", "IsNull": false}), true),
            (json!({"Variable": "$.missing", "IsPresent": false}), true),
            (json!({"Variable": "$.s", "IsPresent": true}), true),
        ];
        for (rule, expected) in cases {
            assert_eq!(holds(rule.clone(), &input), expected, "{rule}");
        }
    }

    #[test]
    fn logical_operators_nest() {
        let input = json!({"a": 1, "b": "x"});
        let r = json!({"And": [
            {"Variable": "$.a", "NumericEquals": 1},
            {"Or": [{"Variable": "$.b", "StringEquals": "y"}, {"Not": {"Variable": "$.b", "StringEquals": "z"}}]}
        ]});
        assert!(holds(r, &input));
        assert!(!holds(
            json!({"Not": {"Variable": "$.a", "NumericEquals": 1}}),
            &input
        ));
    }

    #[test]
    fn missing_variable_is_a_runtime_error() {
        let err = eval(json!({"Variable": "$.x", "StringEquals": "a"}), &json!({})).unwrap_err();
        assert_eq!(err.error, "States.Runtime");
    }

    #[test]
    fn string_matches_globs() {
        assert!(glob_matches("*.log", "app.log"));
        assert!(glob_matches("a*b*c", "aXXbYYc"));
        assert!(!glob_matches("a*b", "aXXc"));
        assert!(glob_matches(r"lit\*", "lit*"));
        assert!(!glob_matches(r"lit\*", "litX"));
        assert!(glob_matches("*", ""));
        assert!(glob_matches("log-*-*.txt", "log-1-2.txt"));
    }

    #[test]
    fn malformed_rules_are_reported() {
        for bad in [
            json!({"Variable": "$.a"}),
            json!({"Variable": "$.a", "StringEquals": 1}),
            json!({"Variable": "$.a", "StringEquals": "x", "NumericEquals": 1}),
            json!({"Variable": "$.a", "BooleanLessThan": true}),
            json!({"Variable": "$.a", "TimestampEquals": "yesterday"}),
            json!({"StringEquals": "x"}),
            json!({"And": []}),
            json!({"Variable": "x", "IsNull": true}),
        ] {
            let mut errors = Vec::new();
            let parsed = Condition::parse(bad.as_object().unwrap(), "", true, &mut errors);
            assert!(parsed.is_none() || !errors.is_empty(), "{bad} was accepted");
        }
    }
}
