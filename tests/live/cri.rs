//! The CRI client against a real containerd (Debian's package, with its
//! built-in CRI plugin): the test installs containerd if it is missing,
//! starts a private instance (own config, root, state and socket in a temp
//! directory), runs a pod sandbox and a container in it through CRI calls,
//! and asks `CriClient` and the registry about them. Everything it started
//! is stopped and removed at the end, also on failure.
//!
//! There is no `crictl` in Debian: the few write calls the test needs
//! (RunPodSandbox, CreateContainer, StartContainer, StopPodSandbox,
//! RemovePodSandbox) are declared here with the upstream CRI field numbers
//! (kubernetes/cri-api `pkg/apis/runtime/v1/api.proto`); the agent's own
//! proto subset stays read-only. The pod uses the host network (no CNI
//! needed) and the cgroupfs layout `/kubepods/besteffort/pod<uid>/<id>`.

use std::{
    collections::BTreeMap,
    os::unix::fs::MetadataExt as _,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use kestrel::container::{
    cgroup_path,
    cri::{ClientConfig, CriClient, CriError, proto},
    meta::Runtime,
    registry::{ContainerConfig, Registry},
};
use tonic::transport::Channel;

use crate::support::{cgroup2_mount, require_root};

// ---- the write side of CRI, for the test only ----

#[derive(Clone, PartialEq, prost::Message)]
struct NamespaceOption {
    /// 0 POD, 1 CONTAINER, 2 NODE.
    #[prost(int32, tag = "1")]
    network: i32,
    #[prost(int32, tag = "2")]
    pid: i32,
    #[prost(int32, tag = "3")]
    ipc: i32,
}

#[derive(Clone, PartialEq, prost::Message)]
struct LinuxSandboxSecurityContext {
    #[prost(message, optional, tag = "1")]
    namespace_options: Option<NamespaceOption>,
    #[prost(bool, tag = "6")]
    privileged: bool,
}

#[derive(Clone, PartialEq, prost::Message)]
struct LinuxPodSandboxConfig {
    #[prost(string, tag = "1")]
    cgroup_parent: String,
    #[prost(message, optional, tag = "2")]
    security_context: Option<LinuxSandboxSecurityContext>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct PodSandboxConfig {
    #[prost(message, optional, tag = "1")]
    metadata: Option<proto::PodSandboxMetadata>,
    #[prost(string, tag = "2")]
    hostname: String,
    #[prost(string, tag = "3")]
    log_directory: String,
    #[prost(btree_map = "string, string", tag = "6")]
    labels: BTreeMap<String, String>,
    #[prost(btree_map = "string, string", tag = "7")]
    annotations: BTreeMap<String, String>,
    #[prost(message, optional, tag = "8")]
    linux: Option<LinuxPodSandboxConfig>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct RunPodSandboxRequest {
    #[prost(message, optional, tag = "1")]
    config: Option<PodSandboxConfig>,
    #[prost(string, tag = "2")]
    runtime_handler: String,
}

#[derive(Clone, PartialEq, prost::Message)]
struct RunPodSandboxResponse {
    #[prost(string, tag = "1")]
    pod_sandbox_id: String,
}

#[derive(Clone, PartialEq, prost::Message)]
struct LinuxContainerSecurityContext {
    #[prost(bool, tag = "2")]
    privileged: bool,
    #[prost(message, optional, tag = "3")]
    namespace_options: Option<NamespaceOption>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct LinuxContainerConfig {
    #[prost(message, optional, tag = "2")]
    security_context: Option<LinuxContainerSecurityContext>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct ContainerConfigMsg {
    #[prost(message, optional, tag = "1")]
    metadata: Option<proto::ContainerMetadata>,
    #[prost(message, optional, tag = "2")]
    image: Option<proto::ImageSpec>,
    #[prost(string, repeated, tag = "3")]
    command: Vec<String>,
    #[prost(string, repeated, tag = "4")]
    args: Vec<String>,
    #[prost(btree_map = "string, string", tag = "9")]
    labels: BTreeMap<String, String>,
    #[prost(message, optional, tag = "15")]
    linux: Option<LinuxContainerConfig>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct CreateContainerRequest {
    #[prost(string, tag = "1")]
    pod_sandbox_id: String,
    #[prost(message, optional, tag = "2")]
    config: Option<ContainerConfigMsg>,
    #[prost(message, optional, tag = "3")]
    sandbox_config: Option<PodSandboxConfig>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct CreateContainerResponse {
    #[prost(string, tag = "1")]
    container_id: String,
}

/// StartContainerRequest (container_id = 1).
#[derive(Clone, PartialEq, prost::Message)]
struct ContainerIdRequest {
    #[prost(string, tag = "1")]
    container_id: String,
}

/// StopPodSandboxRequest, RemovePodSandboxRequest (pod_sandbox_id = 1).
#[derive(Clone, PartialEq, prost::Message)]
struct SandboxIdRequest {
    #[prost(string, tag = "1")]
    pod_sandbox_id: String,
}

#[derive(Clone, PartialEq, prost::Message)]
struct Empty {}

async fn channel(socket: &Path) -> Channel {
    let socket = socket.to_path_buf();
    tonic::transport::Endpoint::from_static("http://localhost")
        .connect_with_connector(tower::service_fn(move |_: tonic::transport::Uri| {
            let socket = socket.clone();
            async move {
                let s = tokio::net::UnixStream::connect(socket).await?;
                Ok::<_, std::io::Error>(hyper_util::rt::TokioIo::new(s))
            }
        }))
        .await
        .expect("connect to containerd")
}

/// One unary CRI call by method name.
async fn unary<Req, Resp>(ch: &Channel, method: &'static str, req: Req) -> Result<Resp, String>
where
    Req: prost::Message + Send + Sync + 'static,
    Resp: prost::Message + Default + Send + Sync + 'static,
{
    let mut grpc = tonic::client::Grpc::new(ch.clone());
    grpc.ready().await.map_err(|e| format!("{method}: {e}"))?;
    let path = format!("/runtime.v1.RuntimeService/{method}");
    let path = tonic::codegen::http::uri::PathAndQuery::from_maybe_shared(path)
        .map_err(|e| e.to_string())?;
    grpc.unary(
        tonic::Request::new(req),
        path,
        tonic_prost::ProstCodec::<Req, Resp>::default(),
    )
    .await
    .map(tonic::Response::into_inner)
    .map_err(|s| format!("{method}: {:?}: {}", s.code(), s.message()))
}

// ---- containerd, its image, cleanup ----

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

fn have(program: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// containerd (and `ctr`) from Debian, installed if missing.
fn ensure_containerd() {
    if have("containerd") && have("ctr") {
        return;
    }
    let install = Command::new("apt-get")
        .args(["install", "-y", "--no-install-recommends", "containerd"])
        .env("DEBIAN_FRONTEND", "noninteractive")
        .stdin(Stdio::null())
        .output()
        .expect("apt-get");
    assert!(
        install.status.success() && have("containerd"),
        "cannot install containerd (apt-get install containerd): {}",
        String::from_utf8_lossy(&install.stderr)
    );
}

/// A private containerd; everything of it goes on drop.
struct Containerd {
    dir: tempfile::TempDir,
    socket: PathBuf,
    child: Option<Child>,
    pod_cgroup: Option<PathBuf>,
    podman_image: Option<String>,
}

impl Containerd {
    fn start() -> Containerd {
        ensure_containerd();
        let dir = tempfile::Builder::new()
            .prefix("kestrel-ctrd-")
            .tempdir()
            .expect("tempdir");
        let root = dir.path();
        let socket = root.join("containerd.sock");
        std::fs::create_dir_all(root.join("cni")).expect("cni dir");
        // restrict_oom_score_adj: the pause container asks for
        // oom_score_adj -998, which a sandboxed root (like this box's)
        // may not set; runc then dies with "can't get final child's PID".
        let config = format!(
            r#"version = 2
root = "{root}/root"
state = "{root}/state"
[grpc]
  address = "{root}/containerd.sock"
[ttrpc]
  address = "{root}/containerd.sock.ttrpc"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "{image}"
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".cni]
    conf_dir = "{root}/cni"
"#,
            root = root.display(),
            image = image_name(),
        );
        std::fs::write(root.join("config.toml"), config).expect("config");
        let log = std::fs::File::create(root.join("containerd.log")).expect("log");
        let child = Command::new("containerd")
            .arg("--config")
            .arg(root.join("config.toml"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start containerd");
        Containerd {
            dir,
            socket,
            child: Some(child),
            pod_cgroup: None,
            podman_image: None,
        }
    }

    fn log_tail(&self) -> String {
        let log =
            std::fs::read_to_string(self.dir.path().join("containerd.log")).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(15)..].join("\n")
    }

    /// A busybox image (`sleep 3600` by default) imported into containerd's
    /// `k8s.io` namespace, serving as pause and workload image.
    fn import_image(&mut self) -> Result<(), String> {
        let tag = image_name();
        let rootfs = self.dir.path().join("rootfs");
        std::fs::create_dir_all(rootfs.join("bin")).map_err(|e| e.to_string())?;
        for d in ["tmp", "proc", "sys", "dev", "etc"] {
            std::fs::create_dir_all(rootfs.join(d)).map_err(|e| e.to_string())?;
        }
        let busybox = ["/bin/busybox", "/usr/bin/busybox"]
            .into_iter()
            .find(|p| Path::new(p).exists())
            .ok_or("busybox-static is not installed")?;
        std::fs::copy(busybox, rootfs.join("bin/busybox")).map_err(|e| e.to_string())?;
        for applet in ["sh", "sleep"] {
            std::os::unix::fs::symlink("busybox", rootfs.join("bin").join(applet))
                .map_err(|e| e.to_string())?;
        }
        let mut tar = Command::new("tar")
            .arg("-C")
            .arg(&rootfs)
            .args(["-cf", "-", "."])
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|e| format!("tar: {e}"))?;
        let tar_out = tar.stdout.take().ok_or("tar: no stdout")?;
        self.podman_image = Some(tag.clone());
        let imported = run(Command::new("podman")
            .args([
                "import",
                "--change",
                r#"CMD ["/bin/sleep", "3600"]"#,
                "-",
                &tag,
            ])
            .stdin(tar_out));
        let _ = tar.wait();
        imported?;
        let archive = self.dir.path().join("image.tar");
        run(Command::new("podman")
            .args(["save", "--format", "docker-archive", "-o"])
            .arg(&archive)
            .arg(&tag))?;
        run(Command::new("ctr")
            .arg("--address")
            .arg(&self.socket)
            // --digests: also name it `import-<date>@sha256:<manifest>`, a
            // repo digest CRI reports as the container's image_ref.
            .args(["-n", "k8s.io", "images", "import", "--digests"])
            .arg(&archive))?;
        Ok(())
    }

    /// Ends what this containerd started: its shims (found by the socket
    /// address on their command line) and the containers under them, then
    /// containerd itself; unmounts what is left under its directory.
    fn stop(&mut self) {
        let address = self.socket.to_string_lossy().into_owned();
        let mut shims = Vec::new();
        if let Ok(entries) = std::fs::read_dir("/proc") {
            for e in entries.flatten() {
                let Some(pid) = e.file_name().to_str().and_then(|p| p.parse::<i32>().ok()) else {
                    continue;
                };
                let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
                let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
                if cmdline.contains("containerd-shim") && cmdline.contains(&address) {
                    shims.push(pid);
                }
            }
        }
        // Container processes: everything left in the pod's cgroup.
        if let Some(cgroup) = &self.pod_cgroup {
            for pid in pids_under(cgroup) {
                // SAFETY: kill has no memory preconditions.
                unsafe { libc::kill(pid, libc::SIGKILL) };
            }
        }
        for pid in shims {
            // SAFETY: as above.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        let prefix = self.dir.path().to_string_lossy().into_owned();
        let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
        let mut mounts: Vec<&str> = mountinfo
            .lines()
            .filter_map(|l| l.split(' ').nth(4))
            .filter(|m| m.starts_with(&prefix))
            .collect();
        mounts.sort_by_key(|m| std::cmp::Reverse(m.len()));
        for m in mounts {
            let _ = Command::new("umount").args(["-l", m]).status();
        }
        if let Some(cgroup) = self.pod_cgroup.take() {
            remove_cgroup_tree(&cgroup);
        }
        if let Some(tag) = self.podman_image.take() {
            let _ = Command::new("podman").args(["rmi", "-f", &tag]).output();
        }
        // The shims' fixed state directory, unless a system containerd uses it.
        if !Path::new("/run/containerd/containerd.sock").exists() {
            for d in ["s", "fifo", "runc/k8s.io", "runc", ""] {
                let _ = std::fs::remove_dir(Path::new("/run/containerd").join(d));
            }
        }
    }
}

impl Drop for Containerd {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Per-process image name, so concurrent runs never remove each other's.
fn image_name() -> String {
    format!("localhost/kestrel-test/cri-busybox:{}", std::process::id())
}

/// Pids in `cgroup` (a path relative to the cgroup2 mount) and below it.
fn pids_under(cgroup: &Path) -> Vec<i32> {
    let dir = cgroup2_mount().join(cgroup.strip_prefix("/").unwrap_or(cgroup));
    walkdir::WalkDir::new(dir)
        .into_iter()
        .flatten()
        .filter(|e| e.file_name() == "cgroup.procs")
        .flat_map(|e| {
            std::fs::read_to_string(e.path())
                .unwrap_or_default()
                .lines()
                .filter_map(|l| l.trim().parse().ok())
                .collect::<Vec<i32>>()
        })
        .collect()
}

/// Removes the pod's cgroup directories in every hierarchy (children
/// first); on a hybrid host runc made them in each v1 hierarchy too.
fn remove_cgroup_tree(cgroup: &Path) {
    let rel = cgroup.strip_prefix("/").unwrap_or(cgroup);
    let mut roots = vec![cgroup2_mount()];
    if let Ok(entries) = std::fs::read_dir("/sys/fs/cgroup") {
        roots.extend(entries.flatten().map(|e| e.path()));
    }
    for root in roots {
        let dir = root.join(rel);
        if !dir.is_dir() {
            continue;
        }
        let mut dirs: Vec<PathBuf> = walkdir::WalkDir::new(&dir)
            .into_iter()
            .flatten()
            .filter(|e| e.file_type().is_dir())
            .map(|e| e.into_path())
            .collect();
        dirs.sort_by_key(|d| std::cmp::Reverse(d.as_os_str().len()));
        // Then the parents runc made (`/kubepods/besteffort`), if empty.
        dirs.extend(
            dir.ancestors()
                .skip(1)
                .take_while(|a| *a != root)
                .map(Path::to_path_buf),
        );
        for d in dirs {
            let _ = std::fs::remove_dir(d);
        }
    }
}

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn containerd_pod_container_is_inspected_through_cri() {
    if !require_root() {
        return;
    }
    let mut containerd = Containerd::start();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio");
    let result = rt.block_on(live(&mut containerd));
    if let Err(e) = result {
        let log = containerd.log_tail();
        drop(containerd);
        panic!("containerd CRI live test failed: {e}\n--- containerd log (last lines) ---\n{log}");
    }
}

async fn live(containerd: &mut Containerd) -> Result<(), String> {
    let config = ClientConfig {
        connect_timeout: Duration::from_secs(2),
        request_timeout: Duration::from_secs(5),
        ..ClientConfig::default()
    };
    let client = CriClient::new(&containerd.socket, config).with_runtime(Runtime::Containerd);
    let t0 = Instant::now();
    let version = loop {
        match client.version().await {
            Ok(v) => break v,
            Err(e) if t0.elapsed() > Duration::from_secs(20) => {
                return Err(format!("containerd's CRI never answered: {e}"));
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    };
    eprintln!(
        "CRI: {} {} (API {}) after {:?}",
        version.runtime_name,
        version.runtime_version,
        version.runtime_api_version,
        t0.elapsed()
    );
    assert_eq!(version.runtime(), Runtime::Containerd);
    containerd.import_image()?;

    let ch = channel(&containerd.socket).await;
    let pod_uid = format!("0b9a6a4e-3f0c-4b6e-9d1e-{:012x}", std::process::id());
    let pod_name = format!("kestrel-web-{}", std::process::id());
    let pod_cgroup = format!("/kubepods/besteffort/pod{pod_uid}");
    containerd.pod_cgroup = Some(PathBuf::from(&pod_cgroup));
    let host_network = NamespaceOption {
        network: 2,
        pid: 1,
        ipc: 0,
    };
    let sandbox_config = PodSandboxConfig {
        metadata: Some(proto::PodSandboxMetadata {
            name: pod_name.clone(),
            uid: pod_uid.clone(),
            namespace: "shop".into(),
            attempt: 0,
        }),
        hostname: String::new(),
        log_directory: String::new(),
        // What kubelet gives a sandbox: the pod's labels plus its identity.
        labels: labels(&[
            ("app", "web"),
            ("tier", "front"),
            ("io.kubernetes.pod.name", &pod_name),
            ("io.kubernetes.pod.namespace", "shop"),
            ("io.kubernetes.pod.uid", &pod_uid),
        ]),
        annotations: BTreeMap::new(),
        linux: Some(LinuxPodSandboxConfig {
            cgroup_parent: pod_cgroup.clone(),
            security_context: Some(LinuxSandboxSecurityContext {
                namespace_options: Some(host_network.clone()),
                privileged: true,
            }),
        }),
    };
    let sandbox: RunPodSandboxResponse = unary(
        &ch,
        "RunPodSandbox",
        RunPodSandboxRequest {
            config: Some(sandbox_config.clone()),
            runtime_handler: String::new(),
        },
    )
    .await?;
    let sandbox_id = sandbox.pod_sandbox_id;
    // On a task of its own, so a failed assertion still lets the sandbox
    // be stopped and removed below before the panic goes on.
    let result = tokio::spawn(in_pod(
        containerd.socket.clone(),
        client.clone(),
        ch.clone(),
        sandbox_id.clone(),
        sandbox_config,
        host_network,
    ))
    .await;
    let stop: Result<Empty, String> = unary(
        &ch,
        "StopPodSandbox",
        SandboxIdRequest {
            pod_sandbox_id: sandbox_id.clone(),
        },
    )
    .await;
    let remove: Result<Empty, String> = unary(
        &ch,
        "RemovePodSandbox",
        SandboxIdRequest {
            pod_sandbox_id: sandbox_id,
        },
    )
    .await;
    match result {
        Ok(r) => r?,
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(e) => return Err(e.to_string()),
    }
    stop?;
    remove?;
    Ok(())
}

async fn in_pod(
    socket: PathBuf,
    client: CriClient,
    ch: Channel,
    sandbox_id: String,
    sandbox_config: PodSandboxConfig,
    ns: NamespaceOption,
) -> Result<(), String> {
    let (ch, sandbox_id) = (&ch, sandbox_id.as_str());
    let metadata = sandbox_config.metadata.clone().unwrap_or_default();
    let created: CreateContainerResponse = unary(
        ch,
        "CreateContainer",
        CreateContainerRequest {
            pod_sandbox_id: sandbox_id.to_owned(),
            config: Some(ContainerConfigMsg {
                metadata: Some(proto::ContainerMetadata {
                    name: "nginx".into(),
                    attempt: 0,
                }),
                image: Some(proto::ImageSpec {
                    image: image_name(),
                }),
                command: vec!["/bin/sleep".into()],
                args: vec!["60".into()],
                // What kubelet gives a container.
                labels: labels(&[
                    ("io.kubernetes.container.name", "nginx"),
                    ("io.kubernetes.pod.name", &metadata.name),
                    ("io.kubernetes.pod.namespace", &metadata.namespace),
                    ("io.kubernetes.pod.uid", &metadata.uid),
                ]),
                linux: Some(LinuxContainerConfig {
                    security_context: Some(LinuxContainerSecurityContext {
                        privileged: true,
                        namespace_options: Some(ns),
                    }),
                }),
            }),
            sandbox_config: Some(sandbox_config),
        },
    )
    .await?;
    let id = created.container_id;
    let _: Empty = unary(
        ch,
        "StartContainer",
        ContainerIdRequest {
            container_id: id.clone(),
        },
    )
    .await?;

    let t0 = Instant::now();
    let meta = client.inspect(&id).await.map_err(|e| e.to_string())?;
    eprintln!("inspect {} took {:?}: {meta:#?}", &id[..12], t0.elapsed());
    assert_eq!(meta.id, id);
    assert_eq!(meta.runtime, Runtime::Containerd);
    assert_eq!(meta.name, "nginx");
    assert!(
        meta.image.contains("kestrel-test/cri-busybox"),
        "image {}",
        meta.image
    );
    // containerd 1.6 does not fill ContainerStatus.image_id (CRI field 17,
    // newer); its image_ref is the repo digest when the image has one.
    assert!(
        meta.image_id.is_empty() || meta.image_id.starts_with("sha256:"),
        "image id {}",
        meta.image_id
    );
    assert!(
        meta.image_digest
            .as_deref()
            .is_some_and(|d| d.starts_with("sha256:") && !meta.image_id.ends_with(d)),
        "digest {:?} (image id {})",
        meta.image_digest,
        meta.image_id
    );
    assert!(meta.started_at.is_some(), "started_at");
    assert!(meta.privileged, "privileged, from the verbose info");
    assert_eq!(
        meta.labels
            .get("io.kubernetes.container.name")
            .map(String::as_str),
        Some("nginx")
    );
    let pod = meta.pod.as_ref().ok_or("no pod")?;
    assert_eq!(pod.name, metadata.name);
    assert_eq!(pod.namespace, "shop");
    assert_eq!(pod.uid.as_deref(), Some(metadata.uid.as_str()));
    assert_eq!(pod.labels, labels(&[("app", "web"), ("tier", "front")]));

    // The sandbox's own (pause) container id gives the pod.
    let pause = client
        .inspect(sandbox_id)
        .await
        .map_err(|e| e.to_string())?;
    assert_eq!(
        pause.pod.as_ref().map(|p| p.name.as_str()),
        Some(metadata.name.as_str())
    );
    // An id containerd does not know.
    let unknown = client.inspect(&"e".repeat(64)).await;
    assert!(
        matches!(unknown, Err(CriError::NotFound { .. })),
        "{unknown:?}"
    );

    // The registry: the container's real cgroup → id → metadata via CRI.
    let status = proto::runtime_service_client::RuntimeServiceClient::new(ch.clone())
        .container_status(proto::ContainerStatusRequest {
            container_id: id.clone(),
            verbose: true,
        })
        .await
        .map_err(|e| e.to_string())?
        .into_inner();
    let info = status.info.get("info").ok_or("no verbose info")?;
    let pid = serde_json::from_str::<serde_json::Value>(info)
        .map_err(|e| e.to_string())?
        .get("pid")
        .and_then(serde_json::Value::as_u64)
        .ok_or("no pid in the verbose info")?;
    let cgroups =
        std::fs::read_to_string(format!("/proc/{pid}/cgroup")).map_err(|e| e.to_string())?;
    let path = cgroups
        .lines()
        .find_map(|l| l.strip_prefix("0::"))
        .ok_or_else(|| format!("no cgroup2 line: {cgroups}"))?
        .to_owned();
    eprintln!("container cgroup2 path: {path}");
    let reference = cgroup_path::parse(&path).ok_or_else(|| format!("parse({path}) = None"))?;
    assert_eq!(reference.id, id);
    let cgroup_id = std::fs::metadata(cgroup2_mount().join(path.trim_start_matches('/')))
        .map_err(|e| e.to_string())?
        .ino();
    let registry = Registry::start(&ContainerConfig {
        sockets: vec!["/nonexistent/kestrel-docker.sock".into()],
        cri_sockets: vec![socket],
        ..ContainerConfig::default()
    });
    let mut view = registry.view();
    view.cgroup_created(cgroup_id, &path);
    let t0 = Instant::now();
    while view.get(cgroup_id).is_none() && t0.elapsed() < Duration::from_secs(10) {
        tokio::time::sleep(Duration::from_millis(10)).await;
        view.refresh();
    }
    let resolved = view
        .get(cgroup_id)
        .ok_or("registry never published the container")?;
    eprintln!("registry resolved the cgroup in {:?}", t0.elapsed());
    assert_eq!(resolved.id, id);
    assert_eq!(resolved.runtime, "containerd");
    assert_eq!(resolved.name.as_deref(), Some("nginx"));
    assert_eq!(
        resolved
            .pod
            .as_ref()
            .map(|p| (p.name.as_str(), p.uid.as_str())),
        Some((metadata.name.as_str(), metadata.uid.as_str()))
    );
    Ok(())
}
