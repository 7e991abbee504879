//! A state machine as the execution page draws it, and what an execution did in it.
//!
//! [`Graph::from_definition`] reads the definition's JSON (already validated when the
//! machine was created): each scope's states are nodes, its transitions edges (`Next`,
//! `Default`, each Choice rule's `Next`, each Catcher's `Next`), and a Parallel's branches
//! or a Map's item processor are nested graphs inside their state's node.
//! [`Outcomes::from_history`] reads an execution's events (AWS's shapes) into one
//! [`StateRun`] per state name: what it was given and gave, its failures, retries, and
//! whether a Catch took it on.

use std::collections::BTreeMap;

use cafe_report_asl::HistoryEvent;
use serde::Serialize;
use serde_json::Value;

/// One scope: the machine, a Parallel branch or a Map's item processor.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Graph {
    /// The state the scope starts at.
    pub start: String,
    /// Its states, in the definition's order.
    pub states: Vec<Node>,
    /// Its transitions.
    pub edges: Vec<Edge>,
}

/// One state.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Node {
    /// The state's name.
    pub name: String,
    /// Its `Type` (`Task`, `Choice`, `Parallel`, `Map`, ...).
    pub kind: String,
    /// Whether the scope may end here (`End`, `Succeed`, `Fail`).
    pub end: bool,
    /// A Parallel's branches, or a Map's item processor (one graph).
    pub groups: Vec<Graph>,
}

/// How one state leads to another.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EdgeKind {
    /// `Next`.
    Next,
    /// A Choice rule's `Next`.
    Choice,
    /// A Choice's `Default`.
    Default,
    /// A Catcher's `Next`.
    Catch,
}

/// A transition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Edge {
    /// From this state.
    pub from: String,
    /// To this state.
    pub to: String,
    /// Why.
    pub kind: EdgeKind,
}

impl Graph {
    /// The graph of a definition (a machine or a branch: anything with `StartAt` and
    /// `States`). Fields it does not draw are ignored.
    pub fn from_definition(definition: &Value) -> Graph {
        let text = |value: &Value, key: &str| value[key].as_str().unwrap_or_default().to_string();
        let mut graph = Graph {
            start: text(definition, "StartAt"),
            states: Vec::new(),
            edges: Vec::new(),
        };
        let Some(states) = definition["States"].as_object() else {
            return graph;
        };
        for (name, state) in states {
            let kind = text(state, "Type");
            let mut edge = |to: &Value, kind: EdgeKind| {
                if let Some(to) = to.as_str() {
                    graph.edges.push(Edge {
                        from: name.clone(),
                        to: to.to_string(),
                        kind,
                    });
                }
            };
            edge(&state["Next"], EdgeKind::Next);
            for rule in state["Choices"].as_array().into_iter().flatten() {
                edge(&rule["Next"], EdgeKind::Choice);
            }
            edge(&state["Default"], EdgeKind::Default);
            for catcher in state["Catch"].as_array().into_iter().flatten() {
                edge(&catcher["Next"], EdgeKind::Catch);
            }
            let processor = state.get("ItemProcessor").or_else(|| state.get("Iterator"));
            let groups = match (kind.as_str(), processor) {
                ("Parallel", _) => state["Branches"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(Graph::from_definition)
                    .collect(),
                ("Map", Some(processor)) => vec![Graph::from_definition(processor)],
                _ => Vec::new(),
            };
            let end =
                state["End"].as_bool() == Some(true) || matches!(kind.as_str(), "Succeed" | "Fail");
            graph.states.push(Node {
                name: name.clone(),
                kind,
                end,
                groups,
            });
        }
        // Two rules (or two catchers) to the same state draw as one edge.
        let mut seen = std::collections::HashSet::new();
        graph
            .edges
            .retain(|edge| seen.insert((edge.from.clone(), edge.to.clone(), edge.kind)));
        graph
    }

    /// Every state of this scope and the scopes nested in it.
    pub fn all_states(&self) -> Vec<&Node> {
        let mut all = Vec::new();
        for node in &self.states {
            all.push(node);
            for group in &node.groups {
                all.extend(group.all_states());
            }
        }
        all
    }
}

/// What happened to a state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// Never entered.
    #[serde(rename = "not-reached")]
    NotReached,
    /// Entered and not left (the execution runs).
    Running,
    /// Left without a failure.
    Succeeded,
    /// Failed at least once and then succeeded on a retry.
    Retried,
    /// Failed, and a Catch took the execution elsewhere.
    Caught,
    /// Failed, and the failure ended its scope.
    Failed,
}

/// What one state did in an execution (every entry of it, for a Map's iterations).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StateRun {
    /// The outcome.
    pub outcome: Outcome,
    /// How often it was entered (Map iterations, loops).
    pub entries: u32,
    /// Attempts made (a task's scheduled calls; none for states that call nothing).
    pub attempts: u32,
    /// Failures seen (each failed attempt).
    pub failures: u32,
    /// When it was first entered.
    pub entered: Option<String>,
    /// When it was last left.
    pub exited: Option<String>,
    /// The last input it was given (JSON text).
    pub input: Option<String>,
    /// The last output it gave (JSON text).
    pub output: Option<String>,
    /// The last failure's error name.
    pub error: Option<String>,
    /// The last failure's cause.
    pub cause: Option<String>,
    /// The component and version a Lambda task ran (from its scheduled event).
    pub component: Option<String>,
    /// The component's version (sha256).
    pub component_version: Option<String>,
}

impl StateRun {
    fn new() -> StateRun {
        StateRun {
            outcome: Outcome::Running,
            entries: 0,
            attempts: 0,
            failures: 0,
            entered: None,
            exited: None,
            input: None,
            output: None,
            error: None,
            cause: None,
            component: None,
            component_version: None,
        }
    }
}

/// Each reached state's run, by name; a state not here was not reached.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Outcomes {
    /// By state name.
    pub states: BTreeMap<String, StateRun>,
}

/// Whether an event is one of a state's failures: a task's, a Lambda function's or an
/// activity's attempt failing or timing out, or a Parallel or Map failing as a whole.
fn is_failure(kind: &str) -> bool {
    let attempt = ["Task", "LambdaFunction", "Activity"].iter().any(|prefix| {
        kind.strip_prefix(prefix).is_some_and(|rest| {
            matches!(
                rest,
                "Failed" | "TimedOut" | "StartFailed" | "ScheduleFailed" | "SubmitFailed"
            )
        })
    });
    attempt
        || matches!(
            kind,
            "ParallelStateFailed" | "MapStateFailed" | "ExecutionFailed"
        )
}

impl Outcomes {
    /// Reads `events` (in order). An event belongs to the state whose `…StateEntered`
    /// event its `previousEventId` chain reaches first, which is how AWS links the events
    /// of Parallel branches that interleave.
    pub fn from_history(events: &[HistoryEvent]) -> Outcomes {
        let mut owner: BTreeMap<u64, String> = BTreeMap::new();
        let mut states: BTreeMap<String, StateRun> = BTreeMap::new();
        // Parallel and Map states entered and not left, innermost last: their own events
        // (`ParallelStateFailed`, ...) follow a branch's event, not theirs.
        let mut open: Vec<(String, &str)> = Vec::new();
        for event in events {
            let details = event.details().cloned().unwrap_or(Value::Null);
            let text = |key: &str| details[key].as_str().map(str::to_string);
            let group = ["ParallelState", "MapState"]
                .into_iter()
                .find(|prefix| event.kind.starts_with(prefix));
            if event.kind.ends_with("StateEntered") {
                let Some(name) = text("name") else { continue };
                if let Some(group) = group {
                    open.push((name.clone(), group));
                }
                owner.insert(event.id, name.clone());
                let run = states.entry(name).or_insert_with(StateRun::new);
                run.entries += 1;
                run.outcome = Outcome::Running;
                run.entered.get_or_insert(event.timestamp.clone());
                run.input = text("input");
                continue;
            }
            let name = if event.kind.ends_with("StateExited") {
                let name = text("name");
                open.retain(|(entered, _)| Some(entered) != name.as_ref());
                name
            } else if let Some(group) = group {
                open.iter()
                    .rev()
                    .find(|(_, kind)| *kind == group)
                    .map(|(name, _)| name.clone())
            } else {
                owner.get(&event.previous_event_id).cloned()
            };
            let Some(name) = name else { continue };
            owner.insert(event.id, name.clone());
            let Some(run) = states.get_mut(&name) else {
                continue;
            };
            if event.kind.ends_with("StateExited") {
                run.exited = Some(event.timestamp.clone());
                run.output = text("output");
                // Left after a failure: a Catch took it on, unless a retry succeeded.
                run.outcome = match run.outcome {
                    Outcome::Failed => Outcome::Caught,
                    Outcome::Retried => Outcome::Retried,
                    _ if run.failures > 0 => Outcome::Retried,
                    _ => Outcome::Succeeded,
                };
            } else if is_failure(&event.kind) {
                run.failures += 1;
                run.error = text("error");
                run.cause = text("cause");
                run.outcome = Outcome::Failed;
            } else if event.kind.ends_with("Scheduled") {
                run.attempts += 1;
                if run.outcome == Outcome::Failed {
                    // Another attempt: the failure was retried.
                    run.outcome = Outcome::Running;
                }
                if let Some(component) = text("component") {
                    run.component = Some(component);
                }
                if let Some(version) = text("componentVersion") {
                    run.component_version = Some(version);
                }
            }
        }
        Outcomes { states }
    }

    /// The outcome of `state` (not reached when it has no run).
    pub fn outcome(&self, state: &str) -> Outcome {
        self.states
            .get(state)
            .map_or(Outcome::NotReached, |run| run.outcome)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn report() -> Graph {
        let text = include_str!("../../../../statemachine/report.asl.json");
        Graph::from_definition(&serde_json::from_str(text).unwrap())
    }

    fn edges_from<'g>(graph: &'g Graph, state: &str) -> Vec<(&'g str, EdgeKind)> {
        graph
            .edges
            .iter()
            .filter(|edge| edge.from == state)
            .map(|edge| (edge.to.as_str(), edge.kind))
            .collect()
    }

    #[test]
    fn the_report_workflow_is_drawn_with_its_branches_and_catches() {
        let graph = report();
        assert_eq!(graph.start, "Defaults");
        assert_eq!(graph.states.len(), 15);
        assert_eq!(
            edges_from(&graph, "Query"),
            [
                ("Deliver", EdgeKind::Next),
                ("ExplainFailure", EdgeKind::Catch)
            ],
            "two catchers to one state are one edge"
        );
        let deliver = graph.states.iter().find(|s| s.name == "Deliver").unwrap();
        assert_eq!(deliver.kind, "Parallel");
        let branches: Vec<&str> = deliver.groups.iter().map(|g| g.start.as_str()).collect();
        assert_eq!(branches, ["Render", "Presign"]);
        assert!(deliver.groups.iter().all(|g| g.states[0].end));
        let kinds: Vec<EdgeKind> = edges_from(&graph, "HasMessage")
            .iter()
            .map(|e| e.1)
            .collect();
        assert_eq!(kinds, [EdgeKind::Choice, EdgeKind::Default]);
        assert!(
            graph
                .states
                .iter()
                .any(|s| s.name == "ReportFailed" && s.end)
        );
        assert_eq!(graph.all_states().len(), 17);
    }

    #[test]
    fn a_map_draws_its_item_processor_inside_it() {
        let graph = Graph::from_definition(&json!({
            "StartAt": "Each",
            "States": {
                "Each": {
                    "Type": "Map",
                    "ItemProcessor": {"StartAt": "One", "States": {"One": {"Type": "Pass", "End": true}}},
                    "End": true
                }
            }
        }));
        assert_eq!(graph.states[0].groups[0].states[0].name, "One");
    }

    fn event(id: u64, previous: u64, kind: &str, details: Value) -> HistoryEvent {
        let key = format!("{}{}EventDetails", kind[..1].to_lowercase(), &kind[1..]);
        HistoryEvent {
            timestamp: format!("2026-12-05T07:00:{:02}.000Z", id),
            kind: kind.to_string(),
            id,
            previous_event_id: previous,
            details: serde_json::Map::from_iter([(key, details)]),
        }
    }

    #[test]
    fn retries_catches_and_interleaved_branches_are_told_apart() {
        let failed = |id, previous| {
            event(
                id,
                previous,
                "TaskFailed",
                json!({"error": "Sql.Unavailable", "cause": "down"}),
            )
        };
        let events = vec![
            event(1, 0, "ExecutionStarted", json!({"input": "{}"})),
            event(
                2,
                1,
                "TaskStateEntered",
                json!({"name": "Query", "input": "{}"}),
            ),
            event(
                3,
                2,
                "TaskScheduled",
                json!({"component": "query", "componentVersion": "ab12"}),
            ),
            failed(4, 3),
            event(5, 4, "TaskScheduled", json!({})),
            failed(6, 5),
            event(7, 6, "TaskScheduled", json!({})),
            event(8, 7, "TaskSucceeded", json!({"output": "{}"})),
            event(
                9,
                8,
                "TaskStateExited",
                json!({"name": "Query", "output": "{\"q\":1}"}),
            ),
            event(
                10,
                9,
                "ParallelStateEntered",
                json!({"name": "Deliver", "input": "{}"}),
            ),
            // The two branches interleave; previousEventId says which event is whose.
            event(
                11,
                10,
                "TaskStateEntered",
                json!({"name": "Render", "input": "{}"}),
            ),
            event(
                12,
                10,
                "TaskStateEntered",
                json!({"name": "Presign", "input": "{}"}),
            ),
            event(13, 11, "TaskScheduled", json!({})),
            event(14, 12, "TaskScheduled", json!({})),
            event(
                15,
                14,
                "TaskFailed",
                json!({"error": "Signer.Refused", "cause": "no"}),
            ),
            event(16, 13, "TaskSucceeded", json!({})),
            event(
                17,
                16,
                "TaskStateExited",
                json!({"name": "Render", "output": "{\"key\":1}"}),
            ),
            event(
                18,
                15,
                "ParallelStateFailed",
                json!({"error": "Signer.Refused", "cause": "no"}),
            ),
            event(
                19,
                18,
                "ParallelStateExited",
                json!({"name": "Deliver", "output": "{}"}),
            ),
            event(
                20,
                19,
                "ChoiceStateEntered",
                json!({"name": "ExplainFailure", "input": "{}"}),
            ),
        ];
        let outcomes = Outcomes::from_history(&events);
        let query = &outcomes.states["Query"];
        assert_eq!(query.outcome, Outcome::Retried);
        assert_eq!((query.attempts, query.failures, query.entries), (3, 2, 1));
        assert_eq!(query.error.as_deref(), Some("Sql.Unavailable"));
        assert_eq!(query.output.as_deref(), Some("{\"q\":1}"));
        assert_eq!(query.component_version.as_deref(), Some("ab12"));
        assert_eq!(outcomes.outcome("Render"), Outcome::Succeeded);
        let presign = &outcomes.states["Presign"];
        assert_eq!(presign.outcome, Outcome::Failed);
        assert_eq!(presign.cause.as_deref(), Some("no"));
        assert_eq!(outcomes.outcome("Deliver"), Outcome::Caught);
        assert_eq!(outcomes.outcome("ExplainFailure"), Outcome::Running);
        assert_eq!(outcomes.outcome("Summarize"), Outcome::NotReached);
    }
}
