//! A TLS front for the mock upstream, so tests reach it the way the gateway reaches a real
//! provider: a private CA and a certificate for 127.0.0.1 made for each run, rustls on the
//! server side offering the ALPN protocols a test picks, and the decrypted bytes passed on to the
//! plain mock (which reads HTTP/1.1, or HTTP/2 by prior knowledge once ALPN chose `h2`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rcgen::{
    BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose, SanType,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;

/// A certificate authority of our own, trusted only where a test hands its PEM over.
pub struct PrivateCa {
    pem: String,
    issuer: Issuer<'static, KeyPair>,
}

impl PrivateCa {
    /// A fresh CA named `name`.
    pub fn new(name: &str) -> PrivateCa {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let key = KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        PrivateCa {
            pem: cert.pem(),
            issuer: Issuer::new(params, key),
        }
    }

    /// The CA certificate as PEM.
    pub fn pem(&self) -> &str {
        &self.pem
    }

    /// A server certificate for 127.0.0.1 signed by this CA, with its private key.
    fn server_cert(&self) -> (CertificateDer<'static>, PrivateKeyDer<'static>) {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.subject_alt_names = vec![SanType::IpAddress(Ipv4Addr::LOCALHOST.into())];
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        let der = PrivatePkcs8KeyDer::from(key.serialize_der());
        (cert.der().clone(), der.into())
    }
}

/// A running TLS front; stopped when dropped.
pub struct TlsFront {
    addr: SocketAddr,
    ca_file: PathBuf,
    negotiated: Arc<Mutex<Vec<String>>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl TlsFront {
    /// Terminates TLS on an ephemeral port, offering `alpn` (e.g. `[b"h2", b"http/1.1"]`), and
    /// passes each connection on to `backend`.
    pub fn start(backend: SocketAddr, alpn: &[&[u8]]) -> TlsFront {
        let ca = PrivateCa::new("sluice test CA");
        let dir = super::gateway::temp_dir("tls");
        let ca_file = dir.join("ca.pem");
        std::fs::write(&ca_file, ca.pem()).unwrap();
        let (cert, key) = ca.server_cert();
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let mut cfg = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(vec![cert], key)
            .unwrap();
        cfg.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
        let acceptor = TlsAcceptor::from(Arc::new(cfg));
        let negotiated = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&negotiated);
        let (stop, mut stopped) = tokio::sync::oneshot::channel::<()>();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::Builder::new()
            .name("tls-front".into())
            .spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                rt.block_on(async move {
                    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
                    tx.send(listener.local_addr().unwrap()).unwrap();
                    loop {
                        let tcp = tokio::select! {
                            _ = &mut stopped => break,
                            accepted = listener.accept() => match accepted {
                                Ok((tcp, _)) => tcp,
                                // Never spin on a listener that keeps failing.
                                Err(_) => break,
                            },
                        };
                        let acceptor = acceptor.clone();
                        let seen = Arc::clone(&seen);
                        tokio::spawn(async move {
                            let mut tls = match acceptor.accept(tcp).await {
                                Ok(tls) => tls,
                                Err(e) => {
                                    seen.lock().unwrap().push(format!("handshake failed: {e}"));
                                    return;
                                }
                            };
                            let proto = tls.get_ref().1.alpn_protocol().map_or_else(
                                || "none".to_string(),
                                |p| String::from_utf8_lossy(p).into_owned(),
                            );
                            seen.lock().unwrap().push(proto);
                            let Ok(mut back) = TcpStream::connect(backend).await else {
                                return;
                            };
                            let _ = back.set_nodelay(true);
                            let _ = tokio::io::copy_bidirectional(&mut tls, &mut back).await;
                        });
                    }
                });
            })
            .unwrap();
        let addr = rx.recv().expect("tls front failed to start");
        TlsFront {
            addr,
            ca_file,
            negotiated,
            stop: Some(stop),
        }
    }

    /// Base URL including `/v1`: `https://127.0.0.1:PORT/v1`.
    pub fn base_url(&self) -> String {
        format!("https://{}/v1", self.addr)
    }

    /// The PEM file of the CA that signed the front's certificate.
    pub fn ca_file(&self) -> &Path {
        &self.ca_file
    }

    /// Per accepted connection: the ALPN protocol agreed (`h2`, `http/1.1`, `none`), or
    /// `handshake failed: ...`.
    pub fn negotiated(&self) -> Vec<String> {
        self.negotiated.lock().unwrap().clone()
    }
}

impl Drop for TlsFront {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(dir) = self.ca_file.parent() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}
