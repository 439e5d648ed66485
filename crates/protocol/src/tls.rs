//! TLS as huddle uses it: TLS 1.3 only, ALPN `huddle`, the server's
//! self-signed certificate identified by its SHA-256 [`Fingerprint`], and no
//! certificate authority. A client accepts whatever certificate the server
//! presents *for the handshake* (rustls still checks the handshake
//! signature, so the server holds the certificate's key) and then decides
//! whether to trust the fingerprint (pinned, known, or new): that decision
//! lives in the client, not here.
//!
//! These are rustls configurations, not sockets: sans-IO like the rest of
//! this crate. The provider is `ring` (pure Rust and assembly built by `cc`;
//! aws-lc-rs needs cmake on some machines, and its build is heavier).

use std::{fmt, str::FromStr, sync::Arc};

use rustls::{
    DigitallySignedStruct, DistinguishedName, SignatureScheme,
    client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier},
    crypto::{CryptoProvider, WebPkiSupportedAlgorithms, ring},
    pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName, UnixTime},
    server::danger::{ClientCertVerified, ClientCertVerifier},
};
use sha2::{Digest, Sha256};

/// The ALPN protocol id both ends offer; a peer speaking something else is
/// refused during the handshake.
pub const ALPN: &[u8] = b"huddle";

/// The name a client puts in its TLS ClientHello (SNI). Servers have no
/// DNS names on a LAN; identity is the fingerprint.
pub const SERVER_NAME: &str = "huddle.invalid";

/// The SHA-256 of a server's certificate (DER): the server's identity.
#[derive(
    Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub struct Fingerprint(pub [u8; 32]);

impl Fingerprint {
    /// The fingerprint of a DER certificate.
    pub fn of_certificate(der: &[u8]) -> Self {
        Self(Sha256::digest(der).into())
    }

    /// A short form for reading aloud: the first 64 bits as four groups of
    /// four hex digits (`3f2a 91c0 77de 0b14`). Enough to compare by voice;
    /// the full form is what gets pinned.
    pub fn short(&self) -> String {
        let hex = hex(&self.0[..8]);
        let groups: Vec<&str> = (0..4).map(|i| &hex[i * 4..i * 4 + 4]).collect();
        groups.join(" ")
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl fmt::Display for Fingerprint {
    /// `SHA256:` and 64 lowercase hex digits.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SHA256:{}", hex(&self.0))
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// A fingerprint that does not read as `SHA256:` and 64 hex digits.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a fingerprint: {0:?} (expected SHA256: and 64 hex digits)")]
pub struct FingerprintError(pub String);

impl FromStr for Fingerprint {
    type Err = FingerprintError;

    /// Accepts `SHA256:` (any case) and 64 hex digits, ignoring spaces,
    /// colons and dashes between them.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let error = || FingerprintError(text.to_owned());
        let body = text
            .get(..7)
            .filter(|prefix| prefix.eq_ignore_ascii_case("sha256:"))
            .map_or(text, |_| &text[7..]);
        let digits: Vec<u8> = body
            .bytes()
            .filter(|b| !matches!(b, b' ' | b':' | b'-'))
            .collect();
        if digits.len() != 64 || !digits.iter().all(u8::is_ascii_hexdigit) {
            return Err(error());
        }
        let mut out = [0u8; 32];
        for (i, pair) in digits.chunks(2).enumerate() {
            let pair = std::str::from_utf8(pair).map_err(|_| error())?;
            out[i] = u8::from_str_radix(pair, 16).map_err(|_| error())?;
        }
        Ok(Self(out))
    }
}

/// The crypto provider both ends use.
fn provider() -> Arc<CryptoProvider> {
    Arc::new(ring::default_provider())
}

/// Why a TLS configuration could not be built.
#[derive(Debug, thiserror::Error)]
#[error("TLS configuration: {0}")]
pub struct TlsConfigError(#[from] rustls::Error);

/// A client configuration builder for TLS 1.3 that accepts any server
/// certificate whose key signed the handshake.
fn client_builder() -> Result<
    rustls::ConfigBuilder<rustls::ClientConfig, rustls::client::WantsClientCert>,
    TlsConfigError,
> {
    let provider = provider();
    let verifier = AnyCertificate::of(&provider);
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])?
        .dangerous()
        .with_custom_certificate_verifier(verifier))
}

/// A certificate (DER) and its PKCS#8 key, as rustls takes them.
fn identity(
    certificate: Vec<u8>,
    pkcs8_key: Vec<u8>,
) -> (Vec<CertificateDer<'static>>, PrivateKeyDer<'static>) {
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(pkcs8_key));
    (vec![CertificateDer::from(certificate)], key)
}

/// A client configuration that accepts any certificate whose key signed the
/// handshake; the caller checks [`peer_fingerprint`] before trusting it.
pub fn client_config() -> Result<Arc<rustls::ClientConfig>, TlsConfigError> {
    let mut config = client_builder()?.with_no_client_auth();
    config.alpn_protocols = vec![ALPN.to_vec()];
    Ok(Arc::new(config))
}

/// [`client_config`] presenting `certificate` (DER) with its PKCS#8 key to
/// servers that ask for one, without ALPN: an IRC client logging in with
/// SASL EXTERNAL.
pub fn irc_client_config_presenting(
    certificate: Vec<u8>,
    pkcs8_key: Vec<u8>,
) -> Result<Arc<rustls::ClientConfig>, TlsConfigError> {
    let (chain, key) = identity(certificate, pkcs8_key);
    Ok(Arc::new(
        client_builder()?.with_client_auth_cert(chain, key)?,
    ))
}

/// The IRC gateway's server configuration: [`server_config`] without ALPN
/// (IRC clients send none), asking clients for a certificate without
/// requiring one — any certificate whose key signs the handshake, for SASL
/// EXTERNAL, which trusts it only by a fingerprint a key's holder set.
pub fn irc_server_config(
    certificate: Vec<u8>,
    pkcs8_key: Vec<u8>,
) -> Result<Arc<rustls::ServerConfig>, TlsConfigError> {
    let provider = provider();
    let verifier = AnyCertificate::of(&provider);
    let (chain, key) = identity(certificate, pkcs8_key);
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])?
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, key)?;
    config.send_tls13_tickets = 0;
    Ok(Arc::new(config))
}

/// A server configuration presenting `certificate` (DER) with its PKCS#8
/// key. No session tickets: clients do not resume, and a ticket is bytes
/// and memory per connection for nothing.
pub fn server_config(
    certificate: Vec<u8>,
    pkcs8_key: Vec<u8>,
) -> Result<Arc<rustls::ServerConfig>, TlsConfigError> {
    let (chain, key) = identity(certificate, pkcs8_key);
    let mut config = rustls::ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])?
        .with_no_client_auth()
        .with_single_cert(chain, key)?;
    config.alpn_protocols = vec![ALPN.to_vec()];
    config.send_tls13_tickets = 0;
    Ok(Arc::new(config))
}

/// The fingerprint of the certificate a handshake's peer presented.
pub fn peer_fingerprint(state: &rustls::CommonState) -> Option<Fingerprint> {
    state
        .peer_certificates()
        .and_then(|chain| chain.first())
        .map(|leaf| Fingerprint::of_certificate(leaf))
}

/// The server name a client sends (see [`SERVER_NAME`]).
pub fn server_name() -> ServerName<'static> {
    ServerName::DnsName(
        rustls::pki_types::DnsName::try_from(SERVER_NAME)
            .map(|name| name.to_owned())
            .unwrap_or_else(|_| unreachable!("a constant, valid DNS name")),
    )
}

/// Accepts any certificate, but checks the handshake's signature with the
/// certificate's key: a peer cannot present a certificate whose key it does
/// not hold. Used for servers' certificates (by clients) and for IRC
/// clients' certificates (by the gateway).
#[derive(Debug)]
struct AnyCertificate {
    algorithms: WebPkiSupportedAlgorithms,
}

impl AnyCertificate {
    fn of(provider: &CryptoProvider) -> Arc<Self> {
        Arc::new(Self {
            algorithms: provider.signature_verification_algorithms,
        })
    }

    fn tls12(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn tls13(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }
}

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
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
        self.tls12(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.tls13(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// For client certificates: asked for, not required.
impl ClientCertVerifier for AnyCertificate {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        false
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        Ok(ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.tls12(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.tls13(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fingerprint_reads_back_from_its_display_and_with_separators() {
        let fingerprint = Fingerprint::of_certificate(b"not really a certificate");
        let shown = fingerprint.to_string();
        assert!(
            shown.starts_with("SHA256:") && shown.len() == 7 + 64,
            "{shown}"
        );
        assert_eq!(shown.parse::<Fingerprint>(), Ok(fingerprint));
        let spaced = shown.as_bytes()[7..]
            .chunks(4)
            .map(|c| std::str::from_utf8(c).unwrap_or_default())
            .collect::<Vec<_>>()
            .join(":");
        assert_eq!(spaced.parse::<Fingerprint>(), Ok(fingerprint));
        assert!("SHA256:abc".parse::<Fingerprint>().is_err());
        assert!(
            format!("SHA256:{}", "g".repeat(64))
                .parse::<Fingerprint>()
                .is_err()
        );
        assert_eq!(fingerprint.short().len(), 19);
        assert!(shown[7..].starts_with(&fingerprint.short().replace(' ', "")));
    }
}
