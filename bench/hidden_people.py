"""A robustness view for re-identification: every labelled person vanishes once for a while.

Real occlusions in the validation scenes are few (a boy behind a bed, people behind PETS's sign), so whether a
tracker carries an identity across a gap is measured on a handful of events. This view makes one such event per
person: for each identity that lives long enough in the cached frames, a window of ``seconds`` somewhere in the
middle of its life (drawn with a fixed seed) loses every detection that overlaps the person's label (IoU >= 0.4),
as if someone had stepped in front. Their labels in that window become ignore regions, so the score counts only
what the tracker does with the identity before and after the gap (a swap or a new track), not the misses the
hiding forced. ``bench/evaluate_people.py --hide SECONDS`` applies it to every sequence of a split.
"""

from __future__ import annotations

import numpy as np

from cache_detections import DetectionCache

from sotmot_ros.boxes import iou_matrix
from sotmot_ros.data.mot import write_mot15_annotations

MIN_IOU = 0.4  # a detection overlapping a hidden person's label this much is the person's
MARGIN_SECONDS = 0.5  # a window starts and ends at least this long inside the identity's life


def hide_windows(gt: np.ndarray, stamps: dict[int, float], seconds: float,
                 seed: int = 0) -> dict[int, tuple[float, float]]:
    """``{identity: (start, end)}`` in seconds: one window per identity whose labelled life within ``stamps`` (frame ->
    time) spans at least ``seconds`` + 2 x the margin. ``gt``: MOT rows (frame, id, x, y, w, h, flag, ...)."""
    if seconds <= 0:
        raise ValueError(f"seconds must be > 0, got {seconds}")
    rng = np.random.default_rng(seed)
    out = {}
    targets = gt[gt[:, 6] > 0]
    for pid in np.unique(targets[:, 1]).astype(int):  # sorted: the draws do not depend on row order
        t = np.array(sorted(stamps[int(f)] for f in targets[targets[:, 1] == pid, 0] if int(f) in stamps))
        if len(t) == 0 or t[-1] - t[0] < seconds + 2 * MARGIN_SECONDS:
            continue
        start = rng.uniform(t[0] + MARGIN_SECONDS, t[-1] - MARGIN_SECONDS - seconds)
        out[int(pid)] = (float(start), float(start + seconds))
    return out


def hide_people(cache: DetectionCache, gt: np.ndarray, windows: dict[int, tuple[float, float]]
                ) -> tuple[DetectionCache, np.ndarray, int]:
    """The cache without the hidden people's detections and the labels with their rows in the windows turned into
    ignore regions; returns (cache, labels, detections removed). ``gt`` rows of frames outside the cache are kept, and
    so are the cache's camera warps (``camera_motion``)."""
    stamps = dict(zip(cache.frames.tolist(), cache.timestamps.tolist()))
    gt = gt.copy()
    hidden: dict[int, list] = {}
    for k, row in enumerate(gt):
        f, pid = int(row[0]), int(row[1])
        if row[6] > 0 and pid in windows and f in stamps and windows[pid][0] <= stamps[f] < windows[pid][1]:
            gt[k, 6] = 0
            x, y, w, h = row[2:6]
            hidden.setdefault(f, []).append([x, y, x + w, y + h])
    dets, removed = [], 0
    for frame, _, d in cache:
        if frame in hidden and len(d):
            keep = iou_matrix(np.asarray(hidden[frame], np.float32), d.boxes).max(0) < MIN_IOU
            removed += int((~keep).sum())
            d = d.select(keep)
        dets.append(d)
    out = DetectionCache.from_frames(cache.frames, cache.timestamps, dets, cache.fps, cache.image_size,
                                     {**cache.meta, "hidden_people": len(windows)}, feature_dim=cache.feature_dim)
    out.camera_motion = cache.camera_motion  # the same frames: the camera moved as before, whoever is hidden
    return out, gt, removed


def write_gt(path: str, gt: np.ndarray) -> str:
    """MOT15 rows as ``sotmot eval`` and the evaluation read them."""
    return write_mot15_annotations(path, (r[:7] for r in gt))
