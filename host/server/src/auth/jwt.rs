//! `[auth] mode = "jwt"`: bearer tokens an OIDC issuer signed (a Cognito user pool, say),
//! checked with jsonwebtoken against the issuer's JWKS: signature (RS256 or ES256 only;
//! `alg: none` and HMAC never), issuer, audience (`aud`, or Cognito access tokens'
//! `client_id`), expiry, and `token_use` when configured. The caller is `sub`; their
//! address is the `email` claim, which a token must carry, since the link goes there.
//!
//! The key set is read at start and again when a token names a `kid` it does not hold
//! (the issuer rotated its keys), at most once per [`REFRESH_INTERVAL`], so unknown kids
//! cannot make this server hammer the issuer.

use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;

use super::Identity;
use crate::config::JwtConfig;

/// The least time between two reads of the key set.
pub const REFRESH_INTERVAL: Duration = Duration::from_secs(30);

/// Where the key set comes from.
#[derive(Debug, Clone)]
enum Source {
    File(PathBuf),
    Url(String),
}

/// Verifies tokens of one issuer.
#[derive(Debug)]
pub struct JwtVerifier {
    config: JwtConfig,
    source: Source,
    http: reqwest::Client,
    keys: Mutex<Keys>,
}

#[derive(Debug)]
struct Keys {
    set: JwkSet,
    read_at: Instant,
}

/// The claims this server reads.
#[derive(Debug, Deserialize)]
struct Claims {
    sub: String,
    email: Option<String>,
    token_use: Option<String>,
    #[serde(rename = "cognito:groups", default)]
    groups: Vec<String>,
}

impl JwtVerifier {
    /// A verifier for `config`, with its key set read once now.
    pub async fn new(config: &JwtConfig) -> anyhow::Result<JwtVerifier> {
        if config.issuer.is_empty() {
            bail!("[auth] mode = \"jwt\" needs [auth.jwt] issuer");
        }
        if config.audience.is_empty() {
            bail!(
                "[auth] mode = \"jwt\" needs [auth.jwt] audience (the app client ids tokens are for)"
            );
        }
        let source = match (&config.jwks_file, &config.jwks_url) {
            (Some(file), _) => Source::File(file.clone()),
            (None, Some(url)) => Source::Url(url.clone()),
            (None, None) => Source::Url(format!(
                "{}/.well-known/jwks.json",
                config.issuer.trim_end_matches('/')
            )),
        };
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .context("building the JWKS client")?;
        let set = read(&source, &http).await?;
        Ok(JwtVerifier {
            config: config.clone(),
            source,
            http,
            keys: Mutex::new(Keys {
                set,
                read_at: Instant::now(),
            }),
        })
    }

    /// The caller a token names, or `None` for any token that fails a check.
    pub async fn verify(&self, token: &str) -> Option<Identity> {
        let header = jsonwebtoken::decode_header(token).ok()?;
        if !matches!(header.alg, Algorithm::RS256 | Algorithm::ES256) {
            return None;
        }
        let kid = header.kid?;
        let key = match self.key(&kid) {
            Some(key) => key,
            None => {
                self.refresh().await;
                self.key(&kid)?
            }
        };
        let mut validation = Validation::new(header.alg);
        validation.set_issuer(&[&self.config.issuer]);
        validation.set_required_spec_claims(&["exp", "iss", "sub"]);
        validation.leeway = self.config.leeway_seconds;
        // Cognito access tokens carry the app client in `client_id`, not `aud`: checked below.
        validation.validate_aud = false;
        let data = jsonwebtoken::decode::<serde_json::Value>(token, &key, &validation).ok()?;
        let audience_ok = audiences(&data.claims)
            .iter()
            .any(|aud| self.config.audience.iter().any(|allowed| allowed == aud));
        if !audience_ok {
            return None;
        }
        let claims: Claims = serde_json::from_value(data.claims).ok()?;
        if let Some(wanted) = &self.config.token_use
            && claims.token_use.as_deref() != Some(wanted.as_str())
        {
            return None;
        }
        let email = claims.email?;
        let admin = self
            .config
            .admin_group
            .as_ref()
            .is_some_and(|group| claims.groups.contains(group));
        Some(Identity {
            user: claims.sub,
            email: Some(email),
            admin,
        })
    }

    fn key(&self, kid: &str) -> Option<DecodingKey> {
        let keys = self.keys.lock().unwrap_or_else(|e| e.into_inner());
        DecodingKey::from_jwk(keys.set.find(kid)?).ok()
    }

    /// Reads the key set again, unless it was read less than [`REFRESH_INTERVAL`] ago.
    async fn refresh(&self) {
        {
            let keys = self.keys.lock().unwrap_or_else(|e| e.into_inner());
            if keys.read_at.elapsed() < REFRESH_INTERVAL {
                return;
            }
        }
        match read(&self.source, &self.http).await {
            Ok(set) => {
                *self.keys.lock().unwrap_or_else(|e| e.into_inner()) = Keys {
                    set,
                    read_at: Instant::now(),
                };
            }
            Err(err) => {
                tracing::warn!(error = %format!("{err:#}"), "reading the JWKS again failed; keeping the keys held");
                self.keys.lock().unwrap_or_else(|e| e.into_inner()).read_at = Instant::now();
            }
        }
    }
}

/// `aud` (a string or a list) and `client_id`.
fn audiences(claims: &serde_json::Value) -> Vec<String> {
    let mut found = Vec::new();
    match &claims["aud"] {
        serde_json::Value::String(aud) => found.push(aud.clone()),
        serde_json::Value::Array(auds) => {
            found.extend(auds.iter().filter_map(|a| a.as_str().map(String::from)));
        }
        _ => {}
    }
    if let Some(client) = claims["client_id"].as_str() {
        found.push(client.to_string());
    }
    found
}

async fn read(source: &Source, http: &reqwest::Client) -> anyhow::Result<JwkSet> {
    let (bytes, from) = match source {
        Source::File(path) => (
            tokio::fs::read(path)
                .await
                .with_context(|| format!("reading the JWKS {}", path.display()))?,
            path.display().to_string(),
        ),
        Source::Url(url) => {
            let response = http
                .get(url)
                .send()
                .await
                .and_then(reqwest::Response::error_for_status)
                .with_context(|| format!("fetching the JWKS {url}"))?;
            let bytes = response
                .bytes()
                .await
                .with_context(|| format!("fetching the JWKS {url}"))?;
            (bytes.to_vec(), url.clone())
        }
    };
    serde_json::from_slice(&bytes).with_context(|| format!("{from} is not a JWKS"))
}
