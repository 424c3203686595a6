//! TLS to PostgreSQL, as libpq's `sslmode` asks for it.
//!
//! | `sslmode` | encrypted | server certificate checked |
//! |---|---|---|
//! | `disable` | never | no |
//! | `prefer` (the default, as in libpq) | when the server offers it | no |
//! | `require` | always | no, unless root certificates are configured (then as `verify-ca`) |
//! | `verify-ca` | always | signed by a trusted root |
//! | `verify-full` | always | signed by a trusted root, for the host connected to |
//!
//! The trusted roots are the PEM file given to
//! [`PostgresConfig::root_certificates`](crate::PostgresConfig::root_certificates), else the Mozilla
//! roots (webpki-roots). `prefer` and `require` without roots protect against eavesdropping, not
//! against an active attacker, exactly as libpq's do; production should say `verify-full`.
//!
//! tokio-postgres itself knows `disable`, `prefer` and `require`; the two `verify-*` modes are
//! passed to it as `require`, and the checking is done by the rustls verifier built here.

use portal_sessions::StoreError;

/// libpq's `sslmode`, as this store honours it (see the module table).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SslMode {
    /// Never TLS.
    Disable,
    /// TLS when the server offers it, unchecked.
    #[default]
    Prefer,
    /// Always TLS, unchecked unless root certificates are configured.
    Require,
    /// Always TLS, the certificate chain checked.
    VerifyCa,
    /// Always TLS, the chain and the host name checked.
    VerifyFull,
}

impl SslMode {
    fn parse(value: &str) -> Option<SslMode> {
        Some(match value {
            "disable" => SslMode::Disable,
            "prefer" => SslMode::Prefer,
            "require" => SslMode::Require,
            "verify-ca" => SslMode::VerifyCa,
            "verify-full" => SslMode::VerifyFull,
            _ => return None,
        })
    }

    /// What tokio-postgres is told.
    fn driver_value(self) -> &'static str {
        match self {
            SslMode::Disable => "disable",
            SslMode::Prefer => "prefer",
            SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => "require",
        }
    }
}

/// Finds the `sslmode` of a connection string (URL or `key=value` form) and rewrites it into what
/// tokio-postgres parses. Returns the rewritten string and the mode (`None` when not given).
///
/// # Errors
///
/// [`StoreError::Config`] for an `sslmode` libpq does not know.
pub(crate) fn split_sslmode(url: &str) -> Result<(String, Option<SslMode>), StoreError> {
    let Some(at) = url.find("sslmode=") else {
        return Ok((url.to_owned(), None));
    };
    let start = at + "sslmode=".len();
    let end = url[start..]
        .find(['&', ' ', '#'])
        .map_or(url.len(), |offset| start + offset);
    let mode = SslMode::parse(&url[start..end]).ok_or_else(|| {
        StoreError::config(
            "sslmode must be disable, prefer, require, verify-ca or verify-full",
            None,
        )
    })?;
    let mut rewritten = url.to_owned();
    rewritten.replace_range(start..end, mode.driver_value());
    Ok((rewritten, Some(mode)))
}

#[cfg(feature = "tls-rustls")]
pub(crate) use with_rustls::connector;

#[cfg(feature = "tls-rustls")]
mod with_rustls {
    use std::sync::Arc;

    use portal_sessions::StoreError;
    use rustls::DigitallySignedStruct;
    use rustls::client::WebPkiServerVerifier;
    use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
    use rustls::crypto::CryptoProvider;
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, ServerName, UnixTime};

    use super::SslMode;

    /// The rustls connector for `mode`, trusting the PEM roots at `roots` (else the Mozilla roots).
    pub(crate) fn connector(
        mode: SslMode,
        roots: Option<&str>,
    ) -> Result<tokio_postgres_rustls::MakeRustlsConnect, StoreError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config_error = |reason: &'static str| {
            move |error: rustls::Error| StoreError::config(reason, Some(Box::new(error)))
        };
        let mut store = rustls::RootCertStore::empty();
        match roots {
            Some(path) => {
                let certificates = CertificateDer::pem_file_iter(path).map_err(|error| {
                    StoreError::config(
                        "cannot read the root certificates file",
                        Some(Box::new(error)),
                    )
                })?;
                for certificate in certificates {
                    let certificate = certificate.map_err(|error| {
                        StoreError::config(
                            "the root certificates file is not PEM certificates",
                            Some(Box::new(error)),
                        )
                    })?;
                    store
                        .add(certificate)
                        .map_err(config_error("a root certificate is not usable"))?;
                }
            }
            None => store.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
        }
        let webpki = WebPkiServerVerifier::builder_with_provider(Arc::new(store), provider.clone())
            .build()
            .map_err(|error| {
                StoreError::config(
                    "cannot build the certificate verifier",
                    Some(Box::new(error)),
                )
            })?;
        let check = match (mode, roots) {
            (SslMode::VerifyFull, _) => Check::Full,
            (SslMode::VerifyCa, _) | (SslMode::Require, Some(_)) => Check::Chain,
            _ => Check::Nothing,
        };
        let verifier = Arc::new(Verifier {
            webpki,
            check,
            provider: provider.clone(),
        });
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(config_error("cannot configure TLS"))?
            .dangerous()
            .with_custom_certificate_verifier(verifier)
            .with_no_client_auth();
        Ok(tokio_postgres_rustls::MakeRustlsConnect::new(config))
    }

    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum Check {
        /// `prefer`, `require`: encryption only, as libpq.
        Nothing,
        /// `verify-ca`: the chain to a trusted root, whatever the name.
        Chain,
        /// `verify-full`: the chain and the name.
        Full,
    }

    /// libpq's certificate checks over rustls' WebPKI verifier. Handshake signatures are always
    /// checked, so even unchecked certificates are at least the server's own.
    #[derive(Debug)]
    struct Verifier {
        webpki: Arc<WebPkiServerVerifier>,
        check: Check,
        provider: Arc<CryptoProvider>,
    }

    impl ServerCertVerifier for Verifier {
        fn verify_server_cert(
            &self,
            end_entity: &CertificateDer<'_>,
            intermediates: &[CertificateDer<'_>],
            server_name: &ServerName<'_>,
            ocsp_response: &[u8],
            now: UnixTime,
        ) -> Result<ServerCertVerified, rustls::Error> {
            let verified = self.webpki.verify_server_cert(
                end_entity,
                intermediates,
                server_name,
                ocsp_response,
                now,
            );
            match (self.check, verified) {
                (Check::Nothing, _) => Ok(ServerCertVerified::assertion()),
                (Check::Full, verified) => verified,
                (Check::Chain, Ok(verified)) => Ok(verified),
                (
                    Check::Chain,
                    Err(rustls::Error::InvalidCertificate(
                        rustls::CertificateError::NotValidForName
                        | rustls::CertificateError::NotValidForNameContext { .. },
                    )),
                ) => Ok(ServerCertVerified::assertion()),
                (Check::Chain, Err(error)) => Err(error),
            }
        }

        fn verify_tls12_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            rustls::crypto::verify_tls12_signature(
                message,
                cert,
                dss,
                &self.provider.signature_verification_algorithms,
            )
        }

        fn verify_tls13_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            rustls::crypto::verify_tls13_signature(
                message,
                cert,
                dss,
                &self.provider.signature_verification_algorithms,
            )
        }

        fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
            self.provider
                .signature_verification_algorithms
                .supported_schemes()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sslmode_is_read_and_rewritten_for_the_driver() {
        let cases = [
            ("postgres://u@h/db", "postgres://u@h/db", None),
            (
                "postgres://u@h/db?sslmode=verify-full&application_name=x",
                "postgres://u@h/db?sslmode=require&application_name=x",
                Some(SslMode::VerifyFull),
            ),
            (
                "host=h sslmode=verify-ca user=u",
                "host=h sslmode=require user=u",
                Some(SslMode::VerifyCa),
            ),
            (
                "postgres://h/db?sslmode=disable",
                "postgres://h/db?sslmode=disable",
                Some(SslMode::Disable),
            ),
        ];
        for (url, rewritten, mode) in cases {
            let (got, got_mode) = split_sslmode(url).unwrap_or_else(|e| panic!("{url}: {e}"));
            assert_eq!((got.as_str(), got_mode), (rewritten, mode), "{url}");
        }
        assert!(split_sslmode("postgres://h/db?sslmode=allow-ish").is_err());
    }
}
