//! `cafe-report users`: who may call `serve`'s API with `[auth] mode = "local"`.
//! A token is printed once, when made; only its hash is kept. So is an access key, whose
//! secret is derived from its id and never stored.

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
    /// Give a user an access key for the Step Functions API (`[sfn]`) and print it as an
    /// AWS credentials profile (shown this once); their old key stops working at once.
    AccessKey {
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
                "{:width$}  {:5}  {:20}  {:20}  EMAIL",
                "NAME", "ADMIN", "ADDED", "ACCESS KEY"
            ))?;
            for user in list {
                super::print(&format!(
                    "{:width$}  {:5}  {:20}  {:20}  {}",
                    user.name,
                    if user.admin { "yes" } else { "no" },
                    user.created_at,
                    user.access_key_id.as_deref().unwrap_or("-"),
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
        Command::AccessKey { name } => {
            let key = users.issue_access_key(&name).map_err(usage)?;
            super::print(&format!(
                "[cafe-report]\naws_access_key_id = {}\naws_secret_access_key = {}",
                key.access_key_id, key.secret_access_key
            ))?;
            eprintln!(
                "the profile above is {name}'s access key, shown only now (put it in ~/.aws/credentials); any key {name} had before no longer works"
            );
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
