"""``sotmot eval`` (MOTA, IDF1, HOTA, ... per sequence) and ``sotmot evaldets`` (detection AP@0.5)."""

from __future__ import annotations

import argparse
import json
import os
import sys


def register(subparsers) -> None:
    p = subparsers.add_parser("eval", help="MOT metrics of tracking results against ground truth",
                              description="Pairs are given as --gt A --res A_RES [--gt B --res B_RES ...], or as "
                                          "folders: --gt-folder with SEQ/gt/gt.txt and --res-folder with SEQ.txt.")
    p.add_argument("--gt", action="append", default=[], help="ground-truth file (repeatable, paired with --res)")
    p.add_argument("--res", action="append", default=[], help="result file (repeatable)")
    p.add_argument("--gt-folder", default=None, help="MOTChallenge split folder: SEQ/gt/gt.txt")
    p.add_argument("--res-folder", default=None, help="folder of SEQ.txt results")
    p.add_argument("--fmt", choices=["mot15", "mot17"], default="mot15",
                   help="gt format: mot15 (PETS/TUD, flag 0 = ignore) or mot17 (class/visibility too)")
    p.add_argument("--min-visibility", type=float, default=0.0, help="mot17 only")
    p.add_argument("--first", type=int, default=None,
                   help="first frame to evaluate (inclusive; default: the ground truth's first frame)")
    p.add_argument("--last", type=int, default=None,
                   help="last frame to evaluate (inclusive; default: the ground truth's last frame)")
    p.add_argument("--json", default=None, help="write the metrics as JSON")
    p.add_argument("--plot", default=None, help="bar chart (PNG) of MOTA/IDF1/HOTA per sequence")
    p.add_argument("--switches", action="store_true",
                   help="also list every identity switch: frame, person, the tracks before and after (a new one or "
                   "an existing one), frames missed just before, where")
    p.set_defaults(func=run_eval)

    d = subparsers.add_parser("evaldets", help="detection AP@0.5 against ground truth")
    d.add_argument("--gt", required=True)
    d.add_argument("--dets", required=True, help="detections in MOTChallenge rows (score in column 7)")
    d.add_argument("--fmt", choices=["mot15", "mot17"], default="mot15")
    d.add_argument("--iou", type=float, default=0.5)
    d.add_argument("--first", type=int, default=None)
    d.add_argument("--last", type=int, default=None)
    d.set_defaults(func=run_evaldets)


def _frame_range(args):
    if args.first is None and args.last is None:
        return None
    return (args.first or 1, args.last if args.last is not None else 10**9)


def _pairs(args) -> dict[str, tuple[str, str]]:
    if len(args.gt) != len(args.res):
        raise SystemExit(f"sotmot eval: {len(args.gt)} --gt but {len(args.res)} --res; give them in pairs")
    from ..evaluation import _sequence_name

    pairs = {}
    for g, r in zip(args.gt, args.res):
        name = _sequence_name(g)
        pairs[name if name not in pairs else f"{name}:{len(pairs)}"] = (g, r)
    if bool(args.gt_folder) != bool(args.res_folder):
        raise SystemExit("sotmot eval: --gt-folder and --res-folder go together")
    if args.gt_folder:
        for f in sorted(os.listdir(args.res_folder)):
            if f.endswith(".txt"):
                seq = f[:-4]
                gt = os.path.join(args.gt_folder, seq, "gt", "gt.txt")
                if os.path.isfile(gt):
                    pairs[seq] = (gt, os.path.join(args.res_folder, f))
                else:
                    print(f"warning: no ground truth {gt} for {f}; skipped", file=sys.stderr)
    if not pairs:
        raise SystemExit("sotmot eval: nothing to evaluate (give --gt/--res or --gt-folder/--res-folder)")
    return pairs


def plot_metrics(results: dict[str, dict], path: str) -> None:
    """Grouped bars of MOTA, IDF1 and HOTA (%) per sequence."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    names = list(results)
    metrics = ("MOTA", "IDF1", "HOTA")
    x = np.arange(len(names))
    fig, ax = plt.subplots(figsize=(max(4.0, 1.4 * len(names) + 2), 3.5))
    for k, m in enumerate(metrics):
        vals = [100 * results[n][m] for n in names]
        bars = ax.bar(x + (k - 1) * 0.27, vals, 0.27, label=m)
        ax.bar_label(bars, fmt="%.1f", fontsize=7)
    ax.set_xticks(x, names, rotation=20, ha="right")
    ax.set_ylabel("%")
    ax.legend()
    ax.set_title("MOT metrics per sequence")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _check_coverage(pairs: dict, fmt: str, frame_range) -> None:
    """Warn (stderr) where the results and the ground truth cover different frames.

    Without --first/--last only the ground truth's frames are scored: say which result frames that drops.
    With an explicit range, say which part of it has no ground truth (every result there is a false
    positive)."""
    from ..evaluation import coverage

    for name, (gt, res) in pairs.items():
        gt_span, res_span = coverage(gt, res, fmt)
        if gt_span is None:
            print(f"warning: {name}: the ground truth {gt} has no rows", file=sys.stderr)
            continue
        if frame_range is None:
            if res_span is not None and (res_span[0] < gt_span[0] or res_span[1] > gt_span[1]):
                print(f"warning: {name}: results cover frames {res_span[0]}-{res_span[1]} but the ground truth "
                      f"only {gt_span[0]}-{gt_span[1]}: scoring frames {gt_span[0]}-{gt_span[1]} only "
                      "(--first/--last choose the frames)", file=sys.stderr)
        elif frame_range[0] < gt_span[0] or min(frame_range[1], res_span[1] if res_span else 0) > gt_span[1]:
            print(f"warning: {name}: frames {frame_range[0]}-{frame_range[1]} requested but the ground truth "
                  f"covers {gt_span[0]}-{gt_span[1]}: results outside it all count as false positives",
                  file=sys.stderr)


def run_eval(args: argparse.Namespace) -> int:
    from ..evaluation import evaluate_mot, format_table

    pairs = _pairs(args)
    frame_range = _frame_range(args)
    _check_coverage(pairs, args.fmt, frame_range)
    results = evaluate_mot(pairs, fmt=args.fmt, frame_range=frame_range if frame_range is not None else "gt",
                           min_visibility=args.min_visibility)
    print(format_table(results))
    if args.switches:
        from ..evaluation import format_switches, identity_switches

        for name, (gt, res) in pairs.items():
            print(f"{name}: identity switches")
            print(format_switches(identity_switches(gt, res, args.fmt, frame_range if frame_range is not None else "gt",
                                                    args.min_visibility)))
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(results, fh, indent=2)
    if args.plot:
        plot_metrics(results, args.plot)
    return 0


def run_evaldets(args: argparse.Namespace) -> int:
    from ..evaluation import detection_ap

    ap = detection_ap(args.gt, args.dets, iou_threshold=args.iou, fmt=args.fmt, frame_range=_frame_range(args))
    print(f"AP@{args.iou:g}: {100 * ap:.2f}")
    return 0
