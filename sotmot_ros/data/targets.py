"""CenterNet/FairMOT training targets at the output grid (stride 4).

Decoding convention (the inverse, used by ``sotmot_ros.decode``): for a peak at cell (ix, iy),
``box = (ix + reg_x - wh0, iy + reg_y - wh1, ix + reg_x + wh2, iy + reg_y + wh3) * 4`` in network-input
pixels, i.e. ``wh`` holds left/top/right/bottom distances from the float centre in cells.
"""

from __future__ import annotations

import math

import numpy as np


def gaussian_radius(height: float, width: float, min_overlap: float = 0.7) -> float:
    """CenterNet's radius: the largest corner shift keeping IoU >= min_overlap (three cases, minimum)."""
    a1 = 1.0
    b1 = height + width
    c1 = width * height * (1 - min_overlap) / (1 + min_overlap)
    r1 = (b1 + math.sqrt(b1**2 - 4 * a1 * c1)) / 2
    a2 = 4.0
    b2 = 2 * (height + width)
    c2 = (1 - min_overlap) * width * height
    r2 = (b2 + math.sqrt(b2**2 - 4 * a2 * c2)) / 2
    a3 = 4 * min_overlap
    b3 = -2 * min_overlap * (height + width)
    c3 = (min_overlap - 1) * width * height
    r3 = (b3 + math.sqrt(b3**2 - 4 * a3 * c3)) / 2
    return min(r1, r2, r3)


def draw_gaussian(heatmap: np.ndarray, cx: int, cy: int, radius: int) -> None:
    """Max-combine a Gaussian (sigma = diameter / 6, peak 1 at (cx, cy)) into ``heatmap`` in place."""
    diameter = 2 * radius + 1
    sigma = diameter / 6.0
    r = np.arange(-radius, radius + 1, dtype=np.float32)
    g = np.exp(-(r[None, :] ** 2 + r[:, None] ** 2) / (2 * sigma * sigma))
    g[g < np.finfo(g.dtype).eps * g.max()] = 0
    h, w = heatmap.shape
    left, right = min(cx, radius), min(w - cx, radius + 1)
    top, bottom = min(cy, radius), min(h - cy, radius + 1)
    region = heatmap[cy - top : cy + bottom, cx - left : cx + right]
    patch = g[radius - top : radius + bottom, radius - left : radius + right]
    if region.size and patch.size:
        np.maximum(region, patch, out=region)


def encode_targets(
    boxes_out: np.ndarray,
    classes: np.ndarray,
    ids: np.ndarray,
    out_w: int,
    out_h: int,
    num_classes: int,
    max_objs: int,
    ignore_boxes_out: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """Encode ltrb boxes in output-grid coordinates into heatmap/size/offset/index targets.

    Boxes are clipped to the grid; boxes whose clipped size is below one cell (mostly outside the
    image after augmentation) are dropped. Ignore boxes only mark ``hm_ignore`` (their cells are left out
    of the heatmap loss), except at the peak cells of real targets, which stay supervised.
    """
    hm = np.zeros((num_classes, out_h, out_w), np.float32)
    wh = np.zeros((max_objs, 4), np.float32)
    reg = np.zeros((max_objs, 2), np.float32)
    ind = np.zeros(max_objs, np.int64)
    mask = np.zeros(max_objs, np.float32)
    out_ids = np.full(max_objs, -1, np.int64)
    hm_ignore = np.zeros((1, out_h, out_w), bool)
    if ignore_boxes_out is not None:
        for x1, y1, x2, y2 in np.asarray(ignore_boxes_out, np.float32).reshape(-1, 4):
            c0, c1 = max(0, int(math.floor(x1))), min(out_w, int(math.ceil(x2)))
            r0, r1 = max(0, int(math.floor(y1))), min(out_h, int(math.ceil(y2)))
            if c1 > c0 and r1 > r0:
                hm_ignore[0, r0:r1, c0:c1] = True
    boxes = np.asarray(boxes_out, np.float32).reshape(-1, 4).copy()
    boxes[:, [0, 2]] = boxes[:, [0, 2]].clip(0, out_w - 1e-3)
    boxes[:, [1, 3]] = boxes[:, [1, 3]].clip(0, out_h - 1e-3)
    k = 0
    for box, cls, tid in zip(boxes, np.asarray(classes).reshape(-1), np.asarray(ids).reshape(-1)):
        bw, bh = box[2] - box[0], box[3] - box[1]
        if bw < 1 or bh < 1 or k >= max_objs:
            continue
        cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
        ix, iy = int(cx), int(cy)
        if not (0 <= ix < out_w and 0 <= iy < out_h):
            continue
        radius = max(0, int(gaussian_radius(math.ceil(bh), math.ceil(bw))))
        draw_gaussian(hm[int(cls)], ix, iy, radius)
        wh[k] = (cx - box[0], cy - box[1], box[2] - cx, box[3] - cy)
        reg[k] = (cx - ix, cy - iy)
        ind[k] = iy * out_w + ix
        mask[k] = 1
        out_ids[k] = int(tid)
        hm_ignore[0, iy, ix] = False
        k += 1
    hm_ignore &= ~(hm.max(0, keepdims=True) >= 1.0)
    return {"hm": hm, "wh": wh, "reg": reg, "ind": ind, "mask": mask, "ids": out_ids, "hm_ignore": hm_ignore}
