"""How well pseudo-label identities follow real people, and what IDF1 against them can judge.

1. Linker sweep: re-derive the labels of a pseudo-labelled scene from its ``fused.txt`` for each weak-duplicate
   IoU (``LinkConfig.nms_iou``) x velocity window, and score them against real annotations: identities, label
   identities per annotated person, identities that follow two people, IDF1 of the labels as if they were a
   tracker's output. This is how the linker defaults were chosen (PETS09-S2L1 1-397, training frames).
2. With ``--checkpoint``: the same detections of frames ``--first``-``--track-last`` tracked in ``sot`` and
   ``iou`` association and scored against the real identities and against the pseudo-label identities
   (``evaluate_people`` on a two-split file written to a temporary folder).

    python bench/label_identities.py [--checkpoint sotmot_ros/weights/default.pt]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, HERE)
sys.path.insert(0, REPO)

from sotmot_ros.data.mot import read_mot_file  # noqa: E402
from sotmot_ros.evaluation import evaluate_mot  # noqa: E402
from sotmot_ros.pseudo.labeller import identity_quality, make_labels, read_fused, write_labels  # noqa: E402
from sotmot_ros.pseudo.linking import LinkConfig  # noqa: E402

PETS_GT = os.path.join(REPO, "..", "shared", "data", "PETS09-S2L1", "gt_train_0001-0397.txt")
PETS_LABELS = os.path.join(REPO, "data_cache", "pseudo", "PETS09-S2L1")
PETS_VIDEO = os.path.join(REPO, "data_cache", "vtest.avi")


def sweep(fused_path: str, gt_path: str, first: int, last: int, nms_values, windows) -> list[dict]:
    """One row per (nms_iou, velocity_frames): label identities scored against ``gt_path``."""
    fused = read_fused(fused_path, range(first, last + 1))
    fused = {f: v for f, v in fused.items() if first <= f <= last}
    gt = read_mot_file(gt_path, fmt="mot15", frame_range=(first, last))
    rows = []
    with tempfile.TemporaryDirectory(prefix="sotmot_labels_") as tmp:
        for nms_iou in nms_values:
            for window in windows:
                cfg = LinkConfig(nms_iou=nms_iou, velocity_frames=window)
                labels, stats = make_labels(fused, cfg)
                path = os.path.join(tmp, "labels.txt")
                write_labels(path, [r for r in labels if r.flag == 1])
                m = evaluate_mot({"labels": (gt_path, path)}, frame_range=(first, last))["labels"]
                rows.append({"nms_iou": nms_iou, "velocity_frames": window, "identities": stats["confirmed_tracklets"],
                             **identity_quality(labels, gt), "label_IDF1": m["IDF1"]})
    return rows


def format_sweep(rows: list[dict]) -> str:
    out = ["| weak-duplicate IoU | velocity frames | identities | per person | follow two people | label IDF1 |",
           "|---|---:|---:|---:|---|---:|"]
    for r in rows:
        out.append(f"| {r['nms_iou']:g} | {r['velocity_frames']} | {r['identities']} "
                   f"| {r['identities_per_person']:.1f} | {r['swapped_identities']} of {r['label_identities_matched']} "
                   f"| {100 * r['label_IDF1']:.1f} |")
    return "\n".join(out)


def real_vs_pseudo(checkpoint: str, source: str, real_gt: str, pseudo_gt: str, first: int, last: int) -> str:
    """``sot`` and ``iou`` tracking of the same detections scored against real and pseudo-label identities."""
    import evaluate_people

    entry = {"name": "PETS09-S2L1-train", "source": os.path.abspath(source), "first": first, "last": last}
    lines = ["| identities | `sot` IDF1 / IDs | `iou` IDF1 / IDs | `sot` - `iou` |", "|---|---|---|---:|"]
    with tempfile.TemporaryDirectory(prefix="sotmot_splits_") as tmp:
        splits = os.path.join(tmp, "splits.yaml")
        with open(splits, "w") as fh:
            yaml.safe_dump({"real": [{**entry, "gt": os.path.abspath(real_gt), "kind": "annotated"}],
                            "pseudo": [{**entry, "gt": os.path.abspath(pseudo_gt), "kind": "pseudo"}]}, fh)
        for split in ("real", "pseudo"):
            res = evaluate_people.evaluate(checkpoint, split, ("sot", "iou"), splits_path=splits)
            t = res["sequences"][entry["name"]]["tracking"]
            sot, iou = t["sot"], t["iou"]
            lines.append(f"| {split} | {100 * sot['IDF1']:.1f} / {sot['IDs']} | {100 * iou['IDF1']:.1f} / {iou['IDs']} "
                         f"| {100 * (sot['IDF1'] - iou['IDF1']):+.1f} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--labels", default=PETS_LABELS, help="a pseudo-label output folder (its fused.txt and gt/gt.txt)")
    p.add_argument("--gt", default=PETS_GT, help="real annotations of the same frames (MOT15)")
    p.add_argument("--source", default=PETS_VIDEO, help="the video of the scene (for --checkpoint)")
    p.add_argument("--first", type=int, default=1)
    p.add_argument("--last", type=int, default=397, help="last frame of the sweep")
    p.add_argument("--track-last", type=int, default=317, help="last frame tracked with --checkpoint")
    p.add_argument("--nms-iou", type=float, nargs="+", default=[1.0, 0.5, 0.4, 0.3])
    p.add_argument("--velocity-frames", type=int, nargs="+", default=[2, 5, 8])
    p.add_argument("--checkpoint", default=None, help="also compare sot/iou IDF1 against real vs pseudo identities")
    args = p.parse_args(argv)
    rows = sweep(os.path.join(args.labels, "fused.txt"), args.gt, args.first, args.last, args.nms_iou,
                 args.velocity_frames)
    print(format_sweep(rows))
    if args.checkpoint:
        print()
        print(real_vs_pseudo(args.checkpoint, args.source, args.gt, os.path.join(args.labels, "gt", "gt.txt"),
                             args.first, args.track_last))
    return 0


if __name__ == "__main__":
    sys.exit(main())
