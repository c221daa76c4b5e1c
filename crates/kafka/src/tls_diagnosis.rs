//! Why a broker's TLS certificate was not accepted, in OpenSSL's own words.
//!
//! librdkafka reports every verification failure as "broker certificate could not be
//! verified"; whether the certificate expired, has an unknown issuer or names another host
//! is lost. After such a failure we repeat the handshake once with OpenSSL (the library
//! librdkafka uses, with the same CA) and read the verification result.

use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use openssl::ssl::{SslConnector, SslMethod, SslVerifyMode};
use openssl::x509::{X509VerifyResult, X509};

use crate::config::{Pem, Tls};

/// The verification error of the broker at `host:port`, e.g. "certificate has expired
/// (valid until Jan  2 00:00:00 2020 GMT)"; `None` when the certificate verifies, or the
/// handshake fails before verification (then librdkafka's message is the cause).
pub fn certificate_problem(address: &str, tls: &Tls, timeout: Duration) -> Option<String> {
    let (host, _) = address.rsplit_once(':')?;
    let addr = address.to_socket_addrs().ok()?.next()?;
    let stream = TcpStream::connect_timeout(&addr, timeout).ok()?;
    stream.set_read_timeout(Some(timeout)).ok()?;
    stream.set_write_timeout(Some(timeout)).ok()?;
    let mut builder = SslConnector::builder(SslMethod::tls_client()).ok()?;
    match &tls.ca {
        Some(Pem::File(ca)) => builder.set_ca_file(ca).ok()?,
        Some(Pem::Inline(text)) => {
            let store = builder.cert_store_mut();
            for cert in X509::stack_from_pem(text.expose().as_bytes()).ok()? {
                store.add_cert(cert).ok()?;
            }
        }
        None => {}
    }
    let problem = std::sync::Arc::new(std::sync::Mutex::new(None::<String>));
    let seen = std::sync::Arc::clone(&problem);
    builder.set_verify_callback(SslVerifyMode::PEER, move |ok, ctx| {
        if !ok && ctx.error() != X509VerifyResult::OK {
            let until = ctx
                .current_cert()
                .map(|c| format!(" (valid until {})", c.not_after()))
                .unwrap_or_default();
            let mut text = ctx.error().error_string().to_string();
            if ctx.error().as_raw() == openssl_sys_codes::CERT_HAS_EXPIRED {
                text.push_str(&until);
            }
            if let Ok(mut p) = seen.lock() {
                p.get_or_insert(text);
            }
        }
        ok
    });
    let mut config = builder.build().configure().ok()?;
    config.set_verify_hostname(tls.verify_hostname);
    let _ = config.connect(host.trim_matches(['[', ']']), stream);
    let found = problem.lock().ok()?.clone();
    found
}

/// OpenSSL's X509_V_ERR_* codes used here (stable across OpenSSL versions).
mod openssl_sys_codes {
    pub const CERT_HAS_EXPIRED: i32 = 10;
}
