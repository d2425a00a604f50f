//! Writes or checks the UI's generated TypeScript types.
//!
//! `cargo run -p relaydeck-contract -- --write ui/src/generated/contract.ts`
//! `cargo run -p relaydeck-contract -- --check ui/src/generated/contract.ts` (exit 1 when stale)

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (mode, path) = match args.as_slice() {
        [mode, path] if mode == "--write" || mode == "--check" => (mode.as_str(), path),
        _ => {
            eprintln!("usage: relaydeck-contract --write|--check PATH");
            return ExitCode::from(2);
        }
    };
    let fresh = relaydeck_contract::typescript();
    if mode == "--write" {
        if let Err(e) = std::fs::write(path, &fresh) {
            eprintln!("cannot write {path}: {e}");
            return ExitCode::FAILURE;
        }
        return ExitCode::SUCCESS;
    }
    match std::fs::read_to_string(path) {
        Ok(current) if current == fresh => ExitCode::SUCCESS,
        Ok(_) => {
            eprintln!("{path} is stale: the Rust wire types changed. Regenerate it:\n  cargo run -p relaydeck-contract -- --write {path}");
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("cannot read {path}: {e}");
            ExitCode::FAILURE
        }
    }
}
