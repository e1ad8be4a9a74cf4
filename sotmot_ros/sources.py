"""Frame sources for offline tracking: a video file, a folder of images, or a MOTChallenge sequence.

Every source yields ``(frame_number, image_bgr, timestamp)`` with 1-based frame numbers counted over
the whole source (so results line up with MOTChallenge ground truth even when a range is selected) and
``timestamp = (frame_number - 1) / fps`` seconds.
"""

from __future__ import annotations

import logging
import math
import os
from dataclasses import dataclass
from typing import Iterator

import cv2
import numpy as np

from .data.mot import read_seqinfo
from .data.video import iter_video_frames

log = logging.getLogger(__name__)

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")
DEFAULT_FPS = 30.0


@dataclass
class FrameSource:
    """An opened source: ``kind`` ('video' | 'images' | 'mot'), ``fps``, ``length`` (frames, may be None)."""

    path: str
    kind: str
    fps: float
    length: int | None
    name: str
    images: list[str] | None = None

    def frames(self, first: int = 1, last: int | None = None) -> Iterator[tuple[int, np.ndarray, float]]:
        """Frames ``first..last`` (inclusive, 1-based; ``last=None`` = to the end)."""
        if first < 1 or (last is not None and last < first):
            raise ValueError(f"bad frame range first={first} last={last}")
        if self.kind == "video":
            yield from self._video_frames(first, last)
            return
        stop = len(self.images) if last is None else min(last, len(self.images))
        for n in range(first, stop + 1):
            img = cv2.imread(self.images[n - 1], cv2.IMREAD_COLOR)
            if img is None:
                raise IOError(f"cannot read image {self.images[n - 1]}")
            yield n, img, (n - 1) / self.fps

    def _video_frames(self, first, last):
        for n, img in iter_video_frames(self.path, first, last):
            yield n, img, (n - 1) / self.fps


def _list_images(folder: str) -> list[str]:
    names = sorted(f for f in os.listdir(folder) if f.lower().endswith(IMAGE_EXTENSIONS))
    return [os.path.join(folder, f) for f in names]


def _check_fps(fps, origin: str) -> float:
    if fps is None or not math.isfinite(float(fps)) or float(fps) <= 0:
        log.warning("no usable frame rate from %s; assuming %.1f fps (use --fps)", origin, DEFAULT_FPS)
        return DEFAULT_FPS
    return float(fps)


def open_source(path: str, fps: float | None = None) -> FrameSource:
    """Open ``path`` (video, image folder, or MOTChallenge folder with ``img1/`` and ``seqinfo.ini``).

    ``fps`` overrides the frame rate of the file or ``seqinfo.ini``.
    """
    if fps is not None and (not math.isfinite(fps) or fps <= 0):
        raise ValueError(f"fps must be > 0, got {fps}")
    name = os.path.splitext(os.path.basename(os.path.normpath(path)))[0]
    if os.path.isfile(path):
        cap = cv2.VideoCapture(path)
        if not cap.isOpened():
            raise IOError(f"cannot open video {path}")
        file_fps = cap.get(cv2.CAP_PROP_FPS)
        length = int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) or None
        cap.release()
        return FrameSource(path, "video", fps or _check_fps(file_fps, path), length, name)
    if not os.path.isdir(path):
        raise FileNotFoundError(f"source not found: {path}")
    info = read_seqinfo(os.path.join(path, "seqinfo.ini"))
    im_dir = os.path.join(path, info.get("imdir", "img1"))
    if os.path.isdir(im_dir):
        images = _list_images(im_dir)
        src_fps = float(info["framerate"]) if "framerate" in info else None
        return FrameSource(path, "mot", fps or _check_fps(src_fps, os.path.join(path, "seqinfo.ini")), len(images),
                           info.get("name", name), images)
    images = _list_images(path)
    if not images:
        raise FileNotFoundError(f"no images ({', '.join(IMAGE_EXTENSIONS)}) in {path}")
    return FrameSource(path, "images", fps or _check_fps(None, path), len(images), name, images)
