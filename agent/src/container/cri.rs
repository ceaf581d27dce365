//! Kubernetes CRI client (containerd, CRI-O): container id → metadata over
//! the runtime's gRPC unix socket.
//!
//! Owns the generated code of our read-only CRI subset
//! (`proto/cri/v1/api.proto`, package `runtime.v1`), [`CriClient`] and the
//! [`CriError`] taxonomy of its calls. [`CriClient::inspect`] asks
//! `ContainerStatus` (verbose, for the sandbox id and the privileged flag)
//! and then, for a container in a pod, `PodSandboxStatus` for the pod's
//! labels; a pod sandbox id (the pause container's cgroup) is answered from
//! `PodSandboxStatus` alone.
//!
//! One connection per inspection (a unix-socket HTTP/2 handshake is cheap
//! next to the rare question "what is this new container?"), bounded by the
//! [`ClientConfig`] timeouts and answer size. Every answer is untrusted:
//! garbage, a wrong id or a non-gRPC listener give an error, never a panic.
//! Called from the registry's resolver task, never from the hot path.

use std::collections::BTreeMap;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hyper_util::rt::TokioIo;
use tokio::net::UnixStream;
use tonic::transport::{Channel, Endpoint, Uri};

pub use super::docker::ClientConfig;
use super::meta::{
    ContainerMeta, LABEL_POD_NAME, LABEL_POD_NAMESPACE, LABEL_POD_UID, PodMeta, Runtime,
};

/// Generated code of `proto/cri/v1/api.proto` (package `runtime.v1`).
pub mod proto {
    #![allow(clippy::all, clippy::pedantic, missing_docs)]
    tonic::include_proto!("runtime.v1");
}

use proto::runtime_service_client::RuntimeServiceClient;

/// Container label with the container's name in the pod spec (set by kubelet).
pub const LABEL_CONTAINER_NAME: &str = "io.kubernetes.container.name";
/// Container label some tooling sets with the container's sandbox id.
pub const LABEL_SANDBOX_ID: &str = "io.kubernetes.sandbox.id";
/// Key of the runtime-specific JSON in a verbose answer's `info` map.
const INFO_KEY: &str = "info";
/// Length of the runtime message quoted in errors.
const EXCERPT_LEN: usize = 160;

/// Failure of a CRI call. The kinds match [`super::docker::RuntimeError`]'s:
/// socket missing, cannot connect, timeouts, not found, bad answers.
#[derive(Debug, thiserror::Error)]
pub enum CriError {
    #[error("CRI socket {} does not exist", path.display())]
    SocketMissing { path: PathBuf },
    #[error("cannot connect to CRI socket {}: {source}", path.display())]
    Connect {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("connecting to CRI socket {} timed out after {after:?}", path.display())]
    ConnectTimeout { path: PathBuf, after: Duration },
    #[error(
        "no gRPC (HTTP/2) session with {}: {source}; is this a CRI socket?",
        path.display()
    )]
    Handshake {
        path: PathBuf,
        #[source]
        source: tonic::transport::Error,
    },
    #[error("CRI call {method} timed out after {after:?}")]
    Timeout {
        method: &'static str,
        after: Duration,
    },
    #[error("runtime has no {what} {id:?}")]
    NotFound { what: &'static str, id: String },
    /// Any other gRPC status, including a broken or non-gRPC answer
    /// (`Internal`/`Unknown`/`Unavailable`) and undecodable messages.
    #[error("CRI call {method} failed: {code:?}: {message}")]
    Rpc {
        method: &'static str,
        code: tonic::Code,
        message: String,
    },
    #[error("implausible answer to CRI call {method}: {reason}")]
    InvalidAnswer {
        method: &'static str,
        reason: String,
    },
    #[error("invalid container id {0:?}")]
    InvalidRef(String),
}

/// What a CRI runtime says about itself (`Version`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CriVersion {
    /// e.g. `containerd`, `cri-o`.
    pub runtime_name: String,
    pub runtime_version: String,
    /// CRI version, e.g. `v1`.
    pub runtime_api_version: String,
}

impl CriVersion {
    /// The runtime this name stands for ([`Runtime::Unknown`] if neither).
    pub fn runtime(&self) -> Runtime {
        let name = self.runtime_name.to_ascii_lowercase();
        if name.contains("containerd") {
            Runtime::Containerd
        } else if name.contains("cri-o") || name.contains("crio") {
            Runtime::CriO
        } else {
            Runtime::Unknown
        }
    }
}

/// Client of a CRI `RuntimeService` on a unix socket.
#[derive(Debug, Clone)]
pub struct CriClient {
    socket: PathBuf,
    config: ClientConfig,
    runtime: Runtime,
}

impl CriClient {
    /// Client for `socket_path`; the metadata it returns says
    /// [`Runtime::Unknown`] until [`Self::with_runtime`] says better.
    pub fn new(socket_path: impl Into<PathBuf>, config: ClientConfig) -> Self {
        Self {
            socket: socket_path.into(),
            config,
            runtime: Runtime::Unknown,
        }
    }

    /// Sets the runtime written into [`ContainerMeta::runtime`]
    /// (e.g. from the socket's well-known path or [`Self::version`]).
    pub fn with_runtime(mut self, runtime: Runtime) -> Self {
        self.runtime = runtime;
        self
    }

    pub fn socket_path(&self) -> &Path {
        &self.socket
    }

    pub fn config(&self) -> ClientConfig {
        self.config
    }

    pub fn runtime(&self) -> Runtime {
        self.runtime
    }

    /// `Version`: the runtime's name and versions.
    pub async fn version(&self) -> Result<CriVersion, CriError> {
        let mut client = self.connect().await?;
        let answer = self
            .call(
                "Version",
                client.version(self.request(proto::VersionRequest {
                    version: "v1".into(),
                })),
            )
            .await?;
        Ok(CriVersion {
            runtime_name: answer.runtime_name,
            runtime_version: answer.runtime_version,
            runtime_api_version: answer.runtime_api_version,
        })
    }

    /// Metadata of one container, by id (a pod sandbox id gives the pod).
    ///
    /// The pod's labels come from a second call, `PodSandboxStatus`; if it
    /// fails the pod is returned without labels rather than failing the call.
    pub async fn inspect(&self, id: &str) -> Result<ContainerMeta, CriError> {
        if !is_valid_id(id) {
            return Err(CriError::InvalidRef(id.to_owned()));
        }
        let mut client = self.connect().await?;
        let method = "ContainerStatus";
        let answer = self
            .call(
                method,
                client.container_status(self.request(proto::ContainerStatusRequest {
                    container_id: id.to_owned(),
                    verbose: true,
                })),
            )
            .await;
        let answer = match answer {
            Ok(a) => a,
            // Not a container: maybe the pod's sandbox (pause) container.
            Err(CriError::NotFound { .. }) => {
                return match self.sandbox(&mut client, id).await {
                    Ok(sandbox) => sandbox_meta(id, sandbox, self.runtime),
                    Err(CriError::NotFound { .. }) => Err(CriError::NotFound {
                        what: "container",
                        id: id.to_owned(),
                    }),
                    Err(e) => Err(e),
                };
            }
            Err(e) => return Err(e),
        };
        let (mut meta, sandbox_id) = meta_from_status(id, answer, self.runtime)?;
        if let Some(sandbox_id) = sandbox_id.filter(|s| is_valid_id(s)) {
            match self.sandbox(&mut client, &sandbox_id).await {
                Ok(sandbox) => add_pod(&mut meta, &sandbox),
                Err(e) => {
                    tracing::debug!(container = %id, sandbox = %sandbox_id, error = %e, "no pod labels")
                }
            }
        }
        Ok(meta)
    }

    async fn sandbox(
        &self,
        client: &mut RuntimeServiceClient<Channel>,
        id: &str,
    ) -> Result<proto::PodSandboxStatus, CriError> {
        let method = "PodSandboxStatus";
        let answer = self
            .call(
                method,
                client.pod_sandbox_status(self.request(proto::PodSandboxStatusRequest {
                    pod_sandbox_id: id.to_owned(),
                    verbose: false,
                })),
            )
            .await
            .map_err(|e| match e {
                CriError::NotFound { .. } => CriError::NotFound {
                    what: "pod sandbox",
                    id: id.to_owned(),
                },
                e => e,
            })?;
        let status = answer.status.ok_or_else(|| CriError::InvalidAnswer {
            method,
            reason: "no status in the answer".into(),
        })?;
        if !status.id.is_empty() && status.id != id {
            return Err(CriError::InvalidAnswer {
                method,
                reason: format!(
                    "asked for sandbox {id}, got {}",
                    excerpt(status.id.as_bytes())
                ),
            });
        }
        Ok(status)
    }

    /// A request carrying `grpc-timeout`, so the runtime gives up too.
    fn request<T>(&self, message: T) -> tonic::Request<T> {
        let mut request = tonic::Request::new(message);
        request.set_timeout(self.config.request_timeout);
        request
    }

    /// Runs one call under `request_timeout`, mapping its status.
    async fn call<T>(
        &self,
        method: &'static str,
        call: impl Future<Output = Result<tonic::Response<T>, tonic::Status>>,
    ) -> Result<T, CriError> {
        let after = self.config.request_timeout;
        match tokio::time::timeout(after, call).await {
            Err(_) => Err(CriError::Timeout { method, after }),
            Ok(Ok(response)) => Ok(response.into_inner()),
            Ok(Err(status)) => Err(match status.code() {
                tonic::Code::NotFound => CriError::NotFound {
                    what: "container",
                    id: String::new(),
                },
                // The runtime's deadline (grpc-timeout), or tonic's own
                // enforcement of it ("Timeout expired").
                tonic::Code::DeadlineExceeded | tonic::Code::Cancelled => {
                    CriError::Timeout { method, after }
                }
                code => CriError::Rpc {
                    method,
                    code,
                    message: excerpt(status.message().as_bytes()),
                },
            }),
        }
    }

    /// Connects the socket and starts an HTTP/2 session on it, all under
    /// `connect_timeout`.
    async fn connect(&self) -> Result<RuntimeServiceClient<Channel>, CriError> {
        let path = &self.socket;
        let after = self.config.connect_timeout;
        let stream = match tokio::time::timeout(after, UnixStream::connect(path)).await {
            Err(_) => {
                return Err(CriError::ConnectTimeout {
                    path: path.clone(),
                    after,
                });
            }
            Ok(Err(e)) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(CriError::SocketMissing { path: path.clone() });
            }
            Ok(Err(source)) => {
                return Err(CriError::Connect {
                    path: path.clone(),
                    source,
                });
            }
            Ok(Ok(s)) => s,
        };
        // The channel takes this one connection; it does not reconnect.
        let slot = Arc::new(Mutex::new(Some(stream)));
        let connector = tower::service_fn(move |_: Uri| {
            let stream = slot.lock().ok().and_then(|mut s| s.take());
            async move {
                stream.map(TokioIo::new).ok_or_else(|| {
                    std::io::Error::new(
                        std::io::ErrorKind::NotConnected,
                        "CRI connection already used",
                    )
                })
            }
        });
        // The URI is required by the API but unused by the connector.
        let endpoint = Endpoint::from_static("http://localhost");
        let channel =
            match tokio::time::timeout(after, endpoint.connect_with_connector(connector)).await {
                Err(_) => {
                    return Err(CriError::ConnectTimeout {
                        path: path.clone(),
                        after,
                    });
                }
                Ok(Err(source)) => {
                    return Err(CriError::Handshake {
                        path: path.clone(),
                        source,
                    });
                }
                Ok(Ok(c)) => c,
            };
        Ok(
            RuntimeServiceClient::new(channel)
                .max_decoding_message_size(self.config.max_body_bytes),
        )
    }
}

/// CRI ids are runtime-chosen strings; ours come from cgroup paths (64 hex).
/// Accept `[A-Za-z0-9][A-Za-z0-9_.-]*`, at most 256 bytes.
fn is_valid_id(id: &str) -> bool {
    let mut bytes = id.bytes();
    bytes.next().is_some_and(|b| b.is_ascii_alphanumeric())
        && id.len() <= 256
        && bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

/// The metadata in a `ContainerStatus` answer, and the container's sandbox
/// id if the answer tells it.
fn meta_from_status(
    id: &str,
    answer: proto::ContainerStatusResponse,
    runtime: Runtime,
) -> Result<(ContainerMeta, Option<String>), CriError> {
    let method = "ContainerStatus";
    let status = answer.status.ok_or_else(|| CriError::InvalidAnswer {
        method,
        reason: "no status in the answer".into(),
    })?;
    if !status.id.is_empty() && status.id != id {
        return Err(CriError::InvalidAnswer {
            method,
            reason: format!(
                "asked for container {id}, got {}",
                excerpt(status.id.as_bytes())
            ),
        });
    }
    let info = answer.info.get(INFO_KEY).and_then(|json| {
        match serde_json::from_str::<serde_json::Value>(json) {
            Ok(v) => Some(v),
            Err(e) => {
                tracing::debug!(container = %id, error = %e, "unreadable verbose CRI info");
                None
            }
        }
    });
    let labels = status.labels;
    let name = status
        .metadata
        .map(|m| m.name)
        .filter(|n| !n.is_empty())
        .or_else(|| labels.get(LABEL_CONTAINER_NAME).cloned())
        .unwrap_or_default();
    let image = status.image.map(|i| i.image).unwrap_or_default();
    let (image_id, image_digest) = image_identity(&status.image_id, &status.image_ref);
    let privileged = info.as_ref().is_some_and(|v| {
        // CRI-O: top-level "privileged"; containerd: the CRI container config.
        ["/privileged", "/config/linux/security_context/privileged"]
            .iter()
            .any(|p| v.pointer(p).and_then(serde_json::Value::as_bool) == Some(true))
    });
    let sandbox_id = info
        .as_ref()
        .and_then(|v| v.pointer("/sandboxID").and_then(serde_json::Value::as_str))
        .map(str::to_owned)
        .or_else(|| labels.get(LABEL_SANDBOX_ID).cloned())
        .filter(|s| !s.is_empty());
    let meta = ContainerMeta {
        id: id.to_owned(),
        runtime,
        name,
        image,
        image_id,
        image_digest,
        started_at: ns_to_rfc3339(status.started_at),
        privileged,
        pod: PodMeta::from_labels(&labels),
        labels,
    };
    Ok((meta, sandbox_id))
}

/// Image id and registry digest from `image_id` (newer runtimes) and
/// `image_ref`: `repo@sha256:…` carries the manifest digest; a bare
/// `sha256:…` is what containerd puts there when it knows no repo digest,
/// the image (config) id, so it is taken as the id, not as a digest.
fn image_identity(image_id: &str, image_ref: &str) -> (String, Option<String>) {
    let digest = image_ref
        .rsplit_once('@')
        .map(|(_, d)| d)
        .filter(|d| d.starts_with("sha256:"))
        .map(str::to_owned);
    let id = if !image_id.is_empty() {
        image_id.to_owned()
    } else if digest.is_none() && image_ref.starts_with("sha256:") {
        image_ref.to_owned()
    } else {
        String::new()
    };
    (id, digest)
}

/// The pod of a sandbox: identity from its metadata, else from the
/// `io.kubernetes.pod.*` labels; `None` without name and namespace.
fn pod_of(sandbox: &proto::PodSandboxStatus) -> Option<PodMeta> {
    let from_metadata = sandbox
        .metadata
        .as_ref()
        .filter(|m| !m.name.is_empty() && !m.namespace.is_empty())
        .map(|m| PodMeta {
            name: m.name.clone(),
            namespace: m.namespace.clone(),
            uid: Some(m.uid.clone()).filter(|u| !u.is_empty()),
            labels: BTreeMap::new(),
        });
    let mut pod = from_metadata.or_else(|| PodMeta::from_labels(&sandbox.labels))?;
    pod.labels = pod_labels(&sandbox.labels);
    Some(pod)
}

/// The pod's own labels: the sandbox's, less the identity labels kubelet
/// adds (they are the pod's name, namespace and uid fields already).
fn pod_labels(labels: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    labels
        .iter()
        .filter(|(k, _)| {
            ![LABEL_POD_NAME, LABEL_POD_NAMESPACE, LABEL_POD_UID].contains(&k.as_str())
        })
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// Completes the container's pod from its sandbox's answer.
fn add_pod(meta: &mut ContainerMeta, sandbox: &proto::PodSandboxStatus) {
    let Some(from_sandbox) = pod_of(sandbox) else {
        return;
    };
    match &mut meta.pod {
        Some(pod) => {
            pod.labels = from_sandbox.labels;
            if pod.uid.is_none() {
                pod.uid = from_sandbox.uid;
            }
        }
        None => meta.pod = Some(from_sandbox),
    }
}

/// A pod sandbox (its pause container) as a container: no name, no image,
/// the sandbox's labels and the pod.
fn sandbox_meta(
    id: &str,
    sandbox: proto::PodSandboxStatus,
    runtime: Runtime,
) -> Result<ContainerMeta, CriError> {
    let pod = pod_of(&sandbox);
    Ok(ContainerMeta {
        id: id.to_owned(),
        runtime,
        name: String::new(),
        image: String::new(),
        image_id: String::new(),
        image_digest: None,
        started_at: ns_to_rfc3339(sandbox.created_at),
        privileged: false,
        labels: sandbox.labels,
        pod,
    })
}

/// Nanoseconds since the epoch → RFC 3339 (UTC); `None` for 0 (unset) or
/// out-of-range values.
fn ns_to_rfc3339(ns: i64) -> Option<String> {
    if ns <= 0 {
        return None;
    }
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ns))
        .ok()?
        .format(&time::format_description::well_known::Rfc3339)
        .ok()
}

fn excerpt(text: &[u8]) -> String {
    let cut = text.get(..EXCERPT_LEN).unwrap_or(text);
    let mut s = String::from_utf8_lossy(cut).into_owned();
    if text.len() > EXCERPT_LEN {
        s.push('…');
    }
    s
}

/// Tests against a small in-test CRI server: a tonic server implementing our
/// generated `RuntimeService` on a temporary unix socket, answering canned
/// statuses. It is a fake because a real CRI runtime needs root and a
/// container image; the live test (`tests/live/cri.rs`) runs the client
/// against Debian's containerd.
#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use tokio::net::UnixListener;
    use tonic::{Request, Response, Status};

    use super::proto::runtime_service_server::{RuntimeService, RuntimeServiceServer};
    use super::*;

    const CID: &str = "3f1d2c9a8b7e6d5c4b3a29180716f5e4d3c2b1a0f9e8d7c6b5a4938271605f4e";
    const SID: &str = "9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b";
    const UID: &str = "0b9a6a4e-3f0c-4b6e-9d1e-1c2f3a4b5c6d";
    const DIGEST: &str = "sha256:4f2ab3e9c1d0b8a7f6e5d4c3b2a19087f6e5d4c3b2a1908f7e6d5c4b3a291807";
    const IMAGE_ID: &str =
        "sha256:1111111111111111111111111111111111111111111111111111111111111111";

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    /// What the fake answers.
    #[derive(Clone, Default)]
    struct Fake {
        containers: HashMap<String, proto::ContainerStatusResponse>,
        sandboxes: HashMap<String, Result<proto::PodSandboxStatusResponse, tonic::Code>>,
        delay: Duration,
    }

    #[tonic::async_trait]
    impl RuntimeService for Fake {
        async fn version(
            &self,
            _: Request<proto::VersionRequest>,
        ) -> Result<Response<proto::VersionResponse>, Status> {
            Ok(Response::new(proto::VersionResponse {
                version: "0.1.0".into(),
                runtime_name: "containerd".into(),
                runtime_version: "1.6.20".into(),
                runtime_api_version: "v1".into(),
            }))
        }

        async fn pod_sandbox_status(
            &self,
            request: Request<proto::PodSandboxStatusRequest>,
        ) -> Result<Response<proto::PodSandboxStatusResponse>, Status> {
            tokio::time::sleep(self.delay).await;
            match self.sandboxes.get(&request.get_ref().pod_sandbox_id) {
                Some(Ok(answer)) => Ok(Response::new(answer.clone())),
                Some(Err(code)) => Err(Status::new(*code, "sandbox store broken")),
                None => Err(Status::not_found(
                    "an error occurred when try to find sandbox",
                )),
            }
        }

        async fn container_status(
            &self,
            request: Request<proto::ContainerStatusRequest>,
        ) -> Result<Response<proto::ContainerStatusResponse>, Status> {
            tokio::time::sleep(self.delay).await;
            match self.containers.get(&request.get_ref().container_id) {
                Some(answer) => Ok(Response::new(answer.clone())),
                None => Err(Status::not_found(
                    "an error occurred when try to find container",
                )),
            }
        }
    }

    /// A serving fake; the socket goes away with the value.
    struct Server {
        _dir: tempfile::TempDir,
        path: PathBuf,
        task: tokio::task::JoinHandle<()>,
    }

    impl Drop for Server {
        fn drop(&mut self) {
            self.task.abort();
        }
    }

    impl Server {
        fn start(fake: Fake) -> Server {
            let dir = tempfile::tempdir().expect("tempdir");
            let path = dir.path().join("cri.sock");
            let listener = UnixListener::bind(&path).expect("bind");
            let incoming = tokio_stream::wrappers::UnixListenerStream::new(listener);
            let task = tokio::spawn(async move {
                let _ = tonic::transport::Server::builder()
                    .add_service(RuntimeServiceServer::new(fake))
                    .serve_with_incoming(incoming)
                    .await;
            });
            Server {
                _dir: dir,
                path,
                task,
            }
        }

        fn client(&self) -> CriClient {
            CriClient::new(&self.path, quick()).with_runtime(Runtime::Containerd)
        }
    }

    fn quick() -> ClientConfig {
        ClientConfig {
            connect_timeout: Duration::from_millis(500),
            request_timeout: Duration::from_millis(500),
            ..ClientConfig::default()
        }
    }

    /// A container of pod `shop/web-0` as containerd answers it (verbose).
    fn pod_container() -> proto::ContainerStatusResponse {
        let info = format!(
            r#"{{"sandboxID":"{SID}","pid":4242,"removing":false,
                "config":{{"metadata":{{"name":"nginx"}},"linux":{{"security_context":{{"privileged":true}}}}}},
                "runtimeSpec":{{"ociVersion":"1.0.2"}}}}"#
        );
        proto::ContainerStatusResponse {
            status: Some(proto::ContainerStatus {
                id: CID.into(),
                metadata: Some(proto::ContainerMetadata {
                    name: "nginx".into(),
                    attempt: 0,
                }),
                state: proto::ContainerState::ContainerRunning as i32,
                created_at: 1_714_557_599_000_000_000,
                started_at: 1_714_557_600_123_456_789,
                image: Some(proto::ImageSpec {
                    image: "docker.io/library/nginx:1.27".into(),
                }),
                image_ref: format!("docker.io/library/nginx@{DIGEST}"),
                labels: labels(&[
                    (LABEL_POD_NAME, "web-0"),
                    (LABEL_POD_NAMESPACE, "shop"),
                    (LABEL_POD_UID, UID),
                    (LABEL_CONTAINER_NAME, "nginx"),
                ]),
                image_id: IMAGE_ID.into(),
                ..proto::ContainerStatus::default()
            }),
            info: [("info".to_string(), info)].into_iter().collect(),
        }
    }

    fn pod_sandbox() -> proto::PodSandboxStatusResponse {
        proto::PodSandboxStatusResponse {
            status: Some(proto::PodSandboxStatus {
                id: SID.into(),
                metadata: Some(proto::PodSandboxMetadata {
                    name: "web-0".into(),
                    uid: UID.into(),
                    namespace: "shop".into(),
                    attempt: 0,
                }),
                created_at: 1_714_557_590_000_000_000,
                labels: labels(&[
                    ("app", "web"),
                    ("tier", "front"),
                    (LABEL_POD_NAME, "web-0"),
                    (LABEL_POD_NAMESPACE, "shop"),
                    (LABEL_POD_UID, UID),
                ]),
                ..proto::PodSandboxStatus::default()
            }),
            info: BTreeMap::new(),
        }
    }

    fn fake_with_pod() -> Fake {
        let mut fake = Fake::default();
        fake.containers.insert(CID.into(), pod_container());
        fake.sandboxes.insert(SID.into(), Ok(pod_sandbox()));
        fake
    }

    #[tokio::test]
    async fn pod_container_carries_name_image_digest_labels_and_pod() {
        let server = Server::start(fake_with_pod());
        let meta = server.client().inspect(CID).await.expect("inspect");
        assert_eq!(meta.id, CID);
        assert_eq!(meta.runtime, Runtime::Containerd);
        assert_eq!(meta.name, "nginx");
        assert_eq!(meta.image, "docker.io/library/nginx:1.27");
        assert_eq!(meta.image_id, IMAGE_ID);
        assert_eq!(meta.image_digest.as_deref(), Some(DIGEST));
        assert_eq!(
            meta.started_at.as_deref(),
            Some("2024-05-01T10:00:00.123456789Z")
        );
        assert!(meta.privileged, "from the verbose info's CRI config");
        assert_eq!(
            meta.labels.get(LABEL_CONTAINER_NAME).map(String::as_str),
            Some("nginx")
        );
        assert_eq!(
            meta.pod,
            Some(PodMeta {
                name: "web-0".into(),
                namespace: "shop".into(),
                uid: Some(UID.into()),
                labels: labels(&[("app", "web"), ("tier", "front")]),
            })
        );
    }

    #[tokio::test]
    async fn version_names_the_runtime() {
        let server = Server::start(Fake::default());
        let v = server.client().version().await.expect("version");
        assert_eq!(v.runtime(), Runtime::Containerd);
        assert_eq!(v.runtime_api_version, "v1");
    }

    #[tokio::test]
    async fn failing_sandbox_query_gives_the_pod_without_labels() {
        let mut fake = fake_with_pod();
        fake.sandboxes
            .insert(SID.into(), Err(tonic::Code::Internal));
        let server = Server::start(fake);
        let meta = server.client().inspect(CID).await.expect("inspect");
        let pod = meta.pod.expect("pod from the container labels");
        assert_eq!(
            (pod.name.as_str(), pod.namespace.as_str()),
            ("web-0", "shop")
        );
        assert_eq!(pod.uid.as_deref(), Some(UID));
        assert!(pod.labels.is_empty());
    }

    #[tokio::test]
    async fn cri_o_style_answer_without_metadata_uses_labels_and_top_level_privileged() {
        let mut answer = pod_container();
        if let Some(status) = answer.status.as_mut() {
            status.metadata = None;
            status.image_id.clear();
            status.image_ref = IMAGE_ID.into();
            status.started_at = 0;
        }
        answer.info = [(
            "info".to_string(),
            format!(r#"{{"sandboxID":"{SID}","pid":1,"privileged":false}}"#),
        )]
        .into_iter()
        .collect();
        let mut fake = fake_with_pod();
        fake.containers.insert(CID.into(), answer);
        let server = Server::start(fake);
        let meta = server
            .client()
            .with_runtime(Runtime::CriO)
            .inspect(CID)
            .await
            .expect("inspect");
        assert_eq!(meta.runtime, Runtime::CriO);
        assert_eq!(meta.name, "nginx", "from io.kubernetes.container.name");
        assert_eq!(meta.image_id, IMAGE_ID, "a bare sha256 image_ref is the id");
        assert_eq!(meta.image_digest, None);
        assert_eq!(meta.started_at, None);
        assert!(!meta.privileged);
        assert_eq!(
            meta.pod.map(|p| p.labels),
            Some(labels(&[("app", "web"), ("tier", "front")]))
        );
    }

    #[tokio::test]
    async fn pod_sandbox_id_is_answered_as_the_pod() {
        let server = Server::start(fake_with_pod());
        let meta = server.client().inspect(SID).await.expect("inspect");
        assert_eq!(meta.id, SID);
        assert!(meta.name.is_empty() && meta.image.is_empty());
        let pod = meta.pod.expect("pod");
        assert_eq!(
            (pod.name.as_str(), pod.namespace.as_str()),
            ("web-0", "shop")
        );
        assert_eq!(pod.uid.as_deref(), Some(UID));
        assert_eq!(pod.labels.get("app").map(String::as_str), Some("web"));
    }

    #[tokio::test]
    async fn unknown_container_is_not_found() {
        let server = Server::start(fake_with_pod());
        let r = server.client().inspect(&"e".repeat(64)).await;
        assert!(
            matches!(&r, Err(CriError::NotFound { what: "container", id }) if *id == "e".repeat(64)),
            "{r:?}"
        );
    }

    #[tokio::test]
    async fn answer_without_status_or_for_another_container_is_invalid() {
        let mut fake = Fake::default();
        fake.containers
            .insert(CID.into(), proto::ContainerStatusResponse::default());
        let mut other = pod_container();
        if let Some(s) = other.status.as_mut() {
            s.id = "f".repeat(64);
        }
        fake.containers.insert(SID.into(), other);
        let server = Server::start(fake);
        for id in [CID, SID] {
            let r = server.client().inspect(id).await;
            assert!(matches!(r, Err(CriError::InvalidAnswer { .. })), "{r:?}");
        }
    }

    #[tokio::test]
    async fn unreadable_verbose_info_is_ignored() {
        let mut answer = pod_container();
        answer.info = [("info".to_string(), "{not json".to_string())]
            .into_iter()
            .collect();
        let mut fake = fake_with_pod();
        fake.containers.insert(CID.into(), answer);
        let server = Server::start(fake);
        let meta = server.client().inspect(CID).await.expect("inspect");
        assert!(!meta.privileged);
        // No sandbox id: the pod comes from the labels, without pod labels.
        assert!(meta.pod.is_some_and(|p| p.labels.is_empty()));
    }

    #[tokio::test]
    async fn slow_runtime_times_out() {
        let mut fake = fake_with_pod();
        fake.delay = Duration::from_secs(5);
        let server = Server::start(fake);
        let t0 = std::time::Instant::now();
        let r = server.client().inspect(CID).await;
        assert!(
            matches!(
                r,
                Err(CriError::Timeout {
                    method: "ContainerStatus",
                    ..
                })
            ),
            "{r:?}"
        );
        assert!(t0.elapsed() < Duration::from_secs(2), "{:?}", t0.elapsed());
    }

    #[tokio::test]
    async fn missing_socket_is_socket_missing() {
        let dir = tempfile::tempdir().expect("tempdir");
        let r = CriClient::new(dir.path().join("nope.sock"), quick())
            .inspect(CID)
            .await;
        assert!(matches!(r, Err(CriError::SocketMissing { .. })), "{r:?}");
        let msg = r.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(
            msg.contains("nope.sock") && msg.contains("does not exist"),
            "{msg}"
        );
    }

    #[tokio::test]
    async fn dead_socket_is_connect_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("dead.sock");
        drop(std::os::unix::net::UnixListener::bind(&path).expect("bind"));
        let r = CriClient::new(&path, quick()).inspect(CID).await;
        assert!(matches!(r, Err(CriError::Connect { .. })), "{r:?}");
    }

    /// A listener that is no gRPC server: it answers `reply` to anything
    /// (or nothing, and keeps the connection open, when `reply` is empty).
    fn garbage_listener(reply: &'static [u8]) -> (tempfile::TempDir, PathBuf) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("garbage.sock");
        let listener = UnixListener::bind(&path).expect("bind");
        tokio::spawn(async move {
            while let Ok((mut s, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let mut buf = [0u8; 1024];
                    let _ = s.read(&mut buf).await;
                    if reply.is_empty() {
                        tokio::time::sleep(Duration::from_secs(30)).await;
                    } else {
                        let _ = s.write_all(reply).await;
                    }
                });
            }
        });
        (dir, path)
    }

    #[tokio::test]
    async fn non_grpc_listener_is_an_error_not_a_panic() {
        for reply in [
            &b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}"[..],
            &b"\x00\x00\x12\x04\x00\x00\x00\x00\x00garbage garbage garbage"[..],
            &[0xffu8; 64][..],
        ] {
            let (_dir, path) = garbage_listener(reply);
            let r = CriClient::new(&path, quick()).inspect(CID).await;
            assert!(
                matches!(
                    r,
                    Err(CriError::Rpc { .. }
                        | CriError::Handshake { .. }
                        | CriError::Timeout { .. })
                ),
                "{r:?}"
            );
        }
    }

    #[tokio::test]
    async fn silent_listener_times_out() {
        let (_dir, path) = garbage_listener(b"");
        let t0 = std::time::Instant::now();
        let r = CriClient::new(&path, quick()).inspect(CID).await;
        assert!(
            matches!(
                r,
                Err(CriError::Timeout { .. } | CriError::ConnectTimeout { .. })
            ),
            "{r:?}"
        );
        assert!(t0.elapsed() < Duration::from_secs(3), "{:?}", t0.elapsed());
    }

    #[tokio::test]
    async fn invalid_ids_are_rejected_before_any_io() {
        let c = CriClient::new("/nonexistent/kestrel-cri.sock", quick());
        for bad in ["", "../x", "a/b", "a b", "-x", "é", &"a".repeat(300)] {
            assert!(
                matches!(c.inspect(bad).await, Err(CriError::InvalidRef(_))),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn image_identity_from_image_id_and_ref() {
        let repo_ref = format!("docker.io/library/nginx@{DIGEST}");
        assert_eq!(
            image_identity(IMAGE_ID, &repo_ref),
            (IMAGE_ID.to_string(), Some(DIGEST.to_string()))
        );
        assert_eq!(image_identity("", IMAGE_ID), (IMAGE_ID.to_string(), None));
        assert_eq!(
            image_identity("", &repo_ref),
            (String::new(), Some(DIGEST.to_string()))
        );
        assert_eq!(image_identity("", "nginx:1.27"), (String::new(), None));
        assert_eq!(image_identity("", "x@md5:00"), (String::new(), None));
    }

    #[test]
    fn nanoseconds_become_rfc3339() {
        assert_eq!(
            ns_to_rfc3339(1_714_557_600_000_000_001).as_deref(),
            Some("2024-05-01T10:00:00.000000001Z")
        );
        assert_eq!(ns_to_rfc3339(0), None);
        assert_eq!(ns_to_rfc3339(-5), None);
        assert!(ns_to_rfc3339(i64::MAX).is_some());
    }

    /// The registry resolves a containerd container's cgroup through the
    /// CRI socket it is configured with.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn registry_resolves_a_containerd_cgroup_through_cri() {
        use super::super::registry::{ContainerConfig, Registry};
        let server = Server::start(fake_with_pod());
        let registry = Registry::start(&ContainerConfig {
            sockets: vec!["/nonexistent/kestrel-docker.sock".into()],
            cri_sockets: vec![server.path.clone()],
            ..ContainerConfig::default()
        });
        let mut view = registry.view();
        let cgroup = 77_001;
        view.cgroup_created(cgroup, &format!("/kubepods/besteffort/pod{UID}/{CID}"));
        for _ in 0..300 {
            view.refresh();
            if view.get(cgroup).is_some() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let info = view.get(cgroup).expect("published");
        assert_eq!(info.id, CID);
        assert_eq!(info.runtime, "containerd");
        assert_eq!(info.name.as_deref(), Some("nginx"));
        assert_eq!(info.image_digest.as_deref(), Some(DIGEST));
        assert_eq!(info.started_at_ns, Some(1_714_557_600_123_456_789));
        let pod = info.pod.as_ref().expect("pod");
        assert_eq!((pod.name.as_str(), pod.uid.as_str()), ("web-0", UID));
        assert_eq!(pod.labels.get("tier").map(String::as_str), Some("front"));
        assert_eq!(registry.stats.snapshot().metadata_ok, 1);
    }
}
