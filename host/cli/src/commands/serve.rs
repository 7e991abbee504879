//! `cafe-report serve`: the REST API (`POST /create_report`, executions, components,
//! health) on the local engine, plus the S3-compatible endpoint the emailed links use.

use cafe_report_server::Config;
use cafe_report_server::{Server, shutdown_signal};

/// Arguments of `serve`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Address the API listens on (default: `[serve] listen`, 127.0.0.1:8080).
    #[arg(long, value_name = "ADDR")]
    listen: Option<String>,
    /// Address the embedded S3 endpoint listens on (default: `[objects] listen`).
    #[arg(long, value_name = "ADDR")]
    objects_listen: Option<String>,
    /// Address the Step Functions API listens on, loopback only, or `off` (default:
    /// `[sfn] listen`, 127.0.0.1:8083).
    #[arg(long, value_name = "ADDR")]
    sfn_listen: Option<String>,
}

pub async fn run(config: &Config, args: Args) -> anyhow::Result<()> {
    let mut config = config.clone();
    if let Some(listen) = args.listen {
        config.serve.listen = listen;
    }
    if let Some(listen) = args.objects_listen {
        config.objects.listen = listen;
    }
    if let Some(listen) = args.sfn_listen {
        config.sfn.listen = listen;
    }
    let server = Server::bind(&config).await?;
    // Scripts and tests read these lines to find the ports.
    let sfn = server
        .sfn_addr()
        .map_or_else(|| "off".to_string(), |addr| format!("http://{addr}"));
    super::print(&format!(
        "API:     http://{}\nObjects: {}\nSFN:     {sfn}\nData:    {}",
        server.api_addr()?,
        server.objects_endpoint().as_deref().unwrap_or("AWS S3"),
        config.data_dir.display()
    ))?;
    server.run(shutdown_signal()).await
}
