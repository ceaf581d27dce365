//! The `kestrel` binary: see `kestrel --help`.

fn main() -> std::process::ExitCode {
    match kestrel::cli::main() {
        Ok(code) => code,
        Err(err) => {
            eprintln!("kestrel: error: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
