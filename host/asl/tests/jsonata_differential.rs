//! The JSONata evaluator against the reference implementation (the `jsonata` npm package,
//! pinned in tools/jsonata-ref): every case of `tests/jsonata/corpus.json` is evaluated by
//! both, and the results must agree: the same value (numbers equal as doubles and written
//! the same way), both
//! `undefined`, or both errors with the same code. Cases that still differ are listed with
//! the reason in `tests/jsonata/known-gaps.json`; the test fails on any other difference,
//! and on a listed gap that no longer differs (so the list stays true).
//!
//! Needs Node and `npm ci` in tools/jsonata-ref (scripts/test-tools.sh does both).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use cafe_report_asl::jsonata::Expression;
use serde_json::{Value, json};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn corpus_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/jsonata/corpus.json")
}

/// The reference results, from `node tools/jsonata-ref/eval.mjs`.
fn reference() -> Vec<Value> {
    let tool = repo().join("tools/jsonata-ref");
    assert!(
        tool.join("node_modules/jsonata").exists(),
        "the reference is not installed: run scripts/test-tools.sh (scripts/test.sh does)"
    );
    let output = Command::new("node")
        .arg(tool.join("eval.mjs"))
        .arg(corpus_path())
        .output()
        .expect("node runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("the reference prints JSON")
}

/// What our evaluator gives, in the reference script's shape.
fn ours(case: &Value) -> Value {
    let bindings: Vec<(&str, &Value)> = case
        .get("bindings")
        .and_then(Value::as_object)
        .map(|b| b.iter().map(|(k, v)| (k.as_str(), v)).collect())
        .unwrap_or_default();
    let result = Expression::parse(case["expr"].as_str().unwrap())
        .and_then(|expression| expression.evaluate(&case["input"], &bindings));
    match result {
        Ok(Some(value)) => json!({ "value": value }),
        Ok(None) => json!({ "undefined": true }),
        Err(err) => json!({ "error": { "code": err.code, "message": err.message } }),
    }
}

fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        // Equal as doubles, and written alike: `42`, never `42.0`, where JavaScript writes `42`.
        (Value::Number(x), Value::Number(y)) => {
            x.as_f64() == y.as_f64() && x.is_f64() == y.is_f64()
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}

fn agree(reference: &Value, ours: &Value) -> bool {
    if let Some(expected) = reference.get("error") {
        return ours
            .get("error")
            .is_some_and(|got| got["code"] == expected["code"]);
    }
    if reference.get("undefined").is_some() {
        return ours.get("undefined").is_some();
    }
    ours.get("value")
        .is_some_and(|value| same(&reference["value"], value))
}

#[test]
fn the_evaluator_agrees_with_the_reference_implementation() {
    let corpus: Vec<Value> =
        serde_json::from_str(&std::fs::read_to_string(corpus_path()).unwrap()).unwrap();
    let gaps: Vec<Value> = serde_json::from_str(
        &std::fs::read_to_string(corpus_path().with_file_name("known-gaps.json")).unwrap(),
    )
    .unwrap();
    let known: BTreeSet<&str> = gaps.iter().map(|g| g["expr"].as_str().unwrap()).collect();
    let reference = reference();
    assert_eq!(reference.len(), corpus.len());

    let mut per_category: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    let mut differing = BTreeSet::new();
    let mut unexpected = Vec::new();
    for (case, expected) in corpus.iter().zip(&reference) {
        let got = ours(case);
        let expr = case["expr"].as_str().unwrap();
        let entry = per_category
            .entry(case["category"].as_str().unwrap())
            .or_default();
        entry.1 += 1;
        if agree(expected, &got) {
            entry.0 += 1;
        } else {
            differing.insert(expr);
            if !known.contains(expr) {
                unexpected.push(format!(
                    "{expr}\n  reference: {expected}\n  ours:      {got}"
                ));
            }
        }
    }
    let agreeing = corpus.len() - differing.len();
    let package: Value = serde_json::from_str(
        &std::fs::read_to_string(repo().join("tools/jsonata-ref/package.json")).unwrap(),
    )
    .unwrap();
    println!(
        "JSONata differential: {agreeing} of {} cases agree with jsonata {} ({} known gaps)",
        corpus.len(),
        package["dependencies"]["jsonata"].as_str().unwrap_or("?"),
        known.len()
    );
    for (category, (ok, n)) in &per_category {
        println!("  {category}: {ok}/{n}");
    }
    assert!(
        unexpected.is_empty(),
        "differences:\n{}",
        unexpected.join("\n")
    );
    let fixed: Vec<&&str> = known.difference(&differing).collect();
    assert!(
        fixed.is_empty(),
        "listed as gaps but now agree (remove them from known-gaps.json): {fixed:?}"
    );
}
