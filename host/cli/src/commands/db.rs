//! `cafe-report db seed`: create the café tables with sample data.

use cafe_report_capabilities::sql;
use cafe_report_server::Config;

/// Database subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Create (MySQL: drop and recreate) the café tables with the sample data, in the
    /// configured database (`DATABASE_URL`; SQLite files are created on first use anyway).
    Seed,
}

pub async fn run(config: &Config, command: Command) -> anyhow::Result<()> {
    match command {
        Command::Seed => {
            let url = config.sql.url_or_default(&config.data_dir);
            if url.starts_with("mysql://") {
                sql::MysqlBackend::create_database(&url).await?;
                let db = sql::MysqlBackend::new(&url)?;
                db.reset_and_seed().await?;
                db.close().await?;
            } else {
                sql::open(&config.sql, &config.data_dir, None).await?;
            }
            super::print(&format!(
                "seeded {}",
                cafe_report_capabilities::config::mask_url(&url)
            ))
        }
    }
}
