//! `cafe-report users`: who may call `serve`'s API with `[auth] mode = "local"`.
//! A token is printed once, when made; only its hash is kept.

use cafe_report_server::Config;
use cafe_report_server::auth::users::{UserError, UserStore};

use crate::UsageError;

/// User subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Add a user and print their bearer token (shown this once).
    Add {
        /// The login name (A-Z a-z 0-9 . _ - @).
        name: String,
        /// Where the user's report links go.
        #[arg(long, value_name = "ADDR")]
        email: String,
        /// Sees every user's executions, not only their own.
        #[arg(long)]
        admin: bool,
    },
    /// List the users (never their tokens).
    List,
    /// Remove a user; their token stops working at once.
    Remove {
        /// The user's name.
        name: String,
    },
    /// Give a user a new token and print it; the old one stops working at once.
    Token {
        /// The user's name.
        name: String,
    },
}

pub fn run(config: &Config, command: Command) -> anyhow::Result<()> {
    let users = UserStore::open(&config.data_dir)?;
    match command {
        Command::Add { name, email, admin } => {
            let token = users.add(&name, &email, admin).map_err(usage)?;
            super::print(&token)?;
            eprintln!(
                "added {name} <{email}>{}; the token above is shown only now: curl -H \"Authorization: Bearer $TOKEN\" …",
                if admin { " as an administrator" } else { "" }
            );
            Ok(())
        }
        Command::List => {
            let list = users.list()?;
            let width = list.iter().map(|u| u.name.len()).max().unwrap_or(4).max(4);
            super::print(&format!(
                "{:width$}  {:5}  {:20}  EMAIL",
                "NAME", "ADMIN", "ADDED"
            ))?;
            for user in list {
                super::print(&format!(
                    "{:width$}  {:5}  {:20}  {}",
                    user.name,
                    if user.admin { "yes" } else { "no" },
                    user.created_at,
                    user.email
                ))?;
            }
            Ok(())
        }
        Command::Remove { name } => {
            users.remove(&name).map_err(usage)?;
            eprintln!("removed {name}");
            Ok(())
        }
        Command::Token { name } => {
            let token = users.rotate(&name).map_err(usage)?;
            super::print(&token)?;
            eprintln!("{name}'s old token no longer works");
            Ok(())
        }
    }
}

/// Mistakes in what was asked exit 2; a store that fails is an ordinary error.
fn usage(err: UserError) -> anyhow::Error {
    match err {
        UserError::Store(err) => err,
        other => UsageError(other.to_string()).into(),
    }
}
