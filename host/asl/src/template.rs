//! Payload templates: `Parameters`, `ResultSelector`, `ItemSelector` and the like. Keys
//! ending in `.$` take their value from a path, the context object or an intrinsic call.

use serde_json::{Map, Value};

use crate::error::StatesError;
use crate::intrinsics::{Call, looks_like_call};
use crate::path::Path;
use crate::variables::Env;

/// A compiled template.
#[derive(Debug, Clone)]
pub(crate) enum Template {
    Static(Value),
    Object(Vec<(String, Template)>),
    Array(Vec<Template>),
    Path { field: String, path: Path },
    Call(Call),
}

impl Template {
    /// Compiles a template; errors carry the JSON pointer of the offending field below
    /// the template itself.
    pub(crate) fn parse(value: &Value) -> Result<Self, (String, String)> {
        Self::parse_at(value, "")
    }

    fn parse_at(value: &Value, at: &str) -> Result<Self, (String, String)> {
        match value {
            Value::Object(map) => {
                let mut fields = Vec::with_capacity(map.len());
                let mut dynamic = false;
                for (key, value) in map {
                    let pointer = format!("{at}/{}", key.replace('~', "~0").replace('/', "~1"));
                    if let Some(name) = key.strip_suffix(".$") {
                        let Value::String(text) = value else {
                            return Err((
                                pointer,
                                format!(
                                    "the value of '{key}' must be a path or an intrinsic function (a string)"
                                ),
                            ));
                        };
                        let compiled = if looks_like_call(text) {
                            Template::Call(Call::parse(text).map_err(|why| (pointer.clone(), why))?)
                        } else {
                            Template::Path {
                                field: key.clone(),
                                path: Path::parse(text).map_err(|why| (pointer.clone(), why))?,
                            }
                        };
                        dynamic = true;
                        fields.push((name.to_string(), compiled));
                    } else {
                        let compiled = Self::parse_at(value, &pointer)?;
                        dynamic |= !matches!(compiled, Template::Static(_));
                        fields.push((key.clone(), compiled));
                    }
                }
                Ok(if dynamic {
                    Template::Object(fields)
                } else {
                    Template::Static(value.clone())
                })
            }
            Value::Array(items) => {
                let compiled = items
                    .iter()
                    .enumerate()
                    .map(|(i, item)| Self::parse_at(item, &format!("{at}/{i}")))
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(
                    if compiled.iter().all(|t| matches!(t, Template::Static(_))) {
                        Template::Static(value.clone())
                    } else {
                        Template::Array(compiled)
                    },
                )
            }
            other => Ok(Template::Static(other.clone())),
        }
    }

    /// Builds the payload from the state's (effective) input, the context object and the
    /// variables.
    pub(crate) fn render(&self, input: &Value, env: Env<'_>) -> Result<Value, StatesError> {
        match self {
            Template::Static(value) => Ok(value.clone()),
            Template::Object(fields) => {
                let mut map = Map::with_capacity(fields.len());
                for (name, template) in fields {
                    map.insert(name.clone(), template.render(input, env)?);
                }
                Ok(Value::Object(map))
            }
            Template::Array(items) => items
                .iter()
                .map(|item| item.render(input, env))
                .collect::<Result<Vec<_>, _>>()
                .map(Value::Array),
            Template::Path { field, path } => path
                .find(input, env)
                .ok_or_else(|| path.not_found(Some(field), input, env)),
            Template::Call(call) => call.eval(input, env),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::names;
    use crate::variables::Variables;
    use serde_json::json;

    fn render(template: &Template, input: Value, context: Value) -> Result<Value, StatesError> {
        let variables = Variables::default();
        let env = Env {
            context: &context,
            variables: &variables,
            random: &cafe_report_base::random::SystemRandom,
        };
        template.render(&input, env)
    }

    #[test]
    fn dynamic_fields_static_fields_and_nesting() {
        let template = Template::parse(&json!({
            "static": {"a": [1, 2]},
            "name.$": "$.who",
            "nested": {"id.$": "$$.Execution.Name", "list": [{"v.$": "$.n"}, 3]},
            "greeting.$": "States.Format('hi {}', $.who)"
        }))
        .unwrap();
        let out = render(
            &template,
            json!({"who": "Ana", "n": 2}),
            json!({"Execution": {"Name": "e1"}}),
        )
        .unwrap();
        assert_eq!(
            out,
            json!({
                "static": {"a": [1, 2]},
                "name": "Ana",
                "nested": {"id": "e1", "list": [{"v": 2}, 3]},
                "greeting": "hi Ana"
            })
        );
    }

    #[test]
    fn missing_path_is_a_runtime_error_naming_the_field() {
        let template = Template::parse(&json!({"x.$": "$.missing"})).unwrap();
        let err = render(&template, json!({}), json!({})).unwrap_err();
        assert_eq!(err.error, names::RUNTIME);
        assert!(err.cause.contains("'x.$'"), "{}", err.cause);
    }

    #[test]
    fn bad_templates_name_the_field() {
        let (at, _) = Template::parse(&json!({"a": {"b.$": 3}})).unwrap_err();
        assert_eq!(at, "/a/b.$");
        let (at, why) = Template::parse(&json!({"c.$": "States.Nope()"})).unwrap_err();
        assert_eq!(at, "/c.$");
        assert!(why.contains("unknown function"));
        assert!(Template::parse(&json!({"d.$": "not a path"})).is_err());
    }
}
