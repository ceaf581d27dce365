//! Compact one-line rendering of events for humans (`--events --output text`).

use std::io::Write as _;

use crate::event::{Event, EventBody};

/// `15:04:05.123456 exec pid=42 ppid=7 uid=0 cg=1234 bash: /bin/ls ls -la`
pub fn format_event(event: &Event, line: &mut Vec<u8>) {
    let h = &event.header;
    let secs = h.time_ns / 1_000_000_000;
    let (hh, mm, ss) = ((secs / 3600) % 24, (secs / 60) % 60, secs % 60);
    let micros = (h.time_ns % 1_000_000_000) / 1000;
    let _ = write!(
        line,
        "{hh:02}:{mm:02}:{ss:02}.{micros:06} {:<5} pid={} ppid={} uid={} cg={} {}:",
        event.kind().as_str(),
        h.tgid,
        h.ppid,
        h.uid,
        h.cgroup_id,
        h.comm
    );
    let _ = match &event.body {
        EventBody::Exec(e) => {
            let _ = write!(line, " {}", e.filename);
            for arg in &e.args {
                let _ = write!(line, " {arg}");
            }
            if e.args_truncated {
                line.extend_from_slice(" …".as_bytes());
            }
            Ok(())
        }
        EventBody::Fork(f) => write!(line, " child={}", f.child_tgid),
        EventBody::Exit(x) if x.signal != 0 => write!(line, " signal={}", x.signal),
        EventBody::Exit(x) => write!(line, " status={}", x.status),
        EventBody::Syscall(s) => {
            let _ = write!(line, " {}", s.name);
            if let Ok(args) = serde_json::to_string(&s.args) {
                let _ = write!(line, " {args}");
            }
            if let Some(path) = &s.fd_path {
                let _ = write!(line, " fd={path}");
            }
            if let Some(t) = &s.tuple {
                let _ = write!(line, " {}", t.proto);
                if let Ok(ends) = serde_json::to_string(&(&t.local, &t.remote)) {
                    let _ = write!(line, " {ends}");
                }
            }
            write!(line, " = {}", s.ret)
        }
        EventBody::FirstSyscall(f) => write!(line, " first use of {} ({})", f.name, f.nr),
        EventBody::Cgroup(c) => write!(
            line,
            " cgroup {} {} id={}",
            if c.created { "mkdir" } else { "rmdir" },
            c.path,
            c.id
        ),
    };
}
