//! Containers: cgroup id → cgroup path → container id and runtime →
//! metadata (name, image, labels, pod) from the runtime's own API.
//!
//! * [`cgroup_ids`] resolves the kernel's cgroup ids to cgroup2 paths;
//! * [`cgroup_path`] recognises the container id in a path, for every
//!   runtime layout (Docker, containerd/CRI, CRI-O, Podman, runc);
//! * [`docker`] asks a Docker Engine API socket (Docker, Podman) for
//!   metadata;
//! * [`cri`] asks a Kubernetes CRI socket (containerd, CRI-O) for it;
//! * [`meta`] holds the plain data they produce.

pub mod cgroup_ids;
pub mod cgroup_path;
pub mod cri;
pub mod docker;
pub mod meta;
pub mod registry;
