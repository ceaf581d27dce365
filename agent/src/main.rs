//! The `kestrel` binary: see `kestrel --help`.

fn main() -> std::process::ExitCode {
    match kestrel::cli::main() {
        Ok(code) => code,
        // A closed pipe (`kestrel alerts | head`) is the reader's choice.
        Err(err)
            if err.chain().any(|e| {
                e.downcast_ref::<std::io::Error>()
                    .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            }) =>
        {
            std::process::ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("kestrel: error: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
