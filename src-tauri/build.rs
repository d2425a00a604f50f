//! With the `desktop` feature, Tauri's build step reads the root
//! `tauri.conf.json` and this crate's `capabilities/`.
fn main() {
    #[cfg(feature = "desktop")]
    tauri_build::try_build(tauri_build::Attributes::new().config_path("../tauri.conf.json")).expect("tauri-build");
}
