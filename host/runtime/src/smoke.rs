//! The smoke run every new version passes before it may serve: the version runs once,
//! on the configured smoke input or its task's default one, with the capabilities of a
//! smoke run (the sample database in memory; what it stores or publishes is kept, not
//! stored or sent), and must do its task's job:
//!
//! - **query** returns an inventory (`generated_at`, `suppliers` with their `beans`,
//!   `totals`) with the sample database's suppliers in it;
//! - **render** stores one HTML object, under the key its output names;
//! - **presign** returns a signed link and publishes one message that carries it.
//!
//! The default inputs are the sample database's inventory (read by the serving query)
//! with a report key, as the workflow gives them; query's is `{}`.

use anyhow::{Context, bail, ensure};
use cafe_report_capabilities::smoke::SmokeEffects;
use cafe_report_world::World;
use serde_json::{Value, json};

use crate::loader::LoadedComponent;
use crate::runtime::{Runtime, parse_output};

/// The key a default smoke input asks render and presign to use (never stored).
const SMOKE_KEY: &str = "reports/smoke-run.html";
/// Who a smoke run's message would be for (it is kept, never sent).
const SMOKE_RECIPIENT: &str = "smoke-run@cafe-report.invalid";

impl Runtime {
    /// Smoke-runs `candidate`, a version of `world`'s task, on `input` (else the task's
    /// default input) and checks it did its job.
    pub(crate) async fn smoke_run(
        &self,
        world: World,
        candidate: &LoadedComponent,
        input: Option<&str>,
    ) -> anyhow::Result<()> {
        let (capabilities, effects) = self.capabilities().for_smoke_run().await?;
        let input = match input {
            Some(input) => input.to_string(),
            None => self.default_smoke_input(world, &capabilities).await?,
        };
        let output = self
            .execute(
                candidate,
                &input,
                Some(SMOKE_RECIPIENT.to_string()),
                None,
                capabilities,
            )
            .await?;
        let output: Value = parse_output(&output)?;
        check(world, &output, &effects)
    }

    /// The input the workflow would give `world`'s task, over the sample database.
    async fn default_smoke_input(
        &self,
        world: World,
        capabilities: &cafe_report_capabilities::Capabilities,
    ) -> anyhow::Result<String> {
        if world == World::Query {
            return Ok("{}".to_string());
        }
        let inventory = async {
            let query = self.component(World::Query.name())?;
            let output = self
                .execute(&query, "{}", None, None, capabilities.clone())
                .await?;
            Ok::<Value, anyhow::Error>(parse_output(&output)?)
        }
        .await
        .context("reading the sample inventory for the default smoke input")?;
        let mut input = json!({"inventory": inventory, "key": SMOKE_KEY});
        if world == World::Presign {
            let objects = &capabilities.objects;
            input["bucket"] = objects.bucket().into();
            input["expires_in"] = 60.into();
        }
        Ok(input.to_string())
    }
}

/// Whether a smoke run's output and effects show the task's job done.
fn check(world: World, output: &Value, effects: &SmokeEffects) -> anyhow::Result<()> {
    match world {
        World::Query => {
            let suppliers = output["suppliers"].as_array();
            ensure!(
                output["generated_at"].is_string()
                    && output["totals"].is_object()
                    && suppliers.is_some_and(|s| {
                        !s.is_empty() && s.iter().all(|s| s["beans"].is_array())
                    }),
                "query's output is not an inventory with the sample database's suppliers \
                 (generated_at, suppliers with beans, totals)"
            );
        }
        World::Render => {
            let stored = effects.objects();
            let [object] = stored.as_slice() else {
                bail!(
                    "render must store one report object, it stored {}",
                    stored.len()
                );
            };
            ensure!(
                object.content_type.starts_with("text/html") && !object.body.is_empty(),
                "render stored {:?} as {:?}, not an HTML page",
                object.key,
                object.content_type
            );
            ensure!(
                output["key"] == object.key.as_str(),
                "render's output does not name the key it stored ({:?})",
                object.key
            );
        }
        World::Presign => {
            let url = output["url"].as_str().unwrap_or_default();
            ensure!(
                url.starts_with("http") && url.contains("X-Amz-Signature="),
                "presign's output has no signed link (url)"
            );
            let sent = effects.messages();
            let [message] = sent.as_slice() else {
                bail!(
                    "presign must publish one message, it published {}",
                    sent.len()
                );
            };
            ensure!(
                message.body.contains(url),
                "presign's message does not carry the link"
            );
        }
    }
    Ok(())
}
