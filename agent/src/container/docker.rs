//! Docker Engine API client (also serves Podman's compatible API).
//!
//! Owns talking HTTP/1.1 over a unix socket to `dockerd` or
//! `podman system service`, turning `GET /containers/{id}/json`,
//! `GET /images/{id}/json` and `GET /containers/json?all=true` into
//! [`ContainerMeta`], the [`RuntimeError`] taxonomy for those calls, and the
//! list of well-known runtime sockets.
//!
//! Paths are sent without an API version prefix: both engines then serve
//! their current API version. (A pinned `/v1.41/` works on Podman 4.x and
//! Docker < 29, but Docker Engine 29 rejects API versions below 1.44.)
//!
//! Every runtime answer is treated as untrusted: size-limited, parsed
//! leniently (`null` ≈ absent) and turned into errors, never panics.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use http_body_util::{BodyExt, Empty, Limited};
use hyper::body::Bytes;
use hyper::{Request, StatusCode};
use hyper_util::rt::TokioIo;
use serde::{Deserialize, Deserializer};
use tokio::net::UnixStream;

use super::cgroup_path::is_container_id;
use super::meta::{ContainerMeta, PodMeta, Runtime};

/// Default connect timeout and whole-request timeout.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(2);
/// Default cap on an answer body.
pub const DEFAULT_MAX_BODY_BYTES: usize = 8 * 1024 * 1024;
/// Length of the body excerpt quoted in errors.
const EXCERPT_LEN: usize = 160;

/// Which API a runtime socket speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ApiKind {
    /// Docker Engine REST API (Docker, Podman's compat service): [`DockerClient`].
    DockerEngine,
    /// Kubernetes CRI gRPC (containerd, CRI-O): see `super::cri`.
    Cri,
}

/// A well-known runtime socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuntimeSocket {
    pub path: PathBuf,
    pub api: ApiKind,
    pub runtime: Runtime,
}

/// Well-known runtime sockets, in probing order. Existence is not checked.
pub fn default_sockets() -> Vec<RuntimeSocket> {
    let s = |path: &str, api, runtime| RuntimeSocket {
        path: PathBuf::from(path),
        api,
        runtime,
    };
    vec![
        s(
            "/var/run/docker.sock",
            ApiKind::DockerEngine,
            Runtime::Docker,
        ),
        s(
            "/run/podman/podman.sock",
            ApiKind::DockerEngine,
            Runtime::Podman,
        ),
        s(
            "/run/containerd/containerd.sock",
            ApiKind::Cri,
            Runtime::Containerd,
        ),
        s("/var/run/crio/crio.sock", ApiKind::Cri, Runtime::CriO),
    ]
}

/// Failure of a runtime API call.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    #[error("runtime socket {} does not exist", path.display())]
    SocketMissing { path: PathBuf },
    #[error("cannot connect to runtime socket {}: {source}", path.display())]
    Connect {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("connecting to runtime socket {} timed out after {after:?}", path.display())]
    ConnectTimeout { path: PathBuf, after: Duration },
    #[error("runtime request GET {uri} timed out after {after:?}")]
    Timeout { uri: String, after: Duration },
    #[error("HTTP exchange for GET {uri} failed: {source}")]
    Http {
        uri: String,
        #[source]
        source: hyper::Error,
    },
    #[error("runtime answered HTTP {status} for GET {uri}: {message}")]
    Status {
        uri: String,
        status: u16,
        message: String,
    },
    #[error("runtime has no container {0:?}")]
    NotFound(String),
    #[error("runtime answer for GET {uri} is larger than {limit} bytes")]
    BodyTooLarge { uri: String, limit: usize },
    #[error("malformed JSON for GET {uri}: {source}; answer starts {excerpt:?}")]
    MalformedJson {
        uri: String,
        #[source]
        source: serde_json::Error,
        excerpt: String,
    },
    #[error("implausible runtime answer for GET {uri}: {reason}")]
    InvalidAnswer { uri: String, reason: String },
    #[error("invalid container or image reference {0:?}")]
    InvalidRef(String),
}

/// Timeouts and limits of a [`DockerClient`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientConfig {
    /// Limit on establishing the unix-socket connection.
    pub connect_timeout: Duration,
    /// Limit on one whole request: connect, send, read headers and body.
    pub request_timeout: Duration,
    /// Answers longer than this are rejected.
    pub max_body_bytes: usize,
}

impl Default for ClientConfig {
    fn default() -> Self {
        Self {
            connect_timeout: DEFAULT_TIMEOUT,
            request_timeout: DEFAULT_TIMEOUT,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
        }
    }
}

/// Client of the Docker Engine API on a unix socket. One connection per request.
#[derive(Debug, Clone)]
pub struct DockerClient {
    socket: PathBuf,
    config: ClientConfig,
    runtime: Runtime,
}

impl DockerClient {
    /// Client for `socket_path`, default [`ClientConfig`], reporting
    /// [`Runtime::Docker`] in the metadata it returns (see [`Self::with_runtime`]).
    pub fn new(socket_path: impl Into<PathBuf>) -> Self {
        Self {
            socket: socket_path.into(),
            config: ClientConfig::default(),
            runtime: Runtime::Docker,
        }
    }

    /// Replaces timeouts and limits.
    pub fn with_config(mut self, config: ClientConfig) -> Self {
        self.config = config;
        self
    }

    /// Sets the runtime written into [`ContainerMeta::runtime`]
    /// (e.g. the result of [`Self::detect_runtime`]).
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

    /// `GET /_ping`: succeeds if the engine answers 2xx.
    pub async fn ping(&self) -> Result<(), RuntimeError> {
        self.get("/_ping").await.map(|_| ())
    }

    /// Asks `GET /version` whether this is Podman's compat service or Docker.
    pub async fn detect_runtime(&self) -> Result<Runtime, RuntimeError> {
        let uri = "/version";
        let body = self.get(uri).await?;
        let v: VersionJson = parse_json(uri, &body)?;
        let podman = v
            .components
            .iter()
            .any(|c| c.name.to_ascii_lowercase().contains("podman"));
        Ok(if podman {
            Runtime::Podman
        } else {
            Runtime::Docker
        })
    }

    /// Metadata of one container (by id, short id or name).
    ///
    /// The image digest comes from a second request, `GET /images/{image id}/json`;
    /// if that fails the digest is left `None` rather than failing the call.
    pub async fn inspect(&self, id: &str) -> Result<ContainerMeta, RuntimeError> {
        if !is_valid_ref(id, false) {
            return Err(RuntimeError::InvalidRef(id.to_owned()));
        }
        let uri = format!("/containers/{id}/json");
        let body = match self.get(&uri).await {
            Err(RuntimeError::Status { status: 404, .. }) => {
                return Err(RuntimeError::NotFound(id.to_owned()));
            }
            r => r?,
        };
        let mut meta = meta_from_inspect(&uri, &body, self.runtime)?;
        if let Some(digest) = digest_in_reference(&meta.image) {
            meta.image_digest = Some(digest.to_owned());
        } else if !meta.image_id.is_empty() {
            match self.image_digest(&meta.image_id, &meta.image).await {
                Ok(d) => meta.image_digest = d,
                Err(e) => tracing::debug!(image = %meta.image_id, error = %e, "no image digest"),
            }
        }
        Ok(meta)
    }

    /// All containers, running or not, with full metadata (start-up sweep).
    ///
    /// Containers that vanish between listing and inspection are skipped.
    /// If a container's inspection answer is unusable, a reduced entry built
    /// from the list answer is returned instead (no start time, not privileged).
    /// Transport failures (socket, timeout, HTTP) fail the whole call.
    pub async fn list(&self) -> Result<Vec<(String, ContainerMeta)>, RuntimeError> {
        let uri = "/containers/json?all=true";
        let body = self.get(uri).await?;
        let summaries: Vec<SummaryJson> = parse_json(uri, &body)?;
        let mut out = Vec::with_capacity(summaries.len());
        for s in summaries {
            if !is_container_id(&s.id) {
                tracing::warn!(id = %excerpt(s.id.as_bytes()), "skipping listed container with invalid id");
                continue;
            }
            match self.inspect(&s.id).await {
                Ok(meta) => out.push((s.id, meta)),
                Err(RuntimeError::NotFound(_)) => {}
                Err(
                    e @ (RuntimeError::MalformedJson { .. }
                    | RuntimeError::InvalidAnswer { .. }
                    | RuntimeError::Status { .. }
                    | RuntimeError::BodyTooLarge { .. }),
                ) => {
                    tracing::warn!(id = %s.id, error = %e, "inspect failed, using list entry");
                    let meta = s.into_meta(self.runtime);
                    out.push((meta.id.clone(), meta));
                }
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }

    /// Picks the digest of `image_id`'s RepoDigests best matching `image`.
    async fn image_digest(
        &self,
        image_id: &str,
        image: &str,
    ) -> Result<Option<String>, RuntimeError> {
        if !is_valid_ref(image_id, true) {
            return Err(RuntimeError::InvalidRef(image_id.to_owned()));
        }
        let uri = format!("/images/{image_id}/json");
        let body = self.get(&uri).await?;
        let img: ImageJson = parse_json(&uri, &body)?;
        let repo = repository_of(image);
        let best = img
            .repo_digests
            .iter()
            .find(|d| d.split_once('@').is_some_and(|(r, _)| r == repo))
            .or_else(|| img.repo_digests.first());
        Ok(best.and_then(|d| digest_in_reference(d)).map(str::to_owned))
    }

    /// GET `uri`, returning the body of a 2xx answer, all under `request_timeout`.
    async fn get(&self, uri: &str) -> Result<Bytes, RuntimeError> {
        let after = self.config.request_timeout;
        match tokio::time::timeout(after, self.get_inner(uri)).await {
            Ok(r) => r,
            Err(_) => Err(RuntimeError::Timeout {
                uri: uri.to_owned(),
                after,
            }),
        }
    }

    async fn get_inner(&self, uri: &str) -> Result<Bytes, RuntimeError> {
        let path = &self.socket;
        let after = self.config.connect_timeout;
        let stream = match tokio::time::timeout(after, UnixStream::connect(path)).await {
            Err(_) => {
                return Err(RuntimeError::ConnectTimeout {
                    path: path.clone(),
                    after,
                });
            }
            Ok(Err(e)) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(RuntimeError::SocketMissing { path: path.clone() });
            }
            Ok(Err(source)) => {
                return Err(RuntimeError::Connect {
                    path: path.clone(),
                    source,
                });
            }
            Ok(Ok(s)) => s,
        };
        let http = |source| RuntimeError::Http {
            uri: uri.to_owned(),
            source,
        };
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(http)?;
        let _conn = AbortOnDrop(tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::trace!(error = %e, "runtime API connection ended with error");
            }
        }));

        let req = Request::get(uri)
            .header(hyper::header::HOST, "localhost")
            .header(hyper::header::ACCEPT, "application/json")
            .body(Empty::<Bytes>::new())
            .map_err(|_| RuntimeError::InvalidRef(uri.to_owned()))?;
        let resp = sender.send_request(req).await.map_err(http)?;
        let status = resp.status();
        let limit = self.config.max_body_bytes;
        let body = match Limited::new(resp.into_body(), limit).collect().await {
            Ok(c) => c.to_bytes(),
            Err(e) => {
                return Err(match e.downcast::<hyper::Error>() {
                    Ok(source) => RuntimeError::Http {
                        uri: uri.to_owned(),
                        source: *source,
                    },
                    Err(_) => RuntimeError::BodyTooLarge {
                        uri: uri.to_owned(),
                        limit,
                    },
                });
            }
        };
        if !status.is_success() {
            return Err(status_error(uri, status, &body));
        }
        Ok(body)
    }
}

/// Aborts the connection task when the request is done or abandoned (timeout).
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

fn status_error(uri: &str, status: StatusCode, body: &[u8]) -> RuntimeError {
    #[derive(Deserialize)]
    struct ErrJson {
        message: String,
    }
    let message = serde_json::from_slice::<ErrJson>(body)
        .map(|e| excerpt(e.message.as_bytes()))
        .unwrap_or_else(|_| excerpt(body));
    RuntimeError::Status {
        uri: uri.to_owned(),
        status: status.as_u16(),
        message,
    }
}

fn excerpt(body: &[u8]) -> String {
    let cut = body.get(..EXCERPT_LEN).unwrap_or(body);
    let mut s = String::from_utf8_lossy(cut).into_owned();
    if body.len() > EXCERPT_LEN {
        s.push('…');
    }
    s
}

fn parse_json<T: for<'de> Deserialize<'de>>(uri: &str, body: &[u8]) -> Result<T, RuntimeError> {
    serde_json::from_slice(body).map_err(|source| RuntimeError::MalformedJson {
        uri: uri.to_owned(),
        source,
        excerpt: excerpt(body),
    })
}

/// Names, ids (full or short) and image ids: `[A-Za-z0-9][A-Za-z0-9_.-]*`,
/// plus `:` for `sha256:…` image ids. Keeps the URL path unambiguous.
fn is_valid_ref(r: &str, image: bool) -> bool {
    let mut bytes = r.bytes();
    bytes.next().is_some_and(|b| b.is_ascii_alphanumeric())
        && r.len() <= 256
        && bytes.all(|b| {
            b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-') || (image && b == b':')
        })
}

/// `sha256:…` from `repo@sha256:…`.
fn digest_in_reference(r: &str) -> Option<&str> {
    r.rsplit_once('@')
        .map(|(_, d)| d)
        .filter(|d| d.starts_with("sha256:"))
}

/// `registry:5000/a/b` from `registry:5000/a/b:tag` or `…@sha256:…`.
fn repository_of(image: &str) -> &str {
    let no_digest = image.split_once('@').map_or(image, |(r, _)| r);
    match no_digest.rsplit_once(':') {
        Some((repo, tag)) if !tag.contains('/') => repo,
        _ => no_digest,
    }
}

/// Treats JSON `null` like an absent field.
fn null_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Option::unwrap_or_default)
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
struct InspectJson {
    #[serde(default, deserialize_with = "null_default")]
    id: String,
    #[serde(default, deserialize_with = "null_default")]
    name: String,
    #[serde(default, deserialize_with = "null_default")]
    image: String,
    #[serde(default, deserialize_with = "null_default")]
    config: ConfigJson,
    #[serde(default, deserialize_with = "null_default")]
    state: StateJson,
    #[serde(default, deserialize_with = "null_default")]
    host_config: HostConfigJson,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
struct ConfigJson {
    #[serde(default, deserialize_with = "null_default")]
    image: String,
    #[serde(default, deserialize_with = "null_default")]
    labels: BTreeMap<String, String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
struct StateJson {
    #[serde(default, deserialize_with = "null_default")]
    started_at: String,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
struct HostConfigJson {
    #[serde(default, deserialize_with = "null_default")]
    privileged: bool,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
struct ImageJson {
    #[serde(default, deserialize_with = "null_default")]
    repo_digests: Vec<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
struct SummaryJson {
    #[serde(default, deserialize_with = "null_default")]
    id: String,
    #[serde(default, deserialize_with = "null_default")]
    names: Vec<String>,
    #[serde(default, deserialize_with = "null_default")]
    image: String,
    #[serde(rename = "ImageID", default, deserialize_with = "null_default")]
    image_id: String,
    #[serde(default, deserialize_with = "null_default")]
    labels: BTreeMap<String, String>,
}

impl SummaryJson {
    fn into_meta(self, runtime: Runtime) -> ContainerMeta {
        let name = self
            .names
            .first()
            .map(|n| n.trim_start_matches('/').to_owned())
            .unwrap_or_default();
        ContainerMeta {
            pod: PodMeta::from_labels(&self.labels),
            id: self.id,
            runtime,
            name,
            image_digest: digest_in_reference(&self.image).map(str::to_owned),
            image: self.image,
            image_id: self.image_id,
            labels: self.labels,
            started_at: None,
            privileged: false,
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
struct VersionJson {
    #[serde(default, deserialize_with = "null_default")]
    components: Vec<ComponentJson>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
struct ComponentJson {
    #[serde(default, deserialize_with = "null_default")]
    name: String,
}

/// Builds metadata from a `GET /containers/{id}/json` body (digest not filled).
fn meta_from_inspect(
    uri: &str,
    body: &[u8],
    runtime: Runtime,
) -> Result<ContainerMeta, RuntimeError> {
    let j: InspectJson = parse_json(uri, body)?;
    if !is_container_id(&j.id) {
        return Err(RuntimeError::InvalidAnswer {
            uri: uri.to_owned(),
            reason: format!("Id {:?} is not 64 lowercase hex", excerpt(j.id.as_bytes())),
        });
    }
    // Go's zero time marks a container that never started.
    let started_at =
        Some(j.state.started_at).filter(|s| !s.is_empty() && !s.starts_with("0001-01-01"));
    Ok(ContainerMeta {
        pod: PodMeta::from_labels(&j.config.labels),
        id: j.id,
        runtime,
        name: j.name.trim_start_matches('/').to_owned(),
        image: j.config.image,
        image_id: j.image,
        image_digest: None,
        labels: j.config.labels,
        started_at,
        privileged: j.host_config.privileged,
    })
}

#[cfg(test)]
mod tests {
    //! Unit tests against a tiny in-test unix-socket HTTP server
    //! ([`FakeEngine`]) that answers canned bytes. It is a fake, acceptable for
    //! parsing and error paths (garbage, statuses, slowness); the real engine is
    //! exercised by `podman_live` below.

    use super::*;
    use std::sync::{Arc, Mutex};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::UnixListener;

    const CID: &str = "9f3b2c1d0e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b";
    const IMG: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
    const DIGEST: &str = "sha256:2222222222222222222222222222222222222222222222222222222222222222";

    #[derive(Clone)]
    enum Reply {
        /// Full raw HTTP answer.
        Raw(Vec<u8>),
        /// Accept, read the request, never answer.
        Hang,
        /// Close right after reading the request.
        Close,
    }

    fn http(status: &str, body: &str) -> Reply {
        Reply::Raw(
            format!(
                "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            )
            .into_bytes(),
        )
    }

    /// Canned-answer HTTP server on a unix socket in a temp dir.
    struct FakeEngine {
        _dir: tempfile::TempDir,
        socket: PathBuf,
        requests: Arc<Mutex<Vec<String>>>,
        task: tokio::task::JoinHandle<()>,
    }

    impl Drop for FakeEngine {
        fn drop(&mut self) {
            self.task.abort();
        }
    }

    impl FakeEngine {
        /// `routes`: (path prefix, reply); unmatched paths get a 404.
        fn start<P: Into<String>>(routes: Vec<(P, Reply)>) -> FakeEngine {
            let routes: Vec<(String, Reply)> =
                routes.into_iter().map(|(p, r)| (p.into(), r)).collect();
            let dir = tempfile::tempdir().expect("tempdir");
            let socket = dir.path().join("engine.sock");
            let listener = UnixListener::bind(&socket).expect("bind");
            let requests = Arc::new(Mutex::new(Vec::new()));
            let seen = requests.clone();
            let task = tokio::spawn(async move {
                while let Ok((mut conn, _)) = listener.accept().await {
                    let routes = routes.clone();
                    let seen = seen.clone();
                    tokio::spawn(async move {
                        let mut buf = Vec::new();
                        let mut chunk = [0u8; 1024];
                        while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                            match conn.read(&mut chunk).await {
                                Ok(0) | Err(_) => return,
                                Ok(n) => buf.extend_from_slice(&chunk[..n]),
                            }
                        }
                        let head = String::from_utf8_lossy(&buf).into_owned();
                        let path = head.split_whitespace().nth(1).unwrap_or("").to_owned();
                        seen.lock().expect("lock").push(head);
                        let reply = routes
                            .iter()
                            .find(|(p, _)| path.starts_with(p.as_str()))
                            .map(|(_, r)| r.clone())
                            .unwrap_or_else(|| {
                                http("404 Not Found", r#"{"message":"no such thing"}"#)
                            });
                        match reply {
                            Reply::Raw(bytes) => {
                                let _ = conn.write_all(&bytes).await;
                                let _ = conn.shutdown().await;
                            }
                            Reply::Hang => tokio::time::sleep(Duration::from_secs(60)).await,
                            Reply::Close => {}
                        }
                    });
                }
            });
            FakeEngine {
                _dir: dir,
                socket,
                requests,
                task,
            }
        }

        fn client(&self) -> DockerClient {
            DockerClient::new(&self.socket)
        }
    }

    fn docker_inspect_sample() -> String {
        format!(
            r#"{{
  "Id": "{CID}",
  "Created": "2024-05-01T09:59:59.5Z",
  "Name": "/web",
  "Image": "{IMG}",
  "State": {{"Status": "running", "Running": true, "Pid": 4242,
             "StartedAt": "2024-05-01T10:00:00.123456789Z",
             "FinishedAt": "0001-01-01T00:00:00Z"}},
  "HostConfig": {{"Privileged": true, "NetworkMode": "bridge"}},
  "Config": {{
    "Hostname": "9f3b2c1d0e4f",
    "Image": "nginx:1.27",
    "Labels": {{
      "io.kubernetes.pod.name": "web-0",
      "io.kubernetes.pod.namespace": "shop",
      "io.kubernetes.pod.uid": "0b9a6a4e-3f0c-4b6e-9d1e-1c2f3a4b5c6d",
      "team": "blue"
    }}
  }}
}}"#
        )
    }

    fn image_sample() -> String {
        format!(
            r#"{{"Id": "{IMG}", "RepoTags": ["nginx:1.27"],
                "RepoDigests": ["mirror.local/nginx@sha256:{}", "nginx@{DIGEST}"]}}"#,
            "3".repeat(64)
        )
    }

    #[tokio::test]
    async fn inspect_parses_docker_sample_and_image_digest() {
        let fake = FakeEngine::start(vec![
            (
                "/containers/web/json",
                http("200 OK", &docker_inspect_sample()),
            ),
            ("/images/", http("200 OK", &image_sample())),
        ]);
        let meta = fake.client().inspect("web").await.expect("inspect");
        let labels: BTreeMap<String, String> = [
            ("io.kubernetes.pod.name", "web-0"),
            ("io.kubernetes.pod.namespace", "shop"),
            (
                "io.kubernetes.pod.uid",
                "0b9a6a4e-3f0c-4b6e-9d1e-1c2f3a4b5c6d",
            ),
            ("team", "blue"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        assert_eq!(
            meta,
            ContainerMeta {
                id: CID.into(),
                runtime: Runtime::Docker,
                name: "web".into(),
                image: "nginx:1.27".into(),
                image_id: IMG.into(),
                image_digest: Some(DIGEST.into()),
                pod: PodMeta::from_labels(&labels),
                labels,
                started_at: Some("2024-05-01T10:00:00.123456789Z".into()),
                privileged: true,
            }
        );
        assert_eq!(meta.pod.as_ref().map(|p| p.name.as_str()), Some("web-0"));

        let reqs = fake.requests.lock().expect("lock").clone();
        assert!(
            reqs[0].starts_with("GET /containers/web/json HTTP/1.1\r\n"),
            "{}",
            reqs[0]
        );
        assert!(reqs[0].to_ascii_lowercase().contains("host: localhost"));
        assert!(
            reqs[1].starts_with(&format!("GET /images/{IMG}/json ")),
            "{}",
            reqs[1]
        );
    }

    #[tokio::test]
    async fn inspect_accepts_podman_style_nulls_and_never_started_container() {
        let body = format!(
            r#"{{"Id":"{CID}","Name":"/idle","Image":"{IMG}",
                "State":{{"StartedAt":"0001-01-01T00:00:00Z"}},
                "HostConfig":null,
                "Config":{{"Image":"localhost/kestrel-test/busybox:1","Labels":null}}}}"#
        );
        let fake = FakeEngine::start(vec![("/containers/", http("200 OK", &body))]);
        // image lookup gets the default 404 → digest None, inspect still succeeds
        let meta = fake
            .client()
            .with_runtime(Runtime::Podman)
            .inspect(CID)
            .await
            .expect("inspect");
        assert_eq!(meta.name, "idle");
        assert_eq!(meta.runtime, Runtime::Podman);
        assert_eq!(meta.started_at, None);
        assert!(meta.labels.is_empty() && !meta.privileged && meta.pod.is_none());
        assert_eq!(meta.image_digest, None);
    }

    #[tokio::test]
    async fn inspect_takes_digest_from_pinned_image_reference_without_lookup() {
        let body = docker_inspect_sample().replace("nginx:1.27", &format!("nginx@{DIGEST}"));
        let fake = FakeEngine::start(vec![("/containers/", http("200 OK", &body))]);
        let meta = fake.client().inspect(CID).await.expect("inspect");
        assert_eq!(meta.image_digest.as_deref(), Some(DIGEST));
        assert_eq!(fake.requests.lock().expect("lock").len(), 1);
    }

    #[tokio::test]
    async fn garbage_answer_is_malformed_json_error_with_excerpt() {
        let fake = FakeEngine::start(vec![(
            "/containers/",
            http("200 OK", "<html>\u{1F980} not json"),
        )]);
        match fake.client().inspect(CID).await {
            Err(RuntimeError::MalformedJson { excerpt, .. }) => {
                assert!(excerpt.starts_with("<html>"), "{excerpt}")
            }
            other => panic!("expected MalformedJson, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn wrong_json_types_are_malformed_json_not_panic() {
        for body in [
            r#"{"Id": 5}"#.to_owned(),
            format!(r#"{{"Id":"{CID}","Config":{{"Labels":{{"a":1}}}}}}"#),
            format!(r#"{{"Id":"{CID}","HostConfig":{{"Privileged":"yes"}}}}"#),
            "[]".to_owned(),
            String::new(),
        ] {
            let fake = FakeEngine::start(vec![("/containers/", http("200 OK", &body))]);
            let r = fake.client().inspect(CID).await;
            // (serde reads `[]` as an all-default struct, so it fails on the Id check)
            assert!(
                matches!(
                    r,
                    Err(RuntimeError::MalformedJson { .. } | RuntimeError::InvalidAnswer { .. })
                ),
                "{body}: {r:?}"
            );
        }
    }

    #[tokio::test]
    async fn implausible_container_id_is_invalid_answer() {
        let fake = FakeEngine::start(vec![(
            "/containers/",
            http("200 OK", r#"{"Id":"../../etc"}"#),
        )]);
        let r = fake.client().inspect(CID).await;
        assert!(
            matches!(r, Err(RuntimeError::InvalidAnswer { .. })),
            "{r:?}"
        );
    }

    #[tokio::test]
    async fn http_404_is_not_found_and_500_is_status_with_message() {
        let fake = FakeEngine::start(vec![(
            "/containers/broken/",
            http("500 Internal Server Error", r#"{"message":"boom"}"#),
        )]);
        let c = fake.client();
        assert!(matches!(c.inspect("gone").await, Err(RuntimeError::NotFound(id)) if id == "gone"));
        match c.inspect("broken").await {
            Err(e @ RuntimeError::Status { status: 500, .. }) => {
                assert!(e.to_string().contains("boom"), "{e}")
            }
            other => panic!("expected Status, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn oversized_answer_is_rejected() {
        let big = format!(r#"{{"Id":"{CID}","Name":"{}"}}"#, "x".repeat(10_000));
        let fake = FakeEngine::start(vec![("/containers/", http("200 OK", &big))]);
        let cfg = ClientConfig {
            max_body_bytes: 1024,
            ..ClientConfig::default()
        };
        let r = fake.client().with_config(cfg).inspect(CID).await;
        assert!(
            matches!(r, Err(RuntimeError::BodyTooLarge { limit: 1024, .. })),
            "{r:?}"
        );
    }

    #[tokio::test]
    async fn slow_server_is_timeout_error() {
        let fake = FakeEngine::start(vec![("/", Reply::Hang)]);
        let cfg = ClientConfig {
            request_timeout: Duration::from_millis(200),
            ..ClientConfig::default()
        };
        let t0 = std::time::Instant::now();
        let r = fake.client().with_config(cfg).inspect(CID).await;
        assert!(matches!(r, Err(RuntimeError::Timeout { .. })), "{r:?}");
        assert!(t0.elapsed() < Duration::from_secs(2));
    }

    #[tokio::test]
    async fn server_closing_without_answer_is_http_error() {
        let fake = FakeEngine::start(vec![("/", Reply::Close)]);
        let r = fake.client().inspect(CID).await;
        assert!(matches!(r, Err(RuntimeError::Http { .. })), "{r:?}");
    }

    #[tokio::test]
    async fn truncated_body_is_http_error() {
        let fake = FakeEngine::start(vec![(
            "/",
            Reply::Raw(b"HTTP/1.1 200 OK\r\nContent-Length: 500\r\n\r\n{\"Id\":".to_vec()),
        )]);
        let r = fake.client().inspect(CID).await;
        assert!(matches!(r, Err(RuntimeError::Http { .. })), "{r:?}");
    }

    #[tokio::test]
    async fn missing_socket_is_socket_missing_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let c = DockerClient::new(dir.path().join("nope.sock"));
        let r = c.inspect(CID).await;
        assert!(
            matches!(r, Err(RuntimeError::SocketMissing { .. })),
            "{r:?}"
        );
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
        drop(UnixListener::bind(&path).expect("bind")); // file stays, nobody listens
        let r = DockerClient::new(&path).ping().await;
        assert!(matches!(r, Err(RuntimeError::Connect { .. })), "{r:?}");
    }

    #[tokio::test]
    async fn invalid_references_are_rejected_before_any_io() {
        let c = DockerClient::new("/nonexistent/kestrel.sock");
        for bad in ["", "../etc", "a/b", "a?all=1", "a b", "-x", "a#b", "é"] {
            assert!(
                matches!(c.inspect(bad).await, Err(RuntimeError::InvalidRef(_))),
                "{bad:?}"
            );
        }
    }

    #[tokio::test]
    async fn list_inspects_each_container_and_falls_back_on_bad_inspect() {
        let other = "a".repeat(64);
        let gone = "b".repeat(64);
        let summary = format!(
            r#"[{{"Id":"{CID}","Names":["/web"],"Image":"nginx:1.27","ImageID":"{IMG}","Labels":{{}}}},
                {{"Id":"{other}","Names":["/odd"],"Image":"busybox","ImageID":"{IMG}","Labels":{{"team":"red"}}}},
                {{"Id":"{gone}","Names":["/gone"]}},
                {{"Id":"not-an-id"}}]"#
        );
        let routes = vec![
            (
                "/containers/json?all=true".to_owned(),
                http("200 OK", &summary),
            ),
            (
                format!("/containers/{CID}/json"),
                http("200 OK", &docker_inspect_sample()),
            ),
            (
                format!("/containers/{other}/json"),
                http("200 OK", "garbage"),
            ),
            ("/images/".to_owned(), http("200 OK", &image_sample())),
        ];
        let fake = FakeEngine::start(routes);
        let list = fake.client().list().await.expect("list");
        let ids: Vec<&str> = list.iter().map(|(id, _)| id.as_str()).collect();
        assert_eq!(ids, [CID, other.as_str()]);
        assert!(list[0].1.privileged);
        assert_eq!(list[1].1.name, "odd");
        assert_eq!(
            list[1].1.labels.get("team").map(String::as_str),
            Some("red")
        );
    }

    #[tokio::test]
    async fn detect_runtime_reads_version_components() {
        let podman = r#"{"Components":[{"Name":"Podman Engine","Version":"4.3.1"}]}"#;
        let fake = FakeEngine::start(vec![("/version", http("200 OK", podman))]);
        assert_eq!(
            fake.client().detect_runtime().await.ok(),
            Some(Runtime::Podman)
        );
        let docker =
            r#"{"Components":[{"Name":"Engine","Version":"27.0.1"},{"Name":"containerd"}]}"#;
        let fake = FakeEngine::start(vec![("/version", http("200 OK", docker))]);
        assert_eq!(
            fake.client().detect_runtime().await.ok(),
            Some(Runtime::Docker)
        );
    }

    #[test]
    fn default_sockets_are_tagged_by_api() {
        let s = default_sockets();
        let find = |p: &str| {
            s.iter()
                .find(|x| x.path == Path::new(p))
                .map(|x| (x.api, x.runtime))
        };
        assert_eq!(
            find("/var/run/docker.sock"),
            Some((ApiKind::DockerEngine, Runtime::Docker))
        );
        assert_eq!(
            find("/run/podman/podman.sock"),
            Some((ApiKind::DockerEngine, Runtime::Podman))
        );
        assert_eq!(
            find("/run/containerd/containerd.sock"),
            Some((ApiKind::Cri, Runtime::Containerd))
        );
        assert_eq!(
            find("/var/run/crio/crio.sock"),
            Some((ApiKind::Cri, Runtime::CriO))
        );
    }

    #[test]
    fn reference_helpers() {
        assert_eq!(repository_of("nginx:1.27"), "nginx");
        assert_eq!(repository_of("registry:5000/a/b:tag"), "registry:5000/a/b");
        assert_eq!(repository_of("registry:5000/a/b"), "registry:5000/a/b");
        assert_eq!(repository_of(&format!("a/b@{DIGEST}")), "a/b");
        assert_eq!(digest_in_reference(&format!("a/b@{DIGEST}")), Some(DIGEST));
        assert_eq!(digest_in_reference("a/b:1"), None);
        assert_eq!(excerpt(&[b'x'; 500]).chars().count(), EXCERPT_LEN + 1);
        assert_eq!(excerpt(&[0xff, 0xfe]), "\u{FFFD}\u{FFFD}");
    }
}

/// Live test against a real Podman engine (`podman system service`), run as
/// root only. Fails (does not skip) if podman cannot run a container here.
#[cfg(test)]
mod podman_live {
    use super::super::cgroup_ids::{CgroupIndex, find_cgroup2_mount};
    use super::super::cgroup_path;
    use super::*;
    use std::os::unix::fs::MetadataExt;
    use std::process::{Child, Command, Stdio};
    use std::time::Instant;

    /// Per-process tag so concurrent runs (other sessions share this box's
    /// podman storage) never remove each other's image.
    fn image() -> String {
        format!("kestrel-test/busybox:1-{}", std::process::id())
    }

    fn is_root() -> bool {
        std::fs::metadata("/proc/self")
            .map(|m| m.uid() == 0)
            .unwrap_or(false)
    }

    /// Runs a command, returning stdout or a message naming the command and its stderr.
    fn run(cmd: &mut Command) -> Result<String, String> {
        let out = cmd
            .output()
            .map_err(|e| format!("{cmd:?}: cannot start: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "{cmd:?}: {}: {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
    }

    /// Removes the container and image and stops the API service.
    struct Cleanup {
        name: String,
        service: Option<Child>,
    }

    impl Drop for Cleanup {
        fn drop(&mut self) {
            let _ = Command::new("podman")
                .args(["rm", "-f", "-t", "0", &self.name])
                .output();
            let _ = Command::new("podman")
                .args(["rmi", "-f", &image()])
                .output();
            if let Some(mut child) = self.service.take() {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }

    fn import_busybox_image(dir: &Path) -> Result<(), String> {
        let root = dir.join("rootfs");
        let bin = root.join("bin");
        std::fs::create_dir_all(&bin).map_err(|e| e.to_string())?;
        std::fs::copy("/bin/busybox", bin.join("busybox"))
            .map_err(|e| format!("copy /bin/busybox (busybox-static installed?): {e}"))?;
        for applet in ["sh", "sleep"] {
            std::os::unix::fs::symlink("busybox", bin.join(applet)).map_err(|e| e.to_string())?;
        }
        let mut tar = Command::new("tar")
            .arg("-C")
            .arg(&root)
            .args(["-c", "."])
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|e| format!("tar: {e}"))?;
        let tar_out = tar.stdout.take().ok_or("tar: no stdout")?;
        let r = run(Command::new("podman")
            .args(["import", "-", &image()])
            .stdin(tar_out));
        let _ = tar.wait();
        r.map(|_| ())
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn podman_container_is_inspected_and_its_cgroup_parsed() {
        if !is_root() {
            eprintln!("SKIP podman_container_is_inspected_and_its_cgroup_parsed: not root");
            return;
        }
        let dir = match tempfile::tempdir() {
            Ok(d) => d,
            Err(e) => panic!("tempdir: {e}"),
        };
        if let Err(e) = live(dir.path()).await {
            let log = std::fs::read_to_string(dir.path().join("service.log")).unwrap_or_default();
            let tail: Vec<&str> = log.lines().rev().take(20).collect();
            panic!(
                "podman live test failed: {e}\n--- podman system service log (last lines, newest first) ---\n{}",
                tail.join("\n")
            );
        }
    }

    async fn live(dir: &Path) -> Result<(), String> {
        let sock = dir.join("podman.sock");
        let name = format!("kestrel-meta-{}", std::process::id());
        let log = std::fs::File::create(dir.join("service.log")).map_err(|e| e.to_string())?;
        let service = Command::new("podman")
            .args(["system", "service", "--time=0"])
            .arg(format!("unix://{}", sock.display()))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .map_err(|e| format!("podman system service: cannot start: {e}"))?;
        let _cleanup = Cleanup {
            name: name.clone(),
            service: Some(service),
        };

        import_busybox_image(dir)?;
        let image = image();

        let client = DockerClient::new(&sock);
        let t0 = Instant::now();
        let ready = loop {
            match client.ping().await {
                Ok(()) => break Ok(()),
                Err(e) if t0.elapsed() > Duration::from_secs(20) => break Err(e),
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        };
        ready.map_err(|e| format!("podman service never answered: {e}"))?;
        eprintln!("podman service ready after {:?}", t0.elapsed());
        let runtime = client.detect_runtime().await.map_err(|e| e.to_string())?;
        assert_eq!(runtime, Runtime::Podman);
        let client = client.with_runtime(runtime);

        let id = run(Command::new("podman").args([
            "run",
            "-d",
            "--runtime",
            "runc",
            "--network",
            "none",
            "--ulimit",
            "nofile=4096:4096",
            "--ulimit",
            "nproc=4096:4096",
            "--label",
            "team=blue",
            "--name",
            &name,
            &image,
            "sleep",
            "30",
        ]))?;
        let started = Instant::now();
        let (meta, attempts) = {
            let mut attempts = 0;
            loop {
                attempts += 1;
                match client.inspect(&id).await {
                    Ok(m) => break (m, attempts),
                    Err(e) if started.elapsed() > Duration::from_secs(10) => {
                        return Err(format!("inspect {id}: {e}"));
                    }
                    Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
                }
            }
        };
        let to_inspect = started.elapsed();
        let t1 = Instant::now();
        for _ in 0..10 {
            client.inspect(&id).await.map_err(|e| e.to_string())?;
        }
        eprintln!(
            "podman run → inspect ok: {to_inspect:?} ({attempts} attempt(s)); \
             warm inspect (2 requests) avg {:?}",
            t1.elapsed() / 10
        );

        assert_eq!(meta.id, id);
        assert_eq!(meta.name, name);
        assert_eq!(meta.runtime, Runtime::Podman);
        assert!(meta.image.ends_with(&image), "image {}", meta.image);
        assert!(
            meta.image_id.starts_with("sha256:"),
            "image id {}",
            meta.image_id
        );
        assert!(
            meta.image_digest
                .as_deref()
                .is_some_and(|d| d.starts_with("sha256:")),
            "digest {:?}",
            meta.image_digest
        );
        assert_eq!(meta.labels.get("team").map(String::as_str), Some("blue"));
        assert!(meta.started_at.is_some() && !meta.privileged && meta.pod.is_none());

        let listed = client.list().await.map_err(|e| e.to_string())?;
        assert!(listed.iter().any(|(i, m)| *i == id && m.name == name));
        assert!(matches!(
            client.inspect("kestrel-no-such-container").await,
            Err(RuntimeError::NotFound(_))
        ));

        // cgroup of the container's init process → same container id.
        let pid = run(Command::new("podman").args(["inspect", "-f", "{{.State.Pid}}", &id]))?;
        let cg =
            std::fs::read_to_string(format!("/proc/{pid}/cgroup")).map_err(|e| e.to_string())?;
        let path = cg
            .lines()
            .find_map(|l| l.strip_prefix("0::"))
            .ok_or_else(|| format!("no 0:: line in /proc/{pid}/cgroup: {cg}"))?;
        eprintln!("container cgroup: {path}");
        let parsed = cgroup_path::parse(path).ok_or_else(|| format!("parse({path}) = None"))?;
        assert_eq!(
            (parsed.runtime, parsed.id.as_str()),
            (Runtime::Podman, id.as_str())
        );

        // and cgroup id (inode) → path through the index.
        if let Some(mount) = find_cgroup2_mount() {
            let full = mount.join(path.trim_start_matches('/'));
            let ino = std::fs::metadata(&full)
                .map_err(|e| format!("{}: {e}", full.display()))?
                .ino();
            let mut idx = CgroupIndex::new(mount);
            assert_eq!(idx.resolve(ino).as_deref(), Some(Path::new(path)));
        }
        Ok(())
    }
}
