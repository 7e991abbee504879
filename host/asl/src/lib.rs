//! A local AWS Step Functions engine for Amazon States Language definitions, in the
//! JSONPath and the JSONata query languages.
//!
//! The pipeline is parse -> validate -> execute -> history: [`StateMachine::parse`]
//! checks a definition as CreateStateMachine does (every error with the JSON pointer of
//! its field); an [`Engine`] starts [`Execution`]s of it; tasks reach the outside world
//! only through a [`TaskInvoker`]; time only through a [`Clock`]. The crate knows nothing
//! of WebAssembly, files or networks.
//!
//! ```
//! use std::sync::Arc;
//! use cafe_report_asl::{Engine, StartExecution, StateMachine, TaskCall, TokioClock, InvokeError};
//! use serde_json::{Value, json};
//!
//! # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
//! let machine = StateMachine::parse(r#"{
//!   "StartAt": "Greet",
//!   "States": {
//!     "Greet": {
//!       "Type": "Task",
//!       "Resource": "arn:aws:lambda:us-east-1:000000000000:function:greet",
//!       "Parameters": {"name.$": "$.who"},
//!       "End": true
//!     }
//!   }
//! }"#).unwrap();
//! let invoker = |call: TaskCall| async move {
//!     match call {
//!         TaskCall::Lambda { payload, .. } => Ok::<Value, InvokeError>(json!(format!("hi {}", payload["name"].as_str().unwrap()))),
//!         TaskCall::SnsPublish { .. } => Ok(json!("message-id")),
//!     }
//! };
//! let engine = Engine::new(Arc::new(invoker), Arc::new(TokioClock::system()));
//! let request = StartExecution { name: None, input: Some(r#"{"who": "Ana"}"#.into()) };
//! let execution = engine.execute(Arc::new(machine), "hello", request).await.unwrap();
//! assert_eq!(execution.describe().output.as_deref(), Some(r#""hi Ana""#));
//! # });
//! ```
#![deny(missing_docs)]

mod definition;
mod error;
mod execution;
mod history;
mod intrinsics;
mod invoker;
mod journal;
pub mod jsonata;
mod limits;
mod mocks;
mod path;
mod run;
mod template;
mod timestamp;
mod tokens;
mod variables;

pub use cafe_report_base::clock::{Clock, FixedClock, TokioClock};
pub use cafe_report_base::limits::MAX_PAYLOAD_BYTES;
pub use cafe_report_base::random::{Random, SeededRandom, SystemRandom};
pub use definition::{StateMachine, ValidationError, ValidationErrors};
pub use error::{StatesError, names};
pub use execution::{
    Engine, Execution, ExecutionDescription, Resume, StartError, StartExecution, Status, Stop,
    execution_arn, state_machine_arn,
};
pub use history::HistoryEvent;
pub use invoker::{BoxFuture, InvokeError, TaskCall, TaskInvoker};
pub use journal::Journal;
pub use mocks::{MockConfig, MockedCase, MockedResponse};
pub use timestamp::format as format_timestamp;
pub use tokens::{Callback, TaskTokens, TokenError};
