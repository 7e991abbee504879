//! A MySQL URL to connection options, with TLS as MySQL's own clients spell it:
//! `ssl-mode=DISABLED|REQUIRED|VERIFY_CA|VERIFY_IDENTITY` and `ssl-ca=<PEM file>`.
//! mysql_async reads everything else (it has its own `require_ssl`/`verify_*` flags, which
//! `ssl-mode` replaces). TLS is rustls.
//!
//! Unset, `ssl-mode` is `DISABLED` on a loopback host and `REQUIRED` elsewhere, so traffic
//! to a database across a network (RDS) is never plaintext by default.

use std::path::PathBuf;

use mysql_async::{Opts, OptsBuilder, SslOpts};

/// MySQL's `--ssl-mode`, less `PREFERRED` (which silently falls back to plaintext).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SslMode {
    /// No TLS.
    Disabled,
    /// TLS, certificate not checked.
    Required,
    /// TLS, certificate signed by a trusted CA (`ssl-ca`, else the public roots).
    VerifyCa,
    /// As `VerifyCa`, and the certificate names the host.
    VerifyIdentity,
}

impl SslMode {
    fn parse(text: &str) -> anyhow::Result<SslMode> {
        Ok(match text.to_ascii_uppercase().as_str() {
            "DISABLED" => SslMode::Disabled,
            "REQUIRED" => SslMode::Required,
            "VERIFY_CA" => SslMode::VerifyCa,
            "VERIFY_IDENTITY" => SslMode::VerifyIdentity,
            _ => anyhow::bail!(
                "ssl-mode {text:?} is not one of DISABLED, REQUIRED, VERIFY_CA, VERIFY_IDENTITY \
                 (PREFERRED would fall back to plaintext, so it is not offered)"
            ),
        })
    }
}

/// Connection options for `url`.
pub fn options(url: &str) -> anyhow::Result<Opts> {
    let (base, query) = url.split_once('?').unwrap_or((url, ""));
    let mut mode = None;
    let mut ca = None;
    let mut rest = form_urlencoded::Serializer::new(String::new());
    for (name, value) in form_urlencoded::parse(query.as_bytes()) {
        match name.replace('_', "-").as_str() {
            "ssl-mode" => mode = Some(SslMode::parse(&value)?),
            "ssl-ca" => ca = Some(PathBuf::from(value.as_ref())),
            _ => {
                rest.append_pair(&name, &value);
            }
        }
    }
    let rest = rest.finish();
    let url = if rest.is_empty() {
        base.to_string()
    } else {
        format!("{base}?{rest}")
    };
    let opts = Opts::from_url(&url).map_err(|err| anyhow::anyhow!("bad MySQL URL: {err}"))?;
    let loopback = is_loopback(opts.ip_or_hostname());
    let mode = mode.unwrap_or(if loopback {
        SslMode::Disabled
    } else {
        SslMode::Required
    });
    if mode == SslMode::Disabled {
        anyhow::ensure!(
            ca.is_none(),
            "bad MySQL URL: ssl-ca needs an ssl-mode with TLS"
        );
        return Ok(opts);
    }
    // rustls picks its cryptography from the features enabled in the build; with more
    // than one (the AWS SDK's and lettre's differ), a process must name one.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let mut ssl = SslOpts::default();
    if let Some(ca) = ca {
        anyhow::ensure!(
            ca.is_file(),
            "bad MySQL URL: ssl-ca {} is not a file",
            ca.display()
        );
        ssl = ssl
            .with_root_certs(vec![ca.into()])
            .with_disable_built_in_roots(true);
    }
    ssl = match mode {
        SslMode::Required => ssl
            .with_danger_accept_invalid_certs(true)
            .with_danger_skip_domain_validation(true),
        SslMode::VerifyCa => ssl.with_danger_skip_domain_validation(true),
        SslMode::VerifyIdentity | SslMode::Disabled => ssl,
    };
    Ok(OptsBuilder::from_opts(opts).ssl_opts(Some(ssl)).into())
}

fn is_loopback(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (accept invalid certs, skip domain validation), or None without TLS.
    fn tls(url: &str) -> Option<(bool, bool)> {
        let opts = options(url).unwrap();
        opts.ssl_opts()
            .map(|ssl| (ssl.accept_invalid_certs(), ssl.skip_domain_validation()))
    }

    #[test]
    fn ssl_mode_chooses_what_is_checked() {
        assert_eq!(tls("mysql://u@127.0.0.1/db"), None, "loopback: plaintext");
        assert_eq!(tls("mysql://u@localhost/db"), None);
        assert_eq!(
            tls("mysql://u@db.example.com/db"),
            Some((true, true)),
            "elsewhere: TLS"
        );
        assert_eq!(tls("mysql://u@db.example.com/db?ssl-mode=DISABLED"), None);
        assert_eq!(
            tls("mysql://u@127.0.0.1/db?ssl-mode=required"),
            Some((true, true))
        );
        assert_eq!(
            tls("mysql://u@127.0.0.1/db?ssl_mode=VERIFY_CA"),
            Some((false, true))
        );
        assert_eq!(
            tls("mysql://u@127.0.0.1/db?ssl-mode=VERIFY_IDENTITY&pool_min=1"),
            Some((false, false))
        );
    }

    #[test]
    fn bad_tls_settings_are_named() {
        for (url, says) in [
            (
                "mysql://u@h/db?ssl-mode=PREFERRED",
                "PREFERRED would fall back",
            ),
            (
                "mysql://u@h/db?ssl-mode=VERIFY_CA&ssl-ca=/nonexistent.pem",
                "is not a file",
            ),
            (
                "mysql://u@127.0.0.1/db?ssl-ca=/etc/hostname",
                "ssl-ca needs an ssl-mode with TLS",
            ),
        ] {
            let err = options(url).unwrap_err().to_string();
            assert!(err.contains(says), "{url}: {err}");
        }
    }
}
