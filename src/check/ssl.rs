//! SSL_GET's TLS layer (rustls). As keepalived: the real server's certificate is not
//! verified unless asked (`verify = true` in an `[ssl.NAME]` block, ldirector only), a client
//! certificate and key come from the `SSL { }` block, and SNI is sent only with `enable_sni`
//! (the name: sni_name, else the url's or checker's or virtual server's virtualhost).
//! The handshake signatures are always checked, so a verified-off probe still talks to the
//! holder of the certificate's key.

use crate::config::model::SslConfig;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use std::net::IpAddr;
use std::sync::Arc;
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;

/// Where `verify` without a `ca` finds the system's trusted roots (Debian, Ubuntu; the
/// RHEL path is tried next).
const SYSTEM_ROOTS: &[&str] = &[
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
];

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The client configuration of one `SSL` block (None: keepalived's defaults, no client
/// certificate, no verification). Err names the file that could not be used.
pub(crate) fn client_config(ssl: Option<&SslConfig>) -> Result<Arc<ClientConfig>, String> {
    let provider = provider();
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS: {e}"))?;
    let verify = ssl.is_some_and(|s| s.verify);
    let builder = if verify {
        let mut roots = RootCertStore::empty();
        let ca = match ssl.and_then(|s| s.ca.clone()) {
            Some(ca) => ca,
            None => SYSTEM_ROOTS
                .iter()
                .find(|p| std::path::Path::new(p).exists())
                .map(|p| p.to_string())
                .ok_or("verify is set without ca, and no system CA bundle was found")?,
        };
        let certs = read_certs(&ca)?;
        let (added, _) = roots.add_parsable_certificates(certs);
        if added == 0 {
            return Err(format!("ca {ca}: no usable CA certificate"));
        }
        builder.with_root_certificates(roots)
    } else {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(NoVerify(provider)))
    };
    let mut config = match ssl.and_then(|s| s.certificate.as_ref().map(|c| (c, s))) {
        Some((cert, s)) => {
            let chain = read_certs(cert)?;
            let key_file = s.key.as_deref().unwrap_or(cert);
            let key = PrivateKeyDer::from_pem_file(key_file).map_err(|e| {
                if s.password.is_some() {
                    format!("key {key_file}: {e} (encrypted keys are not supported: store the key decrypted, `openssl pkey -in KEY -out KEY.plain`)")
                } else {
                    format!("key {key_file}: {e}")
                }
            })?;
            builder
                .with_client_auth_cert(chain, key)
                .map_err(|e| format!("certificate {cert}: {e}"))?
        }
        None => builder.with_no_client_auth(),
    };
    config.enable_sni = true;
    Ok(Arc::new(config))
}

fn read_certs(path: &str) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs: Vec<_> = CertificateDer::pem_file_iter(path)
        .map_err(|e| format!("{path}: {e}"))?
        .collect::<Result<_, _>>()
        .map_err(|e| format!("{path}: {e}"))?;
    if certs.is_empty() {
        return Err(format!("{path}: no certificate in the file"));
    }
    Ok(certs)
}

/// The name the handshake uses: the SNI name when there is one, else the address (rustls
/// sends no SNI for an address).
pub(crate) fn server_name(sni: Option<&str>, ip: IpAddr) -> Result<ServerName<'static>, String> {
    match sni {
        Some(n) => ServerName::try_from(n.to_string()).map_err(|e| format!("sni name '{n}': {e}")),
        None => Ok(ServerName::IpAddress(ip.into())),
    }
}

/// The TLS handshake over a connected socket.
pub(crate) async fn connect(
    config: Arc<ClientConfig>,
    name: ServerName<'static>,
    tcp: TcpStream,
) -> std::io::Result<TlsStream<TcpStream>> {
    TlsConnector::from(config).connect(name, tcp).await
}

/// keepalived's default: any certificate is accepted; the handshake's signature is still
/// checked against it.
#[derive(Debug)]
struct NoVerify(Arc<CryptoProvider>);

impl ServerCertVerifier for NoVerify {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
