//! Durable, append-only alert log.
//!
//! This module owns the on-disk history of alerts: it assigns the global
//! alert sequence number (`seq`, starting at 1 and never reused), stores each
//! serialized alert as an opaque payload, survives crashes (including
//! `kill -9` mid-write) by validating and truncating a torn tail on open,
//! serves replay by sequence number or by time, and enforces retention.
//! It does not know what a payload means, and it does not fan out live
//! alerts (that is `bus`).
//!
//! # On-disk layout
//!
//! A log is a directory (created with mode 0700) holding segment files named
//! after the seq of their first record, zero padded to 20 digits, e.g.
//! `00000000000000000042.klog`, plus a `LOCK` file that keeps a second writer
//! out. Each segment is a plain sequence of frames (all integers
//! little-endian):
//!
//! ```text
//! offset size field
//!      0    4 magic   0x4B4C4731 ("KLG1" read as a u32: the format version)
//!      4    4 len     payload length in bytes (<= MAX_PAYLOAD_LEN)
//!      8    4 crc32   CRC-32 (IEEE) over seq || time_ns || payload
//!     12    8 seq     must be the segment's base seq + index in segment
//!     20    8 time_ns unix time in nanoseconds, as given to `append`
//!     28  len payload
//! ```
//!
//! # Crash safety
//!
//! Every `append` hands its whole frame to the OS in one `write` call, so a
//! killed process loses nothing that `append` returned for; power loss can
//! lose what was not yet fsynced (see [`FsyncPolicy`]). On open, only the last
//! segment (the only one that can have been written at crash time) is
//! validated frame by frame; from the first bad frame (partial frame, bad
//! magic, impossible length, CRC mismatch, out-of-order seq) the file is
//! truncated and the number of bytes cut is logged and reported in
//! [`RecoveryReport`]. Older segments are validated lazily while reading:
//! a bad frame there ends that segment with an [`LogError::Corrupt`] item and
//! the reader moves on to the next segment; garbage is never returned.

use std::collections::VecDeque;
use std::fmt;
use std::fs::{self, File, OpenOptions, TryLockError};
use std::io::{self, BufReader, ErrorKind, Read, Write};
#[cfg(unix)]
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use tracing::{debug, warn};

/// Frame magic; doubles as the format version.
pub const FRAME_MAGIC: u32 = 0x4B4C_4731;
/// Size of a frame header (magic, len, crc, seq, time).
pub const FRAME_HEADER_LEN: u64 = 28;
/// Largest accepted payload. Longer length fields are treated as corruption.
pub const MAX_PAYLOAD_LEN: usize = 16 << 20;
/// The seq of the very first record of a new log.
pub const FIRST_SEQ: u64 = 1;

const HEADER_LEN: usize = FRAME_HEADER_LEN as usize;
const SEGMENT_SUFFIX: &str = ".klog";
const SEGMENT_NAME_DIGITS: usize = 20;
const LOCK_FILE_NAME: &str = "LOCK";
const READ_BUFFER_BYTES: usize = 64 * 1024;

/// When appended data is forced to stable storage.
///
/// Regardless of the policy every append is written to the OS immediately
/// (one `write(2)` per record), so records survive a process crash; the policy
/// only decides when `fdatasync` is called, i.e. what survives power loss.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FsyncPolicy {
    /// `fdatasync` after every append.
    Always,
    /// `fdatasync` after every `n` appends (and when a segment is sealed).
    EveryN(u32),
    /// Never fsync on its own: the caller drives durability by calling
    /// [`AlertLog::sync`] on an interval. This is the default.
    #[default]
    Never,
}

/// Configuration of an [`AlertLog`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogConfig {
    /// A new segment is started when appending a record would take the active
    /// segment past this size (a single larger record still gets its own
    /// segment).
    pub max_segment_bytes: u64,
    /// After a roll, the oldest whole segments are deleted while the log's
    /// total size exceeds this. The active segment is never deleted.
    pub retain_bytes: u64,
    /// After a roll, the oldest whole segments whose newest record is older
    /// than this (relative to the newest appended `time_ns`) are deleted.
    pub retain_age: Option<Duration>,
    /// When to fsync.
    pub fsync: FsyncPolicy,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            max_segment_bytes: 64 << 20,
            retain_bytes: 1 << 30,
            retain_age: None,
            fsync: FsyncPolicy::default(),
        }
    }
}

/// One stored alert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Sequence number assigned by [`AlertLog::append`].
    pub seq: u64,
    /// Unix time in nanoseconds, as given to [`AlertLog::append`].
    pub time_ns: u64,
    /// Opaque serialized alert.
    pub payload: Vec<u8>,
}

/// Why a frame was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Corruption {
    /// The file ends inside a frame.
    Truncated {
        /// Bytes the frame needs from its start.
        needed: u64,
        /// Bytes left in the file from the frame start.
        available: u64,
    },
    /// The frame does not start with [`FRAME_MAGIC`].
    BadMagic(u32),
    /// The length field exceeds [`MAX_PAYLOAD_LEN`].
    BadLength(u32),
    /// The stored CRC does not match the frame contents.
    BadCrc {
        /// CRC stored in the frame.
        stored: u32,
        /// CRC computed over the frame contents.
        computed: u32,
    },
    /// A well-formed frame whose seq is not the next one expected.
    UnexpectedSeq {
        /// The seq the position in the segment implies.
        expected: u64,
        /// The seq stored in the frame.
        found: u64,
    },
}

impl fmt::Display for Corruption {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Truncated { needed, available } => write!(
                f,
                "partial frame: needs {needed} bytes, {available} available"
            ),
            Self::BadMagic(m) => write!(f, "bad magic {m:#010x}"),
            Self::BadLength(len) => {
                write!(f, "bad length {len} (max {MAX_PAYLOAD_LEN})")
            }
            Self::BadCrc { stored, computed } => {
                write!(
                    f,
                    "crc mismatch: stored {stored:#010x}, computed {computed:#010x}"
                )
            }
            Self::UnexpectedSeq { expected, found } => {
                write!(f, "unexpected seq {found}, expected {expected}")
            }
        }
    }
}

/// Errors of the alert log. Every variant that concerns a file names it, and
/// the offset within it where that makes sense.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    /// An I/O operation failed.
    #[error("alert log: {op} failed on {path} at offset {offset}: {source}")]
    Io {
        /// What was being done ("open", "read", "write", ...).
        op: &'static str,
        /// File or directory concerned.
        path: PathBuf,
        /// Byte offset in the file (0 where not meaningful).
        offset: u64,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// A frame failed validation; nothing at or after `offset` in that
    /// segment is served.
    #[error("alert log: corrupt record in {path} at offset {offset}: {kind}")]
    Corrupt {
        /// Segment file.
        path: PathBuf,
        /// Offset of the bad frame's first byte.
        offset: u64,
        /// What was wrong.
        kind: Corruption,
    },
    /// Another process (or another `AlertLog` in this one) holds the log.
    #[error("alert log: {path} is locked by another writer")]
    Locked {
        /// The lock file.
        path: PathBuf,
    },
    /// The payload is longer than [`MAX_PAYLOAD_LEN`].
    #[error("alert log: payload of {len} bytes exceeds the limit of {max} bytes")]
    PayloadTooLarge {
        /// Payload length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The configuration is unusable.
    #[error("alert log: invalid config: {0}")]
    InvalidConfig(&'static str),
}

/// Result type of this module.
pub type Result<T, E = LogError> = std::result::Result<T, E>;

fn io_err<'a>(
    op: &'static str,
    path: &'a Path,
    offset: u64,
) -> impl FnOnce(io::Error) -> LogError + 'a {
    move |source| LogError::Io {
        op,
        path: path.to_path_buf(),
        offset,
        source,
    }
}

/// One tail truncation performed by [`AlertLog::open`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Truncation {
    /// Segment file that was cut.
    pub path: PathBuf,
    /// New length of the file (offset of the first bad frame).
    pub offset: u64,
    /// Number of bytes removed.
    pub bytes_cut: u64,
    /// What was wrong with the frame at `offset`.
    pub reason: Corruption,
}

/// What [`AlertLog::open`] had to repair.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecoveryReport {
    /// Total bytes cut from torn or corrupt tails.
    pub truncated_bytes: u64,
    /// Each truncation, newest segment first.
    pub truncations: Vec<Truncation>,
    /// Segments that held no valid record after truncation and were removed.
    pub removed_segments: Vec<PathBuf>,
}

impl RecoveryReport {
    /// True when open found the log clean.
    pub fn is_clean(&self) -> bool {
        self.truncations.is_empty() && self.removed_segments.is_empty()
    }
}

#[derive(Debug, Clone)]
struct Segment {
    base_seq: u64,
    path: PathBuf,
    len: u64,
    /// Time of the first record, when it is known to be valid.
    first_time_ns: Option<u64>,
}

#[derive(Debug)]
struct ActiveSegment {
    meta: Segment,
    file: File,
}

/// The durable alert log. See the module docs for format and guarantees.
///
/// One `AlertLog` per directory (enforced with a lock file). Appending needs
/// `&mut self`; readers returned by [`read_from_seq`](Self::read_from_seq) and
/// [`read_from_time`](Self::read_from_time) own their state and may outlive
/// the borrow (they see the records that existed when they were created).
#[derive(Debug)]
pub struct AlertLog {
    dir: PathBuf,
    config: LogConfig,
    /// Sealed segments, oldest first.
    sealed: VecDeque<Segment>,
    active: ActiveSegment,
    next_seq: u64,
    last_time_ns: Option<u64>,
    total_bytes: u64,
    appends_since_sync: u64,
    sealed_unsynced: Vec<(PathBuf, File)>,
    dir_unsynced: bool,
    /// Set when a failed write may have left a partial frame that could not
    /// be cut off yet.
    needs_repair: bool,
    frame_buf: Vec<u8>,
    recovery: RecoveryReport,
    _lock: File,
}

impl AlertLog {
    /// Opens (or creates) the log in `dir`, repairing a torn tail.
    pub fn open(dir: impl AsRef<Path>, config: LogConfig) -> Result<Self> {
        validate_config(&config)?;
        let dir = dir.as_ref().to_path_buf();
        create_private_dir(&dir)?;
        let lock = lock_dir(&dir)?;

        let mut found = list_segments(&dir)?;
        let mut recovery = RecoveryReport::default();

        // Validate the newest segment; if nothing valid is left in it and
        // older segments exist, drop it and validate the previous one.
        let (tail, tail_scan) = loop {
            let Some(candidate) = found.pop() else {
                break (None, TailScan::default());
            };
            let scan = scan_full(&candidate.path, candidate.base_seq, candidate.len)?;
            if let Some((offset, kind)) = scan.corruption {
                let bytes_cut = candidate.len.saturating_sub(offset);
                truncate_file(&candidate.path, offset)?;
                warn!(
                    path = %candidate.path.display(),
                    offset,
                    bytes_cut,
                    reason = %kind,
                    "alert log: cut torn/corrupt tail"
                );
                recovery.truncated_bytes += bytes_cut;
                recovery.truncations.push(Truncation {
                    path: candidate.path.clone(),
                    offset,
                    bytes_cut,
                    reason: kind,
                });
            }
            if scan.good_len == 0 && !found.is_empty() {
                fs::remove_file(&candidate.path).map_err(io_err("remove", &candidate.path, 0))?;
                warn!(path = %candidate.path.display(), "alert log: removed empty tail segment");
                recovery.removed_segments.push(candidate.path);
                continue;
            }
            let meta = Segment {
                len: scan.good_len,
                first_time_ns: scan.first_time_ns,
                ..candidate
            };
            break (Some(meta), scan);
        };

        let mut sealed = VecDeque::with_capacity(found.len());
        for seg in found {
            let first_time_ns = first_record_time(&seg);
            sealed.push_back(Segment {
                first_time_ns,
                ..seg
            });
        }

        let (active, next_seq) = match tail {
            Some(meta) => {
                let next_seq = tail_scan
                    .last_seq
                    .map_or(meta.base_seq, |s| s.saturating_add(1));
                let file = open_append(&meta.path, false)?;
                (ActiveSegment { meta, file }, next_seq)
            }
            None => {
                let path = dir.join(segment_file_name(FIRST_SEQ));
                let file = open_append(&path, true)?;
                let meta = Segment {
                    base_seq: FIRST_SEQ,
                    path,
                    len: 0,
                    first_time_ns: None,
                };
                (ActiveSegment { meta, file }, FIRST_SEQ)
            }
        };
        let last_time_ns = tail_scan
            .last_time_ns
            .or_else(|| sealed.back().and_then(|s| s.first_time_ns));
        let total_bytes = sealed.iter().map(|s| s.len).sum::<u64>() + active.meta.len;

        let mut log = Self {
            dir,
            config,
            sealed,
            active,
            next_seq,
            last_time_ns,
            total_bytes,
            appends_since_sync: 0,
            sealed_unsynced: Vec::new(),
            dir_unsynced: true,
            needs_repair: false,
            frame_buf: Vec::new(),
            recovery,
            _lock: lock,
        };
        if let Some(now) = log.last_time_ns {
            log.apply_retention(now)?;
        }
        Ok(log)
    }

    /// Appends one record and returns its seq.
    ///
    /// The frame is handed to the OS before this returns (it survives a crash
    /// of this process); see [`FsyncPolicy`] for power-loss durability.
    pub fn append(&mut self, time_ns: u64, payload: &[u8]) -> Result<u64> {
        let len = u32::try_from(payload.len())
            .ok()
            .filter(|&l| l as usize <= MAX_PAYLOAD_LEN)
            .ok_or(LogError::PayloadTooLarge {
                len: payload.len(),
                max: MAX_PAYLOAD_LEN,
            })?;
        if self.needs_repair {
            self.repair_active()?;
        }
        let frame_len = FRAME_HEADER_LEN + u64::from(len);
        let rolled = if self.active.meta.len > 0
            && self.active.meta.len.saturating_add(frame_len) > self.config.max_segment_bytes
        {
            self.roll()?;
            true
        } else {
            false
        };

        let seq = self.next_seq;
        encode_frame(&mut self.frame_buf, seq, time_ns, len, payload);
        if let Err(source) = self.active.file.write_all(&self.frame_buf) {
            let err = LogError::Io {
                op: "write",
                path: self.active.meta.path.clone(),
                offset: self.active.meta.len,
                source,
            };
            // Do not leave a partial frame in front of the next append.
            self.needs_repair = true;
            if let Err(repair) = self.repair_active() {
                warn!(error = %repair, "alert log: could not cut partial frame after failed write");
            }
            return Err(err);
        }

        self.active.meta.len += frame_len;
        self.active.meta.first_time_ns.get_or_insert(time_ns);
        self.total_bytes += frame_len;
        self.next_seq = seq.saturating_add(1);
        self.last_time_ns = Some(time_ns);
        self.appends_since_sync += 1;

        match self.config.fsync {
            FsyncPolicy::Always => self.sync()?,
            FsyncPolicy::EveryN(n) if self.appends_since_sync >= u64::from(n) => self.sync()?,
            FsyncPolicy::EveryN(_) | FsyncPolicy::Never => {}
        }
        if rolled {
            // The record is stored; a failed deletion must not turn this
            // append into an error.
            if let Err(e) = self.apply_retention(time_ns) {
                warn!(error = %e, "alert log: retention failed");
            }
        }
        Ok(seq)
    }

    /// Flushes buffered data to the OS. Appends are written through, so this
    /// has nothing to do today; it exists so callers need not know that.
    pub fn flush(&mut self) -> Result<()> {
        self.active.file.flush().map_err(io_err(
            "flush",
            &self.active.meta.path,
            self.active.meta.len,
        ))
    }

    /// Forces everything appended so far to stable storage (the active
    /// segment, segments sealed since the last sync, and the directory
    /// entries of new segments).
    pub fn sync(&mut self) -> Result<()> {
        for (path, file) in self.sealed_unsynced.drain(..) {
            file.sync_data().map_err(io_err("fsync", &path, 0))?;
        }
        self.active.file.sync_data().map_err(io_err(
            "fsync",
            &self.active.meta.path,
            self.active.meta.len,
        ))?;
        if self.dir_unsynced {
            sync_dir(&self.dir)?;
            self.dir_unsynced = false;
        }
        self.appends_since_sync = 0;
        Ok(())
    }

    /// Syncs (unless the policy is [`FsyncPolicy::Never`]) and closes the log.
    pub fn close(mut self) -> Result<()> {
        if self.config.fsync != FsyncPolicy::Never {
            self.sync()?;
        }
        Ok(())
    }

    /// The seq the next append will get.
    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }

    /// Seq of the oldest retained record, `None` when the log is empty.
    ///
    /// A reader asked for an older seq starts here; the caller can tell it
    /// lost history by comparing this (or the first record's seq) with what
    /// it asked for.
    pub fn first_seq(&self) -> Option<u64> {
        let oldest = self
            .sealed
            .iter()
            .find(|s| s.len > 0)
            .map(|s| s.base_seq)
            .or((self.active.meta.len > 0).then_some(self.active.meta.base_seq))?;
        (oldest < self.next_seq).then_some(oldest)
    }

    /// Seq of the newest record, `None` when the log is empty.
    pub fn last_seq(&self) -> Option<u64> {
        let last = self.next_seq.checked_sub(1)?;
        self.first_seq().map(|_| last)
    }

    /// Total size of all segment files, in bytes.
    pub fn total_bytes(&self) -> u64 {
        self.total_bytes
    }

    /// Number of segment files, including the active one.
    pub fn segment_count(&self) -> usize {
        self.sealed.len() + 1
    }

    /// The log directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// What [`open`](Self::open) repaired.
    pub fn recovery(&self) -> &RecoveryReport {
        &self.recovery
    }

    /// Records with `seq >= seq`, oldest first. If `seq` is older than
    /// retention, starts at the oldest retained record.
    pub fn read_from_seq(&self, seq: u64) -> LogReader {
        let segments = self.snapshot();
        let start = segments
            .iter()
            .rposition(|s| s.base_seq <= seq)
            .unwrap_or(0);
        LogReader::new(segments, start, StartAt::Seq(seq))
    }

    /// Records from the first one with `time_ns >= time_ns` on, oldest first.
    ///
    /// Assumes times were appended in non-decreasing order (they are taken at
    /// append time); records after the first match are returned regardless of
    /// their time.
    pub fn read_from_time(&self, time_ns: u64) -> LogReader {
        let segments = self.snapshot();
        let start = segments
            .iter()
            .rposition(|s| s.first_time_ns.is_some_and(|t| t < time_ns))
            .unwrap_or(0);
        LogReader::new(segments, start, StartAt::Time(time_ns))
    }

    /// Deletes the oldest sealed segments while the log is larger than
    /// `retain_bytes` or the segment's newest record is older than
    /// `now_ns - retain_age`. Runs automatically after every roll (with the
    /// appended record's time as `now_ns`); callers may run it on a timer.
    /// Returns the number of segments deleted.
    pub fn apply_retention(&mut self, now_ns: u64) -> Result<usize> {
        let cutoff = self.config.retain_age.map(|age| {
            let age_ns = u64::try_from(age.as_nanos()).unwrap_or(u64::MAX);
            now_ns.saturating_sub(age_ns)
        });
        let mut removed = 0;
        while let Some(oldest) = self.sealed.front() {
            let over_bytes = self.total_bytes > self.config.retain_bytes;
            // Times are non-decreasing, so every record of `oldest` is at or
            // before the first record of the segment after it.
            let next_first_time = self
                .sealed
                .get(1)
                .map_or(self.active.meta.first_time_ns, |s| s.first_time_ns);
            let too_old = matches!((cutoff, next_first_time), (Some(c), Some(t)) if t < c);
            if !over_bytes && !too_old {
                break;
            }
            match fs::remove_file(&oldest.path) {
                Ok(()) => {}
                Err(e) if e.kind() == ErrorKind::NotFound => {}
                Err(e) => return Err(io_err("remove", &oldest.path, 0)(e)),
            }
            debug!(
                path = %oldest.path.display(),
                bytes = oldest.len,
                over_bytes,
                too_old,
                "alert log: retention removed segment"
            );
            self.total_bytes = self.total_bytes.saturating_sub(oldest.len);
            self.sealed.pop_front();
            removed += 1;
        }
        Ok(removed)
    }

    fn snapshot(&self) -> Vec<SegmentView> {
        self.sealed
            .iter()
            .chain(std::iter::once(&self.active.meta))
            .map(|s| SegmentView {
                base_seq: s.base_seq,
                path: s.path.clone(),
                len: s.len,
                first_time_ns: s.first_time_ns,
            })
            .collect()
    }

    fn roll(&mut self) -> Result<()> {
        let base_seq = self.next_seq;
        let path = self.dir.join(segment_file_name(base_seq));
        let file = open_append(&path, true)?;
        let old = std::mem::replace(
            &mut self.active,
            ActiveSegment {
                meta: Segment {
                    base_seq,
                    path,
                    len: 0,
                    first_time_ns: None,
                },
                file,
            },
        );
        self.dir_unsynced = true;
        match self.config.fsync {
            FsyncPolicy::Never => self.sealed_unsynced.push((old.meta.path.clone(), old.file)),
            FsyncPolicy::Always | FsyncPolicy::EveryN(_) => {
                old.file
                    .sync_data()
                    .map_err(io_err("fsync", &old.meta.path, old.meta.len))?;
                sync_dir(&self.dir)?;
                self.dir_unsynced = false;
            }
        }
        debug!(path = %old.meta.path.display(), bytes = old.meta.len, "alert log: sealed segment");
        self.sealed.push_back(old.meta);
        Ok(())
    }

    fn repair_active(&mut self) -> Result<()> {
        let meta = &self.active.meta;
        self.active
            .file
            .set_len(meta.len)
            .map_err(io_err("truncate", &meta.path, meta.len))?;
        self.needs_repair = false;
        Ok(())
    }
}

impl Drop for AlertLog {
    fn drop(&mut self) {
        if self.config.fsync != FsyncPolicy::Never
            && self.appends_since_sync > 0
            && let Err(e) = self.sync()
        {
            warn!(error = %e, "alert log: sync on drop failed");
        }
    }
}

#[derive(Debug, Clone)]
struct SegmentView {
    base_seq: u64,
    path: PathBuf,
    len: u64,
    first_time_ns: Option<u64>,
}

#[derive(Debug, Clone, Copy)]
enum StartAt {
    Seq(u64),
    Time(u64),
    Started,
}

/// Iterator over stored records; see [`AlertLog::read_from_seq`].
///
/// Yields `Err` for I/O errors and for a corrupt frame in a segment; after a
/// corruption error the rest of that segment is skipped and reading goes on
/// with the next segment (a jump in seq shows what was lost). Segments
/// removed by retention after the reader was created are skipped.
#[derive(Debug)]
pub struct LogReader {
    pending: VecDeque<SegmentView>,
    current: Option<SegmentScanner>,
    start: StartAt,
}

impl LogReader {
    fn new(segments: Vec<SegmentView>, start_index: usize, start: StartAt) -> Self {
        let mut pending: VecDeque<SegmentView> = segments.into();
        pending.drain(..start_index.min(pending.len()));
        Self {
            pending,
            current: None,
            start,
        }
    }
}

impl Iterator for LogReader {
    type Item = Result<Record>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let Some(scanner) = self.current.as_mut() else {
                let seg = self.pending.pop_front()?;
                if seg.len == 0 {
                    continue;
                }
                match SegmentScanner::open(&seg.path, seg.base_seq, seg.len) {
                    Ok(s) => self.current = Some(s),
                    Err(LogError::Io { source, .. }) if source.kind() == ErrorKind::NotFound => {}
                    Err(e) => return Some(Err(e)),
                }
                continue;
            };
            match scanner.next_record() {
                Ok(Some(rec)) => {
                    let wanted = match self.start {
                        StartAt::Seq(s) => rec.seq >= s,
                        StartAt::Time(t) => rec.time_ns >= t,
                        StartAt::Started => true,
                    };
                    if wanted {
                        self.start = StartAt::Started;
                        return Some(Ok(rec));
                    }
                }
                Ok(None) => self.current = None,
                Err(e) => {
                    self.current = None;
                    warn!(error = %e, "alert log: skipping rest of segment");
                    return Some(Err(e));
                }
            }
        }
    }
}

/// Sequential frame reader over the first `limit` bytes of one segment.
#[derive(Debug)]
struct SegmentScanner {
    path: PathBuf,
    reader: BufReader<File>,
    /// Offset of the next frame.
    offset: u64,
    limit: u64,
    expected_seq: u64,
}

impl SegmentScanner {
    fn open(path: &Path, base_seq: u64, limit: u64) -> Result<Self> {
        let file = File::open(path).map_err(io_err("open", path, 0))?;
        Ok(Self {
            path: path.to_path_buf(),
            reader: BufReader::with_capacity(READ_BUFFER_BYTES, file),
            offset: 0,
            limit,
            expected_seq: base_seq,
        })
    }

    fn corrupt(&self, kind: Corruption) -> LogError {
        LogError::Corrupt {
            path: self.path.clone(),
            offset: self.offset,
            kind,
        }
    }

    /// Next valid frame, `Ok(None)` at a clean end. After an error the
    /// scanner must not be used again.
    fn next_record(&mut self) -> Result<Option<Record>> {
        if self.offset >= self.limit {
            return Ok(None);
        }
        let available = self.limit - self.offset;
        if available < FRAME_HEADER_LEN {
            return Err(self.corrupt(Corruption::Truncated {
                needed: FRAME_HEADER_LEN,
                available,
            }));
        }
        let mut header = [0u8; HEADER_LEN];
        self.fill(&mut header, FRAME_HEADER_LEN, available)?;
        let magic = u32::from_le_bytes(header_field(&header, 0));
        if magic != FRAME_MAGIC {
            return Err(self.corrupt(Corruption::BadMagic(magic)));
        }
        let len = u32::from_le_bytes(header_field(&header, 4));
        let payload_len = match usize::try_from(len) {
            Ok(l) if l <= MAX_PAYLOAD_LEN => l,
            _ => return Err(self.corrupt(Corruption::BadLength(len))),
        };
        let frame_len = FRAME_HEADER_LEN + u64::from(len);
        if frame_len > available {
            return Err(self.corrupt(Corruption::Truncated {
                needed: frame_len,
                available,
            }));
        }
        let stored = u32::from_le_bytes(header_field(&header, 8));
        let seq = u64::from_le_bytes(header_field(&header, 12));
        let time_ns = u64::from_le_bytes(header_field(&header, 20));
        // Bounded by MAX_PAYLOAD_LEN and by the bytes actually in the file.
        let mut payload = vec![0u8; payload_len];
        self.fill(&mut payload, frame_len, available)?;
        let computed = frame_crc(seq, time_ns, &payload);
        if stored != computed {
            return Err(self.corrupt(Corruption::BadCrc { stored, computed }));
        }
        if seq != self.expected_seq {
            return Err(self.corrupt(Corruption::UnexpectedSeq {
                expected: self.expected_seq,
                found: seq,
            }));
        }
        self.offset += frame_len;
        self.expected_seq = seq.saturating_add(1);
        Ok(Some(Record {
            seq,
            time_ns,
            payload,
        }))
    }

    fn fill(&mut self, buf: &mut [u8], needed: u64, available: u64) -> Result<()> {
        self.reader.read_exact(buf).map_err(|e| {
            if e.kind() == ErrorKind::UnexpectedEof {
                // The file is shorter than the length we were told to read.
                self.corrupt(Corruption::Truncated { needed, available })
            } else {
                io_err("read", &self.path, self.offset)(e)
            }
        })
    }
}

fn header_field<const N: usize>(header: &[u8; HEADER_LEN], at: usize) -> [u8; N] {
    // Only called with constant in-bounds offsets.
    let mut out = [0u8; N];
    out.copy_from_slice(&header[at..at + N]);
    out
}

fn frame_crc(seq: u64, time_ns: u64, payload: &[u8]) -> u32 {
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(&seq.to_le_bytes());
    hasher.update(&time_ns.to_le_bytes());
    hasher.update(payload);
    hasher.finalize()
}

fn encode_frame(buf: &mut Vec<u8>, seq: u64, time_ns: u64, len: u32, payload: &[u8]) {
    buf.clear();
    buf.reserve(HEADER_LEN + payload.len());
    buf.extend_from_slice(&FRAME_MAGIC.to_le_bytes());
    buf.extend_from_slice(&len.to_le_bytes());
    buf.extend_from_slice(&frame_crc(seq, time_ns, payload).to_le_bytes());
    buf.extend_from_slice(&seq.to_le_bytes());
    buf.extend_from_slice(&time_ns.to_le_bytes());
    buf.extend_from_slice(payload);
}

#[derive(Debug, Default)]
struct TailScan {
    good_len: u64,
    last_seq: Option<u64>,
    first_time_ns: Option<u64>,
    last_time_ns: Option<u64>,
    corruption: Option<(u64, Corruption)>,
}

/// Validates a whole segment; I/O errors are returned, corruption is reported
/// in the result.
fn scan_full(path: &Path, base_seq: u64, len: u64) -> Result<TailScan> {
    let mut scanner = SegmentScanner::open(path, base_seq, len)?;
    let mut scan = TailScan::default();
    loop {
        match scanner.next_record() {
            Ok(Some(rec)) => {
                scan.last_seq = Some(rec.seq);
                scan.first_time_ns.get_or_insert(rec.time_ns);
                scan.last_time_ns = Some(rec.time_ns);
            }
            Ok(None) => break,
            Err(LogError::Corrupt { offset, kind, .. }) => {
                scan.corruption = Some((offset, kind));
                break;
            }
            Err(e) => return Err(e),
        }
    }
    scan.good_len = scanner.offset;
    Ok(scan)
}

/// Time of a sealed segment's first record, if it is readable and valid.
fn first_record_time(seg: &Segment) -> Option<u64> {
    let result =
        SegmentScanner::open(&seg.path, seg.base_seq, seg.len).and_then(|mut s| s.next_record());
    match result {
        Ok(rec) => rec.map(|r| r.time_ns),
        Err(e) => {
            warn!(error = %e, "alert log: cannot read first record of segment");
            None
        }
    }
}

fn validate_config(config: &LogConfig) -> Result<()> {
    if config.max_segment_bytes == 0 {
        return Err(LogError::InvalidConfig("max_segment_bytes must be > 0"));
    }
    if config.fsync == FsyncPolicy::EveryN(0) {
        return Err(LogError::InvalidConfig("FsyncPolicy::EveryN needs n > 0"));
    }
    Ok(())
}

fn segment_file_name(base_seq: u64) -> String {
    format!(
        "{base_seq:0width$}{SEGMENT_SUFFIX}",
        width = SEGMENT_NAME_DIGITS
    )
}

fn parse_segment_name(name: &str) -> Option<u64> {
    let digits = name.strip_suffix(SEGMENT_SUFFIX)?;
    if digits.len() != SEGMENT_NAME_DIGITS || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

fn list_segments(dir: &Path) -> Result<Vec<Segment>> {
    let mut segments = Vec::new();
    for entry in fs::read_dir(dir).map_err(io_err("read_dir", dir, 0))? {
        let entry = entry.map_err(io_err("read_dir", dir, 0))?;
        let Some(base_seq) = entry.file_name().to_str().and_then(parse_segment_name) else {
            continue;
        };
        let path = entry.path();
        let meta = entry.metadata().map_err(io_err("stat", &path, 0))?;
        if !meta.is_file() {
            continue;
        }
        segments.push(Segment {
            base_seq,
            path,
            len: meta.len(),
            first_time_ns: None,
        });
    }
    segments.sort_by_key(|s| s.base_seq);
    Ok(segments)
}

fn create_private_dir(dir: &Path) -> Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    builder.mode(0o700);
    builder.create(dir).map_err(io_err("create_dir", dir, 0))
}

fn lock_dir(dir: &Path) -> Result<File> {
    // A lock held by a concurrently forked child (between fork and exec it
    // shares our open file description) goes away quickly: retry briefly
    // before reporting a real second writer.
    const LOCK_RETRY_FOR: Duration = Duration::from_millis(250);
    const LOCK_RETRY_STEP: Duration = Duration::from_millis(5);
    let path = dir.join(LOCK_FILE_NAME);
    let mut options = OpenOptions::new();
    options.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    options.mode(0o600);
    let file = options.open(&path).map_err(io_err("open", &path, 0))?;
    let started = Instant::now();
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(file),
            Err(TryLockError::WouldBlock) if started.elapsed() < LOCK_RETRY_FOR => {
                std::thread::sleep(LOCK_RETRY_STEP);
            }
            Err(TryLockError::WouldBlock) => return Err(LogError::Locked { path }),
            Err(TryLockError::Error(e)) => return Err(io_err("lock", &path, 0)(e)),
        }
    }
}

fn open_append(path: &Path, create_new: bool) -> Result<File> {
    let mut options = OpenOptions::new();
    options.append(true).create_new(create_new);
    #[cfg(unix)]
    options.mode(0o600);
    options.open(path).map_err(io_err("open", path, 0))
}

fn truncate_file(path: &Path, len: u64) -> Result<()> {
    let file = OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(io_err("open", path, 0))?;
    file.set_len(len).map_err(io_err("truncate", path, len))?;
    file.sync_all().map_err(io_err("fsync", path, len))
}

fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_err("fsync", dir, 0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::io::{BufRead, Seek, SeekFrom};

    const SEC: u64 = 1_000_000_000;

    fn cfg(max_segment_bytes: u64) -> LogConfig {
        LogConfig {
            max_segment_bytes,
            retain_bytes: u64::MAX,
            retain_age: None,
            fsync: FsyncPolicy::Never,
        }
    }

    fn payload_for(seq: u64) -> Vec<u8> {
        let unit = format!("alert-{seq};");
        unit.repeat((seq % 7 + 1) as usize).into_bytes()
    }

    fn read_all(log: &AlertLog) -> Vec<Record> {
        log.read_from_seq(0).map(|r| r.unwrap()).collect()
    }

    fn segment_files(dir: &Path) -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.to_str().is_some_and(|s| s.ends_with(SEGMENT_SUFFIX)))
            .collect();
        v.sort();
        v
    }

    fn fill(log: &mut AlertLog, n: u64) {
        for _ in 0..n {
            let seq = log.next_seq();
            assert_eq!(log.append(seq * SEC, &payload_for(seq)).unwrap(), seq);
        }
    }

    fn assert_clean_prefix(records: &[Record], n: u64) {
        assert_eq!(records.len() as u64, n);
        for (i, r) in records.iter().enumerate() {
            let seq = i as u64 + 1;
            assert_eq!(r.seq, seq);
            assert_eq!(r.payload, payload_for(seq), "payload of seq {seq}");
        }
    }

    #[test]
    fn append_then_read_round_trips_records_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = AlertLog::open(dir.path(), cfg(1 << 20)).unwrap();
        assert_eq!(log.first_seq(), None);
        assert_eq!(log.last_seq(), None);
        assert_eq!(log.append(10, b"first").unwrap(), 1);
        assert_eq!(log.append(20, b"").unwrap(), 2);
        assert_eq!(log.append(30, &[0xff; 1000]).unwrap(), 3);
        log.flush().unwrap();
        let recs = read_all(&log);
        assert_eq!(
            recs,
            vec![
                Record {
                    seq: 1,
                    time_ns: 10,
                    payload: b"first".to_vec()
                },
                Record {
                    seq: 2,
                    time_ns: 20,
                    payload: vec![]
                },
                Record {
                    seq: 3,
                    time_ns: 30,
                    payload: vec![0xff; 1000]
                },
            ]
        );
        assert_eq!((log.first_seq(), log.last_seq()), (Some(1), Some(3)));
        let from2: Vec<u64> = log.read_from_seq(2).map(|r| r.unwrap().seq).collect();
        assert_eq!(from2, vec![2, 3]);
        assert_eq!(log.read_from_seq(4).count(), 0);
    }

    #[test]
    fn seq_continues_after_reopen_across_segments() {
        let dir = tempfile::tempdir().unwrap();
        {
            let mut log = AlertLog::open(dir.path(), cfg(300)).unwrap();
            fill(&mut log, 25);
            log.close().unwrap();
        }
        let mut log = AlertLog::open(dir.path(), cfg(300)).unwrap();
        assert!(log.recovery().is_clean());
        assert!(log.segment_count() > 1);
        assert_eq!(log.next_seq(), 26);
        fill(&mut log, 5);
        drop(log);
        let log = AlertLog::open(dir.path(), cfg(300)).unwrap();
        assert_clean_prefix(&read_all(&log), 30);
    }

    #[test]
    fn second_writer_on_same_directory_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let _log = AlertLog::open(dir.path(), cfg(300)).unwrap();
        assert!(matches!(
            AlertLog::open(dir.path(), cfg(300)),
            Err(LogError::Locked { .. })
        ));
    }

    #[test]
    fn new_directory_is_private() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a/b/alerts");
        let _log = AlertLog::open(&path, cfg(300)).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o700);
        }
    }

    /// Writes 5 records into one segment, damages the file, reopens and
    /// checks that exactly `expect_kept` records survive, that the cut is
    /// reported, and that appending continues with the right seq.
    fn damage_and_reopen(damage: impl FnOnce(&Path, &[u64]), expect_kept: u64) {
        let dir = tempfile::tempdir().unwrap();
        let mut ends = vec![];
        {
            let mut log = AlertLog::open(dir.path(), cfg(1 << 20)).unwrap();
            for _ in 0..5 {
                let seq = log.next_seq();
                log.append(seq * SEC, &payload_for(seq)).unwrap();
                ends.push(log.total_bytes());
            }
        }
        let seg = segment_files(dir.path()).pop().unwrap();
        damage(&seg, &ends);
        let damaged_len = fs::metadata(&seg).unwrap().len();

        let mut log = AlertLog::open(dir.path(), cfg(1 << 20)).unwrap();
        let kept_len = if expect_kept == 0 {
            0
        } else {
            ends[expect_kept as usize - 1]
        };
        assert_eq!(log.recovery().truncated_bytes, damaged_len - kept_len);
        assert_eq!(fs::metadata(&seg).unwrap().len(), kept_len);
        assert_clean_prefix(&read_all(&log), expect_kept);
        assert_eq!(log.next_seq(), expect_kept + 1);
        fill(&mut log, 3);
        drop(log);
        let log = AlertLog::open(dir.path(), cfg(1 << 20)).unwrap();
        assert!(log.recovery().is_clean());
        assert_clean_prefix(&read_all(&log), expect_kept + 3);
    }

    #[test]
    fn torn_tail_mid_record_is_truncated_and_never_served() {
        damage_and_reopen(
            |seg, ends| {
                let f = OpenOptions::new().write(true).open(seg).unwrap();
                f.set_len(ends[3] + 17).unwrap(); // inside the header of record 5
            },
            4,
        );
        damage_and_reopen(
            |seg, ends| {
                let f = OpenOptions::new().write(true).open(seg).unwrap();
                f.set_len(ends[4] - 3).unwrap(); // inside the payload of record 5
            },
            4,
        );
    }

    #[test]
    fn garbage_appended_after_last_record_is_truncated() {
        damage_and_reopen(
            |seg, _| {
                let mut f = OpenOptions::new().append(true).open(seg).unwrap();
                f.write_all(&[0xAB; 100]).unwrap();
            },
            5,
        );
        // Zero fill, as left by a filesystem after power loss.
        damage_and_reopen(
            |seg, _| {
                let mut f = OpenOptions::new().append(true).open(seg).unwrap();
                f.write_all(&[0; 4096]).unwrap();
            },
            5,
        );
    }

    #[test]
    fn flipped_crc_byte_truncates_from_that_record() {
        let flip_crc = |record: usize| {
            move |seg: &Path, ends: &[u64]| {
                let start = if record == 0 { 0 } else { ends[record - 1] };
                let mut f = OpenOptions::new().read(true).write(true).open(seg).unwrap();
                f.seek(SeekFrom::Start(start + 9)).unwrap();
                let mut b = [0u8; 1];
                f.read_exact(&mut b).unwrap();
                f.seek(SeekFrom::Start(start + 9)).unwrap();
                f.write_all(&[b[0] ^ 0x40]).unwrap();
            }
        };
        damage_and_reopen(flip_crc(4), 4);
        // Corruption in the middle of the last segment cuts from there on.
        damage_and_reopen(flip_crc(2), 2);
        damage_and_reopen(flip_crc(0), 0);
    }

    #[test]
    fn huge_length_field_is_treated_as_corruption() {
        damage_and_reopen(
            |seg, ends| {
                let mut f = OpenOptions::new().write(true).open(seg).unwrap();
                f.seek(SeekFrom::Start(ends[3] + 4)).unwrap();
                f.write_all(&u32::MAX.to_le_bytes()).unwrap();
            },
            4,
        );
    }

    #[test]
    fn empty_tail_segment_after_truncation_falls_back_to_previous_segment() {
        let dir = tempfile::tempdir().unwrap();
        {
            let mut log = AlertLog::open(dir.path(), cfg(200)).unwrap();
            fill(&mut log, 10);
        }
        let segs = segment_files(dir.path());
        assert!(segs.len() >= 2);
        let last = segs.last().unwrap();
        let base = parse_segment_name(last.file_name().unwrap().to_str().unwrap()).unwrap();
        OpenOptions::new()
            .write(true)
            .open(last)
            .unwrap()
            .set_len(5)
            .unwrap();
        let mut log = AlertLog::open(dir.path(), cfg(200)).unwrap();
        assert_eq!(log.recovery().removed_segments, vec![last.clone()]);
        assert_eq!(log.next_seq(), base);
        fill(&mut log, 10);
        assert_clean_prefix(&read_all(&log), base - 1 + 10);
    }

    #[test]
    fn corruption_inside_an_older_segment_is_reported_and_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = AlertLog::open(dir.path(), cfg(400)).unwrap();
        fill(&mut log, 30);
        let segs = segment_files(dir.path());
        assert!(segs.len() >= 3);
        // Damage the payload of the second record of the first segment.
        let first_len = FRAME_HEADER_LEN + payload_for(1).len() as u64;
        {
            let mut f = OpenOptions::new().write(true).open(&segs[0]).unwrap();
            f.seek(SeekFrom::Start(first_len + FRAME_HEADER_LEN + 1))
                .unwrap();
            f.write_all(b"GARBAGE").unwrap();
        }
        let second_base =
            parse_segment_name(segs[1].file_name().unwrap().to_str().unwrap()).unwrap();
        let items: Vec<Result<Record>> = log.read_from_seq(1).collect();
        assert_eq!(items[0].as_ref().unwrap().seq, 1);
        match &items[1] {
            Err(LogError::Corrupt { path, offset, kind }) => {
                assert_eq!(path, &segs[0]);
                assert_eq!(*offset, first_len);
                assert!(matches!(kind, Corruption::BadCrc { .. }));
                let msg = items[1].as_ref().unwrap_err().to_string();
                assert!(msg.contains(&segs[0].display().to_string()) && msg.contains("offset"));
            }
            other => panic!("expected corruption, got {other:?}"),
        }
        let rest: Vec<u64> = items[2..].iter().map(|r| r.as_ref().unwrap().seq).collect();
        assert_eq!(rest, (second_base..=30).collect::<Vec<_>>());
        // Reopen does not validate old segments and keeps working.
        drop(log);
        let mut log = AlertLog::open(dir.path(), cfg(400)).unwrap();
        assert!(log.recovery().is_clean());
        assert_eq!(log.append(31 * SEC, b"x").unwrap(), 31);
    }

    #[test]
    fn segments_roll_and_retention_by_bytes_keeps_newest() {
        let dir = tempfile::tempdir().unwrap();
        let config = LogConfig {
            retain_bytes: 2_000,
            ..cfg(500)
        };
        let mut log = AlertLog::open(dir.path(), config.clone()).unwrap();
        fill(&mut log, 200);
        let on_disk: u64 = segment_files(dir.path())
            .iter()
            .map(|p| fs::metadata(p).unwrap().len())
            .sum();
        assert_eq!(on_disk, log.total_bytes());
        // Retention runs at each roll, so the active segment may add up to
        // one segment on top of the limit.
        assert!(
            log.total_bytes() <= 2_000 + 500,
            "total {}",
            log.total_bytes()
        );
        assert!(
            log.total_bytes() >= 2_000 - 500,
            "deleted too much: {}",
            log.total_bytes()
        );
        for p in segment_files(dir.path()) {
            assert!(fs::metadata(&p).unwrap().len() <= 500);
        }
        let first = log.first_seq().unwrap();
        assert!(first > 1);
        // Asking for history older than retention starts at the oldest kept.
        let seqs: Vec<u64> = log.read_from_seq(1).map(|r| r.unwrap().seq).collect();
        assert_eq!(seqs, (first..=200).collect::<Vec<_>>());
        assert_eq!(log.last_seq(), Some(200));
        // Survives reopen; open applies retention too.
        drop(log);
        let log = AlertLog::open(dir.path(), config).unwrap();
        assert!(log.first_seq().unwrap() >= first);
        assert!(log.total_bytes() <= 2_000);
        assert_eq!(log.next_seq(), 201);
    }

    #[test]
    fn retention_by_age_drops_segments_older_than_limit() {
        let dir = tempfile::tempdir().unwrap();
        let config = LogConfig {
            retain_age: Some(Duration::from_secs(30)),
            ..cfg(400)
        };
        let mut log = AlertLog::open(dir.path(), config).unwrap();
        // One record per second for 200 seconds.
        fill(&mut log, 200);
        let first = log.read_from_seq(0).next().unwrap().unwrap();
        // Segments hold at most ~11 records; retention runs at rolls, so up
        // to about two segments' worth of records older than 30 s remain.
        assert!(
            first.time_ns >= (200 - 30 - 25) * SEC,
            "oldest kept {}",
            first.time_ns
        );
        assert!(
            first.time_ns <= (200 - 30) * SEC,
            "kept too little: {}",
            first.time_ns
        );
        // The active segment is never removed, even when it is old.
        log.apply_retention(10_000 * SEC).unwrap();
        assert_eq!(log.segment_count(), 1);
        assert_eq!(log.last_seq(), Some(200));
    }

    #[test]
    fn read_from_time_starts_at_first_record_at_or_after_time() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = AlertLog::open(dir.path(), cfg(300)).unwrap();
        fill(&mut log, 50); // record n has time n seconds
        let first = |t: u64| log.read_from_time(t).next().map(|r| r.unwrap().seq);
        assert_eq!(first(0), Some(1));
        assert_eq!(first(17 * SEC), Some(17));
        assert_eq!(first(17 * SEC + 1), Some(18));
        assert_eq!(first(50 * SEC), Some(50));
        assert_eq!(first(51 * SEC), None);
        assert_eq!(log.read_from_time(40 * SEC).count(), 11);
    }

    #[test]
    fn reader_sees_a_snapshot_and_tolerates_retention_behind_it() {
        let dir = tempfile::tempdir().unwrap();
        let config = LogConfig {
            retain_bytes: 1_000,
            ..cfg(300)
        };
        let mut log = AlertLog::open(dir.path(), config).unwrap();
        fill(&mut log, 20);
        let mut reader = log.read_from_seq(0);
        let first = reader.next().unwrap().unwrap().seq;
        fill(&mut log, 100); // deletes segments the reader has not opened
        let rest: Vec<u64> = reader.map(|r| r.unwrap().seq).collect();
        let mut all = vec![first];
        all.extend(rest);
        assert!(all.windows(2).all(|w| w[0] < w[1]));
        assert!(
            *all.last().unwrap() <= 20,
            "reader must not see later appends"
        );
    }

    #[test]
    fn oversized_payload_is_rejected_without_consuming_a_seq() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = AlertLog::open(dir.path(), cfg(1 << 20)).unwrap();
        let big = vec![0u8; MAX_PAYLOAD_LEN + 1];
        assert!(matches!(
            log.append(1, &big),
            Err(LogError::PayloadTooLarge { .. })
        ));
        assert_eq!(log.append(1, b"ok").unwrap(), 1);
    }

    #[test]
    fn fsync_policies_are_accepted_and_invalid_config_is_rejected() {
        for fsync in [
            FsyncPolicy::Always,
            FsyncPolicy::EveryN(3),
            FsyncPolicy::Never,
        ] {
            let dir = tempfile::tempdir().unwrap();
            let mut log = AlertLog::open(dir.path(), LogConfig { fsync, ..cfg(200) }).unwrap();
            fill(&mut log, 10);
            log.sync().unwrap();
            drop(log);
            let log = AlertLog::open(dir.path(), cfg(200)).unwrap();
            assert_clean_prefix(&read_all(&log), 10);
        }
        let dir = tempfile::tempdir().unwrap();
        let bad = LogConfig {
            fsync: FsyncPolicy::EveryN(0),
            ..cfg(200)
        };
        assert!(matches!(
            AlertLog::open(dir.path(), bad),
            Err(LogError::InvalidConfig(_))
        ));
        assert!(matches!(
            AlertLog::open(dir.path(), cfg(0)),
            Err(LogError::InvalidConfig(_))
        ));
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

        #[test]
        fn any_truncation_of_last_segment_reopens_to_a_clean_prefix(
            lens in proptest::collection::vec(0usize..300, 1..40),
            max_segment in 100u64..2_000,
            cut_permille in 0u64..=1000,
            garbage in proptest::collection::vec(any::<u8>(), 0..64),
        ) {
            let dir = tempfile::tempdir().unwrap();
            let payloads: Vec<Vec<u8>> = lens
                .iter()
                .enumerate()
                .map(|(i, &l)| vec![i as u8; l])
                .collect();
            {
                let mut log = AlertLog::open(dir.path(), cfg(max_segment)).unwrap();
                for (i, p) in payloads.iter().enumerate() {
                    prop_assert_eq!(log.append(i as u64, p).unwrap(), i as u64 + 1);
                }
            }
            let last = segment_files(dir.path()).pop().unwrap();
            let base = parse_segment_name(last.file_name().unwrap().to_str().unwrap()).unwrap();
            let len = fs::metadata(&last).unwrap().len();
            let cut = len * cut_permille / 1000;
            {
                let mut f = OpenOptions::new().write(true).open(&last).unwrap();
                f.set_len(cut).unwrap();
                f.seek(SeekFrom::End(0)).unwrap();
                f.write_all(&garbage).unwrap();
            }
            // Records of the last segment whose frames end within the cut.
            let mut end = 0;
            let mut kept = base - 1;
            for p in &payloads[(base - 1) as usize..] {
                end += FRAME_HEADER_LEN + p.len() as u64;
                if end > cut { break; }
                kept += 1;
            }

            let mut log = AlertLog::open(dir.path(), cfg(max_segment)).unwrap();
            let recs: Vec<Record> = read_all(&log);
            prop_assert_eq!(recs.len() as u64, kept);
            for (i, r) in recs.iter().enumerate() {
                prop_assert_eq!(r.seq, i as u64 + 1);
                prop_assert_eq!(&r.payload, &payloads[i]);
            }
            prop_assert_eq!(log.next_seq(), kept + 1);
            prop_assert_eq!(log.append(999, b"after").unwrap(), kept + 1);
            drop(log);
            let log = AlertLog::open(dir.path(), cfg(max_segment)).unwrap();
            prop_assert!(log.recovery().is_clean());
            prop_assert_eq!(log.last_seq(), Some(kept + 1));
        }
    }

    const KILL9_DIR_ENV: &str = "KESTREL_ALERTLOG_KILL9_DIR";
    const KILL9_ACK: &str = "KILL9-ACK ";

    /// Child half of `kill9_during_appends_leaves_a_clean_prefix`: appends
    /// until killed (or 60 s pass), printing acknowledged seqs.
    #[test]
    #[ignore = "helper: run as a child process by kill9_during_appends_leaves_a_clean_prefix"]
    fn kill9_child_appender() {
        let Some(dir) = std::env::var_os(KILL9_DIR_ENV) else {
            return;
        };
        let mut log = AlertLog::open(&dir, cfg(64 << 10)).unwrap();
        let started = Instant::now();
        let mut out = io::stdout().lock();
        while started.elapsed() < Duration::from_secs(60) {
            let seq = log.next_seq();
            log.append(seq, &payload_for(seq)).unwrap();
            if seq.is_multiple_of(100) {
                writeln!(out, "{KILL9_ACK}{seq}").unwrap();
                out.flush().unwrap();
            }
        }
    }

    #[test]
    fn kill9_during_appends_leaves_a_clean_prefix() {
        let dir = tempfile::tempdir().unwrap();
        let exe = std::env::current_exe().unwrap();
        // Test names are module paths without the crate name.
        let module = module_path!().split_once("::").map_or("", |(_, rest)| rest);
        let child_test = format!("{module}::kill9_child_appender");
        let mut acked = 0;
        for round in 0..3u64 {
            let mut child = std::process::Command::new(&exe)
                .args([
                    child_test.as_str(),
                    "--exact",
                    "--include-ignored",
                    "--nocapture",
                ])
                .args(["--test-threads", "1"])
                .env(KILL9_DIR_ENV, dir.path())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::null())
                .spawn()
                .unwrap();
            let stdout = child.stdout.take().unwrap();
            let target = acked + 3_000 + round * 1_234;
            for line in io::BufReader::new(stdout).lines() {
                let line = line.unwrap();
                if let Some(n) = line.strip_prefix(KILL9_ACK) {
                    acked = n.trim().parse().unwrap();
                    if acked >= target {
                        break;
                    }
                }
            }
            child.kill().unwrap(); // SIGKILL on unix
            child.wait().unwrap();
            assert!(acked >= target, "child stopped early at {acked}");

            let log = AlertLog::open(dir.path(), cfg(64 << 10)).unwrap();
            let recs = read_all(&log);
            let n = recs.len() as u64;
            assert!(n >= acked, "lost acknowledged records: {n} < {acked}");
            assert_clean_prefix(&recs, n);
            assert_eq!(log.next_seq(), n + 1);
        }
    }

    /// Rough append throughput; run with
    /// `cargo test --release -- --ignored --nocapture bench_append_rate`.
    #[test]
    #[ignore = "benchmark"]
    fn bench_append_rate() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = AlertLog::open(dir.path(), LogConfig::default()).unwrap();
        let payload = vec![0x5a; 256];
        let n = 500_000u64;
        let t = Instant::now();
        for i in 0..n {
            log.append(i, &payload).unwrap();
        }
        log.sync().unwrap();
        let s = t.elapsed().as_secs_f64();
        println!(
            "append: {:.0} records/s, {:.1} MB/s",
            n as f64 / s,
            log.total_bytes() as f64 / s / 1e6
        );
    }
}
