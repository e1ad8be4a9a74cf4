"""Evaluate a model file on a frame range of an annotated video: detection AP@0.5 and recall, then
MOT metrics of the default tracker on the very same detections.

This produces the validation numbers of the model card (PETS09-S2L1 frames 318-397 by default; frames
398-795 are held out and refused by the detection cache).

    python bench/evaluate_model.py --checkpoint runs/pets_cpu/model_last.pt [--first 318 --last 397]
        [--json out.json] [--association sot]
"""

from __future__ import annotations

import argparse
import json
import os
import sys

import numpy as np
import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))

from cache_detections import DEFAULT_GT, DEFAULT_VIDEO, VAL_RANGE, cache_detections  # noqa: E402
from compare_trackers import evaluate_rows, run_sotmot  # noqa: E402

from sotmot_ros.data.mot import read_mot_file  # noqa: E402
from sotmot_ros.evaluation import detection_ap, iou_matrix  # noqa: E402
from sotmot_ros.tracking import TrackerConfig  # noqa: E402


def detection_recall(gt: dict, cache, score_threshold: float, iou_threshold: float = 0.5) -> float:
    """Share of counted (non-ignore) gt boxes covered by a detection >= score_threshold at IoU >= 0.5."""
    hit = total = 0
    for frame, _, det in cache:
        ann = gt.get(frame)
        if ann is None:
            continue
        boxes = ann.boxes[~ann.ignore]
        total += len(boxes)
        sel = det.scores >= score_threshold
        if len(boxes) and sel.any():
            iou = iou_matrix(boxes, det.boxes[sel])
            hit += int((iou.max(axis=1) >= iou_threshold).sum())
    return hit / max(total, 1)


def evaluate(checkpoint: str, video: str, gt_path: str, first: int, last: int, config: TrackerConfig,
             device: str = "auto") -> dict:
    cache = cache_detections(video, checkpoint, first, last, device=device, score_threshold=0.05)
    gt = read_mot_file(gt_path, fmt="mot15", frame_range=(first, last))
    dets = {f: (np.zeros(len(d)), d.boxes, d.scores) for f, _, d in cache}
    run = run_sotmot(cache, config)
    metrics = evaluate_rows(run.rows, gt_path, (first, last))
    return {
        "checkpoint": checkpoint,
        "frames": [first, last],
        "ap50": detection_ap(gt, dets),
        "recall@0.5_score>=high": detection_recall(gt, cache, config.high_score_threshold),
        "recall@0.5_score>=low": detection_recall(gt, cache, config.low_score_threshold),
        "association": config.association,
        **{k: metrics[k] for k in ("MOTA", "IDF1", "HOTA", "IDs", "FP", "FN", "MT", "ML")},
        "num_ids": metrics["num_ids"],
    }


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--checkpoint", default=None, help="model file (default: the bundled model)")
    p.add_argument("--video", default=DEFAULT_VIDEO)
    p.add_argument("--gt", default=DEFAULT_GT)
    p.add_argument("--first", type=int, default=VAL_RANGE[0])
    p.add_argument("--last", type=int, default=VAL_RANGE[1])
    p.add_argument("--association", default="sot")
    p.add_argument("--sot-lambda", type=float, default=None)
    p.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE",
                   help="TrackerConfig overrides, e.g. high_score_threshold=0.3 min_hits=1")
    p.add_argument("--device", default="auto")
    p.add_argument("--json", default=None)
    a = p.parse_args(argv)
    overrides = {"association": a.association}
    if a.sot_lambda is not None:
        overrides["sot_lambda"] = a.sot_lambda
    for item in a.set:
        key, _, value = item.partition("=")
        overrides[key] = yaml.safe_load(value)
    config = TrackerConfig(**{**TrackerConfig().to_dict(), **overrides})
    result = evaluate(a.checkpoint, a.video, a.gt, a.first, a.last, config, a.device)
    print(json.dumps(result, indent=2))
    if a.json:
        with open(a.json, "w") as fh:
            json.dump(result, fh, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
