#!/usr/bin/env bash
# Builds a Debian package from a release binary with dpkg-deb (no debhelper,
# no cargo-deb: only what Debian 12 itself has).
#
#   deb.sh server BINARY OUTDIR    relaydeck-server: headless `serve`, a hardened systemd unit
#   deb.sh desktop BINARY OUTDIR   relaydeck: the desktop app (which also runs `serve`), menu entry, icon
#
# Dependencies are read off the binary: the libraries it names (NEEDED; ldd
# finds each, dpkg -S its package) and the newest glibc symbol it uses.
set -euo pipefail
kind=$1 bin=$2 out=$3
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
version=$(sed -n 's/^version = "\(.*\)"/\1/p' "$root/Cargo.toml" | head -1)
arch=$(dpkg --print-architecture)
maintainer=${DEB_MAINTAINER:-Relay Deck developers <relaydeck@users.noreply.github.com>}

depends_of() {
  local glibc pkgs=() paths
  glibc=$(objdump -T "$1" | grep -o 'GLIBC_[0-9.]*' | sort -Vu | tail -1 | cut -d_ -f2)
  paths=$(ldd "$1")
  # Only the libraries the binary names itself (NEEDED), as dpkg-shlibdeps does:
  # what they need in turn, their own packages depend on.
  for soname in $(objdump -p "$1" | awk '/NEEDED/{print $2}'); do
    lib=$(awk -v so="$soname" '$1 == so && $3 ~ /^\// {print $3}' <<<"$paths")
    [ -n "$lib" ] || continue
    real=$(readlink -f "$lib")
    # dpkg knows a library by the path its package ships (/lib or /usr/lib: merged /usr).
    pkg=$( (dpkg -S "$real" || dpkg -S "${real#/usr}" || dpkg -S "/usr$real") 2>/dev/null | head -1 | cut -d: -f1) || true
    [ -n "$pkg" ] && [ "$pkg" != libc6 ] && pkgs+=("$pkg")
  done
  printf 'libc6 (>= %s)' "$glibc"
  printf ', %s' $(printf '%s\n' "${pkgs[@]}" | sed 's/-dev$//' | sort -u)
}

# A Debian changelog entry for this version, dated by the last commit.
changelog() {
  printf '%s (%s) unstable; urgency=medium\n\n  * Release %s.\n\n -- %s  %s\n' \
    "$1" "$version" "$version" "$maintainer" "$(date -R -d @"${SOURCE_DATE_EPOCH:-$(git -C "$root" log -1 --format=%ct)}")"
}

# What both packages hold, in a fresh staging root for package $name: the
# stripped binary, the docs Debian asks for, the lintian overrides (libjpeg-turbo
# is built into the binary by turbojpeg's static build: not Debian's policy,
# but the version the relay was tested with).
stage_common() {
  stage=$(mktemp -d)
  trap 'rm -rf "$stage"' EXIT
  chmod 0755 "$stage"
  install -D -m 0755 "$bin" "$stage/usr/bin/relaydeck"
  strip --strip-unneeded "$stage/usr/bin/relaydeck"
  install -D -m 0644 "$root/README.md" "$stage/usr/share/doc/$name/README.md"
  install -D -m 0644 "$here/copyright" "$stage/usr/share/doc/$name/copyright"
  changelog "$name" | gzip -9n > "$stage/usr/share/doc/$name/changelog.gz"
  mkdir -p "$stage/usr/share/lintian/overrides" "$stage/DEBIAN"
  sed "s/^relaydeck-server:/$name:/" "$here/lintian-overrides" > "$stage/usr/share/lintian/overrides/$name"
}

case $kind in
  server)
    name=relaydeck-server
    stage_common
    install -D -m 0644 "$here/relaydeck-server.service" "$stage/lib/systemd/system/relaydeck-server.service"
    install -D -m 0644 "$here/relaydeck-server.default" "$stage/etc/default/relaydeck-server"
    install -m 0755 "$here/server.postinst" "$stage/DEBIAN/postinst"
    install -m 0755 "$here/server.prerm" "$stage/DEBIAN/prerm"
    install -m 0755 "$here/server.postrm" "$stage/DEBIAN/postrm"
    echo /etc/default/relaydeck-server > "$stage/DEBIAN/conffiles"
    cat > "$stage/DEBIAN/control" <<CONTROL
Package: $name
Version: $version
Architecture: $arch
Maintainer: $maintainer
Installed-Size: $(du -sk "$stage" | cut -f1)
Depends: $(depends_of "$bin"), adduser, init-system-helpers (>= 1.54)
Conflicts: relaydeck
Replaces: relaydeck
Section: net
Priority: optional
Homepage: https://github.com/relaydeck/relaydeck
Description: private live-streaming relay for cameras and audio (headless)
 Relay Deck takes camera frames (JPEG over WebSocket, the host webcam) and
 live audio (browsers, microcontroller devkits over TCP/UDP) and serves them
 to a multi-camera grid, MJPEG and snapshot clients, WebSocket PCM, live WAV
 and WebRTC, with recording and a Prometheus endpoint.
 .
 This package runs it as a hardened systemd service (relaydeck-server).
CONTROL
    ;;
  desktop)
    name=relaydeck
    stage_common
    install -D -m 0644 "$here/relaydeck.desktop" "$stage/usr/share/applications/relaydeck.desktop"
    install -D -m 0644 "$root/icons/icon.png" "$stage/usr/share/icons/hicolor/256x256/apps/relaydeck.png"
    cat > "$stage/DEBIAN/control" <<CONTROL
Package: $name
Version: $version
Architecture: $arch
Maintainer: $maintainer
Installed-Size: $(du -sk "$stage" | cut -f1)
Depends: $(depends_of "$bin")
Conflicts: relaydeck-server
Replaces: relaydeck-server
Section: video
Priority: optional
Homepage: https://github.com/relaydeck/relaydeck
Description: private live-streaming hub for your cameras and audio (desktop app)
 Relay Deck turns this computer into a private live-streaming hub: camera
 frames from the webcam, browsers and phones, live audio from the microphone,
 browsers and microcontroller devkits (paired over Bluetooth LE), served to a
 multi-camera grid, MJPEG and snapshot clients, WebSocket PCM, live WAV and
 WebRTC, with recording on motion.
 .
 The same binary runs the relay headless (relaydeck serve); for a server
 without a desktop, install relaydeck-server instead.
CONTROL
    ;;
  *)
    echo "deb.sh: unknown package '$kind' (server, desktop)" >&2
    exit 2
    ;;
esac
mkdir -p "$out"
deb="$out/${name}_${version}_${arch}.deb"
dpkg-deb --root-owner-group -Zxz --build "$stage" "$deb" >/dev/null
echo "$deb"
