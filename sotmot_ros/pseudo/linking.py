"""Linking fused teacher boxes through time into tracklets, and deciding what becomes a label.

Why tracklets: the SOT loss needs the same person in two frames of a pair, so labels need identities;
and time separates people from flickers better than any single-frame score.

Linking is deliberately conservative (a wrong identity teaches the SOT branch to confuse two people,
a missing link only costs a training pair): each frame, the boxes left after dropping weak
near-duplicates (IoU >= ``nms_iou`` with a better box: fusion leaves them around a person, and as
runner-ups they would end its tracklet as "ambiguous") are matched to the tracklets' predictions by
IoU (Hungarian, IoU >= ``link_iou``). A prediction moves the box centre at the velocity fitted over the
last ``velocity_frames`` observations and keeps their median size (teacher boxes jitter; the last two
boxes alone extrapolate that jitter).
A match whose runner-up (another box for the same tracklet, or another tracklet for the same box) comes
within ``ambiguity_margin`` IoU of it is refused and the tracklet ends there: the box starts a new one.
A tracklet may miss up to ``max_gap`` frames; the gap is filled by linear interpolation.
A moving camera (a robot's recording) moves every box between frames; given the camera's warps between
consecutive frames (``camera_motion.CameraMotionEstimator``), ``link_with_camera_motion`` links in the first
frame's coordinates, where only the people move, and writes the labels back in each frame's own pixels.

Measured on PETS09-S2L1 frames 1-397 against the real annotations (``pseudo-label --gt``: the report's
``identities_per_person`` and ``swapped_identities``): dropping weak near-duplicates at IoU 0.3 and a
5-frame fit cut the label identities per annotated person from 9.8 to 4.6 (median tracklet 12 -> 38
frames) while the identities that follow two people fell from 5 to 2; target recall 0.92 -> 0.94,
precision 0.76 -> 0.77. The sweep (IoU 1.0/0.5/0.4/0.3 x 2/5/8 frames) is in the model card.

What becomes a label, per tracklet:
- *confirmed* (at least ``min_length`` observed frames and one box scoring >= ``target_score``): every
  box, the weak and the interpolated ones too, is a target with the tracklet's identity;
- otherwise, a *flicker* (shorter than ``min_length`` and never >= ``target_score``) is dropped: it is
  most likely background;
- anything else (a confident box that time does not confirm, or a long run of weak boxes) is uncertain
  and becomes an ignore region: the losses neither reward nor punish detections there; except an
  uncertain box that holds the centres of two or more targets of its frame: that is a box around a
  group (teachers fire such boxes on crowds), and as an ignore region it would hide the background
  between the people from the heatmap loss, so it is dropped.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linear_sum_assignment

from ..boxes import iou_matrix, warp_boxes_affine
from .fusion import FusedBoxes


@dataclass
class LinkConfig:
    """Thresholds of linking and labelling (scores are fused teacher scores in [0, 1])."""

    target_score: float = 0.5
    ignore_score: float = 0.15
    link_iou: float = 0.4
    ambiguity_margin: float = 0.15
    max_gap: int = 5
    min_length: int = 3
    nms_iou: float = 0.3  # weak boxes overlapping a better one this much are dropped before linking (1 = none)
    velocity_frames: int = 5  # observations the predicted motion and size are fitted on

    def __post_init__(self):
        if not 0.0 <= self.ignore_score <= self.target_score <= 1.0:
            raise ValueError(f"need 0 <= ignore_score ({self.ignore_score}) <= target_score ({self.target_score}) <= 1")
        if not 0.0 < self.link_iou <= 1.0 or self.ambiguity_margin < 0:
            raise ValueError("need 0 < link_iou <= 1 and ambiguity_margin >= 0")
        if self.max_gap < 0 or self.min_length < 1:
            raise ValueError("need max_gap >= 0 and min_length >= 1")
        if not 0.0 < self.nms_iou <= 1.0 or self.velocity_frames < 2:
            raise ValueError("need 0 < nms_iou <= 1 and velocity_frames >= 2")


@dataclass
class Tracklet:
    """Observed boxes of one person: ``frames`` ascending, ``boxes`` (ltrb), ``scores``."""

    frames: list[int] = field(default_factory=list)
    boxes: list[np.ndarray] = field(default_factory=list)
    scores: list[float] = field(default_factory=list)
    closed: bool = False

    def add(self, frame: int, box: np.ndarray, score: float) -> None:
        self.frames.append(int(frame))
        self.boxes.append(np.asarray(box, np.float64))
        self.scores.append(float(score))

    def predict(self, frame: int, window: int) -> np.ndarray:
        """Box at ``frame``: the centre moved at the velocity fitted (least squares) over the last ``window``
        observations, from the last centre; the median width and height of those observations."""
        if len(self.frames) < 2:
            return self.boxes[-1]
        t = np.asarray(self.frames[-window:], np.float64)
        b = np.stack(self.boxes[-window:])
        centres = 0.5 * (b[:, :2] + b[:, 2:])
        velocity = np.polyfit(t - t[-1], centres, 1)[0]  # (2,): px per frame in x and y
        centre = centres[-1] + velocity * (frame - t[-1])
        half = 0.5 * np.median(b[:, 2:] - b[:, :2], axis=0)
        return np.concatenate([centre - half, centre + half])


@dataclass
class LabelRow:
    """One label: ``flag`` 1 = target (with ``track_id``), 0 = ignore region (``track_id`` -1)."""

    frame: int
    track_id: int
    box: np.ndarray
    score: float
    flag: int
    filled: bool = False


def weak_duplicates_removed(fused: FusedBoxes, cfg: LinkConfig) -> np.ndarray:
    """Indices of the boxes scoring >= ``ignore_score`` that linking sees: a weak box (< ``target_score``)
    overlapping a better box by IoU >= ``nms_iou`` is dropped as its near-duplicate; confident boxes
    are all kept (fusion has already merged the teachers' boxes of one person, so two confident boxes
    are two people, e.g. one stepping out from behind the other)."""
    keep = np.nonzero(fused.scores >= cfg.ignore_score)[0]
    if cfg.nms_iou >= 1.0 or len(keep) < 2:
        return keep
    order = keep[np.argsort(-fused.scores[keep], kind="stable")]
    iou = iou_matrix(fused.boxes[order], fused.boxes[order])
    dropped = np.zeros(len(order), bool)
    for i in range(len(order)):
        if fused.scores[order[i]] < cfg.target_score and (iou[i, :i][~dropped[:i]] >= cfg.nms_iou).any():
            dropped[i] = True
    return np.sort(order[~dropped])


def link_tracklets(frames: dict[int, FusedBoxes], cfg: LinkConfig) -> list[Tracklet]:
    """Link the boxes scoring >= ``cfg.ignore_score`` of consecutive frames into tracklets."""
    tracklets: list[Tracklet] = []
    active: list[int] = []
    for f in sorted(frames):
        fused = frames[f]
        keep = weak_duplicates_removed(fused, cfg)
        boxes, scores = fused.boxes[keep], fused.scores[keep]
        active = [t for t in active if not tracklets[t].closed and f - tracklets[t].frames[-1] <= cfg.max_gap + 1]
        matched_dets: set[int] = set()
        if active and len(boxes):
            pred = np.stack([tracklets[t].predict(f, cfg.velocity_frames) for t in active])
            iou = iou_matrix(pred, boxes)
            rows, cols = linear_sum_assignment(-iou)
            for r, c in zip(rows, cols):
                if iou[r, c] < cfg.link_iou:
                    continue
                runner_up = max(np.delete(iou[r], c).max(initial=0.0), np.delete(iou[:, c], r).max(initial=0.0))
                if runner_up >= cfg.link_iou and runner_up >= iou[r, c] - cfg.ambiguity_margin:
                    tracklets[active[r]].closed = True  # ambiguous: end here rather than risk a swap
                    continue
                tracklets[active[r]].add(f, boxes[c], scores[c])
                matched_dets.add(int(c))
        for c in range(len(boxes)):
            if c not in matched_dets:
                t = Tracklet()
                t.add(f, boxes[c], scores[c])
                tracklets.append(t)
                active.append(len(tracklets) - 1)
    return tracklets


def reference_warps(frames, warps: dict[int, np.ndarray]) -> dict[int, np.ndarray]:
    """Per frame, the 3x3 map from that frame's pixels to the first frame's: the inverse of the composed
    camera warps (``warps[f]``: frame f-1 -> f pixels; a frame without one did not move)."""
    to_frame = np.eye(3)  # first frame -> current frame
    out = {}
    for k, f in enumerate(sorted(frames)):
        if k:
            w = warps.get(int(f))
            if w is not None:
                to_frame = np.vstack([np.asarray(w, np.float64), [0.0, 0.0, 1.0]]) @ to_frame
        out[int(f)] = np.linalg.inv(to_frame)
    return out


def link_with_camera_motion(frames: dict[int, FusedBoxes], cfg: LinkConfig,
                            warps: dict[int, np.ndarray]) -> tuple[list[LabelRow], dict]:
    """``label_rows(link_tracklets(...))`` for a moving camera: link in the first frame's coordinates, then give
    every label its frame's own pixels (an observed box exactly as fused, a gap-filled one mapped back)."""
    to_ref = reference_warps(frames, warps)
    stable = {f: FusedBoxes(warp_boxes_affine(fb.boxes, to_ref[f]).astype(np.float32) if len(fb.boxes) else fb.boxes,
                            fb.scores, fb.support) for f, fb in frames.items()}
    rows, stats = label_rows(link_tracklets(stable, cfg), cfg)
    for r in rows:
        # an observed box is one of its frame's mapped boxes, bit for bit (tracklets keep them as given)
        same = np.flatnonzero((stable[r.frame].boxes == np.asarray(r.box, np.float32)).all(1)) if not r.filled else []
        r.box = (np.asarray(frames[r.frame].boxes[same[0]], np.float64) if len(same)
                 else warp_boxes_affine(r.box, np.linalg.inv(to_ref[r.frame]))[0])
    return rows, stats


def interpolate(tracklet: Tracklet) -> list[tuple[int, np.ndarray, float, bool]]:
    """``(frame, box, score, filled)`` for every frame from the first to the last observation."""
    out = []
    for i, (f, box, score) in enumerate(zip(tracklet.frames, tracklet.boxes, tracklet.scores)):
        if i:
            f0, b0, s0 = tracklet.frames[i - 1], tracklet.boxes[i - 1], tracklet.scores[i - 1]
            for g in range(f0 + 1, f):
                a = (g - f0) / (f - f0)
                out.append((g, (1 - a) * b0 + a * box, min(s0, score), True))
        out.append((f, box, score, False))
    return out


def label_rows(tracklets: list[Tracklet], cfg: LinkConfig) -> tuple[list[LabelRow], dict]:
    """Decide targets / ignore regions / drops per tracklet (module docstring); rows sorted by frame."""
    rows: list[LabelRow] = []
    stats = {"confirmed_tracklets": 0, "uncertain_tracklets": 0, "flickers_dropped": 0, "filled_boxes": 0,
             "group_boxes_dropped": 0, "confirmed_lengths": []}
    next_id = 1
    order = sorted(range(len(tracklets)), key=lambda i: (tracklets[i].frames[0], i))
    for i in order:
        t = tracklets[i]
        confident = max(t.scores) >= cfg.target_score
        if len(t.frames) >= cfg.min_length and confident:
            for f, box, score, filled in interpolate(t):
                rows.append(LabelRow(f, next_id, box, score, 1, filled))
                stats["filled_boxes"] += int(filled)
            stats["confirmed_tracklets"] += 1
            stats["confirmed_lengths"].append(t.frames[-1] - t.frames[0] + 1)
            next_id += 1
        elif len(t.frames) < cfg.min_length and not confident:
            stats["flickers_dropped"] += 1
        else:
            rows.extend(LabelRow(f, -1, b, s, 0) for f, b, s in zip(t.frames, t.boxes, t.scores))
            stats["uncertain_tracklets"] += 1
    rows = _drop_group_boxes(rows, stats)
    rows.sort(key=lambda r: (r.frame, -r.flag, r.track_id))
    return rows, stats


def _drop_group_boxes(rows: list[LabelRow], stats: dict) -> list[LabelRow]:
    """Remove ignore rows that contain the centres of >= 2 targets of the same frame (module docstring)."""
    centres: dict[int, list[np.ndarray]] = {}
    for r in rows:
        if r.flag == 1:
            centres.setdefault(r.frame, []).append((r.box[:2] + r.box[2:]) / 2)
    kept = []
    for r in rows:
        if r.flag == 0 and r.frame in centres:
            c = np.asarray(centres[r.frame])
            inside = (c[:, 0] > r.box[0]) & (c[:, 0] < r.box[2]) & (c[:, 1] > r.box[1]) & (c[:, 1] < r.box[3])
            if inside.sum() >= 2:
                stats["group_boxes_dropped"] += 1
                continue
        kept.append(r)
    return kept
