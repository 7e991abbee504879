//! Intrinsic functions (`States.Format('{}', $.x)` and the 17 others): a small parser run
//! at validation time and an evaluator run per state.

use base64::Engine as _;
use serde_json::{Number, Value};
use sha2::Digest as _;

use crate::error::StatesError;
use crate::path::{Path, kind_of};
use crate::variables::Env;

/// AWS allows at most 10 intrinsic calls nested in one field.
const MAX_NESTING: usize = 10;
/// Limit AWS puts on Base64 and Hash inputs.
const MAX_ENCODE_CHARS: usize = 10_000;
/// Limit AWS puts on the length of `States.ArrayRange`.
const MAX_RANGE_ITEMS: usize = 1000;

/// The hex digest of `data` with one of the algorithms Step Functions offers (States.Hash
/// and JSONata's `$hash`), or `None` for another name.
pub(crate) fn hash_hex(data: &str, algorithm: &str) -> Option<String> {
    let data = data.as_bytes();
    Some(match algorithm {
        "MD5" => hex::encode(md5::Md5::digest(data)),
        "SHA-1" => hex::encode(sha1::Sha1::digest(data)),
        "SHA-256" => hex::encode(sha2::Sha256::digest(data)),
        "SHA-384" => hex::encode(sha2::Sha384::digest(data)),
        "SHA-512" => hex::encode(sha2::Sha512::digest(data)),
        _ => return None,
    })
}

/// The functions, with the number of arguments each takes (min, max).
const FUNCTIONS: &[(&str, usize, usize)] = &[
    ("States.Format", 1, usize::MAX),
    ("States.StringToJson", 1, 1),
    ("States.JsonToString", 1, 1),
    ("States.Array", 0, usize::MAX),
    ("States.ArrayPartition", 2, 2),
    ("States.ArrayContains", 2, 2),
    ("States.ArrayRange", 3, 3),
    ("States.ArrayGetItem", 2, 2),
    ("States.ArrayLength", 1, 1),
    ("States.ArrayUnique", 1, 1),
    ("States.Base64Encode", 1, 1),
    ("States.Base64Decode", 1, 1),
    ("States.Hash", 2, 2),
    ("States.JsonMerge", 3, 3),
    ("States.MathRandom", 2, 3),
    ("States.MathAdd", 2, 2),
    ("States.StringSplit", 2, 2),
    ("States.UUID", 0, 0),
];

/// One argument of a call.
#[derive(Debug, Clone)]
enum Arg {
    /// A string literal: its value, and its source text (`States.Format` reads `\{`).
    Text {
        value: String,
        raw: String,
    },
    Literal(Value),
    Path(Path),
    Call(Call),
}

/// A parsed intrinsic call.
#[derive(Debug, Clone)]
pub(crate) struct Call {
    name: &'static str,
    args: Vec<Arg>,
}

/// Whether a `.$` field's text is an intrinsic call rather than a path.
pub(crate) fn looks_like_call(text: &str) -> bool {
    text.trim_start().starts_with("States.")
}

impl Call {
    /// Parses one call, e.g. `States.Format('{} {}', $.a, States.UUID())`.
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        let mut parser = Parser { text, at: 0 };
        let call = parser.call(0)?;
        parser.skip_space();
        if parser.at != text.len() {
            return Err(parser.error("unexpected text after the call"));
        }
        Ok(call)
    }

    /// Evaluates the call against the state's input, the context object and the variables.
    pub(crate) fn eval(&self, input: &Value, env: Env<'_>) -> Result<Value, StatesError> {
        let args = self
            .args
            .iter()
            .map(|arg| match arg {
                Arg::Text { value, .. } => Ok(Value::String(value.clone())),
                Arg::Literal(value) => Ok(value.clone()),
                Arg::Path(path) => path.select(input, env),
                Arg::Call(call) => call.eval(input, env),
            })
            .collect::<Result<Vec<_>, _>>()?;
        let raw_template = match self.args.first() {
            Some(Arg::Text { raw, .. }) => Some(raw.as_str()),
            _ => None,
        };
        functions::apply(self.name, &args, raw_template, env.random).map_err(|why| {
            StatesError::intrinsic(format!("Invalid arguments in {}: {why}", self.name))
        })
    }
}

struct Parser<'a> {
    text: &'a str,
    at: usize,
}

impl Parser<'_> {
    fn error(&self, why: &str) -> String {
        format!(
            "invalid intrinsic function {:?} at character {}: {why}",
            self.text, self.at
        )
    }

    fn rest(&self) -> &str {
        &self.text[self.at..]
    }

    fn skip_space(&mut self) {
        let trimmed = self.rest().trim_start();
        self.at = self.text.len() - trimmed.len();
    }

    fn eat(&mut self, c: char) -> bool {
        self.skip_space();
        if self.rest().starts_with(c) {
            self.at += c.len_utf8();
            true
        } else {
            false
        }
    }

    fn call(&mut self, depth: usize) -> Result<Call, String> {
        if depth >= MAX_NESTING {
            return Err(self.error("more than 10 nested intrinsic functions"));
        }
        self.skip_space();
        let name_len = self
            .rest()
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '.'))
            .unwrap_or(self.rest().len());
        let name = &self.rest()[..name_len];
        let Some(&(known, min, max)) = FUNCTIONS.iter().find(|(f, ..)| *f == name) else {
            return Err(self.error(&format!("unknown function {name:?}")));
        };
        self.at += name_len;
        if !self.eat('(') {
            return Err(self.error("expected '(' after the function name"));
        }
        let mut args = Vec::new();
        if !self.eat(')') {
            loop {
                args.push(self.arg(depth)?);
                if self.eat(')') {
                    break;
                }
                if !self.eat(',') {
                    return Err(self.error("expected ',' or ')'"));
                }
            }
        }
        if args.len() < min || args.len() > max {
            let expected = match (min, max) {
                (min, max) if min == max => format!("{min}"),
                (min, usize::MAX) => format!("at least {min}"),
                (min, max) => format!("{min} to {max}"),
            };
            return Err(self.error(&format!(
                "{known} takes {expected} arguments, got {}",
                args.len()
            )));
        }
        Ok(Call { name: known, args })
    }

    fn arg(&mut self, depth: usize) -> Result<Arg, String> {
        self.skip_space();
        let rest = self.rest();
        if rest.starts_with('\'') {
            return self.string();
        }
        if rest.starts_with("States.") {
            return Ok(Arg::Call(self.call(depth + 1)?));
        }
        // Paths, numbers and keywords run to the next ',' or ')' outside brackets/quotes.
        let mut end = rest.len();
        let (mut brackets, mut quote) = (0usize, None);
        for (i, c) in rest.char_indices() {
            match (quote, c) {
                (Some(q), c) if c == q => quote = None,
                (Some(_), _) => {}
                (None, '\'' | '"') => quote = Some(c),
                (None, '[' | '(') => brackets += 1,
                (None, ']' | ')') if brackets > 0 => brackets -= 1,
                (None, ',' | ')') => {
                    end = i;
                    break;
                }
                _ => {}
            }
        }
        let token = rest[..end].trim();
        let arg = if token.starts_with('$') {
            Arg::Path(Path::parse(token).map_err(|why| self.error(&why))?)
        } else if let Ok(value @ (Value::Number(_) | Value::Bool(_) | Value::Null)) =
            serde_json::from_str::<Value>(token)
        {
            Arg::Literal(value)
        } else {
            return Err(self.error(&format!("{token:?} is not a string, number, path or call")));
        };
        self.at += end;
        Ok(arg)
    }

    fn string(&mut self) -> Result<Arg, String> {
        let start = self.at;
        self.at += 1;
        let mut value = String::new();
        let mut chars = self.rest().char_indices();
        loop {
            match chars.next() {
                None => return Err(self.error("unterminated string")),
                Some((i, '\'')) => {
                    let raw = self.text[start + 1..self.at + i].to_string();
                    self.at += i + 1;
                    return Ok(Arg::Text { value, raw });
                }
                Some((_, '\\')) => match chars.next() {
                    Some((_, c @ ('\'' | '{' | '}' | '\\'))) => value.push(c),
                    _ => return Err(self.error("only \\' \\{ \\} and \\\\ may be escaped")),
                },
                Some((_, c)) => value.push(c),
            }
        }
    }
}

/// The functions themselves, on evaluated arguments.
mod functions {
    use super::*;

    pub(super) fn apply(
        name: &str,
        args: &[Value],
        raw: Option<&str>,
        source: &dyn cafe_report_base::random::Random,
    ) -> Result<Value, String> {
        match name {
            "States.Format" => format(args, raw),
            "States.StringToJson" => {
                let text = string(&args[0], "argument")?;
                // AWS gives null for an empty or blank string (test_string_to_json).
                if text.trim().is_empty() {
                    return Ok(Value::Null);
                }
                serde_json::from_str(text).map_err(|err| format!("not JSON text: {err}"))
            }
            "States.JsonToString" => Ok(Value::String(args[0].to_string())),
            "States.Array" => Ok(Value::Array(args.to_vec())),
            "States.ArrayPartition" => {
                let items = array(&args[0])?;
                let size = integer(&args[1], "chunk size")?;
                if size < 1 {
                    return Err(format!("chunk size must be positive, got {size}"));
                }
                let size = usize::try_from(size).map_err(|_| "chunk size too large")?;
                Ok(items
                    .chunks(size)
                    .map(|c| Value::Array(c.to_vec()))
                    .collect())
            }
            "States.ArrayContains" => Ok(Value::Bool(array(&args[0])?.contains(&args[1]))),
            "States.ArrayRange" => range(args),
            "States.ArrayGetItem" => {
                let items = array(&args[0])?;
                let index = integer(&args[1], "index")?;
                usize::try_from(index)
                    .ok()
                    .and_then(|i| items.get(i))
                    .cloned()
                    .ok_or_else(|| {
                        format!("index {index} is out of bounds (length {})", items.len())
                    })
            }
            "States.ArrayLength" => Ok(Value::from(array(&args[0])?.len())),
            "States.ArrayUnique" => {
                let mut unique: Vec<Value> = Vec::new();
                for item in array(&args[0])? {
                    if !unique.contains(item) {
                        unique.push(item.clone());
                    }
                }
                Ok(Value::Array(unique))
            }
            "States.Base64Encode" => {
                let text = limited(&args[0])?;
                Ok(base64::engine::general_purpose::STANDARD
                    .encode(text)
                    .into())
            }
            "States.Base64Decode" => {
                let text = limited(&args[0])?;
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(text)
                    .map_err(|err| format!("not Base64: {err}"))?;
                String::from_utf8(bytes)
                    .map(Value::String)
                    .map_err(|_| "the decoded bytes are not UTF-8 text".to_string())
            }
            "States.Hash" => hash(&args[0], &args[1]),
            "States.JsonMerge" => merge(args),
            "States.MathRandom" => random(args, source),
            "States.MathAdd" => {
                let sum = rounded(&args[0], "first value")?
                    .checked_add(rounded(&args[1], "second value")?)
                    .ok_or("the sum overflows")?;
                Ok(Value::from(sum))
            }
            "States.StringSplit" => {
                let text = string(&args[0], "string")?;
                let delimiters: Vec<char> = string(&args[1], "delimiter")?.chars().collect();
                Ok(text
                    .split(delimiters.as_slice())
                    .filter(|part| !part.is_empty())
                    .map(|part| Value::String(part.to_string()))
                    .collect())
            }
            "States.UUID" => Ok(Value::String(source.uuid())),
            other => Err(format!("unknown function {other}")),
        }
    }

    fn string<'v>(value: &'v Value, what: &str) -> Result<&'v str, String> {
        value
            .as_str()
            .ok_or_else(|| format!("the {what} must be a string, got {}", kind_of(value)))
    }

    fn limited(value: &Value) -> Result<&str, String> {
        let text = string(value, "argument")?;
        if text.chars().count() > MAX_ENCODE_CHARS {
            return Err(format!(
                "the input is longer than {MAX_ENCODE_CHARS} characters"
            ));
        }
        Ok(text)
    }

    fn array(value: &Value) -> Result<&Vec<Value>, String> {
        value
            .as_array()
            .ok_or_else(|| format!("expected an array, got {}", kind_of(value)))
    }

    /// Whole numbers only (`3` or `3.0`), as AWS accepts them.
    fn integer(value: &Value, what: &str) -> Result<i64, String> {
        let Value::Number(number) = value else {
            return Err(format!(
                "the {what} must be a number, got {}",
                kind_of(value)
            ));
        };
        number
            .as_i64()
            .or_else(|| {
                number
                    .as_f64()
                    .filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15)
                    .map(|f| f as i64)
            })
            .ok_or_else(|| format!("the {what} must be an integer, got {number}"))
    }

    /// Any number, rounded half up as Java's `Math.round` does: MathAdd and MathRandom
    /// take non-integral arguments on AWS (1.49 + 1.5 gives 3, -1.5 + 0 gives -1).
    pub(super) fn rounded(value: &Value, what: &str) -> Result<i64, String> {
        match value {
            Value::Number(number) => match number.as_i64() {
                Some(n) => Ok(n),
                None => number
                    .as_f64()
                    .map(|f| (f + 0.5).floor())
                    .filter(|f| f.abs() < 9.0e18)
                    .map(|f| f as i64)
                    .ok_or_else(|| format!("the {what} is out of range: {number}")),
            },
            other => Err(format!(
                "the {what} must be a number, got {}",
                kind_of(other)
            )),
        }
    }

    /// A value as `States.Format` writes it: strings as they are, objects and arrays as
    /// Java's collections print themselves (`{Arg1=1, Arg2=[]}`), as AWS renders them.
    fn formatted(value: &Value, out: &mut String) {
        match value {
            Value::String(text) => out.push_str(text),
            Value::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    formatted(item, out);
                }
                out.push(']');
            }
            Value::Object(map) => {
                out.push('{');
                for (i, (key, item)) in map.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    out.push_str(key);
                    out.push('=');
                    formatted(item, out);
                }
                out.push('}');
            }
            other => out.push_str(&other.to_string()),
        }
    }

    fn format(args: &[Value], raw: Option<&str>) -> Result<Value, String> {
        let template = match raw {
            Some(raw) => raw.to_string(),
            None => string(&args[0], "template")?.to_string(),
        };
        let mut values = args[1..].iter();
        let mut out = String::new();
        let mut chars = template.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '\\' if raw.is_some() => out.extend(chars.next()),
                '{' if chars.peek() == Some(&'}') => {
                    chars.next();
                    match values.next() {
                        Some(value) => formatted(value, &mut out),
                        None => return Err("more placeholders '{}' than arguments".into()),
                    }
                }
                c => out.push(c),
            }
        }
        if values.next().is_some() {
            return Err("more arguments than placeholders '{}'".into());
        }
        Ok(Value::String(out))
    }

    fn range(args: &[Value]) -> Result<Value, String> {
        let start = integer(&args[0], "start")?;
        let end = integer(&args[1], "end")?;
        let step = integer(&args[2], "step")?;
        if step == 0 {
            return Err("the step must not be 0".into());
        }
        let mut items = Vec::new();
        let mut at = start;
        while (step > 0 && at <= end) || (step < 0 && at >= end) {
            if items.len() == MAX_RANGE_ITEMS {
                return Err(format!("the range has more than {MAX_RANGE_ITEMS} items"));
            }
            items.push(Value::from(at));
            at = match at.checked_add(step) {
                Some(next) => next,
                None => break,
            };
        }
        Ok(Value::Array(items))
    }

    fn hash(data: &Value, algorithm: &Value) -> Result<Value, String> {
        let data = limited(data)?;
        let algorithm = string(algorithm, "algorithm")?;
        super::hash_hex(data, algorithm)
            .map(Value::String)
            .ok_or_else(|| {
                format!("unknown algorithm {algorithm:?} (MD5, SHA-1, SHA-256, SHA-384, SHA-512)")
            })
    }

    fn merge(args: &[Value]) -> Result<Value, String> {
        let (Value::Object(left), Value::Object(right)) = (&args[0], &args[1]) else {
            return Err("both values must be objects".into());
        };
        match args[2] {
            Value::Bool(false) => {}
            Value::Bool(true) => return Err("deep merging is not supported (as on AWS)".into()),
            ref other => {
                return Err(format!(
                    "the deep flag must be a boolean, got {}",
                    kind_of(other)
                ));
            }
        }
        let mut merged = left.clone();
        merged.extend(right.iter().map(|(k, v)| (k.clone(), v.clone())));
        Ok(Value::Object(merged))
    }

    /// A random integer from `start` (inclusive) to `end` (exclusive); a seed makes it
    /// repeatable.
    fn random(
        args: &[Value],
        source: &dyn cafe_report_base::random::Random,
    ) -> Result<Value, String> {
        use rand::{Rng, SeedableRng};
        let start = rounded(&args[0], "start")?;
        let end = rounded(&args[1], "end")?;
        if start >= end {
            return Err(format!("start ({start}) must be less than end ({end})"));
        }
        let value = match args.get(2) {
            Some(seed) => {
                let seed = rounded(seed, "seed")?;
                rand::rngs::StdRng::seed_from_u64(seed as u64).random_range(start..end)
            }
            // Without a seed, the engine's source (repeatable when it is seeded).
            None => {
                let span = (i128::from(end) - i128::from(start)) as f64;
                let offset = (source.unit() * span) as i128;
                // Rounding can reach `end` on huge spans; it is exclusive.
                i64::try_from(i128::from(start) + offset).map_or(end - 1, |v| v.min(end - 1))
            }
        };
        Ok(Value::Number(Number::from(value)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::names;
    use serde_json::json;

    fn eval(text: &str, input: Value) -> Result<Value, StatesError> {
        let context = json!({"Execution": {"Name": "exec-1"}});
        let variables = crate::variables::Variables::default();
        let env = Env {
            context: &context,
            variables: &variables,
            random: &cafe_report_base::random::SystemRandom,
        };
        Call::parse(text).unwrap().eval(&input, env)
    }

    fn ok(text: &str, input: Value) -> Value {
        eval(text, input).unwrap_or_else(|err| panic!("{text}: {err}"))
    }

    #[test]
    fn format_escapes_and_placeholders() {
        let input = json!({"name": "Ana", "n": 3, "o": {"a": 1}});
        assert_eq!(
            ok(
                "States.Format('Hi {}, {} items', $.name, $.n)",
                input.clone()
            ),
            json!("Hi Ana, 3 items")
        );
        assert_eq!(
            ok(r"States.Format('\{\} {} it\'s', $.o)", input.clone()),
            // Objects print as AWS prints them (test_format_2: `{Arg1=1, Arg2=[]}`).
            json!(r#"{} {a=1} it's"#)
        );
        assert_eq!(
            ok(
                "States.Format('report {}', $$.Execution.Name)",
                input.clone()
            ),
            json!("report exec-1")
        );
        assert_eq!(
            eval("States.Format('{} {}', $.n)", input)
                .unwrap_err()
                .error,
            names::INTRINSIC_FAILURE
        );
    }

    #[test]
    fn json_round_trips() {
        assert_eq!(
            ok("States.StringToJson($.s)", json!({"s": "{\"a\":[1,2]}"})),
            json!({"a": [1, 2]})
        );
        assert_eq!(
            ok("States.JsonToString($.o)", json!({"o": {"a": [1, 2]}})),
            json!("{\"a\":[1,2]}")
        );
        assert!(eval("States.StringToJson($.s)", json!({"s": "{"})).is_err());
    }

    #[test]
    fn array_functions() {
        let input = json!({"a": [1, 2, 3, 4, 5], "d": [1, 1, "x", "x", {"k": 1}, {"k": 1}]});
        assert_eq!(
            ok("States.Array($.a[0], 'two', 3, null, true)", input.clone()),
            json!([1, "two", 3, null, true])
        );
        assert_eq!(
            ok("States.ArrayPartition($.a, 2)", input.clone()),
            json!([[1, 2], [3, 4], [5]])
        );
        assert_eq!(
            ok("States.ArrayContains($.a, 3)", input.clone()),
            json!(true)
        );
        assert_eq!(
            ok("States.ArrayContains($.a, 9)", input.clone()),
            json!(false)
        );
        assert_eq!(
            ok("States.ArrayRange(1, 9, 2)", input.clone()),
            json!([1, 3, 5, 7, 9])
        );
        assert_eq!(
            ok("States.ArrayRange(5, 1, -2)", input.clone()),
            json!([5, 3, 1])
        );
        assert_eq!(ok("States.ArrayGetItem($.a, 4)", input.clone()), json!(5));
        assert_eq!(ok("States.ArrayLength($.a)", input.clone()), json!(5));
        assert_eq!(
            ok("States.ArrayUnique($.d)", input.clone()),
            json!([1, "x", {"k": 1}])
        );
        assert!(eval("States.ArrayGetItem($.a, 5)", input.clone()).is_err());
        assert!(eval("States.ArrayRange(1, 2000, 1)", input.clone()).is_err());
        assert!(eval("States.ArrayPartition($.a, 0)", input).is_err());
    }

    #[test]
    fn encoding_and_hashing() {
        let input = json!({"s": "Data to encode"});
        assert_eq!(
            ok("States.Base64Encode($.s)", input.clone()),
            json!("RGF0YSB0byBlbmNvZGU=")
        );
        assert_eq!(
            ok("States.Base64Decode('RGF0YSB0byBlbmNvZGU=')", input.clone()),
            json!("Data to encode")
        );
        assert_eq!(
            ok("States.Hash('abc', 'SHA-256')", input.clone()),
            json!("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        );
        assert_eq!(
            ok("States.Hash('abc', 'MD5')", input.clone()),
            json!("900150983cd24fb0d6963f7d28e17f72")
        );
        assert_eq!(
            ok("States.Hash('abc', 'SHA-1')", input.clone()),
            json!("a9993e364706816aba3e25717850c26c9cd0d89d")
        );
        assert!(eval("States.Hash('abc', 'SHA-3')", input).is_err());
    }

    #[test]
    fn merge_math_split_uuid() {
        let input = json!({"a": {"x": 1, "y": {"z": 1}}, "b": {"y": 2}});
        assert_eq!(
            ok("States.JsonMerge($.a, $.b, false)", input.clone()),
            json!({"x": 1, "y": 2})
        );
        assert!(eval("States.JsonMerge($.a, $.b, true)", input.clone()).is_err());
        assert_eq!(ok("States.MathAdd(111, -1)", input.clone()), json!(110));
        // Java's Math.round on each argument (test_math_add on AWS: 1.49 + 1.5 = 3,
        // -1.5 + 0 = -1, 0.5 + 0.5 = 2).
        assert_eq!(ok("States.MathAdd(1.5, 1)", input.clone()), json!(3));
        assert_eq!(ok("States.MathAdd(1.49, 1.5)", input.clone()), json!(3));
        assert_eq!(ok("States.MathAdd(-1.5, 0)", input.clone()), json!(-1));
        assert_eq!(ok("States.MathAdd(-2.5, 0)", input.clone()), json!(-2));
        assert!(eval("States.MathAdd('1', 1)", input.clone()).is_err());
        let seeded = ok("States.MathRandom(1, 999, 7)", input.clone());
        assert_eq!(seeded, ok("States.MathRandom(1, 999, 7)", input.clone()));
        let n = ok("States.MathRandom(1, 3)", input.clone())
            .as_i64()
            .unwrap();
        assert!((1..3).contains(&n));
        assert_eq!(
            ok(
                "States.StringSplit('This.is+a,test=string', '.+')",
                input.clone()
            ),
            json!(["This", "is", "a,test=string"])
        );
        let uuid = ok("States.UUID()", input);
        assert_eq!(uuid.as_str().unwrap().len(), 36);
    }

    #[test]
    fn nested_calls_evaluate_inside_out() {
        let input =
            json!({"Arn": "arn:aws:imagebuilder:us-east-1:123:image-recipe/my-recipe.v1/1.0.0"});
        let text = "States.Format('{}.{}', States.ArrayGetItem(States.StringSplit(States.ArrayGetItem(States.StringSplit($.Arn, '/'), 1), '.'), 0), States.ArrayLength(States.Array(1, 2)))";
        assert_eq!(ok(text, input), json!("my-recipe.2"));
    }

    #[test]
    fn syntax_errors_name_the_problem() {
        for (text, needle) in [
            ("States.Nope(1)", "unknown function"),
            ("States.Format('x'", "expected ',' or ')'"),
            ("States.ArrayLength()", "takes 1 arguments"),
            ("States.Format('unterminated)", "unterminated string"),
            ("States.Array(foo)", "not a string, number, path or call"),
            ("States.Array(1) trailing", "unexpected text"),
        ] {
            let err = Call::parse(text).unwrap_err();
            assert!(err.contains(needle), "{text}: {err}");
        }
        let deep = format!("{}1{}", "States.Array(".repeat(11), ")".repeat(11));
        assert!(Call::parse(&deep).unwrap_err().contains("nested"));
    }
}
