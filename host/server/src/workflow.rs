//! The local workflow: a state machine definition with its substitutions applied, run by
//! the local engine, whose tasks run as components.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::{Arc, Mutex};

use anyhow::{Context, bail};
use cafe_report_asl::names;
use cafe_report_asl::{
    BoxFuture, Clock, Engine, Execution, InvokeError, Journal, Resume, StartError, StartExecution,
    StateMachine, TaskCall, TaskInvoker, TaskTokens, execution_arn, state_machine_arn,
};
use cafe_report_capabilities::notify::RECIPIENT_ATTRIBUTE;
use cafe_report_runtime::{LoadedComponent, Runtime};

use crate::config::Config;
use serde_json::{Map, Value};

/// `statemachine/report.asl.json`, built in so `report` runs from any directory.
pub const REPORT_DEFINITION: &str = include_str!("../../../statemachine/report.asl.json");

/// The function names the report definition's default substitutions point at.
const REPORT_FUNCTIONS: [(&str, &str); 3] = [
    ("QueryFunctionArn", "query"),
    ("RenderFunctionArn", "render"),
    ("PresignFunctionArn", "presign"),
];

/// Runs Task states on the wasm runtime: a Lambda function is the component of the same
/// name (or the one `[workflow.functions]` maps it to); SNS publishes go to the notify
/// capability (the outbox, and SMTP when configured).
///
/// One invoker serves one execution and pins component versions: those current when it
/// was made, and any other on first use. A component published while the execution runs
/// serves the executions that start after it.
#[derive(Debug)]
pub struct ComponentInvoker {
    runtime: Arc<Runtime>,
    functions: BTreeMap<String, String>,
    pinned: Mutex<HashMap<String, Arc<LoadedComponent>>>,
}

impl ComponentInvoker {
    /// An invoker over `runtime` with the given function -> component map, pinning the
    /// runtime's current versions.
    pub fn new(runtime: Arc<Runtime>, functions: BTreeMap<String, String>) -> Self {
        let pinned = Mutex::new(runtime.snapshot());
        Self {
            runtime,
            functions,
            pinned,
        }
    }

    /// The component version a function runs in this execution.
    fn resolve(&self, function: &str) -> Result<Arc<LoadedComponent>, InvokeError> {
        let name = component_for(&self.functions, function);
        let mut pinned = self.pinned.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(component) = pinned.get(&name) {
            return Ok(component.clone());
        }
        let component = self
            .runtime
            .component(&name)
            .map_err(|err| InvokeError::Service {
                error: names::LAMBDA_RESOURCE_NOT_FOUND.into(),
                cause: format!("Function not found: {function} (component {name:?}: {err:#})"),
            })?;
        pinned.insert(name, component.clone());
        Ok(component)
    }

    fn call<'a>(
        &'a self,
        call: TaskCall,
        key: Option<&'a str>,
    ) -> BoxFuture<'a, Result<Value, InvokeError>> {
        match call {
            TaskCall::Lambda { function, payload } => Box::pin(self.run(function, payload, key)),
            TaskCall::SnsPublish {
                subject,
                message,
                mut attributes,
                ..
            } => {
                let recipient = attributes.remove(RECIPIENT_ATTRIBUTE);
                Box::pin(self.publish(subject, message, recipient, key))
            }
        }
    }

    async fn run(
        &self,
        function: String,
        payload: Value,
        key: Option<&str>,
    ) -> Result<Value, InvokeError> {
        let component = self.resolve(&function)?;
        self.runtime
            .run_json_once(&component, &payload, key)
            .await
            .map_err(|err| InvokeError::Function {
                error_type: err.error().to_string(),
                error_message: err.cause().to_string(),
            })
    }

    /// An SNS publish, to the address its `recipient` attribute names when it has one
    /// (as the topic's filter policies route it on AWS).
    async fn publish(
        &self,
        subject: Option<String>,
        message: String,
        recipient: Option<String>,
        key: Option<&str>,
    ) -> Result<Value, InvokeError> {
        // SNS's own subject line for email when the publisher gives none.
        let subject = subject.unwrap_or_else(|| "AWS Notification Message".into());
        let notifier = &self.runtime.capabilities().notifier;
        let recipient = recipient.as_deref();
        match key {
            Some(key) => {
                notifier
                    .publish_once(recipient, &subject, &message, key)
                    .await
            }
            None => notifier.publish(recipient, &subject, &message).await,
        }
        .map(Value::String)
        .map_err(|err| InvokeError::Service {
            error: names::SNS_INTERNAL_ERROR.into(),
            cause: err.to_string(),
        })
    }
}

impl TaskInvoker for ComponentInvoker {
    fn invoke(&self, call: TaskCall) -> BoxFuture<'_, Result<Value, InvokeError>> {
        self.call(call, None)
    }

    /// A message a call publishes (a component's, or an SNS publish) goes out once per
    /// `key`: a resumed execution calling the same attempt again sends nothing new.
    fn invoke_once<'a>(
        &'a self,
        call: TaskCall,
        key: &'a str,
    ) -> BoxFuture<'a, Result<Value, InvokeError>> {
        self.call(call, Some(key))
    }

    /// Names the component and version (sha256) that will run a function, in the history.
    fn annotate(&self, call: &TaskCall) -> Option<Map<String, Value>> {
        let TaskCall::Lambda { function, .. } = call else {
            return None;
        };
        let component = self.resolve(function).ok()?;
        Some(Map::from_iter([
            (
                "component".to_string(),
                Value::String(component.name.clone()),
            ),
            (
                "componentVersion".to_string(),
                Value::String(component.sha256.clone()),
            ),
        ]))
    }
}

/// The component a function runs: its `[workflow.functions]` entry, else its own name.
pub fn component_for(functions: &BTreeMap<String, String>, function: &str) -> String {
    let name = function_name(function);
    functions
        .get(name)
        .cloned()
        .unwrap_or_else(|| name.to_string())
}

/// `arn:aws:lambda:r:a:function:NAME[:qualifier]`, `a:function:NAME` or `NAME` -> `NAME`.
fn function_name(function: &str) -> &str {
    match function.split_once(":function:") {
        Some((_, rest)) => rest.split(':').next().unwrap_or(rest),
        None => function,
    }
}

/// Replaces every `${Name}` with its substitution; a name without one is an error, so a
/// definition never runs with a placeholder left in it.
pub fn substitute(text: &str, substitutions: &BTreeMap<String, String>) -> anyhow::Result<String> {
    let mut out = String::with_capacity(text.len());
    let mut missing = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        match after.find('}') {
            Some(end)
                if after[..end]
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_')
                    && end > 0 =>
            {
                let name = &after[..end];
                match substitutions.get(name) {
                    Some(value) => out.push_str(value),
                    None => {
                        missing.push(name.to_string());
                        out.push_str(&rest[start..start + 3 + end]);
                    }
                }
                rest = &after[end + 1..];
            }
            _ => {
                out.push_str("${");
                rest = after;
            }
        }
    }
    out.push_str(rest);
    if !missing.is_empty() {
        missing.dedup();
        bail!(
            "the definition uses substitutions that have no value: {} (set them with --subst NAME=VALUE or [workflow.substitutions])",
            missing.join(", ")
        );
    }
    Ok(out)
}

/// The substitutions a local run uses: function ARNs for the components, the configured
/// bucket and topic, then `[workflow.substitutions]`, then `extra`.
pub fn substitutions(config: &Config, extra: &[(String, String)]) -> BTreeMap<String, String> {
    let region = &config.signer.region;
    let account = &config.workflow.account;
    let mut map: BTreeMap<String, String> = REPORT_FUNCTIONS
        .iter()
        .map(|(key, name)| {
            (
                key.to_string(),
                format!("arn:aws:lambda:{region}:{account}:function:{name}"),
            )
        })
        .collect();
    map.insert("ReportBucket".into(), config.objects.bucket.clone());
    map.insert(
        "ReportTopicArn".into(),
        format!("arn:aws:sns:{region}:{account}:cafe-report"),
    );
    map.extend(config.workflow.substitutions.clone());
    map.extend(extra.iter().cloned());
    map
}

/// Parses a definition with substitutions applied; the error lists every problem.
pub fn load_definition(
    text: &str,
    substitutions: &BTreeMap<String, String>,
) -> anyhow::Result<StateMachine> {
    let text = substitute(text, substitutions)?;
    Ok(StateMachine::parse(&text)?)
}

/// The configured definition's text: `[workflow] definition`, else the built-in report.
pub fn definition_text(config: &Config) -> anyhow::Result<String> {
    match &config.workflow.definition {
        Some(path) => read_definition(path),
        None => Ok(REPORT_DEFINITION.to_string()),
    }
}

/// Reads a definition file.
pub fn read_definition(path: &Path) -> anyhow::Result<String> {
    std::fs::read_to_string(path)
        .with_context(|| format!("reading the definition {}", path.display()))
}

/// A state machine ready to run on the local engine.
#[derive(Debug, Clone)]
pub struct Workflow {
    runtime: Arc<Runtime>,
    functions: BTreeMap<String, String>,
    clock: Arc<dyn Clock>,
    region: String,
    account: String,
    role_arn: Option<String>,
    machine: Arc<StateMachine>,
    name: String,
    /// Where executions' histories are kept as they run (`serve`'s records).
    journal: Option<Arc<dyn Journal>>,
    /// The tokens `.waitForTaskToken` tasks hand out, shared with SendTask*.
    tokens: Option<Arc<TaskTokens>>,
}

impl Workflow {
    /// The workflow for `machine`, its tasks run by `runtime`. The engine reads the
    /// runtime's clock, so executions and the tasks they run share one time (`--now`).
    pub fn new(config: &Config, runtime: Arc<Runtime>, machine: StateMachine) -> Self {
        Self {
            clock: runtime.capabilities().clock.clone(),
            runtime,
            functions: config.workflow.functions.clone(),
            region: config.signer.region.clone(),
            account: config.workflow.account.clone(),
            role_arn: config.workflow.role_arn.clone(),
            machine: Arc::new(machine),
            name: config.workflow.name.clone(),
            journal: None,
            tokens: None,
        }
    }

    /// A state machine made through the Step Functions API: its own name and role.
    pub fn named(
        config: &Config,
        runtime: Arc<Runtime>,
        machine: StateMachine,
        name: &str,
        role_arn: &str,
    ) -> Self {
        Self {
            name: name.to_string(),
            role_arn: Some(role_arn.to_string()),
            ..Self::new(config, runtime, machine)
        }
    }

    /// The same workflow, its executions' histories kept in `journal` step by step.
    pub fn with_journal(mut self, journal: Arc<dyn Journal>) -> Self {
        self.journal = Some(journal);
        self
    }

    /// The same workflow, its tasks' tokens shared through `tokens`.
    pub fn with_task_tokens(mut self, tokens: Arc<TaskTokens>) -> Self {
        self.tokens = Some(tokens);
        self
    }

    /// The configured workflow (by default the report) over `runtime`.
    pub fn from_config(
        config: &Config,
        runtime: Arc<Runtime>,
        extra: &[(String, String)],
    ) -> anyhow::Result<Self> {
        Self::from_definition(config, runtime, &definition_text(config)?, extra)
    }

    /// The workflow for a definition's text, with the local substitutions (see
    /// [`substitutions`]) and `extra` applied.
    pub fn from_definition(
        config: &Config,
        runtime: Arc<Runtime>,
        text: &str,
        extra: &[(String, String)],
    ) -> anyhow::Result<Self> {
        if let Some(role_arn) = &config.workflow.role_arn {
            check_role_arn(role_arn)?;
        }
        let substitutions = substitutions(config, extra);
        let machine = load_definition(text, &substitutions)?;
        Ok(Self::new(config, runtime, machine))
    }

    /// The definition it runs, as JSON (substitutions applied).
    pub fn definition(&self) -> &Value {
        self.machine.definition()
    }

    /// Starts an execution (it runs when [`Execution::run`] is awaited), pinning the
    /// component versions current now.
    pub fn start(&self, request: StartExecution) -> Result<Arc<Execution>, StartError> {
        self.engine()
            .start(self.machine.clone(), &self.name, request)
    }

    /// An execution a stopped process left running, to go on from its kept history
    /// (see [`Engine::resume`]), on the component versions current now.
    pub fn resume(&self, resume: Resume) -> Result<Arc<Execution>, StartError> {
        self.engine()
            .resume(self.machine.clone(), &self.name, resume)
    }

    /// An engine for one execution: its invoker pins the component versions current now.
    fn engine(&self) -> Engine {
        let invoker = ComponentInvoker::new(self.runtime.clone(), self.functions.clone());
        let mut engine = Engine::new(Arc::new(invoker), self.clock.clone())
            .with_region(self.region.clone(), self.account.clone());
        if let Some(role_arn) = &self.role_arn {
            engine = engine.with_role_arn(role_arn.clone());
        }
        if let Some(journal) = &self.journal {
            engine = engine.with_journal(journal.clone());
        }
        if let Some(tokens) = &self.tokens {
            engine = engine.with_task_tokens(tokens.clone());
        }
        engine
    }

    /// Starts an execution and runs it to its end, on the component versions current
    /// when it starts.
    pub async fn execute(&self, request: StartExecution) -> anyhow::Result<Arc<Execution>> {
        let execution = self.start(request)?;
        execution.clone().run().await;
        Ok(execution)
    }

    /// The ARN an execution named `name` of this workflow has.
    pub fn execution_arn(&self, name: &str) -> String {
        execution_arn(&self.region, &self.account, &self.name, name)
    }

    /// The state machine's ARN.
    pub fn state_machine_arn(&self) -> String {
        state_machine_arn(&self.region, &self.account, &self.name)
    }

    /// The runtime running the tasks.
    pub fn runtime(&self) -> &Arc<Runtime> {
        &self.runtime
    }
}

/// A role ARN as CreateStateMachine takes it: `arn:<partition>:iam::<account>:role/<name>`.
pub(crate) fn check_role_arn(arn: &str) -> anyhow::Result<()> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let valid = match parts.as_slice() {
        ["arn", partition, "iam", "", account, resource] => {
            partition.starts_with("aws")
                && account.len() == 12
                && account.bytes().all(|b| b.is_ascii_digit())
                && resource
                    .strip_prefix("role/")
                    .is_some_and(|name| !name.is_empty())
        }
        _ => false,
    };
    if !valid {
        anyhow::bail!(
            "InvalidArn: {arn:?} is not a role ARN (arn:aws:iam::<12-digit account>:role/<name>)"
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_arns_are_checked_as_create_state_machine_checks_them() {
        assert!(check_role_arn("arn:aws:iam::111111111111:role/aslc-sfn-role").is_ok());
        assert!(check_role_arn("arn:aws:iam::123456789012:role/path/to/role").is_ok());
        for bad in [
            "role/x",
            "arn:aws:iam::1234:role/x",
            "arn:aws:iam::123456789012:user/x",
            "arn:aws:s3::123456789012:role/x",
            "arn:aws:iam::123456789012:role/",
        ] {
            let err = check_role_arn(bad).unwrap_err().to_string();
            assert!(err.starts_with("InvalidArn: "), "{bad}: {err}");
        }
    }

    #[test]
    fn function_names_from_arns() {
        assert_eq!(
            function_name("arn:aws:lambda:us-east-1:1:function:query"),
            "query"
        );
        assert_eq!(
            function_name("arn:aws:lambda:us-east-1:1:function:query:live"),
            "query"
        );
        assert_eq!(function_name("1:function:render"), "render");
        assert_eq!(function_name("presign"), "presign");
    }

    #[test]
    fn configured_functions_map_to_components() {
        let functions =
            BTreeMap::from([("cafe-QueryFunction-1A2B".to_string(), "query".to_string())]);
        let arn = "arn:aws:lambda:eu-west-1:123456789012:function:cafe-QueryFunction-1A2B";
        assert_eq!(component_for(&functions, arn), "query");
        assert_eq!(component_for(&functions, "render"), "render");
    }

    #[test]
    fn substitutions_replace_known_names_and_refuse_unknown_ones() {
        let subs = BTreeMap::from([
            ("A".to_string(), "1".to_string()),
            ("Empty".to_string(), String::new()),
        ]);
        assert_eq!(substitute("x${A}y${Empty}z", &subs).unwrap(), "x1yz");
        assert_eq!(
            substitute("cost: $5 {not} ${", &subs).unwrap(),
            "cost: $5 {not} ${"
        );
        let err = substitute("${A} ${B} ${C}", &subs).unwrap_err().to_string();
        assert!(err.contains("B, C"), "{err}");
    }

    #[test]
    fn the_report_definition_loads_with_local_substitutions() {
        let subs: BTreeMap<String, String> = [
            (
                "QueryFunctionArn",
                "arn:aws:lambda:us-east-1:000000000000:function:query",
            ),
            (
                "RenderFunctionArn",
                "arn:aws:lambda:us-east-1:000000000000:function:render",
            ),
            (
                "PresignFunctionArn",
                "arn:aws:lambda:us-east-1:000000000000:function:presign",
            ),
            ("ReportBucket", "b"),
            ("ReportTopicArn", "arn:aws:sns:us-east-1:000000000000:t"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let machine = load_definition(REPORT_DEFINITION, &subs).unwrap();
        assert!(machine.state_names().any(|s| s == "Deliver"));
    }
}
