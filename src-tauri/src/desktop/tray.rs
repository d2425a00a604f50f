//! The tray icon: open the window, copy the LAN URL, quit.

use tauri::{
    menu::{Menu, MenuItem},
    tray::TrayIconBuilder,
    AppHandle, Manager,
};
use tauri_plugin_clipboard_manager::ClipboardExt;

use super::{show_main_window, Shell};

pub fn install(app: &AppHandle) -> tauri::Result<()> {
    let open = MenuItem::with_id(app, "open", "Open Relay Deck", true, None::<&str>)?;
    let copy = MenuItem::with_id(app, "copy-lan", "Copy LAN URL", true, None::<&str>)?;
    let quit = MenuItem::with_id(app, "quit", "Quit", true, None::<&str>)?;
    let menu = Menu::with_items(app, &[&open, &copy, &quit])?;
    let mut tray = TrayIconBuilder::with_id("main")
        .tooltip("Relay Deck")
        .menu(&menu);
    if let Some(icon) = app.default_window_icon() {
        tray = tray.icon(icon.clone());
    }
    tray.on_menu_event(|app, event| match event.id().as_ref() {
        "open" => show_main_window(app),
        "copy-lan" => copy_lan_url(app),
        "quit" => app.exit(0),
        _ => {}
    })
    .build(app)?;
    Ok(())
}

fn copy_lan_url(app: &AppHandle) {
    let shell = app.state::<Shell>();
    let url = shell
        .lan_url
        .clone()
        .unwrap_or_else(|| shell.base_url.clone());
    if let Err(e) = app.clipboard().write_text(url) {
        tracing::warn!("copying the LAN URL: {e}");
    }
}
