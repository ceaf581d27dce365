//! The container registry: cgroup id → container and its metadata, for the
//! hot path, with the slow work (filesystem walks, runtime API calls) on a
//! tokio task.
//!
//! The resolver task publishes an immutable [`Snapshot`] through
//! `arc-swap`; the hot path's [`RegistryView`] reloads it only when its
//! version changed and never waits. A cgroup the snapshot does not know yet
//! is *pending*: the view asks the resolver once, and the pipeline holds
//! that cgroup's events for a short while (see `pipeline::enrich`).
//!
//! Resolution: the kernel's `cgroup_mkdir` events (or a walk of the cgroup2
//! mount on a miss) give the cgroup's path; [`super::cgroup_path::parse`]
//! finds the container id and runtime in it; the runtime's API (Docker
//! Engine API, served by Docker and by Podman's service) gives name, image,
//! labels and pod. Host cgroups resolve to the `host` entry. A runtime that
//! is absent, slow or answers garbage is logged once and counted; the
//! container is then published with its id and runtime only.

use std::{
    collections::HashSet,
    path::PathBuf,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use arc_swap::ArcSwap;
use foldhash::HashMap;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use super::{
    cgroup_ids::{CgroupIndex, find_cgroup2_mount},
    cgroup_path,
    cri::{CriClient, CriError},
    docker::{ApiKind, ClientConfig, DockerClient, RuntimeError, default_sockets},
    meta::{ContainerMeta, ContainerRef, Runtime},
};
use crate::context::{ContainerInfo, PodMeta as PodInfo};

/// Container registry settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ContainerConfig {
    /// Docker Engine API sockets to ask (Docker, Podman's service). Empty:
    /// the usual paths that exist at start.
    pub sockets: Vec<PathBuf>,
    /// Kubernetes CRI sockets to ask (containerd, CRI-O). Empty: the usual
    /// paths (`/run/containerd/containerd.sock`, `/var/run/crio/crio.sock`)
    /// that exist at start.
    pub cri_sockets: Vec<PathBuf>,
    /// How long events of a container whose metadata is being fetched wait
    /// before they go out with what is known (milliseconds).
    pub metadata_wait_ms: u64,
    /// Events held at most while waiting for metadata (beyond: released at
    /// once, counted).
    pub max_pending_events: usize,
    /// Timeout of one runtime API request (milliseconds).
    pub request_timeout_ms: u64,
}

impl Default for ContainerConfig {
    fn default() -> Self {
        ContainerConfig {
            sockets: Vec::new(),
            cri_sockets: Vec::new(),
            metadata_wait_ms: 500,
            max_pending_events: 8192,
            request_timeout_ms: 2000,
        }
    }
}

/// The registry's published state.
#[derive(Debug, Default)]
pub struct Snapshot {
    /// Bumped on every publication.
    pub version: u64,
    pub by_cgroup: HashMap<u64, Arc<ContainerInfo>>,
}

/// Counters of the registry, readable from any thread.
#[derive(Debug, Default)]
pub struct RegistryStats {
    pub requests: AtomicU64,
    pub requests_dropped: AtomicU64,
    pub host_cgroups: AtomicU64,
    pub containers: AtomicU64,
    pub metadata_ok: AtomicU64,
    pub metadata_failed: AtomicU64,
    pub unresolved_cgroups: AtomicU64,
    /// Time from a cgroup's first request to its metadata, last value (µs).
    pub last_resolve_us: AtomicU64,
}

/// A plain copy of [`RegistryStats`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct RegistryStatsSnapshot {
    pub requests: u64,
    pub requests_dropped: u64,
    pub host_cgroups: u64,
    pub containers: u64,
    pub metadata_ok: u64,
    pub metadata_failed: u64,
    pub unresolved_cgroups: u64,
    pub last_resolve_us: u64,
}

impl RegistryStats {
    pub fn snapshot(&self) -> RegistryStatsSnapshot {
        let g = |c: &AtomicU64| c.load(Ordering::Relaxed);
        RegistryStatsSnapshot {
            requests: g(&self.requests),
            requests_dropped: g(&self.requests_dropped),
            host_cgroups: g(&self.host_cgroups),
            containers: g(&self.containers),
            metadata_ok: g(&self.metadata_ok),
            metadata_failed: g(&self.metadata_failed),
            unresolved_cgroups: g(&self.unresolved_cgroups),
            last_resolve_us: g(&self.last_resolve_us),
        }
    }
}

/// Work for the resolver.
#[derive(Debug)]
pub enum Request {
    /// Find what cgroup `id` is (its path, when the kernel told us).
    Resolve { id: u64, path: Option<String> },
    /// The cgroup was removed.
    Forget { id: u64 },
}

/// The host's entry: every non-container cgroup maps to it.
pub fn host_info() -> ContainerInfo {
    ContainerInfo {
        id: crate::context::HOST_ID.into(),
        runtime: "host".into(),
        ..ContainerInfo::default()
    }
}

/// Shared state and the resolver's inbox.
#[derive(Clone)]
pub struct Registry {
    shared: Arc<ArcSwap<Snapshot>>,
    requests: mpsc::Sender<Request>,
    pub stats: Arc<RegistryStats>,
}

/// Capacity of the resolver's inbox; a full inbox drops (and counts) the
/// request: the cgroup is asked about again by its next event.
const REQUEST_QUEUE: usize = 4096;

impl Registry {
    /// Create the registry and spawn its resolver on the current runtime.
    pub fn start(config: &ContainerConfig) -> Registry {
        let host = Arc::new(host_info());
        let mut by_cgroup = HashMap::default();
        by_cgroup.insert(1, host); // the cgroup2 root
        let shared = Arc::new(ArcSwap::from_pointee(Snapshot {
            version: 1,
            by_cgroup,
        }));
        let (tx, rx) = mpsc::channel(REQUEST_QUEUE);
        let stats = Arc::new(RegistryStats::default());
        let resolver = Resolver::new(config, shared.clone(), stats.clone());
        tokio::spawn(resolver.run(rx));
        Registry {
            shared,
            requests: tx,
            stats,
        }
    }

    /// A view for the hot path (one per hot path thread).
    pub fn view(&self) -> RegistryView {
        RegistryView {
            current: self.shared.load_full(),
            shared: self.shared.clone(),
            requests: self.requests.clone(),
            asked: HashSet::new(),
            stats: self.stats.clone(),
        }
    }

    /// Every known container (not the host), for status and listing.
    pub fn containers(&self) -> Vec<(u64, Arc<ContainerInfo>)> {
        let snap = self.shared.load();
        let mut out: Vec<_> = snap
            .by_cgroup
            .iter()
            .filter(|(_, c)| c.id != "host")
            .map(|(id, c)| (*id, c.clone()))
            .collect();
        out.sort_by(|a, b| a.1.id.cmp(&b.1.id).then(a.0.cmp(&b.0)));
        out
    }
}

/// The hot path's side: lookups without locks or waiting.
pub struct RegistryView {
    current: Arc<Snapshot>,
    shared: Arc<ArcSwap<Snapshot>>,
    requests: mpsc::Sender<Request>,
    asked: HashSet<u64>,
    stats: Arc<RegistryStats>,
}

impl RegistryView {
    /// Pick up a newer snapshot if one was published. Cheap when not.
    pub fn refresh(&mut self) -> bool {
        let latest = self.shared.load();
        if latest.version == self.current.version {
            return false;
        }
        self.current = arc_swap::Guard::into_inner(latest);
        // Cgroups the snapshot now knows need no further asking.
        let known = &self.current.by_cgroup;
        self.asked.retain(|id| !known.contains_key(id));
        true
    }

    /// The container of `cgroup_id`, or None while it is being resolved
    /// (the resolver is asked the first time).
    pub fn lookup(&mut self, cgroup_id: u64) -> Option<&Arc<ContainerInfo>> {
        if self.current.by_cgroup.contains_key(&cgroup_id) {
            return self.current.by_cgroup.get(&cgroup_id);
        }
        if self.asked.insert(cgroup_id) {
            self.send(Request::Resolve {
                id: cgroup_id,
                path: None,
            });
        }
        None
    }

    /// Like [`lookup`](Self::lookup) without asking.
    pub fn get(&self, cgroup_id: u64) -> Option<&Arc<ContainerInfo>> {
        self.current.by_cgroup.get(&cgroup_id)
    }

    /// The kernel reported a new cgroup: resolve it (and fetch metadata)
    /// before its first process runs.
    pub fn cgroup_created(&mut self, id: u64, path: &str) {
        if self.asked.insert(id) {
            self.send(Request::Resolve {
                id,
                path: Some(path.to_string()),
            });
        }
    }

    pub fn cgroup_removed(&mut self, id: u64) {
        self.asked.remove(&id);
        self.send(Request::Forget { id });
    }

    fn send(&self, request: Request) {
        self.stats.requests.fetch_add(1, Ordering::Relaxed);
        if self.requests.try_send(request).is_err() {
            self.stats.requests_dropped.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// The slow side: owns the cgroup index and the runtime clients.
struct Resolver {
    shared: Arc<ArcSwap<Snapshot>>,
    stats: Arc<RegistryStats>,
    index: Option<CgroupIndex>,
    clients: Arc<RuntimeClients>,
    /// Runtimes that failed, so each failure kind is logged once.
    warned: HashSet<String>,
}

/// How long a removed cgroup's entry stays, so late events still resolve.
const FORGET_AFTER: Duration = Duration::from_secs(30);

impl Resolver {
    fn new(
        config: &ContainerConfig,
        shared: Arc<ArcSwap<Snapshot>>,
        stats: Arc<RegistryStats>,
    ) -> Resolver {
        let client_config = ClientConfig {
            request_timeout: Duration::from_millis(config.request_timeout_ms),
            connect_timeout: Duration::from_millis(config.request_timeout_ms),
            ..ClientConfig::default()
        };
        let defaults = default_sockets();
        let present = |api: ApiKind| -> Vec<(PathBuf, Runtime)> {
            defaults
                .iter()
                .filter(|s| s.api == api && s.path.exists())
                .map(|s| (s.path.clone(), s.runtime))
                .collect()
        };
        let sockets: Vec<PathBuf> = if config.sockets.is_empty() {
            present(ApiKind::DockerEngine)
                .into_iter()
                .map(|(path, _)| path)
                .collect()
        } else {
            config.sockets.clone()
        };
        let cri_sockets: Vec<(PathBuf, Runtime)> = if config.cri_sockets.is_empty() {
            present(ApiKind::Cri)
        } else {
            config
                .cri_sockets
                .iter()
                .map(|path| (path.clone(), cri_runtime_of(path)))
                .collect()
        };
        if sockets.is_empty() && cri_sockets.is_empty() {
            tracing::info!(
                "no container runtime API socket found; containers will carry their id and runtime only \
                 (set container.sockets to a Docker or Podman API socket, container.cri_sockets to a \
                 containerd or CRI-O socket)"
            );
        }
        let docker = sockets
            .into_iter()
            .map(|path| {
                tracing::info!(socket = %path.display(), "container metadata from the Docker Engine API");
                DockerClient::new(path).with_config(client_config)
            })
            .collect();
        let cri = cri_sockets
            .into_iter()
            .map(|(path, runtime)| {
                tracing::info!(socket = %path.display(), %runtime, "container metadata from the Kubernetes CRI");
                CriClient::new(path, client_config).with_runtime(runtime)
            })
            .collect();
        let index = find_cgroup2_mount().map(CgroupIndex::new);
        if index.is_none() {
            tracing::warn!("no cgroup2 mount found: containers cannot be recognised");
        }
        Resolver {
            shared,
            stats,
            index,
            clients: Arc::new(RuntimeClients { docker, cri }),
            warned: HashSet::new(),
        }
    }

    async fn run(mut self, mut rx: mpsc::Receiver<Request>) {
        let (done_tx, mut done_rx) =
            mpsc::unbounded_channel::<(u64, ContainerInfo, Option<String>)>();
        loop {
            tokio::select! {
                Some(request) = rx.recv() => match request {
                    Request::Resolve { id, path } => self.resolve(id, path, &done_tx),
                    Request::Forget { id } => {
                        if let Some(index) = &mut self.index {
                            index.forget(id);
                        }
                        let shared = self.shared.clone();
                        tokio::spawn(async move {
                            tokio::time::sleep(FORGET_AFTER).await;
                            publish(&shared, |map| {
                                map.remove(&id);
                            });
                        });
                    }
                },
                Some((id, info, failure)) = done_rx.recv() => {
                    if let Some(failure) = failure
                        && self.warned.insert(failure.clone())
                    {
                        tracing::warn!(%failure, "container metadata unavailable; going on with ids only");
                    }
                    publish(&self.shared, |map| {
                        map.insert(id, Arc::new(info));
                    });
                }
                else => break,
            }
        }
    }

    fn resolve(
        &mut self,
        id: u64,
        path: Option<String>,
        done: &mpsc::UnboundedSender<(u64, ContainerInfo, Option<String>)>,
    ) {
        let started = std::time::Instant::now();
        let path = match (path, &mut self.index) {
            (Some(path), Some(index)) => {
                index.learn(id, PathBuf::from(&path));
                Some(path)
            }
            (Some(path), None) => Some(path),
            (None, Some(index)) => tokio::task::block_in_place(|| index.resolve(id))
                .map(|p| p.to_string_lossy().into_owned()),
            (None, None) => None,
        };
        let Some(path) = path else {
            // Gone before we looked, or not on the cgroup2 tree: count it and
            // treat it as the host so its events are not held back again.
            self.stats
                .unresolved_cgroups
                .fetch_add(1, Ordering::Relaxed);
            let _ = done.send((id, host_info(), None));
            return;
        };
        let Some(reference) = cgroup_path::parse(&path) else {
            self.stats.host_cgroups.fetch_add(1, Ordering::Relaxed);
            let _ = done.send((id, host_info(), None));
            return;
        };
        self.stats.containers.fetch_add(1, Ordering::Relaxed);
        let clients = self.clients.clone();
        let stats = self.stats.clone();
        let done = done.clone();
        tokio::spawn(async move {
            let (info, failure) = fetch(&clients, &reference).await;
            if failure.is_some() {
                stats.metadata_failed.fetch_add(1, Ordering::Relaxed);
            } else {
                stats.metadata_ok.fetch_add(1, Ordering::Relaxed);
            }
            stats
                .last_resolve_us
                .store(started.elapsed().as_micros() as u64, Ordering::Relaxed);
            let _ = done.send((id, info, failure));
        });
    }
}

/// The runtime API clients of the resolver.
struct RuntimeClients {
    docker: Vec<DockerClient>,
    cri: Vec<CriClient>,
}

/// The runtime a configured CRI socket probably belongs to, by its path.
fn cri_runtime_of(path: &std::path::Path) -> Runtime {
    let p = path.to_string_lossy();
    if p.contains("crio") || p.contains("cri-o") {
        Runtime::CriO
    } else if p.contains("containerd") {
        Runtime::Containerd
    } else {
        Runtime::Unknown
    }
}

/// Ask the runtime APIs for the container; the first that knows it wins:
/// Docker-API clients for Docker and Podman containers, CRI clients (those
/// of the container's runtime first) for containerd and CRI-O ones, both
/// for a runtime the cgroup path did not tell. Returns the info and, when
/// no client could answer, why.
async fn fetch(
    clients: &RuntimeClients,
    reference: &ContainerRef,
) -> (ContainerInfo, Option<String>) {
    let mut failure = None;
    let (docker_api, cri_api) = match reference.runtime {
        Runtime::Docker | Runtime::Podman => (true, false),
        Runtime::Containerd | Runtime::CriO => (false, true),
        Runtime::Unknown => (true, true),
        Runtime::Runc | Runtime::Host => (false, false),
    };
    let mut asked = 0;
    if docker_api {
        for client in &clients.docker {
            asked += 1;
            match client.inspect(&reference.id).await {
                Ok(meta) => return (info_from_meta(reference, meta), None),
                Err(RuntimeError::NotFound { .. }) => continue,
                Err(err) => {
                    failure = Some(format!("{}: {err}", client.socket_path().display()));
                }
            }
        }
    }
    if cri_api {
        let (own, others): (Vec<&CriClient>, Vec<&CriClient>) = clients
            .cri
            .iter()
            .partition(|c| c.runtime() == reference.runtime);
        for client in own.into_iter().chain(others) {
            asked += 1;
            match client.inspect(&reference.id).await {
                Ok(meta) => return (info_from_meta(reference, meta), None),
                Err(CriError::NotFound { .. }) => continue,
                Err(err) => {
                    failure = Some(format!("{}: {err}", client.socket_path().display()));
                }
            }
        }
    }
    if failure.is_none() && clients.docker.is_empty() && clients.cri.is_empty() {
        // No runtime socket at all: said once at start, not a failure.
        return (info_from_ref(reference), None);
    }
    let failure = failure.unwrap_or_else(|| {
        if asked == 0 {
            format!(
                "no API client for runtime {} (set container.sockets or container.cri_sockets)",
                reference.runtime.as_str()
            )
        } else {
            format!(
                "container {} unknown to every runtime socket",
                short(&reference.id)
            )
        }
    });
    (info_from_ref(reference), Some(failure))
}

fn short(id: &str) -> &str {
    id.get(..12).unwrap_or(id)
}

fn info_from_ref(r: &ContainerRef) -> ContainerInfo {
    ContainerInfo {
        id: r.id.clone(),
        runtime: r.runtime.as_str().to_string(),
        pod: r.pod_uid.as_ref().map(|uid| PodInfo {
            uid: uid.clone(),
            ..PodInfo::default()
        }),
        ..ContainerInfo::default()
    }
}

fn info_from_meta(r: &ContainerRef, m: ContainerMeta) -> ContainerInfo {
    let started_at_ns = m
        .started_at
        .as_deref()
        .and_then(|t| {
            time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339).ok()
        })
        .and_then(|t| u64::try_from(t.unix_timestamp_nanos()).ok());
    let pod = m.pod.map(|p| PodInfo {
        name: p.name,
        namespace: p.namespace,
        uid: p.uid.or_else(|| r.pod_uid.clone()).unwrap_or_default(),
        labels: p.labels,
    });
    ContainerInfo {
        id: r.id.clone(),
        runtime: if m.runtime == Runtime::Unknown || m.runtime == Runtime::Docker {
            r.runtime.as_str().to_string()
        } else {
            m.runtime.as_str().to_string()
        },
        name: (!m.name.is_empty()).then_some(m.name),
        image: (!m.image.is_empty()).then_some(m.image),
        image_id: (!m.image_id.is_empty()).then_some(m.image_id),
        image_digest: m.image_digest,
        labels: m.labels,
        privileged: m.privileged,
        started_at_ns,
        pod,
    }
}

/// Copy-on-write publication of a new snapshot.
fn publish(shared: &ArcSwap<Snapshot>, change: impl FnOnce(&mut HashMap<u64, Arc<ContainerInfo>>)) {
    let current = shared.load();
    let mut map = current.by_cgroup.clone();
    change(&mut map);
    shared.store(Arc::new(Snapshot {
        version: current.version + 1,
        by_cgroup: map,
    }));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 1)]
    async fn root_cgroup_is_the_host_without_waiting() {
        let registry = Registry::start(&ContainerConfig {
            sockets: vec!["/nonexistent/kestrel.sock".into()],
            ..ContainerConfig::default()
        });
        let mut view = registry.view();
        let host = view.lookup(1).expect("root is known at once");
        assert_eq!(host.id, "host");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 1)]
    async fn unknown_cgroup_is_pending_then_resolved_as_host() {
        let registry = Registry::start(&ContainerConfig {
            sockets: vec!["/nonexistent/kestrel.sock".into()],
            ..ContainerConfig::default()
        });
        let mut view = registry.view();
        // An id no cgroup has: pending first, then published as unresolved host.
        assert!(view.lookup(u64::MAX - 7).is_none());
        for _ in 0..200 {
            view.refresh();
            if view.get(u64::MAX - 7).is_some() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(view.get(u64::MAX - 7).map(|c| c.id.as_str()), Some("host"));
        assert_eq!(registry.stats.snapshot().unresolved_cgroups, 1);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 1)]
    async fn container_cgroup_without_runtime_socket_carries_id_and_runtime() {
        let registry = Registry::start(&ContainerConfig {
            sockets: vec!["/nonexistent/kestrel.sock".into()],
            ..ContainerConfig::default()
        });
        let mut view = registry.view();
        let id = "a".repeat(64);
        view.cgroup_created(4242, &format!("/libpod_parent/libpod-{id}"));
        for _ in 0..200 {
            view.refresh();
            if view.get(4242).is_some() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let info = view.get(4242).expect("published");
        assert_eq!(info.id, id);
        assert_eq!(info.runtime, "podman");
        assert_eq!(registry.stats.snapshot().metadata_failed, 1);
    }
}
