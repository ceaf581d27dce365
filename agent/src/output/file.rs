//! A file writer with size-based rotation: when a write would take the file
//! past `max_bytes`, `file` becomes `file.1`, `file.1` becomes `file.2`, …,
//! and the oldest beyond `keep` rotated files is deleted. Files are created
//! with mode 0600. Small own code: the crates that do this pull in a date
//! library and compression we do not need.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
#[cfg(unix)]
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// Size-rotated append-only file.
#[derive(Debug)]
pub struct RotatingFile {
    path: PathBuf,
    max_bytes: u64,
    keep: usize,
    file: File,
    size: u64,
    rotations: u64,
}

fn open(path: &Path) -> io::Result<File> {
    let mut o = OpenOptions::new();
    o.create(true).append(true);
    #[cfg(unix)]
    o.mode(0o600);
    o.open(path)
}

impl RotatingFile {
    /// Opens (appending) `path`; keeps at most `keep` rotated files next to
    /// it. `max_bytes` of 0 is treated as 1.
    pub fn open(path: impl Into<PathBuf>, max_bytes: u64, keep: usize) -> io::Result<Self> {
        let path = path.into();
        let file = open(&path)?;
        let size = file.metadata()?.len();
        Ok(Self {
            path,
            max_bytes: max_bytes.max(1),
            keep,
            file,
            size,
            rotations: 0,
        })
    }

    fn rotated(&self, n: usize) -> PathBuf {
        let mut s = self.path.clone().into_os_string();
        s.push(format!(".{n}"));
        PathBuf::from(s)
    }

    /// How many rotations happened since open.
    pub fn rotations(&self) -> u64 {
        self.rotations
    }

    fn rotate(&mut self) -> io::Result<()> {
        self.file.flush()?;
        if self.keep == 0 {
            fs::remove_file(&self.path).or_else(ignore_missing)?;
        } else {
            fs::remove_file(self.rotated(self.keep)).or_else(ignore_missing)?;
            for n in (1..self.keep).rev() {
                fs::rename(self.rotated(n), self.rotated(n + 1)).or_else(ignore_missing)?;
            }
            fs::rename(&self.path, self.rotated(1)).or_else(ignore_missing)?;
        }
        self.file = open(&self.path)?;
        self.size = 0;
        self.rotations += 1;
        Ok(())
    }
}

fn ignore_missing(e: io::Error) -> io::Result<()> {
    if e.kind() == io::ErrorKind::NotFound {
        Ok(())
    } else {
        Err(e)
    }
}

impl Write for RotatingFile {
    /// Writes the whole buffer to one file, rotating first if it would not
    /// fit: one `write`/`write_all` call is never split across files, so
    /// write each record with a single call (not `writeln!`, which may
    /// issue several).
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.size > 0 && self.size + buf.len() as u64 > self.max_bytes {
            self.rotate()?;
        }
        self.file.write_all(buf)?;
        self.size += buf.len() as u64;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotation_keeps_n_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("alerts.json");
        let mut f = RotatingFile::open(&path, 100, 3).unwrap();
        for i in 0..100 {
            let line = format!("{{\"line\":{i:04}, \"pad\":\"xxxxxxxxxxxx\"}}\n");
            f.write_all(line.as_bytes()).unwrap();
        }
        f.flush().unwrap();
        let mut names: Vec<String> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(
            names,
            [
                "alerts.json",
                "alerts.json.1",
                "alerts.json.2",
                "alerts.json.3"
            ]
        );
        for n in &names {
            let len = fs::metadata(dir.path().join(n)).unwrap().len();
            assert!(len <= 100, "{n} has {len} bytes");
        }
        // The newest line is in the current file, older ones in .1.
        let cur = fs::read_to_string(&path).unwrap();
        assert!(cur.contains("\"line\":0099"));
        let prev = fs::read_to_string(dir.path().join("alerts.json.1")).unwrap();
        let last_prev: u32 = prev.lines().last().unwrap()[8..12].parse().unwrap();
        let first_cur: u32 = cur.lines().next().unwrap()[8..12].parse().unwrap();
        assert_eq!(last_prev + 1, first_cur);
        assert!(f.rotations() > 3);
    }
}
