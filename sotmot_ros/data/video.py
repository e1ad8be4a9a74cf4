"""Sequential decoding of a frame range of a video file (one place for the OpenCV loop)."""

from __future__ import annotations

from typing import Iterator

import cv2
import numpy as np


def iter_video_frames(path: str, first: int = 1, last: int | None = None) -> Iterator[tuple[int, np.ndarray]]:
    """Yield ``(frame_number, image_bgr)`` for 1-based frames ``first..last`` (``None`` = to the end).

    Frames before the range are skipped with ``grab()`` (no decoding): seeking is unreliable in many
    codecs, and decoding stops at ``last``, so frames after the range are never read.
    """
    cap = cv2.VideoCapture(str(path))
    if not cap.isOpened():
        raise OSError(f"cannot open video {path}")
    try:
        n = 0
        while last is None or n < last:
            if not cap.grab():
                break
            n += 1
            if n < first:
                continue
            ok, img = cap.retrieve()
            if not ok:
                break
            yield n, img
    finally:
        cap.release()
