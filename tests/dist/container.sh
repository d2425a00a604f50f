#!/usr/bin/env bash
# Builds the relay's container image (src-tauri/packaging/Containerfile) on a
# root filesystem made from Debian's packages, and checks it.
#
#   tests/dist/container.sh target/dist/relaydeck-server_*.deb
#
# 1. mmdebstrap makes a Debian 12 root (cached in /var/cache/relaydeck-test)
#    and installs the package in it; `podman import` makes it an image.
# 2. `podman build --format docker` adds the Containerfile's settings; the
#    image's configuration is checked (user, volume, ports, health check,
#    entry point).
# 3. Where podman can run containers, the image runs and its health check
#    passes. Where it cannot (this VM: crun cannot set RLIMIT_NOFILE), the
#    script says so plainly and runs the image's root filesystem as the
#    container would instead: its user, environment and entry point in a
#    chroot, its health check command against it, and the first-start
#    password in a 0600 file of the volume, never in the log.
set -euo pipefail
deb=$(readlink -f "$1")
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
version=$(dpkg-deb -f "$deb" Version)
cache=/var/cache/relaydeck-test
mkdir -p "$cache"
rootfs=$cache/relaydeck-server-rootfs-$(sha256sum "$deb" | cut -c1-16).tar
image=localhost/relaydeck-server:$version
base=localhost/relaydeck-server-rootfs:$version

if [ ! -f "$rootfs" ]; then
  # The package's own dependencies come from Debian's mirror; its postinst
  # makes the relaydeck user. The state directory is the volume's mount point.
  mmdebstrap --variant=apt --format=tar --include=ca-certificates,curl \
    --customize-hook="copy-in $deb /tmp" \
    --customize-hook='chroot "$1" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq /tmp/'"$(basename "$deb")"' >/dev/null' \
    --customize-hook='chroot "$1" install -d -m 0700 -o relaydeck -g relaydeck /var/lib/relaydeck' \
    --customize-hook='rm -f "$1"/tmp/*.deb; rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*' \
    bookworm "$rootfs.part" http://deb.debian.org/debian
  mv "$rootfs.part" "$rootfs"
fi
podman import --quiet "$rootfs" "$base" >/dev/null
podman build --quiet --format docker --build-arg "BASE=$base" -t "$image" -f "$root/src-tauri/packaging/Containerfile" "$root/src-tauri/packaging" >/dev/null
echo "built $image ($(podman image inspect "$image" --format '{{.Size}}') bytes)"

# The image's configuration, as a runtime reads it.
config=$(podman image inspect "$image" --format json)
check() {
  python3 -c 'import json, sys; c = json.load(sys.stdin)[0]; sys.exit(0 if eval(sys.argv[1]) else 1)' "$1" <<<"$config" \
    || { echo "image check failed: $1" >&2; exit 1; }
}
check 'c["Config"]["User"] == "relaydeck"'
check '"/var/lib/relaydeck" in c["Config"]["Volumes"]'
check 'all(p in c["Config"]["ExposedPorts"] for p in ["3000/tcp", "5000/tcp", "5001/udp"])'
check 'c["Config"]["Entrypoint"] == ["/usr/bin/relaydeck", "serve"]'
check '"RELAYDECK_BIND=0.0.0.0:3000" in c["Config"]["Env"]'
check '"/api/health" in " ".join(c["Healthcheck"]["Test"])'
echo "image configuration: user, volume, ports, environment, entry point and health check as the Containerfile says"

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
name=relaydeck-test-$$
if podman run -d --name "$name" -p "127.0.0.1:$port:3000" "$image" >/tmp/$name.run 2>&1; then
  trap 'podman rm -f "$name" >/dev/null 2>&1 || true' EXIT
  for _ in $(seq 60); do
    podman healthcheck run "$name" >/dev/null 2>&1 && break
    sleep 1
  done
  podman healthcheck run "$name"
  curl -fsS "http://127.0.0.1:$port/api/health"; echo
  podman exec "$name" sh -c 'test "$(stat -c %a /var/lib/relaydeck/initial-admin-password)" = 600'
  ! podman logs "$name" 2>&1 | grep -qf <(podman exec "$name" cat /var/lib/relaydeck/initial-admin-password)
  echo "container: runs, passes its health check, password in a 0600 file of the volume and not in the log"
  exit 0
fi
echo "podman cannot run containers on this machine: $(tail -1 /tmp/$name.run)"
podman rm -f "$name" >/dev/null 2>&1 || true
echo "running the image's root filesystem as the container would, in a chroot, instead"

# The image's own root filesystem (as built, Containerfile layers included).
dir=$(mktemp -d /tmp/relaydeck-image.XXXXXX)
chmod 0755 "$dir" # the root of a filesystem: its user must get in
cleanup() {
  [ -n "${relay:-}" ] && kill "$relay" 2>/dev/null || true
  umount -R "$dir/proc" 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT
cid=$(podman create "$image")
podman export "$cid" | tar -C "$dir" -xf -
podman rm "$cid" >/dev/null
mount -t proc proc "$dir/proc"
env_args=$(python3 -c 'import json,sys,shlex; c=json.load(sys.stdin)[0]["Config"]; print(" ".join(shlex.quote(e) for e in c["Env"]))' <<<"$config")
log=$(mktemp)
# The image's user, environment and entry point; the published port in place of 3000.
eval chroot --userspec=relaydeck:relaydeck "$dir" /usr/bin/env -i $env_args \
  RELAYDECK_BIND=127.0.0.1:$port RELAYDECK_DEVKIT_TCP_PORT=0 RELAYDECK_DEVKIT_UDP_PORT=0 \
  /usr/bin/relaydeck serve >"$log" 2>&1 &
relay=$!
health=$(python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["Healthcheck"]["Test"][-1])' <<<"$config")
for _ in $(seq 100); do
  chroot "$dir" /bin/sh -c "${health//3000/$port}" >/dev/null 2>&1 && break
  sleep 0.2
done
chroot "$dir" /bin/sh -c "${health//3000/$port}" || { cat "$log" >&2; exit 1; }
echo
pw=$dir/var/lib/relaydeck/initial-admin-password
[ "$(stat -c %a "$pw")" = 600 ] || { echo "the password file is not 0600" >&2; exit 1; }
[ "$(stat -c %a "$dir/var/lib/relaydeck")" = 700 ] || { echo "the state directory is not 0700" >&2; exit 1; }
if grep -qF "$(cat "$pw")" "$log"; then echo "the password is in the log" >&2; exit 1; fi
grep -q "initial-admin-password" "$log" || { echo "the log does not name the password file" >&2; cat "$log" >&2; exit 1; }
echo "image root filesystem: the entry point as the image's user answers the health check; password in a 0600 file of the 0700 volume, only its path in the log"
