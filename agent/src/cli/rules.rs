//! `kestrel rules check` and `kestrel rules fields`.

use std::{path::PathBuf, process::ExitCode};

use anyhow::Context as _;

use crate::rules::{self, RuleSource, fields::CATALOG};

/// Read rule files, with the embedded defaults first when asked.
pub fn sources(paths: &[PathBuf], with_defaults: bool) -> anyhow::Result<Vec<RuleSource>> {
    let mut sources = if with_defaults {
        rules::default_sources()
    } else {
        Vec::new()
    };
    for path in paths {
        sources.push(
            RuleSource::from_path(path)
                .with_context(|| format!("reading rule file {}", path.display()))?,
        );
    }
    Ok(sources)
}

pub fn check(paths: &[PathBuf], with_defaults: bool) -> anyhow::Result<ExitCode> {
    let sources = if paths.is_empty() {
        rules::default_sources()
    } else {
        sources(paths, with_defaults)?
    };
    let report = rules::check(&sources);
    print!("{report}");
    Ok(if report.ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

pub fn fields() {
    let mut rows: Vec<_> = CATALOG.iter().collect();
    rows.sort_by_key(|f| f.name);
    for f in rows {
        let captured = if f.captured(&rules::fields::FieldArg::None) {
            ""
        } else {
            "  (not captured yet)"
        };
        println!("{:<28} {}{captured}", f.name, f.desc);
    }
}
