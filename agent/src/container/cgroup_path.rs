//! Cgroup path → container identity.
//!
//! Owns the knowledge of how container runtimes and the kubelet name cgroups,
//! turning a cgroup path (relative to the cgroup2 mount, as found in the `0::`
//! line of `/proc/<pid>/cgroup`) into a [`ContainerRef`]. Pure string work,
//! no I/O.
//!
//! Recognised layouts (systemd and cgroupfs drivers):
//! * Docker: `…/docker-<id>.scope`, `/docker/<id>`
//! * containerd / CRI: `…/cri-containerd-<id>.scope`, nerdctl `…/nerdctl-<id>.scope`,
//!   cgroupfs `/kubepods/<qos>/pod<uid>/<id>`, and the runc "slice:prefix:id"
//!   form `…/kubepods-…-pod<uid>.slice:cri-containerd:<id>`
//! * CRI-O: `…/crio-<id>.scope`, `…/crio-<id>`
//! * Podman: `…/libpod-<id>.scope`, `/libpod_parent/libpod-<id>`, rootless under
//!   `user.slice/…`
//! * plain runc / anything else: a bare 64-hex directory at any depth
//!
//! Kubernetes pod uid and QoS class are read from the pod cgroup
//! (`kubepods-burstable-pod<uid>.slice`, `kubepods-pod<uid>.slice`,
//! `/kubepods/besteffort/pod<uid>`, …); the uid is normalised to dashes.
//!
//! Nesting: the *innermost* container component wins (docker-in-docker,
//! `…/libpod-<id>.scope/container`, systemd running inside a container).
//! Conmon cgroups (`crio-conmon-<id>`, `libpod-conmon-<id>`) are monitor
//! processes, not the container: they are skipped, so at top level they yield
//! `None` (they are host processes) and inside an outer container they belong
//! to that container.
//!
//! A bare 64-hex directory under a kubepods pod cgroup (cgroupfs driver) is
//! reported as [`Runtime::Containerd`]; CRI-O and Docker name theirs with a
//! prefix, but a legacy dockershim node would also produce this layout.

use super::meta::{ContainerRef, Runtime};

/// Length of a full container id.
pub const CONTAINER_ID_LEN: usize = 64;

/// `true` if `s` is exactly 64 lowercase hex characters.
pub fn is_container_id(s: &str) -> bool {
    s.len() == CONTAINER_ID_LEN && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Parses a cgroup path relative to the cgroup2 mount.
///
/// Returns `None` for host cgroups (`/`, `/user.slice/…`, `/system.slice/sshd.service`)
/// and for conmon monitor cgroups not nested in a container.
pub fn parse(path: &str) -> Option<ContainerRef> {
    let comps: Vec<&str> = path.trim().split('/').filter(|c| !c.is_empty()).collect();

    // Innermost container component.
    let (idx, runtime, id, inline_pod) = comps.iter().enumerate().rev().find_map(|(i, c)| {
        match classify(c, i.checked_sub(1).and_then(|p| comps.get(p))) {
            Component::Container { runtime, id, pod } => Some((i, runtime, id, pod)),
            _ => None,
        }
    })?;

    // Pod cgroup: nearest enclosing pod component, not crossing an outer container.
    let pod = inline_pod.or_else(|| {
        comps[..idx].iter().enumerate().rev().find_map(|(j, c)| {
            match classify(c, j.checked_sub(1).and_then(|p| comps.get(p))) {
                Component::Pod(p) => Some(Some(p)),
                Component::Container { .. } => Some(None),
                _ => None,
            }
        })?
    });

    // Bare ids under a pod are CRI containers (see module docs).
    let runtime = match (runtime, &pod) {
        (Runtime::Runc, Some(_)) => Runtime::Containerd,
        (r, _) => r,
    };

    Some(ContainerRef {
        runtime,
        id: id.to_owned(),
        pod_uid: pod.as_ref().map(|p| p.uid.clone()),
        qos: pod.map(|p| p.qos.to_owned()),
    })
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Pod {
    uid: String,
    qos: &'static str,
}

#[derive(Debug, PartialEq, Eq)]
enum Component<'a> {
    Container {
        runtime: Runtime,
        id: &'a str,
        /// Pod info carried in the same component ("slice:prefix:id" form).
        pod: Option<Pod>,
    },
    Conmon,
    Pod(Pod),
    Other,
}

/// Named-scope prefixes, most specific first (conmon before the plain prefix).
const PREFIXES: &[(&str, Option<Runtime>)] = &[
    ("cri-containerd-", Some(Runtime::Containerd)),
    ("nerdctl-", Some(Runtime::Containerd)),
    ("docker-", Some(Runtime::Docker)),
    ("crio-conmon-", None),
    ("crio-", Some(Runtime::CriO)),
    ("libpod-conmon-", None),
    ("libpod-", Some(Runtime::Podman)),
];

fn classify<'a>(comp: &'a str, parent: Option<&&str>) -> Component<'a> {
    if is_container_id(comp) {
        let runtime = match parent {
            Some(&"docker") => Runtime::Docker,
            _ => Runtime::Runc,
        };
        return Component::Container {
            runtime,
            id: comp,
            pod: None,
        };
    }

    if let Some(c) = classify_colon_form(comp) {
        return c;
    }

    let unit = comp.strip_suffix(".scope").unwrap_or(comp);
    for (prefix, runtime) in PREFIXES {
        if let Some(id) = unit.strip_prefix(prefix)
            && is_container_id(id)
        {
            return match runtime {
                Some(runtime) => Component::Container {
                    runtime: *runtime,
                    id,
                    pod: None,
                },
                None => Component::Conmon,
            };
        }
    }

    match pod_from_slice(comp).or_else(|| pod_from_cgroupfs(comp, parent.copied())) {
        Some(p) => Component::Pod(p),
        None => Component::Other,
    }
}

/// runc's systemd-style cgroupsPath used as a directory name:
/// `kubepods-besteffort-pod<uid>.slice:cri-containerd:<id>`.
fn classify_colon_form(comp: &str) -> Option<Component<'_>> {
    let mut parts = comp.split(':');
    let (slice, prefix, id) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || !is_container_id(id) {
        return None;
    }
    let runtime = match prefix {
        "cri-containerd" | "nerdctl" => Runtime::Containerd,
        "crio" => Runtime::CriO,
        "docker" => Runtime::Docker,
        "libpod" => Runtime::Podman,
        "crio-conmon" | "libpod-conmon" => return Some(Component::Conmon),
        _ => Runtime::Runc,
    };
    Some(Component::Container {
        runtime,
        id,
        pod: pod_from_slice(slice),
    })
}

/// systemd driver: `kubepods-pod<uid>.slice`, `kubepods-burstable-pod<uid>.slice`,
/// `kubelet-kubepods-besteffort-pod<uid>.slice` (kind), uid with underscores.
fn pod_from_slice(comp: &str) -> Option<Pod> {
    let name = comp.strip_suffix(".slice")?;
    let at = name.rfind("-pod")?;
    let (prefix, uid) = (&name[..at], &name[at + "-pod".len()..]);
    let qos = if prefix.ends_with("kubepods-burstable") {
        "burstable"
    } else if prefix.ends_with("kubepods-besteffort") {
        "besteffort"
    } else if prefix.ends_with("kubepods") {
        "guaranteed"
    } else {
        return None;
    };
    Some(Pod {
        uid: normalise_uid(uid)?,
        qos,
    })
}

/// cgroupfs driver: `/kubepods/pod<uid>` (guaranteed) or `/kubepods/<qos>/pod<uid>`.
fn pod_from_cgroupfs(comp: &str, parent: Option<&str>) -> Option<Pod> {
    let uid = comp.strip_prefix("pod")?;
    let qos = match parent? {
        "kubepods" => "guaranteed",
        "burstable" => "burstable",
        "besteffort" => "besteffort",
        _ => return None,
    };
    Some(Pod {
        uid: normalise_uid(uid)?,
        qos,
    })
}

/// Pod uids are UUIDs (36 chars) or, for static pods, 32-hex config hashes.
fn normalise_uid(uid: &str) -> Option<String> {
    let ok = (32..=36).contains(&uid.len())
        && uid
            .bytes()
            .all(|b| b.is_ascii_hexdigit() || b == b'-' || b == b'_');
    ok.then(|| uid.replace('_', "-"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "3f4e2b1c9a8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f";
    const ID2: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    const UID: &str = "0b9a6a4e-3f0c-4b6e-9d1e-1c2f3a4b5c6d";
    const UID_US: &str = "0b9a6a4e_3f0c_4b6e_9d1e_1c2f3a4b5c6d";

    fn r(runtime: Runtime, id: &str) -> Option<ContainerRef> {
        Some(ContainerRef {
            runtime,
            id: id.into(),
            pod_uid: None,
            qos: None,
        })
    }

    fn k(runtime: Runtime, id: &str, qos: &str) -> Option<ContainerRef> {
        Some(ContainerRef {
            runtime,
            id: id.into(),
            pod_uid: Some(UID.into()),
            qos: Some(qos.into()),
        })
    }

    #[test]
    fn container_id_must_be_64_lowercase_hex() {
        assert!(is_container_id(ID));
        assert!(!is_container_id(&ID.to_uppercase()));
        assert!(!is_container_id(&ID[..63]));
        assert!(!is_container_id(&format!("{ID}0")));
        assert!(!is_container_id(&format!("{}g", &ID[..63])));
    }

    #[test]
    fn docker_systemd_scope_yields_docker_id() {
        assert_eq!(
            parse(&format!("/system.slice/docker-{ID}.scope")),
            r(Runtime::Docker, ID)
        );
    }

    #[test]
    fn docker_cgroupfs_path_yields_docker_id() {
        assert_eq!(parse(&format!("/docker/{ID}")), r(Runtime::Docker, ID));
        assert_eq!(parse(&format!("/docker/{ID}/")), r(Runtime::Docker, ID));
    }

    #[test]
    fn docker_in_docker_yields_innermost_id() {
        assert_eq!(
            parse(&format!("/docker/{ID}/docker/{ID2}")),
            r(Runtime::Docker, ID2)
        );
        assert_eq!(
            parse(&format!(
                "/system.slice/docker-{ID}.scope/system.slice/docker-{ID2}.scope"
            )),
            r(Runtime::Docker, ID2)
        );
    }

    #[test]
    fn containerd_standalone_scope_yields_containerd_id() {
        assert_eq!(
            parse(&format!("/system.slice/cri-containerd-{ID}.scope")),
            r(Runtime::Containerd, ID)
        );
        assert_eq!(
            parse(&format!("/system.slice/nerdctl-{ID}.scope")),
            r(Runtime::Containerd, ID)
        );
    }

    #[test]
    fn kubepods_systemd_burstable_path_yields_pod_uid_and_container_id() {
        let p = format!(
            "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{UID_US}.slice/cri-containerd-{ID}.scope"
        );
        assert_eq!(parse(&p), k(Runtime::Containerd, ID, "burstable"));
    }

    #[test]
    fn kubepods_systemd_besteffort_path_yields_besteffort_qos() {
        let p = format!(
            "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod{UID_US}.slice/cri-containerd-{ID}.scope"
        );
        assert_eq!(parse(&p), k(Runtime::Containerd, ID, "besteffort"));
    }

    #[test]
    fn kubepods_systemd_guaranteed_pod_sits_directly_under_kubepods() {
        let p = format!("/kubepods.slice/kubepods-pod{UID_US}.slice/cri-containerd-{ID}.scope");
        assert_eq!(parse(&p), k(Runtime::Containerd, ID, "guaranteed"));
    }

    #[test]
    fn kubepods_cgroupfs_burstable_path_yields_pod_uid_and_containerd_id() {
        let p = format!("/kubepods/burstable/pod{UID}/{ID}");
        assert_eq!(parse(&p), k(Runtime::Containerd, ID, "burstable"));
    }

    #[test]
    fn kubepods_cgroupfs_besteffort_and_guaranteed_paths() {
        assert_eq!(
            parse(&format!("/kubepods/besteffort/pod{UID}/{ID}")),
            k(Runtime::Containerd, ID, "besteffort")
        );
        assert_eq!(
            parse(&format!("/kubepods/pod{UID}/{ID}")),
            k(Runtime::Containerd, ID, "guaranteed")
        );
    }

    #[test]
    fn kubepods_static_pod_hash_uid_is_accepted() {
        let hash = "5f8a3c2b1d0e9f8a7b6c5d4e3f2a1b0c";
        let got = parse(&format!("/kubepods/burstable/pod{hash}/{ID}"));
        assert_eq!(got.and_then(|c| c.pod_uid).as_deref(), Some(hash));
    }

    #[test]
    fn kubepods_crio_systemd_path_yields_crio_runtime() {
        let p = format!(
            "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{UID_US}.slice/crio-{ID}.scope"
        );
        assert_eq!(parse(&p), k(Runtime::CriO, ID, "burstable"));
    }

    #[test]
    fn kubepods_crio_nested_container_cgroup_yields_crio_id() {
        let p = format!(
            "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod{UID_US}.slice/crio-{ID}.scope/container"
        );
        assert_eq!(parse(&p), k(Runtime::CriO, ID, "besteffort"));
    }

    #[test]
    fn kubepods_docker_systemd_path_yields_docker_runtime() {
        let p = format!(
            "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod{UID_US}.slice/docker-{ID}.scope"
        );
        assert_eq!(parse(&p), k(Runtime::Docker, ID, "besteffort"));
    }

    #[test]
    fn kind_node_path_yields_inner_pod_container_not_node_container() {
        let p = format!(
            "/system.slice/docker-{ID2}.scope/kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-besteffort.slice/kubelet-kubepods-besteffort-pod{UID_US}.slice/cri-containerd-{ID}.scope"
        );
        assert_eq!(parse(&p), k(Runtime::Containerd, ID, "besteffort"));
    }

    #[test]
    fn runc_colon_form_under_containerd_service_yields_pod_and_id() {
        let p = format!(
            "/system.slice/containerd.service/kubepods-burstable-pod{UID_US}.slice:cri-containerd:{ID}"
        );
        assert_eq!(parse(&p), k(Runtime::Containerd, ID, "burstable"));
    }

    #[test]
    fn pod_cgroup_itself_is_not_a_container() {
        assert_eq!(
            parse(&format!(
                "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{UID_US}.slice"
            )),
            None
        );
        assert_eq!(parse("/kubepods.slice/kubepods-burstable.slice"), None);
        assert_eq!(parse(&format!("/kubepods/burstable/pod{UID}")), None);
    }

    #[test]
    fn pod_uid_is_not_taken_from_outside_an_enclosing_container() {
        // Pod slice above an outer container, inner container without its own pod.
        let p = format!(
            "/kubepods.slice/kubepods-pod{UID_US}.slice/cri-containerd-{ID2}.scope/docker/{ID}"
        );
        assert_eq!(parse(&p), r(Runtime::Docker, ID));
    }

    #[test]
    fn crio_scope_yields_crio_id() {
        assert_eq!(
            parse(&format!("/machine.slice/crio-{ID}.scope")),
            r(Runtime::CriO, ID)
        );
        assert_eq!(parse(&format!("/crio-{ID}")), r(Runtime::CriO, ID));
    }

    #[test]
    fn crio_conmon_is_not_a_container() {
        assert_eq!(
            parse(&format!("/machine.slice/crio-conmon-{ID}.scope")),
            None
        );
        assert_eq!(
            parse(&format!(
                "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{UID_US}.slice/crio-conmon-{ID}.scope"
            )),
            None
        );
        assert_eq!(
            parse(&format!("/kubepods/besteffort/pod{UID}/crio-conmon-{ID}")),
            None
        );
    }

    #[test]
    fn podman_systemd_scope_yields_podman_id() {
        assert_eq!(
            parse(&format!("/machine.slice/libpod-{ID}.scope")),
            r(Runtime::Podman, ID)
        );
    }

    #[test]
    fn podman_cgroupfs_libpod_parent_yields_podman_id() {
        assert_eq!(
            parse(&format!("/libpod_parent/libpod-{ID}")),
            r(Runtime::Podman, ID)
        );
        // podman 1.x put the payload one level deeper
        assert_eq!(
            parse(&format!("/libpod_parent/libpod-{ID}/ctr")),
            r(Runtime::Podman, ID)
        );
    }

    #[test]
    fn podman_pod_slice_yields_podman_id() {
        let p = format!("/machine.slice/machine-libpod_pod_{ID2}.slice/libpod-{ID}.scope");
        assert_eq!(parse(&p), r(Runtime::Podman, ID));
    }

    #[test]
    fn podman_rootless_user_slice_yields_podman_id() {
        let p =
            format!("/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-{ID}.scope");
        assert_eq!(parse(&p), r(Runtime::Podman, ID));
        let p = format!(
            "/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-{ID}.scope/container"
        );
        assert_eq!(parse(&p), r(Runtime::Podman, ID));
    }

    #[test]
    fn podman_split_cgroups_container_subdir_yields_podman_id() {
        assert_eq!(
            parse(&format!("/machine.slice/libpod-{ID}.scope/container")),
            r(Runtime::Podman, ID)
        );
    }

    #[test]
    fn podman_conmon_is_not_a_container() {
        assert_eq!(
            parse(&format!("/machine.slice/libpod-conmon-{ID}.scope")),
            None
        );
        assert_eq!(parse(&format!("/libpod_parent/libpod-conmon-{ID}")), None);
        assert_eq!(
            parse(&format!(
                "/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-conmon-{ID}.scope"
            )),
            None
        );
    }

    #[test]
    fn conmon_inside_a_container_belongs_to_the_outer_container() {
        let p = format!("/docker/{ID2}/libpod_parent/libpod-conmon-{ID}");
        assert_eq!(parse(&p), r(Runtime::Docker, ID2));
    }

    #[test]
    fn systemd_inside_container_yields_container_id() {
        let p = format!("/system.slice/docker-{ID}.scope/system.slice/nginx.service");
        assert_eq!(parse(&p), r(Runtime::Docker, ID));
        let p = format!("/system.slice/docker-{ID}.scope/init.scope");
        assert_eq!(parse(&p), r(Runtime::Docker, ID));
    }

    #[test]
    fn plain_runc_id_at_root_or_under_any_parent_yields_runc() {
        assert_eq!(parse(&format!("/{ID}")), r(Runtime::Runc, ID));
        assert_eq!(parse(&format!("/actions_job/{ID}")), r(Runtime::Runc, ID));
        assert_eq!(parse(&format!("/default/{ID}")), r(Runtime::Runc, ID));
    }

    #[test]
    fn host_paths_yield_none() {
        for p in [
            "",
            "/",
            "/init.scope",
            "/user.slice",
            "/user.slice/user-1000.slice/session-3.scope",
            "/user.slice/user-1000.slice/user@1000.service/app.slice/dbus.service",
            "/system.slice/sshd.service",
            "/system.slice/docker.service",
            "/system.slice/containerd.service",
            "/machine.slice",
            "/libpod_parent/conmon",
            "/docker",
            "/kubepods",
        ] {
            assert_eq!(parse(p), None, "{p}");
        }
    }

    #[test]
    fn malformed_ids_yield_none() {
        let upper = ID.to_uppercase();
        let short = &ID[..12];
        for p in [
            format!("/system.slice/docker-{upper}.scope"),
            format!("/system.slice/docker-{short}.scope"),
            format!("/docker/{short}"),
            format!("/docker/{ID}x"),
            format!("/system.slice/docker-{ID}.scopex"),
            format!("/system.slice/other-{ID}.scope"),
            format!("/a:b:{ID}:c"),
        ] {
            assert_eq!(parse(&p), None, "{p}");
        }
    }

    #[test]
    fn garbage_pod_uid_is_ignored_not_fatal() {
        let p = format!("/kubepods/burstable/podnot-a-uid/{ID}");
        assert_eq!(parse(&p), r(Runtime::Runc, ID));
        let p = format!("/kubepods.slice/kubepods-podzz.slice/cri-containerd-{ID}.scope");
        assert_eq!(parse(&p), r(Runtime::Containerd, ID));
    }

    #[test]
    fn arbitrary_input_never_panics() {
        for p in [
            "//////",
            "\0",
            "-pod.slice",
            "kubepods-pod.slice",
            "pod",
            "::",
            "a:b:c",
            ".scope",
            "docker-.scope",
            "é/ü/漢字",
        ] {
            let _ = parse(p);
        }
    }
}
