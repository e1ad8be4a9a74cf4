"""Pseudo-labelling one source: teachers -> fused boxes -> tracklets -> MOTChallenge labels + report.

Output folder per source (``sotmot train`` reads it as ``{source: SOURCE, gt: OUT/gt/gt.txt,
seqinfo: OUT/seqinfo.ini, format: mot15}``):

- ``gt/gt.txt``: MOT15 rows ``frame,id,left,top,width,height,flag,-1,-1,-1``; flag 1 = target with the
  tracklet's identity, flag 0 = ignore region (id -1).
- ``fused.txt``: every fused teacher box (score in column 7, id -1): the teachers' raw opinion, kept so
  that the labels can be re-derived with other thresholds (``relabel``) without running the teachers.
- ``seqinfo.ini``: name, frame rate, length and size of the source, and the source path.
- ``camera_motion.txt`` (with ``--camera-motion affine``): per frame, the camera's warp from the previous frame
  (``frame,a11,a12,a13,a21,a22,a23``), so that ``relabel`` links the same way without the video.
- ``report.json``: the quality report (``quality_report``).
"""

from __future__ import annotations

import configparser
import json
import os
from dataclasses import asdict

import numpy as np

from ..boxes import box_heights, iou_matrix
from ..data.mot import FrameAnnotations, write_mot15_annotations
from .fusion import FusedBoxes, fuse_boxes
from .linking import LabelRow, LinkConfig, label_rows, link_tracklets, link_with_camera_motion
from .teacher import detect_tiled


def run_teachers(frames_iter, teachers, tiles: int = 0, fusion_iou: float = 0.55, progress=None,
                 warps: dict | None = None):
    """``{frame: FusedBoxes}`` and the frame size for ``(frame, image, ...)`` items of a source. ``warps``: a dict
    that receives, per frame, the camera's warp from the previous frame (the fused boxes masked out)."""
    from ..tracking.camera_motion import CameraMotionEstimator

    estimator = CameraMotionEstimator() if warps is not None else None
    fused: dict[int, FusedBoxes] = {}
    size = None
    for item in frames_iter:
        frame, image = item[0], item[1]
        size = image.shape[1], image.shape[0]
        fused[int(frame)] = fuse_boxes([detect_tiled(t, image, tiles) for t in teachers], fusion_iou)
        if estimator is not None:
            warps[int(frame)] = estimator(image, fused[int(frame)].boxes)
        if progress is not None:
            progress.update(1)
    return fused, size


def write_fused(path: str, fused: dict[int, FusedBoxes]) -> None:
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w") as fh:
        for f in sorted(fused):
            for (x1, y1, x2, y2), s, n in zip(fused[f].boxes, fused[f].scores, fused[f].support):
                fh.write(f"{f},-1,{x1:.2f},{y1:.2f},{x2 - x1:.2f},{y2 - y1:.2f},{s:.4f},{int(n)},-1,-1\n")


def read_fused(path: str, frames: range | None = None) -> dict[int, FusedBoxes]:
    """The inverse of :func:`write_fused`; frames without boxes (in ``frames``) get empty sets."""
    data = np.loadtxt(path, delimiter=",", ndmin=2, dtype=np.float64) if os.path.getsize(path) else np.zeros((0, 10))
    out = {f: FusedBoxes.empty() for f in (frames or [])}
    if data.size:
        for f in np.unique(data[:, 0].astype(np.int64)):
            d = data[data[:, 0] == f]
            boxes = np.stack([d[:, 2], d[:, 3], d[:, 2] + d[:, 4], d[:, 3] + d[:, 5]], 1).astype(np.float32)
            out[int(f)] = FusedBoxes(boxes, d[:, 6].astype(np.float32), d[:, 7].astype(np.int64))
    return out


def write_labels(path: str, rows: list[LabelRow]) -> None:
    def ltwh(r: LabelRow):
        x1, y1, x2, y2 = (float(v) for v in r.box)
        return r.frame, r.track_id, x1, y1, x2 - x1, y2 - y1, r.flag

    write_mot15_annotations(path, (ltwh(r) for r in rows))


def write_seqinfo(path: str, name: str, source: str, fps: float, length: int, size) -> None:
    parser = configparser.ConfigParser()
    parser.optionxform = str  # MOTChallenge keys are camelCase
    parser["Sequence"] = {
        "name": name, "frameRate": f"{fps:g}", "seqLength": str(length),
        "imWidth": str(size[0] if size else 0), "imHeight": str(size[1] if size else 0),
        "source": os.path.abspath(source),
    }
    with open(path, "w") as fh:
        parser.write(fh)


def quality_report(fused: dict[int, FusedBoxes], rows: list[LabelRow], stats: dict, n_teachers: int,
                   cfg: LinkConfig, gt: dict[int, FrameAnnotations] | None = None) -> dict:
    """Boxes per frame, tracklet lengths, teacher agreement and (with ``gt``) AP/precision/recall."""
    n_frames = max(len(fused), 1)
    targets = [r for r in rows if r.flag == 1]
    ignores = [r for r in rows if r.flag == 0]
    lengths = np.asarray(stats["confirmed_lengths"] or [0])
    kept = [n for fb in fused.values() for s, n in zip(fb.scores, fb.support) if s >= cfg.ignore_score]
    heights = box_heights(np.array([r.box for r in targets])) if targets else np.zeros(0)
    report = {
        "frames": len(fused),
        "frames_with_targets": len({r.frame for r in targets}),
        "targets_per_frame": len(targets) / n_frames,
        "ignore_regions_per_frame": len(ignores) / n_frames,
        "fused_boxes_per_frame": sum(len(v) for v in fused.values()) / n_frames,
        "identities": stats["confirmed_tracklets"],
        "tracklet_length_frames": {"median": float(np.median(lengths)), "p10": float(np.percentile(lengths, 10)),
                                   "p90": float(np.percentile(lengths, 90)), "max": int(lengths.max())},
        "uncertain_tracklets": stats["uncertain_tracklets"],
        "flickers_dropped": stats["flickers_dropped"],
        "gap_filled_boxes": stats["filled_boxes"],
        "group_boxes_dropped": stats["group_boxes_dropped"],
        "target_height_px": {"median": float(np.median(heights)) if len(heights) else float("nan"),
                             "p10": float(np.percentile(heights, 10)) if len(heights) else float("nan"),
                             "p90": float(np.percentile(heights, 90)) if len(heights) else float("nan")},
        "teachers": n_teachers,
        # of the fused boxes kept (>= ignore_score), the share that every teacher saw
        "teacher_agreement": float(np.mean(np.asarray(kept) == n_teachers)) if kept else float("nan"),
        "link_config": asdict(cfg),
    }
    if gt is not None:
        report["vs_ground_truth"] = compare_with_ground_truth(fused, rows, gt)
    return report


def compare_with_ground_truth(fused: dict[int, FusedBoxes], rows: list[LabelRow],
                              gt: dict[int, FrameAnnotations]) -> dict:
    """AP@0.5 of the fused boxes (scored) and precision/recall of the final targets against real labels."""
    from ..evaluation import detection_ap

    frames = sorted(fused)
    gt = {f: gt[f] for f in frames if f in gt}
    dets = {f: (np.full(len(fb), -1), fb.boxes, fb.scores) for f, fb in fused.items()}
    ap = detection_ap(gt, dets)
    tp = n_targets = n_pos = 0
    for f in frames:
        a = gt.get(f)
        t = np.array([r.box for r in rows if r.frame == f and r.flag == 1]).reshape(-1, 4)
        pos = a.boxes[~a.ignore] if a is not None else np.zeros((0, 4))
        n_pos += len(pos)
        if len(t) == 0:
            continue
        iou = iou_matrix(t, pos)
        used = np.zeros(len(pos), bool)
        counted = np.ones(len(t), bool)
        for i in np.argsort(-iou.max(1) if iou.size else np.zeros(len(t))):
            j = int(np.argmax(np.where(used, -1, iou[i]))) if len(pos) else -1
            if j >= 0 and iou[i, j] >= 0.5 and not used[j]:
                used[j] = True
                tp += 1
            elif a is not None and a.ignore.any() and iou_matrix(t[i : i + 1], a.boxes[a.ignore]).max() >= 0.5:
                counted[i] = False  # on a ground-truth ignore region
        n_targets += int(counted.sum())
    return {
        "fused_AP50": ap,
        "target_precision": tp / n_targets if n_targets else float("nan"),
        "target_recall": tp / n_pos if n_pos else float("nan"),
        "gt_boxes": n_pos,
        **identity_quality(rows, gt),
    }


def identity_quality(rows: list[LabelRow], gt: dict[int, FrameAnnotations]) -> dict:
    """How the label identities follow the annotated people (targets matched one-to-one per frame at IoU 0.5).

    ``identities_per_person``: label identities per annotated identity (1 = unbroken; more = fragments,
    which cost training pairs and make IDF1 against these labels reward trackers that break as often);
    ``swapped_identities``: label identities that follow two annotated people, each for >= 2 frames in a
    row (the error that teaches the SOT branch to confuse people); ``label_identities_matched``.
    """
    from scipy.optimize import linear_sum_assignment

    follows: dict[int, list[int]] = {}
    by_frame: dict[int, list[LabelRow]] = {}
    for r in rows:
        if r.flag == 1:
            by_frame.setdefault(r.frame, []).append(r)
    for f, targets in sorted(by_frame.items()):
        a = gt.get(f)
        if a is None or a.ignore.all():
            continue
        people, ids = a.boxes[~a.ignore], a.ids[~a.ignore]
        iou = iou_matrix(np.array([r.box for r in targets]), people)
        for i, j in zip(*linear_sum_assignment(-iou)):
            if iou[i, j] >= 0.5:
                follows.setdefault(targets[i].track_id, []).append(int(ids[j]))
    per_person: dict[int, set[int]] = {}
    swapped = 0
    for label_id, people in follows.items():
        for p in people:
            per_person.setdefault(p, set()).add(label_id)
        runs = [p for k, p in enumerate(people) if k + 1 < len(people) and people[k + 1] == p]  # >= 2 in a row
        swapped += any(x != y for x, y in zip(runs, runs[1:]))
    return {
        "identities_per_person": float(np.mean([len(v) for v in per_person.values()])) if per_person else float("nan"),
        "swapped_identities": swapped,
        "label_identities_matched": len(follows),
    }


def save_outputs(out_dir: str, name: str, source: str, fps: float, size, fused, rows, report,
                 warps: dict | None = None) -> None:
    os.makedirs(os.path.join(out_dir, "gt"), exist_ok=True)
    if warps is not None:
        write_camera_motion(os.path.join(out_dir, "camera_motion.txt"), warps)
    write_labels(os.path.join(out_dir, "gt", "gt.txt"), rows)
    write_fused(os.path.join(out_dir, "fused.txt"), fused)
    write_seqinfo(os.path.join(out_dir, "seqinfo.ini"), name, source, fps, len(fused), size)
    with open(os.path.join(out_dir, "report.json"), "w") as fh:
        json.dump(report, fh, indent=2)


def write_camera_motion(path: str, warps: dict[int, np.ndarray]) -> None:
    with open(path, "w") as fh:
        for f in sorted(warps):
            fh.write(f"{f}," + ",".join(f"{v:.6f}" for v in np.asarray(warps[f], np.float64).reshape(-1)) + "\n")


def read_camera_motion(path: str) -> dict[int, np.ndarray]:
    """The inverse of :func:`write_camera_motion`."""
    data = np.loadtxt(path, delimiter=",", ndmin=2, dtype=np.float64) if os.path.getsize(path) else np.zeros((0, 7))
    if data.size and data.shape[1] != 7:
        raise ValueError(f"{path}: expected 7 columns (frame + a 2x3 warp), got {data.shape[1]}")
    return {int(r[0]): r[1:].reshape(2, 3) for r in data}


def make_labels(fused: dict[int, FusedBoxes], cfg: LinkConfig, warps: dict[int, np.ndarray] | None = None):
    """Tracklets and label rows from fused boxes (the part of the pipeline after the teachers); ``warps``: the
    camera's motion between frames, for footage from a moving camera (``link_with_camera_motion``)."""
    if warps is not None:
        return link_with_camera_motion(fused, cfg, warps)
    return label_rows(link_tracklets(fused, cfg), cfg)
