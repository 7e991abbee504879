//! `cafe-report`: run the café inventory report and its task components locally.
//!
//! `main` parses arguments and wires things; each subcommand lives in `commands/`.

mod commands;
mod input;
mod lambda;

use std::path::PathBuf;
use std::process::ExitCode;

use cafe_report_server::lock::DataDirLock;
use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;

/// Generate and deliver the café's coffee inventory report with sandboxed WebAssembly tasks.
#[derive(Debug, Parser)]
#[command(name = "cafe-report", version)]
struct Cli {
    /// Configuration file (default: $CAFE_REPORT_CONFIG, else ./cafe-report.toml if present).
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,

    /// More log output (-v: info, -vv: debug). RUST_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// The main job: runs the report workflow (statemachine/report.asl.json) once on the
    /// local engine; prints where the report is, the presigned URL and the message sent.
    Report(commands::report::Args),
    /// Serve the REST API (POST /create_report, executions, components) and the
    /// presigned report links, on the local engine, until SIGTERM or Ctrl-C.
    ///
    /// Every route but GET /health and GET /openapi.yaml needs a bearer token. With the
    /// default [auth] mode = "local", make a user first, then call with their token:
    ///
    ///   TOKEN=$(cafe-report users add ana --email ana@example.com)
    ///   curl -H "Authorization: Bearer $TOKEN" --json '{"expires_in": 300}' http://127.0.0.1:8080/create_report
    ///
    /// The link goes to the caller's address alone; each user sees only their own
    /// executions (--admin users see all).
    #[command(verbatim_doc_comment)]
    Serve(commands::serve::Args),
    /// The AWS Lambda runtime: serve one task component's invocations (a binary named
    /// `bootstrap` runs this when started without arguments).
    Lambda(commands::lambda::Args),
    /// Run any state machine on the local engine; prints DescribeExecution's JSON.
    Execute(commands::execute::Args),
    /// Check a state machine definition as CreateStateMachine would.
    Validate(commands::validate::Args),
    /// Run one task component locally and print its JSON output.
    RunTask(commands::run_task::Args),
    /// List, publish and roll back component versions.
    #[command(subcommand)]
    Components(commands::components::Command),
    /// Print the effective configuration (secrets masked).
    Config,
    /// Database helpers.
    #[command(subcommand)]
    Db(commands::db::Command),
    /// Who may call serve's API ([auth] mode = "local"): add, list, remove, rotate tokens.
    #[command(subcommand)]
    Users(commands::users::Command),
}

/// The name a command holds the data directory under, if it opens what only one process
/// may: the embedded object store (report, execute, run-task, and publish's smoke and
/// upload). `users` and `db` work on SQLite files safe to share; `lambda` runs alone in
/// its sandbox.
fn holds_data_dir(command: &Command) -> Option<&'static str> {
    use commands::components::Command as Components;
    match command {
        Command::Report(_) => Some("report"),
        Command::Execute(_) => Some("execute"),
        Command::RunTask(_) => Some("run-task"),
        Command::Components(Components::Publish { .. }) => Some("components publish"),
        Command::Components(Components::Rollback { .. }) => Some("components rollback"),
        _ => None,
    }
}

/// A command that cannot run as called (exit status 2, as clap's own usage errors).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// The command line; a binary named `bootstrap` (Lambda's custom runtime entry point)
/// started without arguments runs `lambda`.
fn arguments() -> Vec<std::ffi::OsString> {
    let mut args: Vec<_> = std::env::args_os().collect();
    let is_bootstrap = args
        .first()
        .and_then(|arg0| std::path::Path::new(arg0).file_name())
        .is_some_and(|name| name == "bootstrap");
    if is_bootstrap && args.len() == 1 {
        args.push("lambda".into());
    }
    args
}

/// How much a process logs without `-v` or `RUST_LOG`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Quiet {
    /// A command: errors only, so a failing one prints its one `error:` line and the
    /// details are a `-v` away.
    Command,
    /// `serve`: warnings.
    Serve,
    /// `lambda`: warnings, and our own info lines (the component version each invocation
    /// ran, swaps, secret reads): Lambda keeps them with the request id in CloudWatch.
    Lambda,
}

/// Logs to stderr, coloured only on a terminal.
fn init_logging(verbose: u8, quiet: Quiet) {
    let default = match (verbose, quiet) {
        (0, Quiet::Command) => "error",
        (0, Quiet::Serve) => "warn",
        (0, Quiet::Lambda) => {
            "warn,cafe_report=info,cafe_report_runtime=info,cafe_report_capabilities=info"
        }
        (1, _) => "info",
        _ => "debug",
    };
    let mut filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    // s3s logs every refused request (an expired link) at ERROR; the embedded store logs
    // its answers itself. `RUST_LOG=s3s=...` still shows s3s's own lines.
    let asks_for_s3s = std::env::var("RUST_LOG").is_ok_and(|filter| filter.contains("s3s"));
    if !asks_for_s3s && let Ok(off) = "s3s::ops=off".parse() {
        filter = filter.add_directive(off);
    }
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .init();
}

/// The error and its causes on one line, each said once
/// ([`cafe_report_capabilities::error_text`]).
fn one_line(err: &anyhow::Error) -> String {
    cafe_report_capabilities::error_text(err.as_ref()).replace(['\r', '\n'], " ")
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse_from(arguments());
    let is_lambda = matches!(cli.command, Command::Lambda(_));
    let quiet = match cli.command {
        Command::Serve(_) => Quiet::Serve,
        Command::Lambda(_) => Quiet::Lambda,
        _ => Quiet::Command,
    };
    init_logging(cli.verbose, quiet);
    let result = async {
        let config = cafe_report_server::Config::load(cli.config.as_deref())?;
        // Commands that open the execution records or the embedded object store hold the
        // data directory for their life (`serve` takes it in `Server::bind`).
        let _lock = match holds_data_dir(&cli.command) {
            Some(name) => Some(DataDirLock::acquire(&config.data_dir, name)?),
            None => None,
        };
        match cli.command {
            Command::Report(args) => commands::report::run(&config, args).await,
            Command::Serve(args) => commands::serve::run(&config, args).await,
            Command::Lambda(args) => commands::lambda::run(&config, args).await,
            Command::Execute(args) => commands::execute::run(&config, args).await,
            Command::Validate(args) => commands::validate::run(&config, args),
            Command::RunTask(args) => commands::run_task::run(&config, args).await,
            Command::Components(command) => commands::components::run(&config, command).await,
            Command::Config => commands::config::run(&config),
            Command::Db(command) => commands::db::run(&config, command).await,
            Command::Users(command) => commands::users::run(&config, command),
        }
    }
    .await;
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            let usage = err.downcast_ref::<UsageError>().is_some();
            if is_lambda && !usage {
                // In Lambda, any error before serving (configuration included) is an
                // init error, which the Runtime API should hear about.
                crate::lambda::report_init_error(&err).await;
            }
            // One line, whatever the cause contains, so scripts can read it.
            let message = one_line(&err);
            eprintln!("error: {message}");
            if usage {
                ExitCode::from(2)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}
