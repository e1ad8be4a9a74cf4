"""Shared set-up of the pseudo-label command tests: a blank image folder as the source, and its labels folder."""

import numpy as np


def blank_clip(tmp_path, frames: int, width: int, height: int, grey: int = 0):
    """``tmp_path/clip`` with ``frames`` blank PNGs (001.png ...) and an empty ``tmp_path/labels/clip``; returns both."""
    import cv2

    source = tmp_path / "clip"
    source.mkdir()
    for f in range(1, frames + 1):
        cv2.imwrite(str(source / f"{f:03d}.png"), np.full((height, width, 3), grey, np.uint8))
    labels = tmp_path / "labels" / "clip"
    labels.mkdir(parents=True)
    return source, labels
