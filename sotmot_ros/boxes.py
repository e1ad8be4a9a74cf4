"""Box conventions in one place: ``ltrb`` = (left, top, right, bottom) pixels, continuous coordinates.

Every module (tracker, evaluation, pseudo-labelling, training targets) takes ltrb boxes; MOTChallenge
files store ``left, top, width, height`` and are converted at their readers/writers only.
"""

from __future__ import annotations

import numpy as np


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of ltrb boxes a (N, 4) against b (M, 4) -> (N, M)."""
    a = np.asarray(a, dtype=np.float64).reshape(-1, 4)
    b = np.asarray(b, dtype=np.float64).reshape(-1, 4)
    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)))
    iw = np.minimum(a[:, None, 2], b[None, :, 2]) - np.maximum(a[:, None, 0], b[None, :, 0])
    ih = np.minimum(a[:, None, 3], b[None, :, 3]) - np.maximum(a[:, None, 1], b[None, :, 1])
    inter = np.clip(iw, 0, None) * np.clip(ih, 0, None)
    union = box_areas(a)[:, None] + box_areas(b)[None, :] - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-12), 0.0)


def nms(boxes: np.ndarray, scores: np.ndarray, iou_threshold: float, classes: np.ndarray | None = None) -> np.ndarray:
    """Indices of the boxes kept by greedy non-maximum suppression, best score first (ties: the earlier box); a box
    is suppressed by a kept one overlapping it by IoU > ``iou_threshold``; with ``classes``, only by its own class.

    numpy, not torchvision: the tracker calls it at a restart and stays free of torch (importing torchvision cost
    the node's first frame about a second). The per-frame counts here are tens to hundreds of boxes, for which the
    O(n^2) IoU matrix is cheap; the detector's decoder keeps torchvision's NMS on its tensors, and
    ``test_box_nms_at_the_image_edge_is_what_the_bench_measures`` checks the two keep the same boxes."""
    b = np.asarray(boxes, dtype=np.float32).reshape(-1, 4)
    s = np.asarray(scores, dtype=np.float32).reshape(-1)
    if len(b) != len(s):
        raise ValueError(f"{len(b)} boxes but {len(s)} scores")
    if len(b) == 0:
        return np.zeros(0, np.int64)
    order = np.argsort(-s, kind="stable")
    over = iou_matrix(b[order], b[order]) > iou_threshold
    if classes is not None:
        c = np.asarray(classes).reshape(-1)[order]
        over &= c[:, None] == c[None, :]
    keep = np.ones(len(order), bool)
    for i in range(len(order)):
        if keep[i]:
            keep[i + 1:] &= ~over[i, i + 1:]
    return order[keep].astype(np.int64)


def warp_boxes_affine(boxes: np.ndarray, warp: np.ndarray) -> np.ndarray:
    """Boxes (N, 4) ltrb through an affine map (2x3, or 3x3 with [0, 0, 1] last): the axis-aligned bounds of their
    four mapped corners (a camera's motion, a simulated view)."""
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    warp = np.asarray(warp, dtype=np.float64)
    corners = boxes[:, [[0, 1], [2, 1], [2, 3], [0, 3]]]  # (N, 4, 2)
    moved = corners @ warp[:2, :2].T + warp[:2, 2]
    return np.concatenate([moved.min(1), moved.max(1)], 1)


def box_heights(boxes: np.ndarray) -> np.ndarray:
    """Heights of ltrb boxes (N,)."""
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    return boxes[:, 3] - boxes[:, 1]


def box_areas(boxes: np.ndarray) -> np.ndarray:
    """Areas of ltrb boxes (N,)."""
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    return (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])


def ltrb_to_cxcywh(boxes: np.ndarray) -> np.ndarray:
    """ltrb (N, 4) -> (cx, cy, w, h) (N, 4) float64 (the Kalman filter's measurement)."""
    b = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    w, h = b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]
    return np.stack([b[:, 0] + 0.5 * w, b[:, 1] + 0.5 * h, w, h], 1)


def cxcywh_to_ltrb(z: np.ndarray, min_size: float = 1.0) -> np.ndarray:
    """(cx, cy, w, h) (N, >=4) -> ltrb (N, 4); sizes clamped to >= ``min_size`` (a long Kalman prediction
    may shrink a box to nothing)."""
    z = np.asarray(z, dtype=np.float64)
    w, h = np.maximum(z[:, 2], min_size), np.maximum(z[:, 3], min_size)
    return np.stack([z[:, 0] - 0.5 * w, z[:, 1] - 0.5 * h, z[:, 0] + 0.5 * w, z[:, 1] + 0.5 * h], 1)
