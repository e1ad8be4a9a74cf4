"""Weighted box fusion of several teachers' detections of one frame.

Each teacher's boxes (after its own NMS) are clustered across teachers: boxes are taken best score
first and join the cluster whose fused box overlaps them most (IoU >= ``iou_threshold``) unless that
cluster already holds a box of the same teacher. A cluster's box is the score-weighted mean of its
members; its score is the sum of the members' scores divided by the number of teachers, so a person
that only one of two teachers sees scores at most half as much as one both see with confidence.
``support`` counts the teachers behind each fused box (teacher agreement).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..boxes import iou_matrix


@dataclass
class FusedBoxes:
    """Fused detections of one frame: ``boxes`` (n, 4) ltrb, ``scores`` (n,), ``support`` (n,) teacher counts."""

    boxes: np.ndarray
    scores: np.ndarray
    support: np.ndarray

    @classmethod
    def empty(cls) -> "FusedBoxes":
        return cls(np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros(0, np.int64))

    def __len__(self) -> int:
        return len(self.scores)


def fuse_boxes(per_teacher: list[tuple[np.ndarray, np.ndarray]], iou_threshold: float = 0.55) -> FusedBoxes:
    """Fuse ``[(boxes (n_t, 4), scores (n_t,)), ...]`` (one entry per teacher) into one set of boxes."""
    n_teachers = len(per_teacher)
    if n_teachers == 0:
        return FusedBoxes.empty()
    items = [
        (float(s), t, np.asarray(b, np.float64))
        for t, (boxes, scores) in enumerate(per_teacher)
        for b, s in zip(np.asarray(boxes).reshape(-1, 4), np.asarray(scores).reshape(-1))
    ]
    items.sort(key=lambda x: -x[0])
    weighted: list[np.ndarray] = []  # per cluster: sum of score * box
    weights: list[float] = []
    members: list[set[int]] = []
    for score, teacher, box in items:
        best, best_iou = -1, iou_threshold
        if weighted:
            fused = np.stack([w / max(s, 1e-12) for w, s in zip(weighted, weights)])
            ious = iou_matrix(box[None], fused)[0]
            for c in np.argsort(-ious):
                if ious[c] < best_iou:
                    break
                if teacher not in members[c]:
                    best = int(c)
                    break
        if best < 0:
            weighted.append(score * box)
            weights.append(score)
            members.append({teacher})
        else:
            weighted[best] = weighted[best] + score * box
            weights[best] += score
            members[best].add(teacher)
    if not weighted:
        return FusedBoxes.empty()
    boxes = np.stack([w / max(s, 1e-12) for w, s in zip(weighted, weights)]).astype(np.float32)
    scores = np.asarray(weights, np.float32) / n_teachers
    support = np.asarray([len(m) for m in members], np.int64)
    order = np.argsort(-scores, kind="stable")
    return FusedBoxes(boxes[order], scores[order], support[order])
