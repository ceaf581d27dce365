//! A real OCI container with Debian's runc and a busybox rootfs.

use std::{
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

/// A runc container running `sleep`, deleted on drop.
pub struct RuncContainer {
    pub id: String,
    pub bundle: PathBuf,
    child: Option<Child>,
}

fn busybox() -> PathBuf {
    for p in ["/bin/busybox", "/usr/bin/busybox"] {
        if Path::new(p).exists() {
            return PathBuf::from(p);
        }
    }
    panic!("busybox not found: `cargo xtask setup --tests` installs busybox-static");
}

/// Make a bundle: rootfs with a static busybox and `config.json` from
/// `runc spec`, running `args`.
fn make_bundle(dir: &Path, args: &[&str]) {
    let rootfs = dir.join("rootfs");
    for sub in ["bin", "proc", "sys", "dev", "tmp", "etc"] {
        std::fs::create_dir_all(rootfs.join(sub)).expect("mkdir rootfs");
    }
    std::fs::copy(busybox(), rootfs.join("bin/busybox")).expect("copy busybox");
    for applet in [
        "sh", "sleep", "echo", "true", "cat", "ls", "cp", "chmod", "ln", "mv", "mkdir", "rm",
        "rmdir", "touch",
    ] {
        let _ = std::os::unix::fs::symlink("busybox", rootfs.join("bin").join(applet));
    }
    let status = Command::new("runc")
        .args(["spec", "--bundle"])
        .arg(dir)
        .status()
        .expect("runc spec (is runc installed? `cargo xtask setup --tests`)");
    assert!(status.success(), "runc spec failed");
    let path = dir.join("config.json");
    let mut spec: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("read spec")).expect("spec");
    spec["process"]["terminal"] = false.into();
    spec["process"]["args"] = args.iter().map(|a| serde_json::Value::from(*a)).collect();
    spec["root"]["readonly"] = false.into();
    std::fs::write(&path, serde_json::to_vec_pretty(&spec).expect("json")).expect("write spec");
}

impl RuncContainer {
    /// Start `sh -c 'sleep 30'` in a new container and wait until it runs.
    pub fn start(name: &str) -> RuncContainer {
        let id = format!("kestrel-{name}-{}", std::process::id());
        let bundle = std::env::temp_dir().join(&id);
        let _ = std::fs::remove_dir_all(&bundle);
        std::fs::create_dir_all(&bundle).expect("bundle dir");
        make_bundle(&bundle, &["/bin/sleep", "30"]);
        let child = Command::new("runc")
            .args(["run", "--bundle"])
            .arg(&bundle)
            .arg(&id)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .expect("runc run");
        let container = RuncContainer {
            id,
            bundle,
            child: Some(child),
        };
        container.wait_running();
        container
    }

    fn wait_running(&self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            let out = Command::new("runc")
                .args(["state", &self.id])
                .output()
                .expect("runc state");
            if String::from_utf8_lossy(&out.stdout).contains("\"running\"") {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("runc container {} did not start", self.id);
    }

    /// Pid (on the host) of the container's init process.
    pub fn init_pid(&self) -> u32 {
        let out = Command::new("runc")
            .args(["state", &self.id])
            .output()
            .expect("runc state");
        let state: serde_json::Value = serde_json::from_slice(&out.stdout).expect("state json");
        state["pid"].as_u64().expect("pid") as u32
    }

    /// `runc exec` a command in the container and wait for it.
    pub fn exec(&self, args: &[&str]) -> std::process::Output {
        Command::new("runc")
            .args(["exec", &self.id])
            .args(args)
            .output()
            .expect("runc exec")
    }

    /// `runc exec --user uid:gid` a command in the container and wait for it.
    pub fn exec_as(&self, user: &str, args: &[&str]) -> std::process::Output {
        Command::new("runc")
            .args(["exec", "--user", user, &self.id])
            .args(args)
            .output()
            .expect("runc exec")
    }
}

impl Drop for RuncContainer {
    fn drop(&mut self) {
        let _ = Command::new("runc")
            .args(["kill", &self.id, "KILL"])
            .stderr(Stdio::null())
            .status();
        if let Some(mut child) = self.child.take() {
            let _ = child.wait();
        }
        let _ = Command::new("runc")
            .args(["delete", "--force", &self.id])
            .stderr(Stdio::null())
            .status();
        let _ = std::fs::remove_dir_all(&self.bundle);
    }
}
