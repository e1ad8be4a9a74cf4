#!/usr/bin/env bash
# Fetch the PETS09-S2L1 demo video (vtest.avi) from Debian's opencv-doc package into data_cache/.
# Prints the path of the video. Idempotent.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dest="${SOTMOT_DATA_DIR:-$here/data_cache}"
video="$dest/vtest.avi"
if [ ! -s "$video" ]; then
  for f in /usr/share/doc/opencv-doc/examples/data/vtest.avi; do
    if [ -s "$f" ]; then mkdir -p "$dest"; cp "$f" "$video"; fi
  done
fi
if [ ! -s "$video" ]; then
  mkdir -p "$dest"
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  ( cd "$tmp" && { apt-get download opencv-doc >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get download opencv-doc >/dev/null; }; } )
  dpkg -x "$tmp"/opencv-doc_*_all.deb "$tmp/x"
  cp "$tmp/x/usr/share/doc/opencv-doc/examples/data/vtest.avi" "$video"
fi
echo "$video"
