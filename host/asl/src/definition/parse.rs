//! JSON -> [`StateMachine`]: field types, allowed fields per state type, paths, templates
//! and intrinsics. Every problem is collected, not just the first.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::{Map, Value};

use super::*;
use crate::error::names;
use crate::intrinsics::looks_like_call;
use crate::jsonata::{self, Expression};
use crate::timestamp;
use crate::variables::check_name;

const SCHEMA: &str = "SCHEMA_VALIDATION_FAILED";
/// Longest state name AWS accepts.
const MAX_NAME_CHARS: usize = 80;
/// Largest value AWS accepts for seconds, attempts and counts.
const MAX_INTEGER: u64 = 99_999_999;

/// Fields of the states that do work and can fail: Task, Parallel and Map.
const WORKING: &[&str] = &[
    "Next",
    "End",
    "InputPath",
    "OutputPath",
    "Parameters",
    "ResultSelector",
    "ResultPath",
    "Retry",
    "Catch",
    "Assign",
];

/// Fields each JSONPath state type accepts besides `Type`, `Comment` and `QueryLanguage`:
/// a shared set and its own.
fn allowed_fields(kind: &str) -> Option<(&'static [&'static str], &'static [&'static str])> {
    let flow: &[&str] = &["Next", "End", "InputPath", "OutputPath"];
    Some(match kind {
        "Pass" => (flow, &["Parameters", "ResultPath", "Result", "Assign"]),
        "Task" => (
            WORKING,
            &[
                "Resource",
                "TimeoutSeconds",
                "TimeoutSecondsPath",
                "HeartbeatSeconds",
                "HeartbeatSecondsPath",
            ],
        ),
        "Choice" => (
            &[],
            &["InputPath", "OutputPath", "Choices", "Default", "Assign"],
        ),
        "Wait" => (
            flow,
            &[
                "Seconds",
                "SecondsPath",
                "Timestamp",
                "TimestampPath",
                "Assign",
            ],
        ),
        "Succeed" => (&[], &["InputPath", "OutputPath"]),
        "Fail" => (&[], &["Error", "ErrorPath", "Cause", "CausePath"]),
        "Parallel" => (WORKING, &["Branches"]),
        "Map" => (
            WORKING,
            &[
                "ItemsPath",
                "ItemSelector",
                "ItemProcessor",
                "Iterator",
                "MaxConcurrency",
                "MaxConcurrencyPath",
                "ToleratedFailureCount",
                "ToleratedFailureCountPath",
                "ToleratedFailurePercentage",
                "ToleratedFailurePercentagePath",
                "Label",
            ],
        ),
        _ => return None,
    })
}

/// Fields each JSONata state type accepts besides `Type`, `Comment` and `QueryLanguage`:
/// the five JSONPath I/O fields give way to `Arguments` and `Output`.
fn jsonata_fields(kind: &str) -> &'static [&'static str] {
    match kind {
        "Pass" => &["Next", "End", "Output", "Assign"],
        "Task" => &[
            "Next",
            "End",
            "Resource",
            "Arguments",
            "Output",
            "Assign",
            "Retry",
            "Catch",
            "TimeoutSeconds",
            "HeartbeatSeconds",
        ],
        "Choice" => &["Choices", "Default", "Output", "Assign"],
        "Wait" => &["Next", "End", "Seconds", "Timestamp", "Output", "Assign"],
        "Succeed" => &["Output"],
        "Fail" => &["Error", "Cause"],
        "Parallel" => &[
            "Next",
            "End",
            "Branches",
            "Arguments",
            "Output",
            "Assign",
            "Retry",
            "Catch",
        ],
        _ => &[
            "Next",
            "End",
            "Items",
            "ItemSelector",
            "ItemProcessor",
            "MaxConcurrency",
            "ToleratedFailureCount",
            "ToleratedFailurePercentage",
            "Label",
            "Output",
            "Assign",
            "Retry",
            "Catch",
        ],
    }
}

/// An `Assign` object (of a state, a Catch entry or a Choice rule): its keys are variable
/// names, with `.$` on those that take a path or an intrinsic in JSONPath. Errors carry
/// the JSON pointer below the field.
fn assign(value: &Value, language: Language) -> Result<Assign, (String, String)> {
    let Value::Object(entries) = value else {
        return Err((
            String::new(),
            "'Assign' must be an object of variable names and values".into(),
        ));
    };
    let mut names = std::collections::HashSet::new();
    for key in entries.keys() {
        let name = match language {
            Language::JsonPath => key.strip_suffix(".$").unwrap_or(key),
            Language::Jsonata => key,
        };
        let refused = |why: &str| (pointer("", key), format!("{name:?} {why}"));
        check_name(name).map_err(|why| refused(&format!("is not a variable name: {why}")))?;
        if !names.insert(name) {
            return Err(refused("is assigned twice"));
        }
    }
    match language {
        Language::JsonPath => Template::parse(value).map(Assign::JsonPath),
        Language::Jsonata => jsonata::Template::parse(value, "Assign")
            .map(Assign::Jsonata)
            .map_err(|(field, err)| {
                (
                    String::new(),
                    format!("the JSONata expression in '{field}' does not parse: {err}"),
                )
            }),
    }
}

/// Escapes a key for a JSON pointer.
fn pointer(at: &str, key: &str) -> String {
    format!("{at}/{}", key.replace('~', "~0").replace('/', "~1"))
}

/// Reads fields of one JSON object, recording problems against their pointers.
struct Fields<'a, 'e> {
    map: &'a Map<String, Value>,
    at: String,
    errors: &'e mut Vec<ValidationError>,
}

impl<'a> Fields<'a, '_> {
    fn at(&self, key: &str) -> String {
        if key.is_empty() {
            self.at.clone()
        } else {
            pointer(&self.at, key)
        }
    }

    fn error(&mut self, key: &str, message: impl Into<String>) {
        let at = self.at(key);
        self.errors.push(ValidationError::new(SCHEMA, &at, message));
    }

    /// Refuses every field not in `allowed`: "The field 'X' is not supported {place}".
    fn only(&mut self, allowed: &[&str], place: &str) {
        let map = self.map;
        for key in map.keys().filter(|key| !allowed.contains(&key.as_str())) {
            self.error(key, format!("The field '{key}' is not supported {place}"));
        }
    }

    fn get(&self, key: &str) -> Option<&'a Value> {
        self.map.get(key)
    }

    fn string(&mut self, key: &str) -> Option<&'a str> {
        match self.get(key)? {
            Value::String(text) => Some(text),
            other => {
                self.error(key, format!("'{key}' must be a string, got {other}"));
                None
            }
        }
    }

    fn required_string(&mut self, key: &str) -> Option<&'a str> {
        if !self.map.contains_key(key) {
            self.error(key, format!("the field '{key}' is required"));
            return None;
        }
        self.string(key)
    }

    fn integer(&mut self, key: &str, min: u64) -> Option<u64> {
        let value = self.get(key)?;
        match value.as_u64() {
            Some(n) if (min..=MAX_INTEGER).contains(&n) => Some(n),
            _ => {
                self.error(
                    key,
                    format!("'{key}' must be an integer from {min} to {MAX_INTEGER}, got {value}"),
                );
                None
            }
        }
    }

    /// An array field that must be there and hold something (`Choices`, `Branches`).
    fn non_empty_array(&mut self, key: &str, owner: &str) -> Option<&'a Vec<Value>> {
        match self.get(key) {
            Some(Value::Array(items)) if !items.is_empty() => Some(items),
            Some(Value::Array(_)) => {
                self.error(key, format!("'{key}' must not be empty"));
                None
            }
            _ => {
                self.error(key, format!("{owner} needs a non-empty '{key}' array"));
                None
            }
        }
    }

    fn boolean(&mut self, key: &str) -> Option<bool> {
        match self.get(key)? {
            Value::Bool(b) => Some(*b),
            other => {
                self.error(key, format!("'{key}' must be true or false, got {other}"));
                None
            }
        }
    }

    /// A JSONPath field (`InputPath`...): absent -> `$`, `null` -> `None`.
    fn path_or_null(&mut self, key: &str) -> Option<Path> {
        match self.get(key) {
            None => Some(Path::parse("$").expect("'$' is a path")),
            Some(Value::Null) => None,
            Some(_) => self.path(key),
        }
    }

    fn path(&mut self, key: &str) -> Option<Path> {
        self.parsed(key, Path::parse)
    }

    /// A string field run through `parse`, whose error is recorded against the field.
    fn parsed<T>(&mut self, key: &str, parse: fn(&str) -> Result<T, String>) -> Option<T> {
        let text = self.string(key)?;
        parse(text).map_err(|why| self.error(key, why)).ok()
    }

    fn reference_path_or_null(&mut self, key: &str) -> Option<ReferencePath> {
        match self.get(key) {
            None => Some(ReferencePath::parse("$").expect("'$' is a reference path")),
            Some(Value::Null) => None,
            Some(_) => self.parsed(key, ReferencePath::parse),
        }
    }

    fn template(&mut self, key: &str) -> Option<Template> {
        let value = self.get(key)?;
        match Template::parse(value) {
            Ok(template) => Some(template),
            Err((below, why)) => {
                let at = format!("{}{below}", self.at(key));
                self.errors.push(ValidationError::new(SCHEMA, &at, why));
                None
            }
        }
    }

    /// A JSONata field value (`Arguments`, `Output`): expressions parsed, errors at the field.
    fn jsonata_template(&mut self, key: &str) -> Option<jsonata::Template> {
        let value = self.get(key)?;
        jsonata::Template::parse(value, key)
            .map_err(|(field, err)| {
                self.error(
                    key,
                    format!("the JSONata expression in '{field}' does not parse: {err}"),
                )
            })
            .ok()
    }

    /// `Assign`, in the state's language; errors at the offending key.
    fn assign(&mut self, language: Language) -> Option<Assign> {
        let value = self.get("Assign")?;
        assign(value, language)
            .map_err(|(below, why)| {
                let at = format!("{}{below}", self.at("Assign"));
                self.errors.push(ValidationError::new(SCHEMA, &at, why));
            })
            .ok()
    }

    /// A JSONata state's string field that may be one `{% expression %}`: `Ok(expression)`,
    /// or `Err(text)` for a literal.
    fn expression_or_text(&mut self, key: &str) -> Option<Result<Expression, &'a str>> {
        let text = self.string(key)?;
        match jsonata::expression_text(text) {
            None => Some(Err(text)),
            Some(expression) => Expression::parse_in_state(expression)
                .map(Ok)
                .map_err(|err| self.error(key, format!("the JSONata expression is refused: {err}")))
                .ok(),
        }
    }

    /// A JSONata field that holds either a literal (`what`, read by `literal`) or one
    /// `{% expression %}`. A string that is not an expression is refused.
    fn literal_or_expression<T>(
        &mut self,
        key: &str,
        what: &str,
        literal: impl FnOnce(&mut Self) -> Option<T>,
        expression: impl FnOnce(Expression) -> T,
    ) -> Option<T> {
        match self.get(key)? {
            Value::String(_) => match self.expression_or_text(key)? {
                Ok(parsed) => Some(expression(parsed)),
                Err(_) => {
                    self.error(
                        key,
                        format!("'{key}' must be {what} or a JSONata expression"),
                    );
                    None
                }
            },
            _ => literal(self),
        }
    }

    /// Two fields of which at most one may appear (`TimeoutSeconds`/`TimeoutSecondsPath`).
    fn exclusive(&mut self, a: &str, b: &str) -> bool {
        if self.map.contains_key(a) && self.map.contains_key(b) {
            self.error(b, format!("'{a}' and '{b}' cannot both be set"));
            return false;
        }
        true
    }

    fn seconds(&mut self, key: &str, language: Language) -> Option<Seconds> {
        if language == Language::Jsonata {
            return self.literal_or_expression(
                key,
                "an integer",
                |fields| fields.integer(key, 1).map(Seconds::Fixed),
                Seconds::Expression,
            );
        }
        let path_key = format!("{key}Path");
        if !self.exclusive(key, &path_key) {
            return None;
        }
        if self.map.contains_key(key) {
            self.integer(key, 1).map(Seconds::Fixed)
        } else if self.map.contains_key(&path_key) {
            self.path(&path_key).map(Seconds::Path)
        } else {
            None
        }
    }

    fn nested(&mut self, key: &str) -> Option<Fields<'a, '_>> {
        let at = self.at(key);
        match self.get(key)? {
            Value::Object(map) => Some(Fields {
                map,
                at,
                errors: self.errors,
            }),
            other => {
                self.error(key, format!("'{key}' must be an object, got {other}"));
                None
            }
        }
    }
}

pub(super) fn machine(value: &Value, errors: &mut Vec<ValidationError>) -> Option<StateMachine> {
    let Value::Object(map) = value else {
        errors.push(ValidationError::new(
            SCHEMA,
            "",
            "the definition must be a JSON object",
        ));
        return None;
    };
    let mut top = Fields {
        map,
        at: String::new(),
        errors,
    };
    top.only(
        &[
            "StartAt",
            "States",
            "Comment",
            "Version",
            "TimeoutSeconds",
            "QueryLanguage",
        ],
        "by Step Functions",
    );
    if let Some(version) = top.string("Version").filter(|v| *v != "1.0") {
        top.error(
            "Version",
            format!("unsupported Version {version:?} (only \"1.0\")"),
        );
    }
    let language = query_language(&mut top).unwrap_or(Language::JsonPath);
    let comment = top.string("Comment").map(str::to_string);
    let timeout_seconds = top.integer("TimeoutSeconds", 1);
    let states = scope(&mut top, language)?;
    Some(StateMachine {
        states: Arc::new(states),
        timeout_seconds,
        comment,
        source: Arc::new(value.clone()),
    })
}

/// The `QueryLanguage` field, if there is one.
fn query_language(fields: &mut Fields<'_, '_>) -> Option<Language> {
    match fields.string("QueryLanguage")? {
        "JSONPath" => Some(Language::JsonPath),
        "JSONata" => Some(Language::Jsonata),
        other => {
            fields.error(
                "QueryLanguage",
                format!("QueryLanguage must be \"JSONPath\" or \"JSONata\", got {other:?}"),
            );
            None
        }
    }
}

/// `StartAt` and `States` of a machine, branch or processor; `language` is the machine's.
fn scope(fields: &mut Fields<'_, '_>, language: Language) -> Option<States> {
    let start_at = fields.required_string("StartAt").map(str::to_string);
    if !fields.map.contains_key("States") {
        fields.error("States", "the field 'States' is required");
        return None;
    }
    let mut states_fields = fields.nested("States")?;
    if states_fields.map.is_empty() {
        states_fields.error("", "'States' must hold at least one state");
    }
    let mut states = BTreeMap::new();
    let mut order = Vec::new();
    for (name, value) in states_fields.map {
        let at = pointer(&states_fields.at, name);
        if name.is_empty() || name.chars().count() > MAX_NAME_CHARS {
            states_fields.errors.push(ValidationError::new(
                SCHEMA,
                &at,
                format!("state names have 1 to {MAX_NAME_CHARS} characters"),
            ));
        }
        let Value::Object(map) = value else {
            states_fields.errors.push(ValidationError::new(
                SCHEMA,
                &at,
                "a state must be an object",
            ));
            continue;
        };
        let mut state_fields = Fields {
            map,
            at,
            errors: states_fields.errors,
        };
        if let Some(state) = state(name, &mut state_fields, language) {
            order.push(name.clone());
            states.insert(name.clone(), state);
        }
    }
    Some(States {
        start_at: start_at?,
        states,
        order,
    })
}

fn state(name: &str, fields: &mut Fields<'_, '_>, machine_language: Language) -> Option<State> {
    let kind_name = fields.required_string("Type")?;
    let Some((shared, own)) = allowed_fields(kind_name) else {
        fields.error("Type", format!("unknown state type {kind_name:?}"));
        return None;
    };
    let language = match query_language(fields) {
        Some(Language::JsonPath) if machine_language == Language::Jsonata => {
            fields.error(
                "QueryLanguage",
                "a state cannot use JSONPath when the state machine's QueryLanguage is JSONata",
            );
            return None;
        }
        Some(language) => language,
        None => machine_language,
    };
    let allowed = |key: &str| match language {
        Language::JsonPath => shared.contains(&key) || own.contains(&key),
        Language::Jsonata => jsonata_fields(kind_name).contains(&key),
    };
    for key in fields.map.keys() {
        let key_str = key.as_str();
        if ["Type", "Comment", "QueryLanguage"].contains(&key_str) {
            continue;
        }
        let message = if !allowed(key_str) {
            let uses = match language {
                Language::JsonPath => "",
                Language::Jsonata => " that uses JSONata",
            };
            format!(
                "The field '{key}' is not supported by Step Functions in a {kind_name} state{uses}"
            )
        } else {
            continue;
        };
        let at = fields.at(key);
        fields
            .errors
            .push(ValidationError::new(SCHEMA, &at, message));
    }
    fields.string("Comment");
    let errors_before = fields.errors.len();
    let transition = transition(kind_name, fields);
    let kind = match kind_name {
        "Pass" => Kind::Pass {
            result: fields.get("Result").cloned(),
        },
        "Task" => task(fields, language)?,
        "Choice" => choice(fields, language)?,
        "Wait" => Kind::Wait(wait(fields, language)?),
        "Succeed" => Kind::Succeed,
        "Fail" => Kind::Fail {
            error: fail_text(fields, "Error", language),
            cause: fail_text(fields, "Cause", language),
        },
        "Parallel" => parallel(fields, machine_language)?,
        // The Map's own fields are in its language; its processor's states default to
        // the machine's.
        _ => map_state(fields, language, machine_language)?,
    };
    // In a Map state `Parameters` is the old name of `ItemSelector` (see `map_state`).
    let parameters = if kind_name == "Map" {
        None
    } else {
        fields.template("Parameters")
    };
    let state = State {
        name: name.to_string(),
        language,
        arguments: fields.jsonata_template("Arguments"),
        output: fields.jsonata_template("Output"),
        assign: fields.assign(language),
        input_path: fields.path_or_null("InputPath"),
        output_path: fields.path_or_null("OutputPath"),
        parameters,
        result_selector: fields.template("ResultSelector"),
        result_path: fields.reference_path_or_null("ResultPath"),
        retry: retriers(fields),
        catch: catchers(fields, language),
        transition: transition?,
        kind,
    };
    (fields.errors.len() == errors_before).then_some(state)
}

fn transition(kind: &str, fields: &mut Fields<'_, '_>) -> Option<Transition> {
    if matches!(kind, "Choice" | "Succeed" | "Fail") {
        return Some(Transition::None);
    }
    let next = fields.string("Next");
    let end = fields.boolean("End");
    match (next, end) {
        (Some(_), Some(true)) => {
            fields.error("End", "a state cannot have both 'Next' and 'End'");
            None
        }
        (Some(next), _) => Some(Transition::Next(next.to_string())),
        (None, Some(true)) => Some(Transition::End),
        _ => {
            fields.error("Next", "the state needs 'Next' or '\"End\": true'");
            None
        }
    }
}

fn task(fields: &mut Fields<'_, '_>, language: Language) -> Option<Kind> {
    let resource_text = fields.required_string("Resource")?;
    let (resource, wait_for_token) = match resource(resource_text) {
        Ok(resource) => resource,
        Err(why) => {
            fields.error("Resource", why);
            return None;
        }
    };
    let arguments_key = match language {
        Language::JsonPath => "Parameters",
        Language::Jsonata => "Arguments",
    };
    let arguments = fields.get(arguments_key);
    let has = |key: &str| match arguments {
        Some(Value::Object(p)) => p.contains_key(key) || p.contains_key(&format!("{key}.$")),
        // One JSONata expression for all the arguments: checked when it runs.
        Some(Value::String(_)) => language == Language::Jsonata,
        _ => false,
    };
    match resource {
        Resource::LambdaInvoke if !has("FunctionName") => {
            fields.error(
                arguments_key,
                format!("lambda:invoke needs 'FunctionName' in {arguments_key}"),
            );
        }
        Resource::SnsPublish if !has("Message") || !has("TopicArn") => {
            fields.error(
                arguments_key,
                format!("sns:publish needs 'TopicArn' and 'Message' in {arguments_key}"),
            );
        }
        _ => {}
    }
    let timeout = fields.seconds("TimeoutSeconds", language);
    let heartbeat = fields.seconds("HeartbeatSeconds", language);
    if let (Some(Seconds::Fixed(t)), Some(Seconds::Fixed(h))) = (&timeout, &heartbeat)
        && h >= t
    {
        fields.error(
            "HeartbeatSeconds",
            format!("HeartbeatSeconds ({h}) must be smaller than TimeoutSeconds ({t})"),
        );
    }
    Some(Kind::Task(Box::new(TaskSpec {
        resource,
        wait_for_token,
        timeout,
        heartbeat,
    })))
}

/// The task resources this engine can run, and whether the task waits for its token.
fn resource(text: &str) -> Result<(Resource, bool), String> {
    // `arn:aws:states:::lambda:invoke` has a colon in its last part.
    let parts: Vec<&str> = text.splitn(7, ':').collect();
    match parts.as_slice() {
        ["arn", partition, "states", "", "", service, action] if partition.starts_with("aws") => {
            let (action, wait_for_token) = match action.strip_suffix(".waitForTaskToken") {
                Some(action) => (action, true),
                None => (*action, false),
            };
            match format!("{service}:{action}").as_str() {
                "lambda:invoke" => Ok((Resource::LambdaInvoke, wait_for_token)),
                "sns:publish" => Ok((Resource::SnsPublish, wait_for_token)),
                _ if service.is_empty() || action.is_empty() => Err(format!(
                    "Value is not a valid resource ARN: {text:?} (a Lambda function ARN, or arn:aws:states:::<service>:<action>)"
                )),
                _ => {
                    // `aws-sdk:s3:getObject`: the type is `aws-sdk:s3`, the action after.
                    let (resource_type, action) = match action.rsplit_once(':') {
                        Some((inner, action))
                            if !action.starts_with(|c: char| c.is_ascii_digit()) =>
                        {
                            (format!("{service}:{inner}"), action.to_string())
                        }
                        _ => (service.to_string(), action.to_string()),
                    };
                    let resource = if wait_for_token {
                        format!("{action}.waitForTaskToken")
                    } else {
                        action
                    };
                    Ok((
                        Resource::Other {
                            resource_type,
                            resource,
                            arn: text.to_string(),
                        },
                        wait_for_token,
                    ))
                }
            }
        }
        [
            "arn",
            partition,
            "lambda",
            region,
            account,
            "function",
            name,
            rest @ ..,
        ] if partition.starts_with("aws")
            && !region.is_empty()
            && !account.is_empty()
            && !name.is_empty()
            && rest.len() <= 1 =>
        {
            Ok((Resource::LambdaFunction(text.to_string()), false))
        }
        _ if text.contains("${") => Err(format!(
            "{text:?} has a definition substitution that was not replaced"
        )),
        _ => Err(format!(
            "Value is not a valid resource ARN: {text:?} (a Lambda function ARN, arn:aws:states:::lambda:invoke or arn:aws:states:::sns:publish)"
        )),
    }
}

fn choice(fields: &mut Fields<'_, '_>, language: Language) -> Option<Kind> {
    let default = fields.string("Default").map(str::to_string);
    let entries = fields.non_empty_array("Choices", "a Choice state")?;
    let mut rules = Vec::new();
    let mut problems = Vec::new();
    for (i, rule) in entries.iter().enumerate() {
        let at = format!("{}/{i}", fields.at("Choices"));
        let Value::Object(map) = rule else {
            problems.push((at, "a Choice rule must be an object".to_string()));
            continue;
        };
        let next = match map.get("Next") {
            Some(Value::String(next)) => Some(next.clone()),
            _ => {
                problems.push((
                    format!("{at}/Next"),
                    "every top-level Choice rule needs 'Next' (a state name)".into(),
                ));
                None
            }
        };
        let condition = match language {
            Language::JsonPath => Condition::parse(map, &at, true, &mut problems),
            Language::Jsonata => jsonata_rule(map, &at, &mut problems),
        };
        let assign = map.get("Assign").and_then(|value| {
            assign(value, language)
                .map_err(|(below, why)| problems.push((format!("{at}/Assign{below}"), why)))
                .ok()
        });
        let output = map.get("Output").filter(|_| language == Language::Jsonata);
        let output = output.and_then(|value| {
            jsonata::Template::parse(value, "Output")
                .map_err(|(field, err)| {
                    problems.push((
                        format!("{at}/Output"),
                        format!("the JSONata expression in '{field}' does not parse: {err}"),
                    ))
                })
                .ok()
        });
        if let (Some(condition), Some(next)) = (condition, next) {
            rules.push(ChoiceRule {
                condition,
                next,
                assign,
                output,
            });
        }
    }
    let failed = !problems.is_empty();
    fields.errors.extend(
        problems
            .into_iter()
            .map(|(at, why)| ValidationError::new(SCHEMA, &at, why)),
    );
    (!failed).then_some(Kind::Choice { rules, default })
}

/// A JSONata Choice rule's `Condition` (one `{% %}` expression); its other fields are
/// `Next`, `Assign` and `Output`.
fn jsonata_rule(
    rule: &Map<String, Value>,
    at: &str,
    problems: &mut Vec<(String, String)>,
) -> Option<Condition> {
    for key in rule.keys() {
        let message = match key.as_str() {
            "Condition" | "Next" | "Comment" | "Output" | "Assign" => continue,
            _ => format!("The field '{key}' is not supported in a JSONata Choice rule"),
        };
        problems.push((pointer(at, key), message));
    }
    let text = match rule.get("Condition") {
        Some(Value::String(text)) => text,
        _ => {
            problems.push((
                pointer(at, "Condition"),
                "a JSONata Choice rule needs 'Condition', a JSONata expression".into(),
            ));
            return None;
        }
    };
    let Some(expression) = jsonata::expression_text(text) else {
        problems.push((
            pointer(at, "Condition"),
            format!("'Condition' must be a JSONata expression written {{% ... %}}, got {text:?}"),
        ));
        return None;
    };
    match Expression::parse_in_state(expression) {
        Ok(expression) => Some(Condition::Jsonata(expression)),
        Err(err) => {
            problems.push((
                pointer(at, "Condition"),
                format!("the JSONata expression is refused: {err}"),
            ));
            None
        }
    }
}

fn wait(fields: &mut Fields<'_, '_>, language: Language) -> Option<WaitFor> {
    if language == Language::Jsonata {
        return jsonata_wait(fields);
    }
    let present: Vec<&str> = ["Seconds", "Timestamp", "SecondsPath", "TimestampPath"]
        .into_iter()
        .filter(|k| fields.map.contains_key(*k))
        .collect();
    if present.len() != 1 {
        fields.error(
            "",
            "a Wait state needs exactly one of Seconds, Timestamp, SecondsPath, TimestampPath",
        );
        return None;
    }
    match present[0] {
        "Seconds" => fields.integer("Seconds", 0).map(WaitFor::Seconds),
        "Timestamp" => {
            let text = fields.string("Timestamp")?;
            fixed_timestamp(fields, text)
        }
        "SecondsPath" => fields.path("SecondsPath").map(WaitFor::SecondsPath),
        _ => fields.path("TimestampPath").map(WaitFor::TimestampPath),
    }
}

/// A Wait's fixed `Timestamp`, which must be RFC 3339.
fn fixed_timestamp(fields: &mut Fields<'_, '_>, text: &str) -> Option<WaitFor> {
    match timestamp::parse(text) {
        Some(at) => Some(WaitFor::Timestamp(at)),
        None => {
            fields.error(
                "Timestamp",
                format!("{text:?} is not an RFC 3339 timestamp like 2026-11-24T09:31:00Z"),
            );
            None
        }
    }
}

/// A JSONata Wait: `Seconds` (an integer or an expression) or `Timestamp` (a timestamp or
/// an expression).
fn jsonata_wait(fields: &mut Fields<'_, '_>) -> Option<WaitFor> {
    match (fields.get("Seconds"), fields.get("Timestamp")) {
        (Some(_), None) => fields.literal_or_expression(
            "Seconds",
            "an integer",
            |fields| fields.integer("Seconds", 0).map(WaitFor::Seconds),
            WaitFor::SecondsExpression,
        ),
        (None, Some(_)) => match fields.expression_or_text("Timestamp")? {
            Ok(expression) => Some(WaitFor::TimestampExpression(expression)),
            Err(text) => fixed_timestamp(fields, text),
        },
        _ => {
            fields.error(
                "",
                "a JSONata Wait state needs exactly one of Seconds, Timestamp",
            );
            None
        }
    }
}

fn fail_text(fields: &mut Fields<'_, '_>, key: &str, language: Language) -> Option<Text> {
    if language == Language::Jsonata {
        return Some(match fields.expression_or_text(key)? {
            Ok(expression) => Text::Expression(expression),
            Err(text) => Text::Fixed(text.to_string()),
        });
    }
    let path_key = format!("{key}Path");
    if !fields.exclusive(key, &path_key) {
        return None;
    }
    if let Some(text) = fields.string(key) {
        return Some(Text::Fixed(text.to_string()));
    }
    let text = fields.string(&path_key)?;
    let parsed = if looks_like_call(text) {
        Call::parse(text).map(Text::Call)
    } else {
        Path::parse(text).map(Text::Path)
    };
    parsed.map_err(|why| fields.error(&path_key, why)).ok()
}

fn parallel(fields: &mut Fields<'_, '_>, language: Language) -> Option<Kind> {
    let list = fields.non_empty_array("Branches", "a Parallel state")?;
    let mut branches = Vec::new();
    for (i, branch) in list.iter().enumerate() {
        let at = format!("{}/{i}", fields.at("Branches"));
        let Value::Object(map) = branch else {
            fields.errors.push(ValidationError::new(
                SCHEMA,
                &at,
                "a branch must be an object with StartAt and States",
            ));
            continue;
        };
        branches.extend(sub_machine(map, at, fields.errors, language));
    }
    (branches.len() == list.len()).then_some(Kind::Parallel { branches })
}

/// A branch or item processor: its own scope of states, validated on its own.
fn sub_machine(
    map: &Map<String, Value>,
    at: String,
    errors: &mut Vec<ValidationError>,
    language: Language,
) -> Option<Arc<States>> {
    let mut fields = Fields {
        map,
        at: at.clone(),
        errors,
    };
    fields.only(
        &["StartAt", "States", "Comment", "ProcessorConfig"],
        "by Step Functions here",
    );
    if let Some(mut config) = fields.nested("ProcessorConfig") {
        if let Some(mode) = config
            .string("Mode")
            .filter(|m| !["INLINE", "DISTRIBUTED"].contains(m))
        {
            config.error(
                "Mode",
                format!("Mode must be INLINE or DISTRIBUTED, not {mode:?}"),
            );
        }
        if let Some(kind) = config
            .string("ExecutionType")
            .filter(|t| !["STANDARD", "EXPRESS"].contains(t))
        {
            config.error(
                "ExecutionType",
                format!("ExecutionType must be STANDARD or EXPRESS, not {kind:?}"),
            );
        }
    }
    let before = fields.errors.len();
    let states = scope(&mut fields, language);
    validate::scope(map, &at, fields.errors);
    states
        .filter(|_| fields.errors.len() == before)
        .map(Arc::new)
}

fn map_state(
    fields: &mut Fields<'_, '_>,
    language: Language,
    machine_language: Language,
) -> Option<Kind> {
    let processor_key = match (
        fields.map.contains_key("ItemProcessor"),
        fields.map.contains_key("Iterator"),
    ) {
        (true, false) => "ItemProcessor",
        (false, true) => "Iterator",
        _ => {
            fields.error(
                "ItemProcessor",
                "a Map state needs exactly one of 'ItemProcessor' or 'Iterator'",
            );
            return None;
        }
    };
    if fields.map.contains_key("ItemSelector") && fields.map.contains_key("Parameters") {
        fields.error(
            "Parameters",
            "'ItemSelector' replaces 'Parameters' in a Map state; use one",
        );
    }
    let (item_selector, jsonata_item_selector, items) = match language {
        Language::JsonPath if fields.map.contains_key("ItemSelector") => {
            (fields.template("ItemSelector"), None, None)
        }
        Language::JsonPath => (fields.template("Parameters"), None, None),
        Language::Jsonata => (
            None,
            fields.jsonata_template("ItemSelector"),
            fields.jsonata_template("Items"),
        ),
    };
    let at = fields.at(processor_key);
    let distributed = fields
        .get(processor_key)
        .and_then(|p| p.pointer("/ProcessorConfig/Mode"))
        .is_some_and(|mode| mode == "DISTRIBUTED");
    let label = fields
        .get("Label")
        .and_then(Value::as_str)
        .map(str::to_string);
    let processor = match fields.get(processor_key) {
        Some(Value::Object(map)) => sub_machine(map, at, fields.errors, machine_language)?,
        _ => {
            fields.error(
                processor_key,
                format!("'{processor_key}' must be an object with StartAt and States"),
            );
            return None;
        }
    };
    let items_path = match fields.get("ItemsPath") {
        None => Path::parse("$").expect("'$' is a path"),
        Some(_) => fields.path("ItemsPath")?,
    };
    let (max_concurrency, tolerated_failure_count, tolerated_failure_percentage) = match language {
        Language::JsonPath => (
            count_or_path(fields, "MaxConcurrency").unwrap_or(Count::Fixed(0)),
            count_or_path(fields, "ToleratedFailureCount"),
            percentage_or_path(fields),
        ),
        Language::Jsonata => (
            count_or_expression(fields, "MaxConcurrency").unwrap_or(Count::Fixed(0)),
            count_or_expression(fields, "ToleratedFailureCount"),
            fields.literal_or_expression(
                "ToleratedFailurePercentage",
                "a number",
                fixed_percentage,
                Percentage::Expression,
            ),
        ),
    };
    Some(Kind::Map(Box::new(MapSpec {
        items_path,
        items,
        item_selector,
        jsonata_item_selector,
        processor,
        max_concurrency,
        tolerated_failure_count,
        tolerated_failure_percentage,
        distributed,
        label,
    })))
}

/// A JSONPath count: `Key` (an integer) or `KeyPath`.
fn count_or_path(fields: &mut Fields<'_, '_>, key: &str) -> Option<Count> {
    let path_key = format!("{key}Path");
    fields.exclusive(key, &path_key);
    if fields.map.contains_key(&path_key) {
        fields.path(&path_key).map(Count::Path)
    } else {
        fields.integer(key, 0).map(Count::Fixed)
    }
}

/// A JSONata count: an integer or an expression.
fn count_or_expression(fields: &mut Fields<'_, '_>, key: &str) -> Option<Count> {
    fields.literal_or_expression(
        key,
        "an integer",
        |fields| fields.integer(key, 0).map(Count::Fixed),
        Count::Expression,
    )
}

/// `ToleratedFailurePercentage`: a number from 0 to 100.
fn fixed_percentage(fields: &mut Fields<'_, '_>) -> Option<Percentage> {
    let value = fields.get("ToleratedFailurePercentage")?;
    match value.as_f64().filter(|p| (0.0..=100.0).contains(p)) {
        Some(p) => Some(Percentage::Fixed(p)),
        None => {
            fields.error(
                "ToleratedFailurePercentage",
                format!("must be a number from 0 to 100, got {value}"),
            );
            None
        }
    }
}

/// JSONPath: `ToleratedFailurePercentage` or `ToleratedFailurePercentagePath`.
fn percentage_or_path(fields: &mut Fields<'_, '_>) -> Option<Percentage> {
    fields.exclusive(
        "ToleratedFailurePercentage",
        "ToleratedFailurePercentagePath",
    );
    if fields.map.contains_key("ToleratedFailurePercentagePath") {
        fields
            .path("ToleratedFailurePercentagePath")
            .map(Percentage::Path)
    } else {
        fixed_percentage(fields)
    }
}

/// `ErrorEquals` of a retrier or catcher: non-empty; `States.ALL` alone.
fn error_equals(fields: &mut Fields<'_, '_>) -> Option<Vec<String>> {
    let list: Option<Vec<String>> = match fields.get("ErrorEquals") {
        Some(Value::Array(items)) if !items.is_empty() => items
            .iter()
            .map(|v| v.as_str().map(str::to_string))
            .collect(),
        _ => None,
    };
    let Some(list) = list else {
        fields.error(
            "ErrorEquals",
            "'ErrorEquals' must be a non-empty array of error names",
        );
        return None;
    };
    if list.len() > 1 && list.iter().any(|e| e == names::ALL) {
        fields.error(
            "ErrorEquals",
            "'States.ALL' must appear alone in 'ErrorEquals'",
        );
    }
    Some(list)
}

fn entries<T>(
    fields: &mut Fields<'_, '_>,
    key: &str,
    mut one: impl FnMut(&mut Fields<'_, '_>) -> Option<T>,
) -> Vec<(Vec<String>, T)> {
    let Some(value) = fields.get(key) else {
        return Vec::new();
    };
    let Value::Array(items) = value else {
        fields.error(key, format!("'{key}' must be an array"));
        return Vec::new();
    };
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let at = format!("{}/{i}", fields.at(key));
        let Value::Object(map) = item else {
            fields.errors.push(ValidationError::new(
                SCHEMA,
                &at,
                format!("each '{key}' entry must be an object"),
            ));
            continue;
        };
        let mut entry = Fields {
            map,
            at,
            errors: fields.errors,
        };
        let errors = error_equals(&mut entry);
        if let Some(errors) = &errors
            && errors.iter().any(|e| e == names::ALL)
            && i + 1 != items.len()
        {
            entry.error(
                "ErrorEquals",
                format!("the '{key}' entry with 'States.ALL' must be the last"),
            );
        }
        if let (Some(errors), Some(rest)) = (errors, one(&mut entry)) {
            out.push((errors, rest));
        }
    }
    out
}

fn retriers(fields: &mut Fields<'_, '_>) -> Vec<Retrier> {
    entries(fields, "Retry", |entry| {
        entry.only(
            &[
                "ErrorEquals",
                "IntervalSeconds",
                "MaxAttempts",
                "BackoffRate",
                "MaxDelaySeconds",
                "JitterStrategy",
                "Comment",
            ],
            "in a Retry entry",
        );
        let interval_seconds = entry.integer("IntervalSeconds", 1);
        let max_attempts = entry.integer("MaxAttempts", 0);
        let max_delay_seconds = entry.integer("MaxDelaySeconds", 1);
        let backoff_rate = match entry.get("BackoffRate") {
            None => Some(2.0),
            Some(value) => {
                let rate = value.as_f64().filter(|r| *r >= 1.0);
                if rate.is_none() {
                    entry.error(
                        "BackoffRate",
                        format!("'BackoffRate' must be a number >= 1.0, got {value}"),
                    );
                }
                rate
            }
        };
        let full_jitter = match entry.string("JitterStrategy") {
            None | Some("NONE") => Some(false),
            Some("FULL") => Some(true),
            Some(other) => {
                entry.error(
                    "JitterStrategy",
                    format!("'JitterStrategy' is FULL or NONE, got {other:?}"),
                );
                None
            }
        };
        let invalid =
            |key: &str, value: &Option<u64>| entry.map.contains_key(key) && value.is_none();
        if invalid("IntervalSeconds", &interval_seconds)
            || invalid("MaxAttempts", &max_attempts)
            || invalid("MaxDelaySeconds", &max_delay_seconds)
        {
            return None;
        }
        Some(Retrier {
            error_equals: Vec::new(),
            interval_seconds: interval_seconds.unwrap_or(1),
            max_attempts: max_attempts.unwrap_or(3),
            backoff_rate: backoff_rate?,
            max_delay_seconds,
            full_jitter: full_jitter?,
        })
    })
    .into_iter()
    .map(|(error_equals, retrier)| Retrier {
        error_equals,
        ..retrier
    })
    .collect()
}

fn catchers(fields: &mut Fields<'_, '_>, language: Language) -> Vec<Catcher> {
    let own: &[&str] = match language {
        Language::JsonPath => &["ResultPath"],
        Language::Jsonata => &["Output"],
    };
    entries(fields, "Catch", |entry| {
        let allowed = [["ErrorEquals", "Next", "Comment", "Assign"].as_slice(), own].concat();
        entry.only(&allowed, "in a Catch entry");
        let next = entry.required_string("Next")?.to_string();
        let result_path = entry.reference_path_or_null("ResultPath");
        if entry.map.get("ResultPath").is_some_and(|v| !v.is_null()) && result_path.is_none() {
            return None;
        }
        let output = entry.jsonata_template("Output");
        let assign = entry.assign(language);
        if (entry.map.contains_key("Output") && output.is_none())
            || (entry.map.contains_key("Assign") && assign.is_none())
        {
            return None;
        }
        Some((next, result_path, output, assign))
    })
    .into_iter()
    .map(
        |(error_equals, (next, result_path, output, assign))| Catcher {
            error_equals,
            next,
            result_path,
            output,
            assign,
        },
    )
    .collect()
}
