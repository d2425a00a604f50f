//! How the window paints.
//!
//! WebKitGTK composites the page with OpenGL. Without a GPU that OpenGL is
//! Mesa's software rasteriser (llvmpipe), and compositing the whole window in
//! it for every camera frame cost one 640×480 15 fps tile more than half a
//! core, three quarters of it in llvmpipe's shader code (profiled with
//! `perf`; docs/BENCHMARKS.md). Without a GPU render node the window turns
//! WebKit's compositing mode off instead: it paints only what changed, in
//! software, for a sixth of that. With a GPU WebKit keeps its default; a
//! `WEBKIT_DISABLE_COMPOSITING_MODE` the user set always wins.

use std::path::Path;

const VAR: &str = "WEBKIT_DISABLE_COMPOSITING_MODE";

/// Chooses before the first web view exists (and before any other thread
/// runs: it sets an environment variable the web process inherits).
pub fn choose() {
    if std::env::var_os(VAR).is_some() {
        return;
    }
    if has_gpu(Path::new("/dev/dri")) {
        tracing::debug!("a GPU render node is present: WebKit composites with it");
        return;
    }
    tracing::info!(
        "no GPU render node: the window paints without compositing (cheaper in software)"
    );
    std::env::set_var(VAR, "1");
}

/// Whether `dri` holds a render node (`renderD128`, …): a GPU the web process can use.
fn has_gpu(dri: &Path) -> bool {
    std::fs::read_dir(dri).is_ok_and(|entries| {
        entries
            .flatten()
            .any(|e| e.file_name().to_string_lossy().starts_with("renderD"))
    })
}

#[cfg(test)]
mod tests {
    use super::has_gpu;

    #[test]
    fn a_render_node_is_a_gpu_and_anything_else_is_not() {
        let dir = std::env::temp_dir().join(format!("relaydeck-dri-{}", std::process::id()));
        assert!(!has_gpu(&dir), "no /dev/dri at all");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("card0"), b"").unwrap();
        assert!(!has_gpu(&dir), "a display controller alone renders nothing");
        std::fs::write(dir.join("renderD128"), b"").unwrap();
        assert!(has_gpu(&dir));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
