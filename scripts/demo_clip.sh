#!/usr/bin/env bash
# The demo's video: frames 1-397 of PETS09-S2L1 (vtest.avi), cut once into data_cache/pets09_0001-0397.avi.
# Frames 398-795 are this project's held-out evaluation split: the demo never decodes them.
# Needs the project's Python environment (source scripts/env.sh). Prints the clip's path. Idempotent.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
video="$(bash "$here/scripts/fetch_demo_video.sh")"
clip="$(dirname "$video")/pets09_0001-0397.avi"
if [ ! -s "$clip" ]; then
  python - "$video" "$clip.tmp.avi" <<'PY'
import sys

import cv2

from sotmot_ros.data.video import iter_video_frames

src, dst = sys.argv[1], sys.argv[2]
fps = cv2.VideoCapture(src).get(cv2.CAP_PROP_FPS) or 10.0
writer = None
for _, img in iter_video_frames(src, 1, 397):
    if writer is None:
        writer = cv2.VideoWriter(dst, cv2.VideoWriter_fourcc(*"MJPG"), fps, (img.shape[1], img.shape[0]))
    writer.write(img)
writer.release()
PY
  mv "$clip.tmp.avi" "$clip"
fi
echo "$clip"
