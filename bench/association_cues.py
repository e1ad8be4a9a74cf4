"""Which cue picks a person's own detection a few frames later: IoU, the SOT ridge response, or their fusion.

IDF1 on an 80-300-frame clip turns on a handful of identity switches; this counts hundreds of single
decisions instead, away from the tracker's gate, stages and track lifecycle, to show what each cue knows.

For every labelled person with a detection at frame t and at frame t+k (each matched to the label at IoU
>= 0.5, score >= the model's high threshold), the detection at t plays the track (box, SOT feature as its
template) and every high detection at t+k is a candidate. The ridge models of all the people of frame t are
solved jointly, as the tracker does, with the model's ``sot_lambda`` / ``sot_normalize``; ``fused`` is the
tracker's stage-1 similarity with the model's weights. A cue is right when its best candidate is the
person's own detection. ``cosine`` (plain appearance similarity of the two features, what a ReID tracker
uses) is the baseline the per-target ridge models are meant to beat. "crowded": another candidate's centre is within one box height of the right one.

    python bench/association_cues.py [--checkpoint sotmot_ros/weights/default.pt] [--split tune,fit]
        [--gaps 1 2 3 5] [--set sot_lambda=5 ...] [--json out.json]

Caveat: pseudo-label identities come from overlap linking, and the SOT head was trained on the identities
of its training scenes (PETS09-S2L1 1-317 is the ``fit`` split).
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from cache_detections import DetectionCache, apply_nms  # noqa: E402
from evaluate_people import (  # noqa: E402
    CACHE_DIR, SPLITS, load_split, model_nms, parse_overrides, sequence_cache, write_json)

from sotmot_ros.boxes import iou_matrix  # noqa: E402
from sotmot_ros.data.mot import read_mot_file  # noqa: E402
from sotmot_ros.model.checkpoint import default_checkpoint_path, load_model, resolve_model_path  # noqa: E402
from sotmot_ros.tracking import TrackerConfig, config_for_model  # noqa: E402
from sotmot_ros.tracking.association import fused_similarity, stage1_sot_responses  # noqa: E402

CUES = ("iou", "cosine", "sot", "fused")


def labelled_detections(cache: DetectionCache, gt: dict, high: float) -> dict:
    """{frame: (ids, idx, boxes, features)}: the high detections of the frame (boxes, features: the
    candidates) and which of them is each labelled person's (``idx[i]`` for ``ids[i]``; IoU >= 0.5, one
    detection per person by Hungarian matching)."""
    from scipy.optimize import linear_sum_assignment

    out = {}
    for frame, _, d in cache:
        sel = d.scores >= high
        boxes, feats = d.boxes[sel], d.features[sel]
        ann = gt.get(frame)
        ids = np.zeros(0, np.int64)
        idx = np.zeros(0, np.int64)
        if ann is not None and len(boxes):
            lab, lab_ids = ann.boxes[~ann.ignore], ann.ids[~ann.ignore]
            if len(lab):
                iou = iou_matrix(lab, boxes)
                r, c = linear_sum_assignment(-iou)
                ok = iou[r, c] >= 0.5
                ids, idx = lab_ids[r[ok]], c[ok]
        out[frame] = (ids, idx, boxes, feats)
    return out


def unit(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def cue_decisions(dets: dict, gap: int, cfg: TrackerConfig) -> dict:
    """Right/wrong counts of each cue over every (t, t+gap) pair of labelled detections."""
    counts = {cue: {"all": [0, 0], "crowded": [0, 0]} for cue in CUES}
    frames = sorted(dets)
    for t in frames:
        if t + gap not in dets:
            continue
        ids0, idx0, boxes0, feats0 = dets[t]
        ids1, idx1, boxes1, feats1 = dets[t + gap]
        common = np.intersect1d(ids0, ids1)
        if not len(common) or not len(boxes1):
            continue
        iou = iou_matrix(boxes0[idx0], boxes1)  # every labelled person of t vs every candidate of t+gap
        # the tracker's stage-1 responses, jointly solved over all the people of frame t
        resp = stage1_sot_responses(feats0[idx0], feats1, cfg.sot_lambda, cfg.sot_normalize)
        sims = {"iou": iou, "cosine": unit(feats0[idx0]) @ unit(feats1).T, "sot": resp,
                "fused": fused_similarity(resp, iou, cfg.weight_sot, cfg.weight_iou)}
        centres = (boxes1[:, :2] + boxes1[:, 2:]) / 2
        for pid in common:
            row = int(np.nonzero(ids0 == pid)[0][0])
            right = int(idx1[np.nonzero(ids1 == pid)[0][0]])
            height = boxes1[right, 3] - boxes1[right, 1]
            dist = np.linalg.norm(centres - centres[right], axis=1)
            dist[right] = np.inf
            crowded = bool((dist <= height).any())
            for cue, s in sims.items():
                ok = int(np.argmax(s[row]) == right)
                for key in ("all", "crowded") if crowded else ("all",):
                    counts[cue][key][0] += ok
                    counts[cue][key][1] += 1
    return counts


def evaluate(checkpoint: str, split: str, gaps, splits_path: str = SPLITS, cache_dir: str | None = None,
             overrides: dict | None = None) -> dict:
    checkpoint = str(resolve_model_path(checkpoint))  # a file or a bundled model's name
    _, meta = load_model(checkpoint)
    cfg, origin = config_for_model(meta, overrides)
    out = {"checkpoint": os.path.abspath(checkpoint), "split": split, "tracker_origin": origin,
           "sot_lambda": cfg.sot_lambda, "sot_normalize": cfg.sot_normalize,
           "weights": [cfg.weight_sot, cfg.weight_iou], "sequences": {}}
    for entry in load_split(split, splits_path):
        cache = apply_nms(sequence_cache(entry, checkpoint, cache_dir or CACHE_DIR), model_nms(meta))
        gt = read_mot_file(entry["gt"], fmt="mot15", frame_range=cache.frame_range)
        dets = labelled_detections(cache, gt, cfg.high_score_threshold)
        out["sequences"][entry["name"]] = {"kind": entry["kind"], "fps": cache.fps,
                                           "gaps": {int(g): cue_decisions(dets, int(g), cfg) for g in gaps}}
    return out


def format_table(out: dict) -> str:
    lines = [f"cues: sot_lambda {out['sot_lambda']:g}, sot_normalize {out['sot_normalize']}, fused weights "
             f"sot/iou {out['weights'][0]:g}/{out['weights'][1]:g} ({out['tracker_origin']})",
             "| sequence | gap (s) | decisions | " + " | ".join(CUES) + " | crowded | " + " | ".join(CUES) + " |",
             "|---|---:|---:|" + "---:|" * (2 * len(CUES) + 1)]
    pct = (lambda c: f"{100 * c[0] / c[1]:.1f}" if c[1] else "-")
    for name, seq in out["sequences"].items():
        for gap, counts in seq["gaps"].items():
            n_all, n_crowd = counts["iou"]["all"][1], counts["iou"]["crowded"][1]
            lines.append(f"| {name} ({seq['kind']}) | {gap} ({gap / seq['fps']:.2f}) | {n_all} | "
                         + " | ".join(pct(counts[c]["all"]) for c in CUES) + f" | {n_crowd} | "
                         + " | ".join(pct(counts[c]["crowded"]) for c in CUES) + " |")
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--checkpoint", default=str(default_checkpoint_path()))
    p.add_argument("--split", default="tune,fit")
    p.add_argument("--splits", default=SPLITS)
    p.add_argument("--gaps", type=int, nargs="+", default=[1, 2, 3, 5], help="frame gaps k (>= 1)")
    p.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE",
                   help="tracker overrides (sot_lambda, sot_normalize, weight_sot, ...)")
    p.add_argument("--cache-dir", default=None)
    p.add_argument("--json", default=None)
    args = p.parse_args(argv)
    if min(args.gaps) < 1:
        p.error(f"--gaps must be >= 1, got {args.gaps}")
    out = evaluate(args.checkpoint, args.split, args.gaps, args.splits, args.cache_dir, parse_overrides(args.set))
    print(format_table(out))
    if args.json:
        write_json(args.json, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
