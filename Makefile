# The two commands of the README, and the steps behind them.
#   make run    build the UI, then run the desktop app (or the headless relay without a display)
#   make test   every test: formatting and lints, UI unit tests, Rust tests, browser and desktop end-to-end tests
#   (after changing a wire type: cd ui && npm run contract:write)

.PHONY: run test ui ui-test rust-test e2e lint bench-window dist dist-check dist-test container

# The built UI is embedded in the binary, so it is built first.
ui:
	cd ui && npm run build

run: ui
	cargo run --release

ui-test:
	cd ui && npm test

rust-test: ui
	cargo test --workspace --locked

# Real browsers and the real desktop window against the debug binary.
e2e: ui
	cargo build -p relaydeck --locked
	node --test tests/e2e/ui.e2e.mjs
	node --test tests/e2e/pages.e2e.mjs
	node --test tests/e2e/pair.e2e.mjs
	node --test tests/e2e/webrtc.e2e.mjs
	node --test tests/e2e/files.e2e.mjs
	node --test tests/e2e/library.e2e.mjs
	node --test tests/e2e/ops.e2e.mjs
	node --test tests/e2e/openapi.e2e.mjs
	node tests/e2e/in-lan.mjs node --test tests/e2e/desktop.e2e.mjs

# rustfmt and clippy stay clean, headless and desktop (clippy builds every
# target, the UI first; building the UI checks the generated contract types
# and runs tsc --strict).
lint: ui
	cargo fmt --all --check
	cargo clippy --workspace --all-targets --locked -- -D warnings
	cargo clippy -p relaydeck --no-default-features --all-targets --locked -- -D warnings

test: lint ui-test rust-test e2e dist-test

# What the desktop window costs, page by page, beside headless Chromium
# (docs/BENCHMARKS.md; not part of `make test`: it measures, it does not assert).
bench-window: ui
	cargo build --release -p relaydeck --locked
	node tests/bench/window-cpu.mjs --bin target/release/relaydeck

# The two Debian packages, in target/dist (dpkg-deb; src-tauri/packaging):
# relaydeck-server (headless `serve`, a hardened systemd unit) and relaydeck
# (the desktop app: menu entry, icon, WebKitGTK's runtime as dependencies).
dist: ui
	cargo build --release -p relaydeck --no-default-features --locked
	bash src-tauri/packaging/deb.sh server target/release/relaydeck target/dist
	cargo build --release -p relaydeck --locked
	bash src-tauri/packaging/deb.sh desktop target/release/relaydeck target/dist

# Installs each package in a clean Debian 12 root (mmdebstrap, cached in
# /var/cache/relaydeck-test; root, network to Debian's mirror) and checks it
# there; lintian must report no error.
dist-check: dist
	bash tests/dist/inspect.sh server target/dist/relaydeck-server_*.deb
	bash tests/dist/inspect.sh desktop target/dist/relaydeck_*.deb
	lintian --fail-on error target/dist/relaydeck-server_*.deb target/dist/relaydeck_*.deb
	bash tests/dist/in-clean-root.sh server target/dist/relaydeck-server_*.deb
	bash tests/dist/in-clean-root.sh desktop target/dist/relaydeck_*.deb

# The container image of `serve` (src-tauri/packaging/Containerfile) on a
# Debian root filesystem with the relaydeck-server package, checked by
# tests/dist/container.sh (which runs it where podman can).
container: ui
	cargo build --release -p relaydeck --no-default-features --locked
	bash src-tauri/packaging/deb.sh server target/release/relaydeck target/dist
	bash tests/dist/container.sh target/dist/relaydeck-server_*.deb

# What `dist-check` and `container` check, in `make test`: the same scripts on
# packages made from debug builds (the desktop binary the end-to-end tests
# use, and a headless one), since two release builds would add some 25
# minutes to every CI run. `make dist-check` checks the release packages.
dist-test: ui
	cargo build -p relaydeck --no-default-features --locked
	mkdir -p target/dist-test
	cp target/debug/relaydeck target/dist-test/relaydeck-headless
	cargo build -p relaydeck --locked
	rm -f target/dist-test/*.deb
	bash src-tauri/packaging/deb.sh server target/dist-test/relaydeck-headless target/dist-test
	bash src-tauri/packaging/deb.sh desktop target/debug/relaydeck target/dist-test
	bash tests/dist/inspect.sh server target/dist-test/relaydeck-server_*.deb
	bash tests/dist/inspect.sh desktop target/dist-test/relaydeck_*.deb
	lintian --fail-on error target/dist-test/relaydeck-server_*.deb target/dist-test/relaydeck_*.deb
	bash tests/dist/in-clean-root.sh server target/dist-test/relaydeck-server_*.deb
	bash tests/dist/in-clean-root.sh desktop target/dist-test/relaydeck_*.deb
	bash tests/dist/container.sh target/dist-test/relaydeck-server_*.deb
