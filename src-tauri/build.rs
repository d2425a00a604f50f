//! With the `desktop` feature, Tauri's build step reads the root
//! `tauri.conf.json` and this crate's `capabilities/`. The app's own commands
//! get permissions (`allow-desktop-info`, `allow-copy-lan-url`, `allow-ble-*`) so the
//! capability can grant them to the window, whose page comes from the relay.
fn main() {
    #[cfg(feature = "desktop")]
    tauri_build::try_build(
        tauri_build::Attributes::new()
            .config_path("../tauri.conf.json")
            .app_manifest(tauri_build::AppManifest::new().commands(&[
                "desktop_info",
                "copy_lan_url",
                "ble_boards",
                "ble_open",
                "ble_networks",
                "ble_identify",
                "ble_provision",
                "ble_cancel",
                "ble_pair_progress",
            ])),
    )
    .expect("tauri-build");
}
