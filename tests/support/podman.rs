//! A real podman container (runc runtime, overlay rootfs) from a busybox
//! image imported for the test; container and image removed on drop.

use std::{
    path::Path,
    process::{Command, Output, Stdio},
};

fn podman(args: &[&str]) -> Output {
    Command::new("podman")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("podman (is it installed? `cargo xtask setup --tests`)")
}

fn busybox() -> &'static str {
    ["/bin/busybox", "/usr/bin/busybox"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .expect("busybox-static")
}

/// A running podman container and the image it came from.
pub struct PodmanContainer {
    pub name: String,
    pub image: String,
}

impl PodmanContainer {
    /// Import a busybox image and start `sleep 60` in it with `--network none`.
    pub fn start(name: &str) -> PodmanContainer {
        Self::start_with(name, &[], &["sleep", "60"])
    }

    /// Import a busybox image and run `command` in it, detached, with extra
    /// `podman run` arguments (labels...).
    pub fn start_with(name: &str, extra: &[&str], command: &[&str]) -> PodmanContainer {
        let tag = format!("localhost/kestrel-test/{name}:{}", std::process::id());
        let root = std::env::temp_dir().join(format!("kestrel-img-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(root.join("bin")).expect("rootfs");
        for d in ["tmp", "proc", "sys", "dev", "etc", "root"] {
            std::fs::create_dir_all(root.join(d)).expect("rootfs dir");
        }
        std::fs::copy(busybox(), root.join("bin/busybox")).expect("busybox");
        for applet in ["sh", "sleep", "cp", "true", "echo", "cat", "chmod"] {
            let _ = std::os::unix::fs::symlink("busybox", root.join("bin").join(applet));
        }
        let mut tar = Command::new("tar")
            .arg("-C")
            .arg(&root)
            .args(["-cf", "-", "."])
            .stdout(Stdio::piped())
            .spawn()
            .expect("tar");
        let import = Command::new("podman")
            .args(["import", "-", &tag])
            .stdin(tar.stdout.take().expect("tar stdout"))
            .output()
            .expect("podman import");
        let _ = tar.wait();
        let _ = std::fs::remove_dir_all(&root);
        assert!(import.status.success(), "podman import failed: {import:?}");
        let container = PodmanContainer {
            name: format!("kestrel-{name}-{}", std::process::id()),
            image: tag,
        };
        let _ = podman(&["rm", "-f", "-t", "0", &container.name]);
        let mut args = vec![
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
            "--name",
            &container.name,
        ];
        args.extend_from_slice(extra);
        args.push(&container.image);
        args.extend_from_slice(command);
        let out = podman(&args);
        assert!(out.status.success(), "podman run failed: {out:?}");
        container
    }

    pub fn exec(&self, args: &[&str]) -> Output {
        let mut all = vec!["exec", self.name.as_str()];
        all.extend_from_slice(args);
        podman(&all)
    }

    /// Host pid of the container's first process.
    pub fn init_pid(&self) -> u32 {
        let out = podman(&["inspect", "--format", "{{.State.Pid}}", &self.name]);
        String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse()
            .expect("container pid")
    }
}

impl Drop for PodmanContainer {
    fn drop(&mut self) {
        let _ = podman(&["rm", "-f", "-t", "0", &self.name]);
        let _ = podman(&["rmi", "-f", &self.image]);
    }
}
