//! Seeding the table from `/proc` at start (every process already running
//! when the sensor attached), with the `procfs` crate. Processes vanish
//! while we read them and their files may hold anything: every read is
//! fallible and bounded, and a process that cannot be read is skipped and
//! counted, never fatal.

use std::collections::HashMap;
use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use kestrel_common::{ARGS_LEN, MAX_ARGS};
use procfs::ProcError;
use procfs::process::Process;

use super::{ProcessError, ProcessTable};
use crate::context::ProcessInfo;

/// `/proc/<pid>/loginuid` of a process with no login session.
const LOGINUID_UNSET: u32 = u32::MAX;
/// Most bytes of `/proc/<pid>/status` read by the fallback parser.
const STATUS_MAX: u64 = 16 * 1024;

/// What one seeding did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SeedReport {
    /// Entries added.
    pub seeded: usize,
    /// Zombies among them, entered as exited (they expire after the grace).
    pub zombies: usize,
    /// Processes the table already had (from events) and were left alone.
    pub already_known: usize,
    /// Processes skipped: vanished while read, or unreadable.
    pub skipped: usize,
    /// Seeded with some facts missing (status unparsable, exe or cgroup
    /// unreadable).
    pub partial: usize,
    /// Processes left out because the table was full.
    pub over_cap: usize,
    /// Table entries afterwards.
    pub entries: usize,
    pub elapsed: Duration,
}

impl ProcessTable {
    /// Add every process on the host from `/proc` that the table does not
    /// know yet. Fails only if `/proc` cannot be listed.
    pub fn seed_from_proc(&mut self) -> Result<SeedReport, ProcessError> {
        let started = Instant::now();
        let mut seeder = Seeder::new();
        let mut report = SeedReport::default();
        let now_ns = unix_now_ns();
        self.expire(now_ns);
        for item in procfs::process::all_processes().map_err(ProcessError::ListProc)? {
            let process = match item {
                Ok(p) => p,
                Err(e) => {
                    tracing::debug!(error = %e, "seed: process vanished before it was opened");
                    report.skipped += 1;
                    continue;
                }
            };
            if u32::try_from(process.pid()).is_ok_and(|pid| self.map.contains_key(&pid)) {
                report.already_known += 1;
                continue;
            }
            if self.map.len() >= self.max_entries {
                report.over_cap += 1;
                continue;
            }
            match seeder.read(&process) {
                Ok(mut seeded) => {
                    report.seeded += 1;
                    let info = &mut seeded.info;
                    (info.user_name, info.group_name) =
                        self.names
                            .lookup(info.cgroup_id, &[info.pid], info.uid, info.gid);
                    report.partial += usize::from(seeded.partial);
                    if seeded.partial {
                        tracing::debug!(pid = seeded.info.pid, "seed: some facts unreadable");
                    }
                    let pid = seeded.info.pid;
                    if seeded.zombie {
                        report.zombies += 1;
                        self.insert_exited(pid, seeded.info, now_ns);
                    } else {
                        self.insert(pid, seeded.info, now_ns);
                    }
                }
                Err(e) => {
                    tracing::debug!(pid = process.pid(), error = %e, "seed: process skipped");
                    report.skipped += 1;
                }
            }
        }
        report.entries = self.map.len();
        report.elapsed = started.elapsed();
        self.stats.seeded += report.seeded as u64;
        self.stats.seed_errors += report.skipped as u64;
        tracing::info!(
            seeded = report.seeded,
            skipped = report.skipped,
            partial = report.partial,
            over_cap = report.over_cap,
            entries = report.entries,
            elapsed_ms = report.elapsed.as_secs_f64() * 1e3,
            "process table seeded from /proc"
        );
        Ok(report)
    }
}

/// Wall-clock time of boot, unix ns: `CLOCK_REALTIME - CLOCK_BOOTTIME`
/// (the clock `/proc/<pid>/stat` start times count from), or `/proc/stat`
/// `btime` (whole seconds) if the clocks cannot be read.
pub fn boot_time_unix_ns() -> Option<u64> {
    let from_clocks = clock_ns(libc::CLOCK_REALTIME)
        .and_then(|real| real.checked_sub(clock_ns(libc::CLOCK_BOOTTIME)?));
    from_clocks.or_else(|| {
        procfs::boot_time_secs()
            .ok()
            .and_then(|s| s.checked_mul(1_000_000_000))
    })
}

fn clock_ns(clock: libc::clockid_t) -> Option<u64> {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec for the duration of the
    // call, and `clock` is one of libc's clock id constants.
    let rc = unsafe { libc::clock_gettime(clock, &mut ts) };
    if rc != 0 {
        return None;
    }
    let secs = u64::try_from(ts.tv_sec).ok()?;
    let nanos = u64::try_from(ts.tv_nsec).ok()?;
    secs.checked_mul(1_000_000_000)?.checked_add(nanos)
}

fn unix_now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .ok()
        .and_then(|d| u64::try_from(d.as_nanos()).ok())
        .unwrap_or(0)
}

/// One process as read from `/proc`.
struct Seeded {
    info: ProcessInfo,
    zombie: bool,
    partial: bool,
}

/// Where the cgroup2 hierarchy is mounted (from `/proc/self/mountinfo`).
struct Cgroup2Mount {
    mount_point: PathBuf,
    /// The hierarchy path mounted there (`/` unless a subtree is mounted).
    root: String,
}

/// State shared across one seeding: clocks and the cgroup path → id cache.
struct Seeder {
    boot_ns: u64,
    ticks_per_second: u64,
    cgroup2: Option<Cgroup2Mount>,
    cgroup_ids: HashMap<String, u64>,
}

impl Seeder {
    fn new() -> Seeder {
        let cgroup2 = find_cgroup2_mount();
        if cgroup2.is_none() {
            tracing::warn!("no cgroup2 mount found: seeded processes get cgroup id 0");
        }
        Seeder {
            boot_ns: boot_time_unix_ns().unwrap_or(0),
            ticks_per_second: procfs::ticks_per_second().max(1),
            cgroup2,
            cgroup_ids: HashMap::new(),
        }
    }

    fn read(&mut self, p: &Process) -> Result<Seeded, ProcError> {
        let stat = p.stat()?;
        let pid = u32::try_from(stat.pid)
            .map_err(|_| ProcError::Other(format!("negative pid {}", stat.pid)))?;
        let mut partial = false;
        let mut info = ProcessInfo {
            pid,
            ppid: u32::try_from(stat.ppid).unwrap_or(0),
            name: stat.comm.into(),
            tty: u32::try_from(stat.tty_nr).unwrap_or(0),
            sid: u32::try_from(stat.session).unwrap_or(0),
            pgid: u32::try_from(stat.pgrp).unwrap_or(0),
            start_time_ns: self.start_ns(stat.starttime),
            ..ProcessInfo::default()
        };
        let zombie = matches!(stat.state, 'Z' | 'X');

        match p.status() {
            Ok(s) => {
                info.uid = s.ruid;
                info.gid = s.rgid;
                info.euid = s.euid;
                info.cap_effective = s.capeff;
            }
            // status exists for every live or zombie process: it is gone.
            Err(e @ ProcError::NotFound(_)) => return Err(e),
            // e.g. a comm that is not UTF-8 makes procfs give up.
            Err(_) => {
                partial = true;
                if let Ok(raw) = read_capped(p, "status", STATUS_MAX) {
                    parse_status_fallback(&String::from_utf8_lossy(&raw), &mut info);
                }
            }
        }

        match p.exe() {
            Ok(link) => {
                let link = link.to_string_lossy();
                let (exe, deleted, memfd) = parse_exe_link(&link);
                info.exe = exe.into();
                info.exe_deleted = deleted;
                info.exe_from_memfd = memfd;
                if let Ok(meta) = std::fs::metadata(format!("/proc/{pid}/exe")) {
                    info.exe_ino = meta.ino();
                    info.exe_ino_ctime_ns = unix_ns(meta.ctime(), meta.ctime_nsec());
                    info.exe_ino_mtime_ns = unix_ns(meta.mtime(), meta.mtime_nsec());
                }
            }
            // Kernel threads and zombies have no exe.
            Err(ProcError::NotFound(_)) => {}
            Err(_) => partial = true,
        }

        let argv = read_capped(p, "cmdline", ARGS_LEN as u64)
            .map(|raw| split_argv(&raw))
            .unwrap_or_default();
        let mut argv = argv.into_iter();
        info.argv0 = argv.next().map_or_else(|| info.exe.clone(), Into::into);
        info.args = argv.collect();

        info.cwd = p.cwd().ok().map(|c| c.to_string_lossy().into());
        info.loginuid = p.loginuid().ok().filter(|&u| u != LOGINUID_UNSET);

        if self.cgroup2.is_some() {
            let path = p.cgroups().ok().and_then(|groups| {
                groups
                    .0
                    .into_iter()
                    .find(|g| g.hierarchy == 0 && g.controllers.is_empty())
                    .map(|g| g.pathname)
            });
            match path.and_then(|path| self.cgroup_id(&path)) {
                Some(id) => info.cgroup_id = id,
                None => partial |= !zombie,
            }
        }

        Ok(Seeded {
            info,
            zombie,
            partial,
        })
    }

    /// Unix ns of a start time given in clock ticks since boot.
    fn start_ns(&self, ticks: u64) -> u64 {
        let since_boot = u128::from(ticks) * 1_000_000_000 / u128::from(self.ticks_per_second);
        self.boot_ns
            .saturating_add(u64::try_from(since_boot).unwrap_or(u64::MAX))
    }

    /// cgroup id (inode of the cgroup2 directory) of a `/proc/<pid>/cgroup`
    /// path, cached per path.
    fn cgroup_id(&mut self, path: &str) -> Option<u64> {
        if let Some(&id) = self.cgroup_ids.get(path) {
            return Some(id);
        }
        let mount = self.cgroup2.as_ref()?;
        let dir = cgroup_dir(&mount.mount_point, &mount.root, path)?;
        let id = std::fs::metadata(dir).ok()?.ino();
        self.cgroup_ids.insert(path.to_owned(), id);
        Some(id)
    }
}

/// The cgroup2 mount of our mount namespace, preferring one of the whole
/// hierarchy (root `/`).
fn find_cgroup2_mount() -> Option<Cgroup2Mount> {
    let mounts = Process::myself().ok()?.mountinfo().ok()?;
    let mut found: Option<Cgroup2Mount> = None;
    for m in mounts.0 {
        if m.fs_type != "cgroup2" {
            continue;
        }
        let whole = m.root == "/";
        if found.is_none() || whole {
            found = Some(Cgroup2Mount {
                mount_point: m.mount_point,
                root: m.root,
            });
        }
        if whole {
            break;
        }
    }
    found
}

/// The directory of a cgroup2 path (as in `/proc/<pid>/cgroup`) under a
/// mount of hierarchy path `mount_root`. `None` for paths outside the mount
/// or escaping it (`..`, as seen across cgroup namespaces).
pub(super) fn cgroup_dir(mount_point: &Path, mount_root: &str, path: &str) -> Option<PathBuf> {
    if !path.starts_with('/') || path.split('/').any(|c| c == "..") {
        return None;
    }
    let rel = if mount_root == "/" {
        path
    } else {
        let rest = path.strip_prefix(mount_root.trim_end_matches('/'))?;
        if !(rest.is_empty() || rest.starts_with('/')) {
            return None;
        }
        rest
    };
    Some(mount_point.join(rel.trim_start_matches('/')))
}

/// A `/proc/<pid>/exe` link target: the path, whether the file was deleted,
/// whether it is a memfd.
pub(super) fn parse_exe_link(link: &str) -> (String, bool, bool) {
    let (path, deleted) = match link.strip_suffix(" (deleted)") {
        Some(p) => (p, true),
        None => (link, false),
    };
    (path.to_owned(), deleted, path.starts_with("/memfd:"))
}

/// argv from `/proc/<pid>/cmdline` bytes, kept like the sensor keeps it: at
/// most [`MAX_ARGS`] entries (the bytes were already cut to [`ARGS_LEN`]),
/// invalid UTF-8 replaced.
pub(super) fn split_argv(raw: &[u8]) -> Vec<String> {
    let raw = raw.strip_suffix(&[0]).unwrap_or(raw);
    if raw.is_empty() {
        return Vec::new();
    }
    raw.split(|&b| b == 0)
        .take(MAX_ARGS)
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect()
}

/// uid/euid/gid/CapEff from `status` text, for when procfs cannot parse it.
pub(super) fn parse_status_fallback(text: &str, info: &mut ProcessInfo) {
    for line in text.lines() {
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let mut ids = value.split_whitespace().map(|v| v.parse::<u32>().ok());
        match key {
            "Uid" => {
                if let (Some(Some(real)), Some(Some(eff))) = (ids.next(), ids.next()) {
                    info.uid = real;
                    info.euid = eff;
                }
            }
            "Gid" => {
                if let Some(Some(real)) = ids.next() {
                    info.gid = real;
                }
            }
            "CapEff" => {
                if let Ok(caps) = u64::from_str_radix(value.trim(), 16) {
                    info.cap_effective = caps;
                }
            }
            _ => {}
        }
    }
}

/// At most `cap` bytes of a file of the process's `/proc` directory.
fn read_capped(p: &Process, name: &str, cap: u64) -> Result<Vec<u8>, ProcError> {
    let file = p.open_relative(name)?;
    let mut buf = Vec::new();
    file.take(cap).read_to_end(&mut buf)?;
    Ok(buf)
}

fn unix_ns(secs: i64, nanos: i64) -> u64 {
    u64::try_from(secs)
        .ok()
        .and_then(|s| s.checked_mul(1_000_000_000))
        .and_then(|s| s.checked_add(u64::try_from(nanos).ok()?))
        .unwrap_or(0)
}
