//! Plain container metadata types shared by the container modules.
//!
//! Owns [`Runtime`], [`ContainerRef`] (what a cgroup path tells us about a
//! container), [`ContainerMeta`] (what a runtime API tells us about it) and
//! [`PodMeta`] (Kubernetes pod identity read from well-known container
//! labels). No I/O happens here.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

/// Container label carrying the Kubernetes pod name (set by kubelet via CRI).
pub const LABEL_POD_NAME: &str = "io.kubernetes.pod.name";
/// Container label carrying the Kubernetes pod namespace.
pub const LABEL_POD_NAMESPACE: &str = "io.kubernetes.pod.namespace";
/// Container label carrying the Kubernetes pod uid.
pub const LABEL_POD_UID: &str = "io.kubernetes.pod.uid";

/// Which container runtime (or none) a workload belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Runtime {
    Docker,
    Containerd,
    CriO,
    Podman,
    Runc,
    Host,
    #[default]
    Unknown,
}

impl Runtime {
    /// Lowercase name, identical to the serde representation.
    pub fn as_str(self) -> &'static str {
        match self {
            Runtime::Docker => "docker",
            Runtime::Containerd => "containerd",
            Runtime::CriO => "crio",
            Runtime::Podman => "podman",
            Runtime::Runc => "runc",
            Runtime::Host => "host",
            Runtime::Unknown => "unknown",
        }
    }
}

impl fmt::Display for Runtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A container as identified from its cgroup path alone.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct ContainerRef {
    pub runtime: Runtime,
    /// Full 64-character lowercase hex container id.
    pub id: String,
    /// Kubernetes pod uid (dash-separated form), when the path is under `kubepods`.
    pub pod_uid: Option<String>,
    /// Kubernetes QoS class: `guaranteed`, `burstable` or `besteffort`.
    pub qos: Option<String>,
}

/// Kubernetes pod identity of a container.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PodMeta {
    pub name: String,
    pub namespace: String,
    pub uid: Option<String>,
    /// Pod labels. CRI runtimes do not copy pod labels onto containers, so
    /// [`PodMeta::from_labels`] leaves this empty; fill it from the API server.
    pub labels: BTreeMap<String, String>,
}

impl PodMeta {
    /// Reads pod identity from the `io.kubernetes.pod.*` container labels.
    ///
    /// Returns `None` unless both name and namespace are present and non-empty.
    pub fn from_labels(labels: &BTreeMap<String, String>) -> Option<PodMeta> {
        let non_empty = |k: &str| labels.get(k).filter(|v| !v.is_empty()).cloned();
        Some(PodMeta {
            name: non_empty(LABEL_POD_NAME)?,
            namespace: non_empty(LABEL_POD_NAMESPACE)?,
            uid: non_empty(LABEL_POD_UID),
            labels: BTreeMap::new(),
        })
    }
}

/// Metadata of one container as reported by its runtime.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ContainerMeta {
    /// Full 64-character hex id.
    pub id: String,
    pub runtime: Runtime,
    /// Container name without Docker's leading `/`.
    pub name: String,
    /// Image reference as the user gave it (e.g. `nginx:1.27`).
    pub image: String,
    /// Image id (e.g. `sha256:…`).
    pub image_id: String,
    /// Registry manifest digest (`sha256:…`) when the runtime knows one.
    pub image_digest: Option<String>,
    pub labels: BTreeMap<String, String>,
    /// RFC 3339 start time; `None` if never started.
    pub started_at: Option<String>,
    pub privileged: bool,
    pub pod: Option<PodMeta>,
}

impl ContainerMeta {
    /// Rough number of bytes this value occupies (inline size plus heap
    /// allocations of strings and the label maps), for cache budgeting.
    ///
    /// B-tree nodes are estimated as one leaf (~11 entries) per 11 labels;
    /// allocator overhead is not counted.
    pub fn approx_mem_bytes(&self) -> usize {
        fn s(v: &str) -> usize {
            v.len()
        }
        fn map(m: &BTreeMap<String, String>) -> usize {
            const ENTRIES_PER_LEAF: usize = 11;
            // keys + values arrays, parent pointer, index and len fields.
            const LEAF_BYTES: usize =
                ENTRIES_PER_LEAF * 2 * std::mem::size_of::<String>() + 8 + 2 + 2 + 4;
            let nodes = m.len().div_ceil(ENTRIES_PER_LEAF);
            nodes * LEAF_BYTES + m.iter().map(|(k, v)| k.len() + v.len()).sum::<usize>()
        }
        let opt = |o: &Option<String>| o.as_deref().map_or(0, s);
        let pod = self.pod.as_ref().map_or(0, |p| {
            std::mem::size_of::<PodMeta>()
                + s(&p.name)
                + s(&p.namespace)
                + opt(&p.uid)
                + map(&p.labels)
        });
        std::mem::size_of::<ContainerMeta>()
            + s(&self.id)
            + s(&self.name)
            + s(&self.image)
            + s(&self.image_id)
            + opt(&self.image_digest)
            + opt(&self.started_at)
            + map(&self.labels)
            + pod
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn runtime_serialises_lowercase() {
        assert_eq!(
            serde_json::to_string(&Runtime::CriO).ok().as_deref(),
            Some("\"crio\"")
        );
        assert_eq!(
            serde_json::from_str::<Runtime>("\"podman\"").ok(),
            Some(Runtime::Podman)
        );
        assert_eq!(Runtime::Containerd.to_string(), "containerd");
    }

    #[test]
    fn pod_meta_from_kubernetes_labels() {
        let l = labels(&[
            (LABEL_POD_NAME, "web-0"),
            (LABEL_POD_NAMESPACE, "shop"),
            (LABEL_POD_UID, "0b9a6a4e-3f0c-4b6e-9d1e-1c2f3a4b5c6d"),
            ("io.kubernetes.container.name", "nginx"),
        ]);
        let pod = PodMeta::from_labels(&l);
        assert_eq!(
            pod,
            Some(PodMeta {
                name: "web-0".into(),
                namespace: "shop".into(),
                uid: Some("0b9a6a4e-3f0c-4b6e-9d1e-1c2f3a4b5c6d".into()),
                labels: BTreeMap::new(),
            })
        );
    }

    #[test]
    fn pod_meta_requires_name_and_namespace() {
        assert_eq!(
            PodMeta::from_labels(&labels(&[(LABEL_POD_NAME, "x")])),
            None
        );
        assert_eq!(
            PodMeta::from_labels(&labels(&[
                (LABEL_POD_NAME, ""),
                (LABEL_POD_NAMESPACE, "ns")
            ])),
            None
        );
        assert_eq!(PodMeta::from_labels(&BTreeMap::new()), None);
    }

    #[test]
    fn container_meta_round_trips_through_json() {
        let m = ContainerMeta {
            id: "a".repeat(64),
            runtime: Runtime::Docker,
            name: "web".into(),
            image: "nginx:1.27".into(),
            image_id: format!("sha256:{}", "b".repeat(64)),
            image_digest: None,
            labels: labels(&[("team", "blue")]),
            started_at: Some("2024-05-01T10:00:00.123456789Z".into()),
            privileged: true,
            pod: None,
        };
        let json = serde_json::to_string(&m).unwrap_or_default();
        assert!(json.contains("\"runtime\":\"docker\""));
        assert_eq!(serde_json::from_str::<ContainerMeta>(&json).ok(), Some(m));
    }

    /// Prints the estimate reported in the hand-back (run with --nocapture).
    #[test]
    fn container_meta_with_five_labels_is_about_one_kib() {
        let m = ContainerMeta {
            id: "a".repeat(64),
            runtime: Runtime::Containerd,
            name: "nginx".into(),
            image: "docker.io/library/nginx:1.27.0".into(),
            image_id: format!("sha256:{}", "b".repeat(64)),
            image_digest: Some(format!("sha256:{}", "c".repeat(64))),
            labels: labels(&[
                (LABEL_POD_NAME, "web-7d9c8b6f5-x2x9q"),
                (LABEL_POD_NAMESPACE, "shop"),
                (LABEL_POD_UID, "0b9a6a4e-3f0c-4b6e-9d1e-1c2f3a4b5c6d"),
                ("io.kubernetes.container.name", "nginx"),
                ("team", "blue"),
            ]),
            started_at: Some("2024-05-01T10:00:00.123456789Z".into()),
            privileged: false,
            pod: None,
        };
        let mut m = m;
        m.pod = PodMeta::from_labels(&m.labels);
        let n = m.approx_mem_bytes();
        eprintln!(
            "ContainerMeta: size_of={} B, with 5 labels + pod ≈ {} B",
            std::mem::size_of::<ContainerMeta>(),
            n
        );
        assert!((600..2048).contains(&n), "estimate {n}");
    }
}
