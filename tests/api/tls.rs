//! TCP is only served with TLS; with a client CA configured (mTLS) only
//! clients presenting a certificate signed by that CA get in. Certificates
//! are generated in-test with rcgen.

use std::sync::Arc;

use crate::common::*;
use kestrel::alert::AlertHub;
use kestrel::api::client::{self, ClientTls, OutputFormat, Target};
use kestrel::api::events::EventHub;
use kestrel::api::filter::BuiltinConditions;
use kestrel::api::server::{ApiServer, ApiState, Listen, ServerConfig, TlsConfig};
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair,
};

struct Pki {
    ca: CertifiedIssuer<'static, KeyPair>,
}

impl Pki {
    fn new(name: &str) -> Self {
        let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        p.distinguished_name.push(DnType::CommonName, name);
        Self {
            ca: CertifiedIssuer::self_signed(p, KeyPair::generate().unwrap()).unwrap(),
        }
    }

    fn ca_pem(&self) -> Vec<u8> {
        self.ca.pem().into_bytes()
    }

    /// (cert PEM, key PEM)
    fn leaf(&self, name: &str, usage: ExtendedKeyUsagePurpose) -> (Vec<u8>, Vec<u8>) {
        let mut p = CertificateParams::new(vec![name.to_string()]).unwrap();
        p.distinguished_name.push(DnType::CommonName, name);
        p.extended_key_usages = vec![usage];
        let key = KeyPair::generate().unwrap();
        let cert = p.signed_by(&key, &self.ca).unwrap();
        (cert.pem().into_bytes(), key.serialize_pem().into_bytes())
    }
}

async fn tls_server(
    pki: &Pki,
    client_ca: Option<Vec<u8>>,
) -> (String, tempfile::TempDir, tokio::sync::oneshot::Sender<()>) {
    let dir = tempfile::tempdir().unwrap();
    let (cert_pem, key_pem) = pki.leaf("localhost", ExtendedKeyUsagePurpose::ServerAuth);
    let hub = AlertHub::open(hub_config(dir.path())).unwrap();
    hub.publish(alert(1)).unwrap();
    let state = ApiState {
        alerts: hub,
        events: EventHub::new(),
        control: Arc::new(TestControl::new()),
        conditions: Arc::new(BuiltinConditions),
    };
    let server = ApiServer::bind(ServerConfig {
        listen: Listen::Tcp {
            addr: "127.0.0.1:0".parse().unwrap(),
            tls: TlsConfig {
                cert_pem,
                key_pem,
                client_ca_pem: client_ca,
            },
        },
        stream: Default::default(),
    })
    .await
    .unwrap();
    let addr = server.local_addr().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(server.serve(state, async {
        let _ = rx.await;
    }));
    (format!("https://127.0.0.1:{}", addr.port()), dir, tx)
}

fn target(uri: &str, ca: Vec<u8>, identity: Option<(Vec<u8>, Vec<u8>)>) -> Target {
    Target::Tcp {
        uri: uri.to_string(),
        tls: ClientTls {
            ca_pem: ca,
            domain: Some("localhost".into()),
            identity,
        },
    }
}

async fn status_ok(t: &Target) -> Result<(), String> {
    client::status(t, OutputFormat::Json, &mut Vec::<u8>::new())
        .await
        .map(|_| ())
        .map_err(|e| e.to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_serves_clients_that_trust_the_server() {
    let pki = Pki::new("Kestrel test CA");
    let (uri, _dir, _stop) = tls_server(&pki, None).await;
    status_ok(&target(&uri, pki.ca_pem(), None)).await.unwrap();
    // A client trusting another CA refuses the server.
    let other = Pki::new("Other CA");
    assert!(
        status_ok(&target(&uri, other.ca_pem(), None))
            .await
            .is_err()
    );
    // Streams work over TLS too.
    let mut c = alert_client(&target(&uri, pki.ca_pem(), None)).await;
    let mut s = c.subscribe(from_seq(1, None)).await.unwrap().into_inner();
    let got = read_until(&mut s, |g| matches!(g, Got::CaughtUp(_))).await;
    assert_eq!(alert_seqs(&got), vec![1]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mtls_accepts_the_right_client_and_rejects_others() {
    let pki = Pki::new("Kestrel test CA");
    let clients = Pki::new("Kestrel client CA");
    let (uri, _dir, _stop) = tls_server(&pki, Some(clients.ca_pem())).await;

    let good = clients.leaf("cli", ExtendedKeyUsagePurpose::ClientAuth);
    status_ok(&target(&uri, pki.ca_pem(), Some(good)))
        .await
        .unwrap();

    let err = status_ok(&target(&uri, pki.ca_pem(), None))
        .await
        .unwrap_err();
    assert!(!err.is_empty());

    // A certificate from the wrong CA is refused as well.
    let rogue = Pki::new("Rogue CA").leaf("cli", ExtendedKeyUsagePurpose::ClientAuth);
    assert!(
        status_ok(&target(&uri, pki.ca_pem(), Some(rogue)))
            .await
            .is_err()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_without_certificate_is_refused_at_bind() {
    let r = ApiServer::bind(ServerConfig {
        listen: Listen::Tcp {
            addr: "127.0.0.1:0".parse().unwrap(),
            tls: TlsConfig {
                cert_pem: vec![],
                key_pem: vec![],
                client_ca_pem: None,
            },
        },
        stream: Default::default(),
    })
    .await;
    assert!(r.is_err());
}
