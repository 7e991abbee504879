//! `cafe-report validate`: check a definition as CreateStateMachine would.

use std::path::PathBuf;

use anyhow::bail;
use cafe_report_asl::ValidationErrors;
use cafe_report_server::Config;
use cafe_report_server::workflow;

/// Arguments of `validate`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The definition (Amazon States Language, JSON).
    definition: PathBuf,
    #[command(flatten)]
    substitutions: super::execute::Substitutions,
}

pub fn run(config: &Config, args: Args) -> anyhow::Result<()> {
    let text = workflow::read_definition(&args.definition)?;
    let substitutions = workflow::substitutions(config, &args.substitutions.values);
    let machine = match workflow::load_definition(&text, &substitutions) {
        Ok(machine) => machine,
        Err(err) => match err.downcast_ref::<ValidationErrors>() {
            // One problem per line, so each can be read (and grepped) on its own.
            Some(errors) => {
                for error in &errors.0 {
                    eprintln!("{error}");
                }
                bail!(
                    "{}: {}",
                    args.definition.display(),
                    count(errors.0.len(), "problem")
                );
            }
            None => return Err(err),
        },
    };
    super::print(&format!(
        "{}: valid ({} at the top level)",
        args.definition.display(),
        count(machine.state_names().count(), "state")
    ))
}

/// `1 state`, `2 states`.
fn count(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}
