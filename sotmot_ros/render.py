"""Drawing of tracks on images (pure: returns a new image), shared by ``sotmot track`` and the ROS node."""

from __future__ import annotations

import colorsys

import cv2
import numpy as np

from .types import TrackOutput, TrackState


def id_colour(track_id: int) -> tuple[int, int, int]:
    """A stable, well-spread BGR colour per ID (golden-ratio hue steps)."""
    hue = (int(track_id) * 0.618033988749895) % 1.0
    r, g, b = colorsys.hsv_to_rgb(hue, 0.85, 1.0)
    return int(b * 255), int(g * 255), int(r * 255)


def draw_tracks(image: np.ndarray, tracks: list[TrackOutput], show_lost: bool = False, thickness: int = 2) -> np.ndarray:
    """A copy of ``image`` with each track's box and ID drawn in its colour.

    Draws confirmed tracks matched in this update (what a viewer wants to see); ``show_lost`` also
    draws lost tracks' predicted boxes with thin lines. The input image is never modified.
    """
    out = np.ascontiguousarray(image).copy()
    h, w = out.shape[:2]
    for tr in tracks:
        lost = tr.state == TrackState.LOST or not tr.matched
        if tr.state == TrackState.TENTATIVE or (lost and not show_lost):
            continue
        colour = id_colour(tr.track_id)
        x1, y1, x2, y2 = (int(round(float(v))) for v in np.clip(tr.box, [-w, -h, -w, -h], [2 * w, 2 * h, 2 * w, 2 * h]))
        cv2.rectangle(out, (x1, y1), (x2, y2), colour, 1 if lost else thickness)
        label = str(tr.track_id)
        (tw, th), base = cv2.getTextSize(label, cv2.FONT_HERSHEY_SIMPLEX, 0.5, 1)
        ty = max(y1, th + base)
        cv2.rectangle(out, (x1, ty - th - base), (x1 + tw + 2, ty), colour, -1)
        cv2.putText(out, label, (x1 + 1, ty - base), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 1, cv2.LINE_AA)
    return out
