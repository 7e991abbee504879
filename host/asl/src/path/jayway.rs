//! JSONPath as AWS reads it. Step Functions evaluates paths with Jayway JsonPath, whose
//! syntax is looser than RFC 9535's: dot notation takes any name up to the next `.` or
//! `[` (`$.delivery-partner`, `$.1st`), and a backslash in a bracketed name is part of
//! the name unless it escapes the enclosing quote (`$['Test\""Name"']`). serde_json_path implements RFC 9535 and evaluates
//! what both agree on the same way, so rather than write a second evaluator this module
//! translates a Jayway path into its RFC 9535 normal form (`$['delivery-partner']`),
//! which is also the form Jayway names paths by in its errors ("No results for path:
//! $['x']"). What is accepted:
//!
//! - `$` then any number of: `.name`, `.*`, `..name`, `..*`, `..[…]`, `[…]`;
//! - in brackets: `*`, quoted names (`'a'` or `"a"`, `\` escapes the next character;
//!   several separated by commas; a backslash escapes the enclosing quote only), indexes (`0`, `-1`, several), slices (`1:3`, `:2`,
//!   `::2`), and filters `?(…)`, whose body is RFC 9535's filter language with Jayway's
//!   dot names inside it translated too;
//! - a name in dot notation may hold any character but `.`, `[`, `]`, `(`, `)`, quotes
//!   and white space. Jayway's path functions (`.length()`) are refused.

/// A path translated to RFC 9535, and whether it selects at most one node (a "definite"
/// path in Jayway's words: no wildcard, descendant, filter, slice or union).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Translated {
    pub(crate) text: String,
    pub(crate) singular: bool,
}

/// Translates `text` (starting at its `$`) to RFC 9535.
pub(crate) fn translate(text: &str) -> Result<Translated, String> {
    let mut chars = Cursor::new(text);
    if chars.next() != Some('$') {
        return Err("a path starts with '$'".into());
    }
    let mut out = String::from("$");
    let mut singular = true;
    while let Some(c) = chars.next() {
        match c {
            '.' if chars.peek() == Some('.') => {
                chars.next();
                singular = false;
                out.push_str("..");
                match chars.peek() {
                    Some('[') => {}
                    Some('*') => {
                        chars.next();
                        out.push('*');
                    }
                    _ => out.push_str(&member(&dot_name(&mut chars)?)),
                }
            }
            '.' => match chars.peek() {
                Some('*') => {
                    chars.next();
                    singular = false;
                    out.push_str("[*]");
                }
                _ => out.push_str(&member(&dot_name(&mut chars)?)),
            },
            '[' => {
                let (selector, definite) = bracket(&mut chars)?;
                singular &= definite;
                out.push('[');
                out.push_str(&selector);
                out.push(']');
            }
            other => {
                return Err(format!(
                    "expected '.' or '[' at position {}, found '{other}'",
                    chars.at() - 1
                ));
            }
        }
    }
    Ok(Translated {
        text: out,
        singular,
    })
}

/// A character cursor that knows its position (for error messages).
struct Cursor<'t> {
    chars: std::iter::Peekable<std::str::Chars<'t>>,
    position: usize,
}

impl<'t> Cursor<'t> {
    fn new(text: &'t str) -> Self {
        Self {
            chars: text.chars().peekable(),
            position: 0,
        }
    }

    fn peek(&mut self) -> Option<char> {
        self.chars.peek().copied()
    }

    fn at(&self) -> usize {
        self.position
    }
}

impl Iterator for Cursor<'_> {
    type Item = char;

    fn next(&mut self) -> Option<char> {
        let c = self.chars.next()?;
        self.position += 1;
        Some(c)
    }
}

/// Characters that end a name in dot notation.
fn ends_dot_name(c: char) -> bool {
    matches!(c, '.' | '[' | ']' | '(' | ')' | '\'' | '"') || c.is_whitespace()
}

fn dot_name(chars: &mut Cursor<'_>) -> Result<String, String> {
    let mut name = String::new();
    while let Some(c) = chars.peek() {
        if ends_dot_name(c) {
            break;
        }
        name.push(c);
        chars.next();
    }
    match chars.peek() {
        _ if name.is_empty() => Err(format!(
            "expected a name after '.' at position {}",
            chars.at()
        )),
        Some('(') => Err(format!(
            "path functions such as '{name}()' are not supported"
        )),
        Some(c) if c.is_whitespace() => Err(format!(
            "white space after '{name}': use bracket notation ['...'] for names with blanks"
        )),
        _ => Ok(name),
    }
}

/// A member-name segment in normal form: `['name']`.
fn member(name: &str) -> String {
    format!("[{}]", quoted(name))
}

/// A name as an RFC 9535 single-quoted string literal.
fn quoted(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 2);
    out.push('\'');
    for c in name.chars() {
        match c {
            '\'' => out.push_str("\\'"),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

/// The inside of `[...]` (the `[` read), translated, and whether it selects one node.
fn bracket(chars: &mut Cursor<'_>) -> Result<(String, bool), String> {
    skip_blanks(chars);
    match chars.peek() {
        Some('*') => {
            chars.next();
            close(chars)?;
            Ok(("*".into(), false))
        }
        Some('?') => {
            chars.next();
            let body = filter_body(chars)?;
            Ok((format!("?{body}"), false))
        }
        Some('\'' | '"') => {
            let mut names = Vec::new();
            loop {
                skip_blanks(chars);
                let quote = chars.next().filter(|c| *c == '\'' || *c == '"');
                let Some(quote) = quote else {
                    return Err(format!("expected a quoted name at position {}", chars.at()));
                };
                names.push(quoted(&quoted_name(chars, quote)?));
                skip_blanks(chars);
                match chars.next() {
                    Some(',') => continue,
                    Some(']') => break,
                    _ => return Err(format!("expected ',' or ']' at position {}", chars.at())),
                }
            }
            let singular = names.len() == 1;
            Ok((names.join(","), singular))
        }
        _ => {
            let mut inner = String::new();
            loop {
                match chars.next() {
                    None => return Err("unclosed '['".into()),
                    Some(']') => break,
                    Some(c) if c.is_ascii_digit() || matches!(c, '-' | ':' | ',') => inner.push(c),
                    Some(c) if c.is_whitespace() => {}
                    Some(c) => {
                        return Err(format!(
                            "unexpected '{c}' in brackets at position {}",
                            chars.at() - 1
                        ));
                    }
                }
            }
            if inner.is_empty() {
                return Err("empty brackets '[]'".into());
            }
            let singular = !inner.contains([':', ',']);
            Ok((inner, singular))
        }
    }
}

fn skip_blanks(chars: &mut Cursor<'_>) {
    while chars.peek().is_some_and(char::is_whitespace) {
        chars.next();
    }
}

fn close(chars: &mut Cursor<'_>) -> Result<(), String> {
    skip_blanks(chars);
    match chars.next() {
        Some(']') => Ok(()),
        _ => Err(format!("expected ']' at position {}", chars.at())),
    }
}

/// A quoted name's value (the opening quote read). A backslash escapes only the quote
/// that encloses the name; before anything else it is part of the name, as on AWS
/// (test_escape_sequence_parsing: `$['Test\""Name"']` names `Test\""Name"`).
fn quoted_name(chars: &mut Cursor<'_>, quote: char) -> Result<String, String> {
    let mut name = String::new();
    loop {
        match chars.next() {
            None => return Err("unclosed quoted name".into()),
            Some('\\') if chars.peek() == Some(quote) => {
                chars.next();
                name.push(quote);
            }
            Some(c) if c == quote => return Ok(name),
            Some(c) => name.push(c),
        }
    }
}

/// A filter's body up to the `]` that closes it (the `?` read), with the dot names of
/// its `@` and `$` paths translated. Quoted strings pass through; brackets nest.
fn filter_body(chars: &mut Cursor<'_>) -> Result<String, String> {
    let mut out = String::new();
    let mut depth = 0usize;
    loop {
        let Some(c) = chars.next() else {
            return Err("unclosed filter '[?'".into());
        };
        match c {
            '\'' | '"' => {
                out.push(c);
                loop {
                    match chars.next() {
                        None => return Err("unclosed string in filter".into()),
                        Some('\\') => {
                            out.push('\\');
                            out.extend(chars.next());
                        }
                        Some(q) if q == c => {
                            out.push(q);
                            break;
                        }
                        Some(other) => out.push(other),
                    }
                }
            }
            '[' => {
                depth += 1;
                out.push(c);
            }
            ']' if depth == 0 => return Ok(out),
            ']' => {
                depth -= 1;
                out.push(c);
            }
            '@' | '$' => {
                out.push(c);
                while chars.peek() == Some('.') {
                    chars.next();
                    if chars.peek() == Some('.') {
                        chars.next();
                        out.push_str("..");
                    }
                    if chars.peek() == Some('*') {
                        chars.next();
                        out.push_str("[*]");
                        continue;
                    }
                    let mut name = String::new();
                    while let Some(n) = chars.peek() {
                        if ends_dot_name(n) || "=!<>&|,".contains(n) {
                            break;
                        }
                        name.push(n);
                        chars.next();
                    }
                    if name.is_empty() {
                        return Err("expected a name after '.' in filter".into());
                    }
                    out.push_str(&member(&name));
                }
            }
            other => out.push(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rfc(text: &str) -> String {
        translate(text).unwrap().text
    }

    #[test]
    fn dot_names_take_what_jayway_takes() {
        // test_map_state_item_selector (AWS): `$.delivery-partner` selects the field.
        assert_eq!(rfc("$.delivery-partner"), "$['delivery-partner']");
        assert_eq!(rfc("$.a.b"), "$['a']['b']");
        assert_eq!(rfc("$.1st"), "$['1st']");
        assert_eq!(rfc("$.a$b"), "$['a$b']");
        assert_eq!(rfc("$"), "$");
        assert!(translate("$.a b").is_err());
        assert!(translate("$.").is_err());
        assert!(translate("$.a.length()").is_err());
        assert!(translate("a.b").is_err());
    }

    #[test]
    fn a_backslash_escapes_only_the_enclosing_quote() {
        // test_escape_sequence_parsing (AWS): in `$['Test\""Name"']` the backslash stays.
        assert_eq!(rfc(r#"$['Test\""Name"']"#), r#"$['Test\\""Name"']"#);
        assert_eq!(rfc(r"$['it\'s']"), r"$['it\'s']");
        assert_eq!(rfc(r#"$["say \"hi\""]"#), r#"$['say "hi"']"#);
        assert_eq!(rfc(r#"$["it's"]"#), r"$['it\'s']");
        assert_eq!(rfc("$['a','b']"), "$['a','b']");
        assert!(translate("$['a").is_err());
    }

    #[test]
    fn wildcards_indexes_slices_and_filters() {
        assert_eq!(rfc("$.a[*]"), "$['a'][*]");
        assert_eq!(rfc("$.a.*"), "$['a'][*]");
        assert_eq!(rfc("$..name"), "$..['name']");
        assert_eq!(rfc("$..*"), "$..*");
        assert_eq!(rfc("$.a[0]"), "$['a'][0]");
        assert_eq!(rfc("$.a[-1]"), "$['a'][-1]");
        assert_eq!(rfc("$.a[1:3]"), "$['a'][1:3]");
        assert_eq!(rfc("$.a[0, 2]"), "$['a'][0,2]");
        assert_eq!(
            rfc("$.items[?(@.dest-code == 9511)]"),
            "$['items'][?(@['dest-code'] == 9511)]"
        );
        assert_eq!(
            rfc("$.items[?(@.name == 'a]b')]"),
            "$['items'][?(@['name'] == 'a]b')]"
        );
    }

    #[test]
    fn singular_paths_are_the_definite_ones() {
        for definite in ["$", "$.a", "$.a[0]", "$['a']", "$.a[-1]"] {
            assert!(translate(definite).unwrap().singular, "{definite}");
        }
        for indefinite in [
            "$.a[*]",
            "$..a",
            "$.a[0:1]",
            "$.a[0,1]",
            "$['a','b']",
            "$.a[?(@.x)]",
        ] {
            assert!(!translate(indefinite).unwrap().singular, "{indefinite}");
        }
    }
}
