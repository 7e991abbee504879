//! Paths: JSONPath queries over the state's input, the context object or a workflow
//! variable, and reference paths, the singular kind `ResultPath` writes through. Paths are
//! read as AWS reads them (Jayway's syntax, see [`jayway`]) and evaluated by
//! serde_json_path on their RFC 9535 translation.

mod jayway;

use serde_json::{Map, Value};
use serde_json_path::JsonPath;

use crate::error::{StatesError, names};
use crate::variables::{Env, check_name};

/// What a path reads: the state's input (`$...`), the context object (`$$...`) or a
/// workflow variable (`$name...`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Root {
    Input,
    Context,
    Variable(String),
}

/// A parsed JSONPath as ASL uses it in InputPath, OutputPath, `.$` fields, `ItemsPath`,
/// Choice `Variable` and the `*Path` fields.
#[derive(Debug, Clone)]
pub(crate) struct Path {
    text: String,
    root: Root,
    /// The RFC 9535 normal form of the query (`$['a']`), which Jayway's errors show.
    normal: String,
    query: JsonPath,
    /// Whether the path can select at most one node (no wildcard, slice, union, filter or
    /// descendant segment). A singular path yields its node; any other yields an array.
    singular: bool,
}

impl Path {
    /// Parses `$...`, `$$...` or `$name...`.
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        let (root, query_text) = if let Some(rest) = text.strip_prefix("$$") {
            (Root::Context, format!("${rest}"))
        } else if let Some(rest) = text.strip_prefix('$') {
            let name_end = rest.find(['.', '[']).unwrap_or(rest.len());
            match &rest[..name_end] {
                "" => (Root::Input, text.to_string()),
                name => {
                    check_name(name).map_err(|why| {
                        format!("{text:?} is not a path: '${name}' names no variable ({why})")
                    })?;
                    (
                        Root::Variable(name.to_string()),
                        format!("${}", &rest[name_end..]),
                    )
                }
            }
        } else {
            return Err(format!("{text:?} is not a path: a path starts with '$'"));
        };
        let translated = jayway::translate(&query_text)
            .map_err(|why| format!("{text:?} is not a valid JSONPath: {why}"))?;
        let query = JsonPath::parse(&translated.text)
            .map_err(|err| format!("{text:?} is not a valid JSONPath: {err}"))?;
        Ok(Self {
            text: text.to_string(),
            root,
            singular: translated.singular,
            normal: translated.text,
            query,
        })
    }

    pub(crate) fn text(&self) -> &str {
        &self.text
    }

    /// The value the path queries; `None` for a variable that has not been assigned.
    fn target<'v>(&self, input: &'v Value, env: Env<'v>) -> Option<&'v Value> {
        match &self.root {
            Root::Input => Some(input),
            Root::Context => Some(env.context),
            Root::Variable(name) => env.variables.get(name),
        }
    }

    /// The selected value, or `None` when a singular path matches nothing (or names a
    /// variable that has no value).
    pub(crate) fn find(&self, input: &Value, env: Env<'_>) -> Option<Value> {
        let nodes = self.query.query(self.target(input, env)?);
        if self.singular {
            nodes.first().map(|node| (*node).clone())
        } else {
            Some(Value::Array(nodes.into_iter().cloned().collect()))
        }
    }

    /// The selected value; a path that matches nothing is a `States.Runtime` error.
    pub(crate) fn select(&self, input: &Value, env: Env<'_>) -> Result<Value, StatesError> {
        self.find(input, env)
            .ok_or_else(|| self.not_found(None, input, env))
    }

    /// The value `InputPath` or `OutputPath` selects; nothing is a `States.Runtime` error
    /// in Jayway's words, as AWS reports it (test_invalid_jsonpath).
    pub(crate) fn select_io(&self, input: &Value, env: Env<'_>) -> Result<Value, StatesError> {
        match self.find(input, env) {
            Some(value) => Ok(value),
            None if matches!(self.root, Root::Variable(_)) => Err(self.not_found(None, input, env)),
            None => Err(StatesError::runtime(format!(
                "Invalid path '{}' : No results for path: {}",
                self.text, self.normal
            ))),
        }
    }

    /// The `States.Runtime` error for a path that matched nothing, with AWS's wording;
    /// `field` is the template field that holds the path (`"name.$"`), if any.
    pub(crate) fn not_found(
        &self,
        field: Option<&str>,
        input: &Value,
        env: Env<'_>,
    ) -> StatesError {
        let specified = field
            .map(|field| format!(" specified for the field '{field}'"))
            .unwrap_or_default();
        let text = &self.text;
        StatesError::runtime(match self.target(input, env) {
            Some(target) => {
                format!(
                    "The JSONPath '{text}'{specified} could not be found in the input '{target}'"
                )
            }
            None => {
                let Root::Variable(name) = &self.root else {
                    unreachable!("only a variable can be missing")
                };
                format!(
                    "The JSONPath '{text}'{specified} references the variable '{name}', which has not been assigned"
                )
            }
        })
    }
}

/// One step of a reference path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Step {
    Field(String),
    Index(usize),
}

/// A reference path (`$`, `$.a.b`, `$['a b']`, `$.list[2]`): names one node, so it can be
/// written to. `ResultPath` uses it.
#[derive(Debug, Clone)]
pub(crate) struct ReferencePath {
    text: String,
    steps: Vec<Step>,
}

impl ReferencePath {
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        let invalid = |why: &str| format!("{text:?} is not a valid reference path: {why}");
        let rest = text
            .strip_prefix('$')
            .ok_or_else(|| invalid("it must start with '$'"))?;
        if rest.starts_with('$') {
            return Err(invalid("the context object '$$' cannot be written"));
        }
        let mut steps = Vec::new();
        let mut chars = rest.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '.' => {
                    let mut name = String::new();
                    while let Some(&c) = chars.peek() {
                        if c == '.' || c == '[' {
                            break;
                        }
                        name.push(c);
                        chars.next();
                    }
                    if name.is_empty() || name.contains(['*', '?', ' ', '@', '(', ')']) {
                        return Err(invalid("expected a field name after '.'"));
                    }
                    steps.push(Step::Field(name));
                }
                '[' => {
                    let mut inner = String::new();
                    let quote = chars.next_if(|&c| c == '\'' || c == '"');
                    loop {
                        match (chars.next(), quote) {
                            (None, _) => return Err(invalid("unclosed '['")),
                            (Some(c), Some(q)) if c == q => {
                                if chars.next() != Some(']') {
                                    return Err(invalid("expected ']' after the quoted name"));
                                }
                                break;
                            }
                            (Some('\\'), Some(_)) => inner.extend(chars.next()),
                            (Some(']'), None) => break,
                            (Some(c), _) => inner.push(c),
                        }
                    }
                    match (quote, inner.parse::<usize>()) {
                        (Some(_), _) => steps.push(Step::Field(inner)),
                        (None, Ok(index)) => steps.push(Step::Index(index)),
                        (None, Err(_)) => {
                            return Err(invalid("only quoted names and indexes go in '[]'"));
                        }
                    }
                }
                _ => return Err(invalid("expected '.' or '['")),
            }
        }
        Ok(Self {
            text: text.to_string(),
            steps,
        })
    }

    /// Writes `value` at this path inside `target`, creating objects on the way as AWS
    /// does. A step through something that is not an object (or an index past an array's
    /// end) is `States.ResultPathMatchFailure`.
    pub(crate) fn write(&self, target: Value, value: Value) -> Result<Value, StatesError> {
        let mut target = target;
        write_at(&mut target, &self.steps, value, true).map_err(|why| {
            StatesError::new(
                names::RESULT_PATH_MATCH_FAILURE,
                format!("Unable to apply ResultPath '{}': {why}", self.text),
            )
        })?;
        Ok(target)
    }
}

/// Writes below `slot`; a missing or null field on the way becomes an object, except the
/// top-level input itself, which must already be an object.
fn write_at(slot: &mut Value, steps: &[Step], value: Value, top: bool) -> Result<(), String> {
    let Some((step, rest)) = steps.split_first() else {
        *slot = value;
        return Ok(());
    };
    match step {
        Step::Field(name) => {
            if slot.is_null() && !top {
                *slot = Value::Object(Map::new());
            }
            match slot {
                Value::Object(map) => write_at(
                    map.entry(name.clone()).or_insert(Value::Null),
                    rest,
                    value,
                    false,
                ),
                other => Err(format!("cannot set field '{name}' on {}", kind_of(other))),
            }
        }
        Step::Index(index) => match slot {
            Value::Array(items) if *index < items.len() => {
                write_at(&mut items[*index], rest, value, false)
            }
            other => Err(format!("no element [{index}] in {}", kind_of(other))),
        },
    }
}

/// A word for a JSON value's type, for error messages.
pub(crate) fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::variables::{Assignment, Variables};
    use serde_json::json;

    #[test]
    fn singular_paths_yield_the_node_and_others_an_array() {
        let input = json!({"a": {"b": [1, 2, 3]}, "x*": 5});
        let ctx = json!({"Execution": {"Name": "n"}});
        let variables = Variables::default();
        let env = Env {
            context: &ctx,
            variables: &variables,
            random: &cafe_report_base::random::SystemRandom,
        };
        let at = |p: &str| Path::parse(p).unwrap().find(&input, env);
        assert_eq!(at("$.a.b[1]"), Some(json!(2)));
        assert_eq!(at("$.a.b[*]"), Some(json!([1, 2, 3])));
        assert_eq!(at("$.a.b[0:2]"), Some(json!([1, 2])));
        assert_eq!(at("$['x*']"), Some(json!(5)));
        assert_eq!(at("$.missing"), None);
        assert_eq!(at("$..missing"), Some(json!([])));
        assert_eq!(at("$$.Execution.Name"), Some(json!("n")));
        assert_eq!(at("$"), Some(input.clone()));
    }

    #[test]
    fn variable_paths_read_the_variable() {
        let mut variables = Variables::default();
        let values = json!({"order": {"items": [{"n": 1}, {"n": 2}]}, "x": 7});
        variables
            .apply(Assignment::check(values.as_object().unwrap().clone(), &variables).unwrap());
        let env = Env {
            context: &Value::Null,
            variables: &variables,
            random: &cafe_report_base::random::SystemRandom,
        };
        let at = |p: &str| Path::parse(p).unwrap().find(&json!({"x": 1}), env);
        assert_eq!(at("$x"), Some(json!(7)));
        assert_eq!(at("$order.items[1].n"), Some(json!(2)));
        assert_eq!(at("$order.items[*].n"), Some(json!([1, 2])));
        assert_eq!(at("$order['items'][0]"), Some(json!({"n": 1})));
        assert_eq!(at("$nothing"), None);
        let err = Path::parse("$nothing.a")
            .unwrap()
            .select(&json!({}), env)
            .unwrap_err();
        assert_eq!(err.error, names::RUNTIME);
        assert!(err.cause.contains("variable 'nothing'"), "{}", err.cause);
        assert!(Path::parse("$states.input").is_err());
        assert!(Path::parse("$1a").is_err());
    }

    #[test]
    fn bad_paths_are_refused() {
        assert!(Path::parse("a.b").is_err());
        assert!(Path::parse("$.a[").is_err());
        assert!(ReferencePath::parse("$.a[*]").is_err());
        assert!(ReferencePath::parse("$$.a").is_err());
        assert!(ReferencePath::parse("$.").is_err());
    }

    #[test]
    fn reference_paths_write_and_create_objects() {
        let write =
            |p: &str, target: Value| ReferencePath::parse(p).unwrap().write(target, json!("r"));
        assert_eq!(write("$", json!({"a": 1})).unwrap(), json!("r"));
        assert_eq!(
            write("$.x.y", json!({"a": 1})).unwrap(),
            json!({"a": 1, "x": {"y": "r"}})
        );
        assert_eq!(write("$['a b']", json!({})).unwrap(), json!({"a b": "r"}));
        assert_eq!(
            write("$.l[1]", json!({"l": [0, 1]})).unwrap(),
            json!({"l": [0, "r"]})
        );
        let err = write("$.a.b", json!({"a": 3})).unwrap_err();
        assert_eq!(err.error, names::RESULT_PATH_MATCH_FAILURE);
        assert!(write("$.a", json!("text")).is_err());
        assert!(write("$.l[5]", json!({"l": []})).is_err());
    }
}
