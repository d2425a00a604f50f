#!/usr/bin/env bash
# Installs a package in a clean Debian 12 root with systemd (made once with
# mmdebstrap from Debian's own mirror, cached in /var/cache/relaydeck-test)
# and checks what a fresh machine would see.
#
#   tests/dist/in-clean-root.sh server target/dist/relaydeck-server_*.deb
#     installs with its dependencies; `systemd-analyze verify` accepts the
#     unit; the unit's ExecStart (as the unit's user, with its umask) starts
#     and answers /api/health; the state directory is private; the
#     first-start password is in a 0600 file, not in the output.
#   tests/dist/in-clean-root.sh desktop target/dist/relaydeck_*.deb
#     installs with its dependencies (WebKitGTK's runtime); every library
#     the binary needs resolves; with no display it runs the relay headless
#     and answers /api/health; the menu entry and icon are in place.
set -euo pipefail
kind=$1
deb=$(readlink -f "$2")
cache=/var/cache/relaydeck-test
base=$cache/debian-12-systemd-root.tar
mkdir -p "$cache"
[ -f "$base" ] || mmdebstrap --variant=apt --include=ca-certificates,curl,systemd bookworm "$base" http://deb.debian.org/debian
root=$(mktemp -d /tmp/relaydeck-root.XXXXXX)
cleanup() {
  umount -R "$root/proc" 2>/dev/null || true
  rm -rf "$root"
}
trap cleanup EXIT
tar -C "$root" -xf "$base"
cp "$deb" "$root/tmp/"
cp /etc/resolv.conf "$root/etc/resolv.conf"
mount -t proc proc "$root/proc"
in_root() { chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin "$@"; }
# Up to 20 s for the relay on $port to answer /api/health.
wait_for_health() {
  for _ in $(seq 100); do
    curl -fsS "http://127.0.0.1:$port/api/health" >/dev/null 2>&1 && return
    sleep 0.2
  done
}
in_root apt-get update -qq
in_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "/tmp/$(basename "$deb")" >/dev/null
pkg=$(dpkg-deb -f "$deb" Package)
echo "installed: $(in_root dpkg-query -W -f='${Package} ${Version} ${Status}' "$pkg")"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
if [ "$kind" = desktop ]; then
  missing=$(in_root ldd /usr/bin/relaydeck | grep "not found" || true)
  [ -z "$missing" ] || { echo "libraries not found: $missing" >&2; exit 1; }
  for f in /usr/share/applications/relaydeck.desktop /usr/share/icons/hicolor/256x256/apps/relaydeck.png; do
    [ -f "$root$f" ] || { echo "missing $f" >&2; exit 1; }
  done
  log=$(mktemp)
  # Bare `relaydeck`, as the menu entry starts it (settings from the environment).
  chroot "$root" /usr/bin/env -i PATH=/usr/bin:/bin HOME=/root RELAYDECK_BIND=127.0.0.1:$port \
    RELAYDECK_DATA_DIR=/tmp/relaydeck RELAYDECK_DEVKIT_TCP_PORT=0 RELAYDECK_DEVKIT_UDP_PORT=0 \
    /usr/bin/relaydeck >"$log" 2>&1 &
  relay=$!
  trap 'kill $relay 2>/dev/null || true; cleanup' EXIT
  wait_for_health
  health=$(curl -fsS "http://127.0.0.1:$port/api/health") || { cat "$log" >&2; exit 1; }
  grep -q "running the headless relay instead" "$log" || { echo "no word of the missing display" >&2; cat "$log" >&2; exit 1; }
  echo "health: $health"
  echo "relaydeck: installed in a clean Debian 12 root with its dependencies; without a display it ran headless and answered /api/health"
  exit 0
fi
in_root getent passwd relaydeck >/dev/null || { echo "no relaydeck user" >&2; exit 1; }
unit=$root/lib/systemd/system/relaydeck-server.service
SYSTEMD_LOG_LEVEL=warning systemd-analyze verify --root="$root" /lib/systemd/system/relaydeck-server.service
echo "systemd-analyze verify: ok"
# What systemd would do for the unit: its state directory (0700, owned by
# the user), its umask, its user, its ExecStart with the environment file.
exec_start=$(sed -n 's/^ExecStart=//p' "$unit")
mode=$(sed -n 's/^StateDirectoryMode=//p' "$unit")
umask_=$(sed -n 's/^UMask=//p' "$unit")
install -d -m "$mode" "$root/var/lib/relaydeck"
chmod "$mode" "$root/var/lib/relaydeck"
in_root chown relaydeck:relaydeck /var/lib/relaydeck
log=$(mktemp)
chroot --userspec=relaydeck:relaydeck "$root" /usr/bin/env -i PATH=/usr/bin:/bin HOME=/var/lib/relaydeck \
  RELAYDECK_BIND=127.0.0.1:$port RELAYDECK_DEVKIT_TCP_PORT=0 RELAYDECK_DEVKIT_UDP_PORT=0 \
  /bin/sh -c "umask $umask_; set -a; [ -f /etc/default/relaydeck-server ] && . /etc/default/relaydeck-server; exec $exec_start" >"$log" 2>&1 &
relay=$!
trap 'kill $relay 2>/dev/null || true; cleanup' EXIT
wait_for_health
health=$(curl -fsS "http://127.0.0.1:$port/api/health")
echo "health: $health"
case $health in *'"status":"ok"'*) ;; *) echo "no health answer" >&2; cat "$log" >&2; exit 1 ;; esac
state_mode=$(stat -c %a "$root/var/lib/relaydeck")
pw=$root/var/lib/relaydeck/initial-admin-password
for _ in $(seq 50); do [ -s "$pw" ] && break; sleep 0.2; done
sleep 0.5 # the banner follows the file
[ "$state_mode" = 700 ] || { echo "state directory is $state_mode" >&2; exit 1; }
[ "$(stat -c %a "$pw")" = 600 ] || { echo "password file is $(stat -c %a "$pw")" >&2; exit 1; }
if grep -qF "$(cat "$pw")" "$log"; then echo "the password reached the log" >&2; exit 1; fi
grep -q "initial-admin-password" "$log" || { echo "the log does not say where the password is" >&2; exit 1; }
for f in "$root"/var/lib/relaydeck/*.json; do
  [ "$(stat -c %a "$f")" = 600 ] || { echo "$f is $(stat -c %a "$f")" >&2; exit 1; }
done
code=$(curl -s -o /dev/null -w '%{http_code}' -u "admin:$(cat "$pw")" "http://127.0.0.1:$port/api/settings")
[ "$code" = 200 ] || { echo "the file's password was refused: $code" >&2; exit 1; }
echo "relaydeck-server: installed in a clean Debian 12 root, started by its unit's ExecStart, answered /api/health; state 0700, password file 0600 and not logged"
