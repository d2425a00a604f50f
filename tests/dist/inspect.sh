#!/usr/bin/env bash
# What a package file says of itself, read with dpkg-deb as a reviewer would:
# its control fields (--info) and its files (--contents), checked against
# what each package must hold.
#
#   tests/dist/inspect.sh server target/dist/relaydeck-server_*.deb
#   tests/dist/inspect.sh desktop target/dist/relaydeck_*.deb
set -euo pipefail
kind=$1 deb=$2
info=$(dpkg-deb --info "$deb")
contents=$(dpkg-deb --contents "$deb")
need() { # need WHAT TEXT PATTERN
  grep -qE "$3" <<<"$2" || { echo "$deb: no $1 (looked for /$3/)" >&2; exit 1; }
}
need "relaydeck binary" "$contents" ' \./usr/bin/relaydeck$'
need "copyright" "$contents" "\./usr/share/doc/[a-z-]+/copyright$"
need "changelog" "$contents" "\./usr/share/doc/[a-z-]+/changelog\.gz$"
need "glibc dependency" "$info" '^ Depends: libc6 \(>= 2\.[0-9]+\)'
case $kind in
  server)
    need "package name" "$info" '^ Package: relaydeck-server$'
    need "systemd unit" "$contents" ' \./lib/systemd/system/relaydeck-server\.service$'
    need "settings file" "$contents" ' \./etc/default/relaydeck-server$'
    need "conffile" "$info" 'conffiles'
    need "maintainer scripts" "$info" 'postinst'
    if grep -q webkit <<<"$info"; then echo "$deb: the headless package depends on WebKitGTK" >&2; exit 1; fi
    ;;
  desktop)
    need "package name" "$info" '^ Package: relaydeck$'
    need "WebKitGTK runtime dependency" "$info" '^ Depends: .*libwebkit2gtk-4\.1-0'
    need "menu entry" "$contents" ' \./usr/share/applications/relaydeck\.desktop$'
    need "icon" "$contents" ' \./usr/share/icons/hicolor/256x256/apps/relaydeck\.png$'
    ;;
  *) echo "inspect.sh: unknown package kind '$kind'" >&2; exit 2 ;;
esac
echo "$(basename "$deb"): dpkg-deb --info and --contents hold what a $kind package must ($(grep -c . <<<"$contents") entries)"
