//! Who is calling: `[auth] mode` turns a request's `Authorization: Bearer` token into an
//! [`Identity`], or refuses it.
//!
//! - [`users`]: `mode = "local"`, the users `cafe-report users` manages.
//! - [`jwt`]: `mode = "jwt"`, tokens of an OIDC issuer such as a Cognito user pool.

pub mod jwt;
pub mod users;

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::{Context, bail};

use crate::config::{AuthMode, Config};
use users::UserStore;

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The user: what executions record as their owner.
    pub user: String,
    /// Where the caller's report links go; `None`: to `[notify] to`.
    pub email: Option<String>,
    /// Sees every user's executions.
    pub admin: bool,
}

impl Identity {
    /// The caller of `mode = "none"`: anyone, with every right.
    pub fn anonymous() -> Identity {
        Identity {
            user: "anonymous".into(),
            email: None,
            admin: true,
        }
    }

    /// Whether this caller may see an execution `owner` started.
    pub fn sees(&self, owner: Option<&str>) -> bool {
        self.admin || owner == Some(self.user.as_str())
    }

    /// The owner to filter by: `None` for an administrator, who sees all.
    pub fn owner_filter(&self) -> Option<String> {
        (!self.admin).then(|| self.user.clone())
    }
}

/// Checks bearer tokens as `[auth]` says.
#[derive(Debug, Clone)]
pub enum Authenticator {
    /// `mode = "local"`.
    Local(UserStore),
    /// `mode = "jwt"`.
    Jwt(Arc<jwt::JwtVerifier>),
    /// `mode = "none"`: every caller is [`Identity::anonymous`].
    None,
}

impl Authenticator {
    /// The authenticator `config` asks for. `mode = "none"` is refused unless every
    /// listener is on loopback, and warned about when it is.
    pub async fn from_config(config: &Config) -> anyhow::Result<Authenticator> {
        match config.auth.mode {
            AuthMode::Local => Ok(Authenticator::Local(UserStore::open(&config.data_dir)?)),
            AuthMode::Jwt => Ok(Authenticator::Jwt(Arc::new(
                jwt::JwtVerifier::new(&config.auth.jwt).await?,
            ))),
            AuthMode::None => {
                let mut listeners = vec![("[serve] listen", config.serve.listen.as_str())];
                if config.objects.embedded() {
                    listeners.push(("[objects] listen", config.objects.listen.as_str()));
                }
                for (key, address) in listeners {
                    let addr: SocketAddr = address
                        .parse()
                        .with_context(|| format!("{key} {address:?} is not an address"))?;
                    if !addr.ip().is_loopback() {
                        bail!(
                            "[auth] mode = \"none\" serves without authentication, so it is refused on {key} {address}, which is not loopback; use mode = \"local\" (cafe-report users add) instead"
                        );
                    }
                }
                tracing::warn!(
                    "[auth] mode = \"none\": anyone who reaches this loopback address can start reports and read every execution"
                );
                Ok(Authenticator::None)
            }
        }
    }

    /// The caller a bearer token names; `None` when it names nobody.
    pub async fn authenticate(&self, token: Option<&str>) -> anyhow::Result<Option<Identity>> {
        match self {
            Authenticator::None => Ok(Some(Identity::anonymous())),
            Authenticator::Jwt(verifier) => Ok(match token {
                Some(token) => verifier.verify(token).await,
                None => None,
            }),
            Authenticator::Local(users) => match token {
                Some(token) => {
                    let users = users.clone();
                    let token = token.to_string();
                    tokio::task::spawn_blocking(move || users.authenticate(&token))
                        .await
                        .context("the users' worker ended")?
                }
                None => Ok(None),
            },
        }
    }
}
