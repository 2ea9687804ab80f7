//! The simulator's TLS identity, generated at start: a private CA ("Runway Simulator CA") and
//! one server certificate it signs for `localhost`, `127.0.0.1`, `::1` and any extra names.
//!
//! Clients trust the CA PEM as a custom CA (as they would a customer's self-signed PBX), or
//! refuse it by default — both paths a real fleet needs. rustls uses the ring provider only.

use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose,
};
use rustls::ServerConfig;
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio_rustls::TlsAcceptor;

/// Generated certificates and the acceptor that serves them.
pub(crate) struct TlsMaterial {
    /// The CA certificate (PEM) clients should trust.
    pub(crate) ca_pem: String,
    /// The server certificate (PEM).
    pub(crate) cert_pem: String,
    /// Accepts TLS connections with the server certificate.
    pub(crate) acceptor: TlsAcceptor,
}

/// Generates a CA and a server certificate for the given extra names (DNS names or IPs).
pub(crate) fn generate(extra_names: &[String]) -> Result<TlsMaterial, String> {
    let fail = |what: &str, e: &dyn std::fmt::Display| format!("cannot {what}: {e}");
    let ca_key = KeyPair::generate().map_err(|e| fail("generate the CA key", &e))?;
    let mut ca_params = CertificateParams::new(Vec::<String>::new())
        .map_err(|e| fail("build the CA certificate", &e))?;
    let mut ca_name = DistinguishedName::new();
    ca_name.push(DnType::CommonName, "Runway Simulator CA");
    ca_name.push(DnType::OrganizationName, "runway-sim");
    ca_params.distinguished_name = ca_name;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca_cert = ca_params
        .self_signed(&ca_key)
        .map_err(|e| fail("sign the CA certificate", &e))?;

    let mut names = vec![
        "localhost".to_owned(),
        "127.0.0.1".to_owned(),
        "::1".to_owned(),
    ];
    names.extend(extra_names.iter().cloned());
    let server_key = KeyPair::generate().map_err(|e| fail("generate the server key", &e))?;
    let mut server_params =
        CertificateParams::new(names).map_err(|e| fail("build the server certificate", &e))?;
    let mut server_name = DistinguishedName::new();
    server_name.push(DnType::CommonName, "runway-sim");
    server_params.distinguished_name = server_name;
    server_params.is_ca = IsCa::ExplicitNoCa;
    server_params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    server_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let issuer = Issuer::from_params(&ca_params, &ca_key);
    let server_cert = server_params
        .signed_by(&server_key, &issuer)
        .map_err(|e| fail("sign the server certificate", &e))?;

    let chain = vec![server_cert.der().clone(), ca_cert.der().clone()];
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(server_key.serialize_der()));
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| fail("configure TLS", &e))?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| fail("configure TLS", &e))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsMaterial {
        ca_pem: ca_cert.pem(),
        cert_pem: server_cert.pem(),
        acceptor: TlsAcceptor::from(Arc::new(config)),
    })
}
