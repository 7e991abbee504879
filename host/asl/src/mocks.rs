//! Mocked service integrations in the format AWS Step Functions Local defined (its
//! `MockConfigFile.json`), so a team's existing mock files run unchanged:
//!
//! ```json
//! {"StateMachines": {"<machine name>": {"TestCases": {"<case>": {"<state>": "<response>"}}}},
//!  "MockedResponses": {"<response>": {"0": {"Return": ...}, "1-2": {"Throw": {"Error": ..., "Cause": ...}}}}}
//! ```
//!
//! An execution started as `<machine ARN>#<case>` answers the case's states from their
//! responses instead of calling anything: the Nth call of a state in that execution
//! (counted from 0, across retries and Map iterations) takes the response whose key
//! covers N; past the last key, the last response answers again.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use serde::Deserialize;
use serde_json::Value;

/// What a mocked call answers.
#[derive(Debug, Clone, PartialEq)]
pub enum MockedResponse {
    /// `Return`: the task's result, as the service would have answered.
    Return(Value),
    /// `Throw`: the task fails with this error and cause.
    Throw {
        /// `Error`.
        error: String,
        /// `Cause`.
        cause: String,
    },
}

/// One test case: each mocked state's responses by call number.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MockedCase {
    states: HashMap<String, Vec<(u64, u64, MockedResponse)>>,
}

impl MockedCase {
    /// The response of call `n` (from 0) of `state`, if the case mocks it.
    pub(crate) fn response(&self, state: &str, n: u64) -> Option<&MockedResponse> {
        let responses = self.states.get(state)?;
        responses
            .iter()
            .find(|(from, to, _)| (*from..=*to).contains(&n))
            .or_else(|| responses.last())
            .map(|(_, _, response)| response)
    }
}

/// A whole mock configuration.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MockConfig {
    /// Machine name -> test case name -> its mocks.
    cases: HashMap<String, HashMap<String, Arc<MockedCase>>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct File {
    #[serde(default)]
    state_machines: HashMap<String, Machine>,
    #[serde(default)]
    mocked_responses: HashMap<String, BTreeMap<String, Entry>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct Machine {
    test_cases: HashMap<String, HashMap<String, String>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct Entry {
    #[serde(rename = "Return")]
    returns: Option<Value>,
    throw: Option<Throw>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct Throw {
    #[serde(default)]
    error: String,
    #[serde(default)]
    cause: String,
}

impl MockConfig {
    /// Reads a mock configuration; the error names what is wrong and where.
    pub fn parse(text: &str) -> Result<MockConfig, String> {
        let file: File = serde_json::from_str(text).map_err(|err| err.to_string())?;
        let mut responses = HashMap::new();
        for (name, entries) in &file.mocked_responses {
            responses.insert(name.as_str(), mocked_responses(name, entries)?);
        }
        let mut cases = HashMap::new();
        for (machine, Machine { test_cases }) in file.state_machines {
            let mut machine_cases = HashMap::new();
            for (case, states) in test_cases {
                let mut mocked = MockedCase::default();
                for (state, response) in states {
                    let found = responses.get(response.as_str()).ok_or_else(|| {
                        format!(
                            "StateMachines.{machine}.TestCases.{case}.{state}: no MockedResponses entry named {response:?}"
                        )
                    })?;
                    mocked.states.insert(state, found.clone());
                }
                machine_cases.insert(case, Arc::new(mocked));
            }
            cases.insert(machine, machine_cases);
        }
        Ok(MockConfig { cases })
    }

    /// The test case `case` of the machine named `machine`.
    pub fn test_case(&self, machine: &str, case: &str) -> Option<Arc<MockedCase>> {
        self.cases.get(machine)?.get(case).cloned()
    }
}

/// One response's entries, in call order; keys are `"N"` or `"N-M"`, without gaps or
/// overlaps, starting at 0.
fn mocked_responses(
    name: &str,
    entries: &BTreeMap<String, Entry>,
) -> Result<Vec<(u64, u64, MockedResponse)>, String> {
    let at = |key: &str| format!("MockedResponses.{name}.{key:?}");
    let mut ranges = Vec::new();
    for (key, entry) in entries {
        let number = |text: &str| {
            text.trim()
                .parse::<u64>()
                .map_err(|_| format!("{}: keys are call numbers, \"0\" or \"1-2\"", at(key)))
        };
        let (from, to) = match key.split_once('-') {
            Some((from, to)) => (number(from)?, number(to)?),
            None => (number(key)?, number(key)?),
        };
        if to < from {
            return Err(format!("{}: the range ends before it starts", at(key)));
        }
        let response = match (&entry.returns, &entry.throw) {
            (Some(value), None) => MockedResponse::Return(value.clone()),
            (None, Some(throw)) => MockedResponse::Throw {
                error: throw.error.clone(),
                cause: throw.cause.clone(),
            },
            _ => {
                return Err(format!("{}: give either \"Return\" or \"Throw\"", at(key)));
            }
        };
        ranges.push((from, to, response));
    }
    ranges.sort_by_key(|(from, _, _)| *from);
    let mut next = 0;
    for (from, to, _) in &ranges {
        if *from != next {
            return Err(format!(
                "MockedResponses.{name}: call {next} has no response (keys must cover 0, 1, 2, ... without gaps or overlaps)"
            ));
        }
        next = to + 1;
    }
    if ranges.is_empty() {
        return Err(format!("MockedResponses.{name}: no responses"));
    }
    Ok(ranges)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The AWS guide's example file (its structure and values).
    pub const GUIDE: &str = r#"{
      "StateMachines": {
        "LambdaSQSIntegration": {
          "TestCases": {
            "HappyPath": {"LambdaState": "MockedLambdaSuccess", "SQSState": "MockedSQSSuccess"},
            "RetryPath": {"LambdaState": "MockedLambdaRetry", "SQSState": "MockedSQSSuccess"},
            "HybridPath": {"LambdaState": "MockedLambdaSuccess"}
          }
        }
      },
      "MockedResponses": {
        "MockedLambdaSuccess": {
          "0": {"Return": {"StatusCode": 200, "Payload": {"StatusCode": 200, "body": "Hello from Lambda!"}}}
        },
        "LambdaMockedResourceNotReady": {
          "0": {"Throw": {"Error": "Lambda.ResourceNotReadyException", "Cause": "Lambda resource is not ready."}}
        },
        "MockedSQSSuccess": {
          "0": {"Return": {"MD5OfMessageBody": "3bcb6e8e-7h85-4375-b0bc-1a59812c6e51", "MessageId": "3bcb6e8e-8b51-4375-b0bc-1a59812c6e51"}}
        },
        "MockedLambdaRetry": {
          "0": {"Throw": {"Error": "Lambda.ResourceNotReadyException", "Cause": "Lambda resource is not ready."}},
          "1-2": {"Throw": {"Error": "Lambda.TimeoutException", "Cause": "Lambda timed out."}},
          "3": {"Return": {"StatusCode": 200, "Payload": {"StatusCode": 200, "body": "Hello from Lambda!"}}}
        }
      }
    }"#;

    #[test]
    fn the_guide_s_example_reads_and_answers_by_call_number() {
        let config = MockConfig::parse(GUIDE).unwrap();
        let retry = config
            .test_case("LambdaSQSIntegration", "RetryPath")
            .unwrap();
        let error = |n| match retry.response("LambdaState", n) {
            Some(MockedResponse::Throw { error, .. }) => error.clone(),
            other => panic!("{other:?}"),
        };
        assert_eq!(error(0), "Lambda.ResourceNotReadyException");
        assert_eq!(error(1), "Lambda.TimeoutException");
        assert_eq!(error(2), "Lambda.TimeoutException");
        let success = MockedResponse::Return(
            json!({"StatusCode": 200, "Payload": {"StatusCode": 200, "body": "Hello from Lambda!"}}),
        );
        assert_eq!(retry.response("LambdaState", 3), Some(&success));
        // Past the last key, the last response.
        assert_eq!(retry.response("LambdaState", 9), Some(&success));
        let hybrid = config
            .test_case("LambdaSQSIntegration", "HybridPath")
            .unwrap();
        assert_eq!(
            hybrid.response("SQSState", 0),
            None,
            "not mocked: runs for real"
        );
        assert_eq!(config.test_case("LambdaSQSIntegration", "Nope"), None);
    }

    #[test]
    fn mistakes_are_named_where_they_are() {
        let refused = |text: &str| MockConfig::parse(text).unwrap_err();
        assert!(
            refused(r#"{"StateMachines": {"M": {"TestCases": {"C": {"S": "Missing"}}}}}"#)
                .contains(
                    "StateMachines.M.TestCases.C.S: no MockedResponses entry named \"Missing\""
                )
        );
        let gap = r#"{"MockedResponses": {"R": {"0": {"Return": 1}, "2": {"Return": 2}}}}"#;
        assert!(
            refused(gap).contains("call 1 has no response"),
            "{}",
            refused(gap)
        );
        let both = r#"{"MockedResponses": {"R": {"0": {"Return": 1, "Throw": {"Error": "E"}}}}}"#;
        assert!(refused(both).contains("give either \"Return\" or \"Throw\""));
        let key = r#"{"MockedResponses": {"R": {"first": {"Return": 1}}}}"#;
        assert!(refused(key).contains("keys are call numbers"));
        assert!(refused(r#"{"Unknown": 1}"#).contains("unknown field"));
    }
}
