//! Embeds the built UI (`ui/dist`, made by `npm run build` in `ui/`) when it
//! exists. The Rust build never runs npm: without a built UI the binary
//! serves a small page that says how to build it.

use std::{env, fs, path::Path};

fn main() {
    let manifest = env::var("CARGO_MANIFEST_DIR").unwrap();
    let ui = Path::new(&manifest).join("../../../ui");
    let dist = ui.join("dist");
    // Watching ui/ (not ui/dist) also notices when dist/ first appears.
    println!("cargo:rerun-if-changed={}", dist.display());
    println!("cargo:rerun-if-changed={}", ui.join("index.html").display());

    let mut files = Vec::new();
    if dist.join("index.html").is_file() {
        collect(&dist, &dist, &mut files);
    }
    files.sort();
    let mut out = String::from("/// Files of the built UI: (URL path, contents).\npub static UI_FILES: &[(&str, &[u8])] = &[\n");
    for (url, path) in &files {
        out.push_str(&format!("    ({url:?}, include_bytes!({path:?})),\n"));
    }
    out.push_str("];\n");
    fs::write(
        Path::new(&env::var("OUT_DIR").unwrap()).join("ui_assets.rs"),
        out,
    )
    .unwrap();
}

fn collect(root: &Path, dir: &Path, files: &mut Vec<(String, String)>) {
    for entry in fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(root, &path, files);
        } else {
            let rel = path
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            files.push((
                format!("/{rel}"),
                path.canonicalize().unwrap().display().to_string(),
            ));
        }
    }
}
