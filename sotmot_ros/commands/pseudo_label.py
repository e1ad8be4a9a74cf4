"""``sotmot pseudo-label SOURCE... --teacher MODEL.onnx [--teacher ...] --out DIR``: training labels without hand labelling.

Runs one or more ONNX person detectors (YOLOX layout) over videos, image folders or MOTChallenge folders,
fuses their boxes, links them into tracklets and writes, per source, ``DIR/NAME/gt/gt.txt`` (MOT15:
flag 1 = target with identity, flag 0 = ignore region), ``fused.txt``, ``seqinfo.ini`` and ``report.json``,
then prints the quality report. ``--gt`` scores the labels against real annotations where they exist.
``--relabel`` re-derives the labels from an earlier run's ``fused.txt`` with other thresholds (no teachers).
``--corrections FILE`` applies hand corrections (merged or split identities, deleted or added boxes;
``sotmot_ros/pseudo/corrections.py``) after linking, every time the labels are made.
"""

from __future__ import annotations

import argparse
import json
import os

from ..pseudo.linking import LinkConfig

_LINK = LinkConfig()


def register(subparsers) -> None:
    p = subparsers.add_parser("pseudo-label", help="label footage with ONNX teacher detectors (for training)",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("sources", nargs="+", help="video files, image folders or MOTChallenge folders")
    p.add_argument("--teacher", action="append", default=[], help="ONNX person detector, YOLOX layout (repeatable)")
    p.add_argument("--person-class", type=int, action="append", default=None,
                   help="person class index per teacher (default 0 for each)")
    p.add_argument("--out", required=True, help="output folder: one sub-folder per source")
    p.add_argument("--name", action="append", default=None, help="sequence name per source (default: file name)")
    p.add_argument("--tiles", type=int, default=2,
                   help="also run the teachers on TILES x TILES zoomed windows (0 = whole frame only)")
    p.add_argument("--fusion-iou", type=float, default=0.55, help="IoU that groups boxes of different teachers")
    p.add_argument("--target-score", type=float, default=_LINK.target_score,
                   help="a tracklet needs a fused box at least this confident to become a target")
    p.add_argument("--ignore-score", type=float, default=_LINK.ignore_score,
                   help="fused boxes below this are background")
    p.add_argument("--link-iou", type=float, default=_LINK.link_iou)
    p.add_argument("--ambiguity-margin", type=float, default=_LINK.ambiguity_margin)
    p.add_argument("--max-gap", type=int, default=_LINK.max_gap, help="frames a tracklet may miss (then filled)")
    p.add_argument("--min-length", type=int, default=_LINK.min_length, help="observed frames a target tracklet needs")
    p.add_argument("--link-nms-iou", type=float, default=_LINK.nms_iou,
                   help="a weak fused box overlapping a better one this much is dropped before linking (1 = none)")
    p.add_argument("--velocity-frames", type=int, default=_LINK.velocity_frames,
                   help="observations a tracklet's predicted motion and size are fitted on")
    p.add_argument("--camera-motion", choices=["none", "affine"], default="none",
                   help="affine: footage from a moving camera (a robot, a vehicle, a hand-held phone): measure the "
                   "camera's motion between frames and link tracklets where it is removed (camera_motion.txt)")
    p.add_argument("--first", type=int, default=1, help="first frame (1-based, inclusive)")
    p.add_argument("--last", type=int, default=None, help="last frame (inclusive); frames after it are never decoded")
    p.add_argument("--gt", action="append", default=None, help="ground truth per source, to score the labels")
    p.add_argument("--gt-format", choices=["mot15", "mot17"], default="mot15")
    p.add_argument("--corrections", action="append", default=None,
                   help="hand corrections (YAML: merge / split / delete / boxes) per source, applied after linking; "
                   "`sotmot review-labels` shows where the identities may need them")
    p.add_argument("--relabel", action="store_true", help="reuse DIR/NAME/fused.txt instead of running teachers")
    p.add_argument("--threads", type=int, default=0, help="onnxruntime threads per teacher (0 = default)")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=run)


def sequence_names(sources: list[str], names: list[str] | None) -> list[str]:
    """One unique name per source: given, else the file/folder name, prefixed by its parent on clashes."""
    if names:
        if len(names) != len(sources):
            raise ValueError(f"--name given {len(names)} times for {len(sources)} sources")
        if len(set(names)) != len(names):
            raise ValueError(f"--name values must be unique, got {names}")
        return list(names)
    stems = [os.path.splitext(os.path.basename(os.path.normpath(s)))[0] for s in sources]
    out = []
    for s, stem in zip(sources, stems):
        parent = os.path.basename(os.path.dirname(os.path.abspath(os.path.normpath(s))))
        out.append(f"{parent}-{stem}" if stems.count(stem) > 1 else stem)
    if len(set(out)) != len(out):
        raise ValueError(f"sources give clashing sequence names {out}; set --name per source")
    return out


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from ..data.mot import read_mot_file, read_seqinfo
    from ..pseudo.corrections import apply_corrections, identity_stats, load_corrections
    from ..pseudo.labeller import (
        make_labels, quality_report, read_camera_motion, read_fused, run_teachers, save_outputs)
    from ..pseudo.teacher import OnnxTeacher
    from ..sources import open_source

    cfg = LinkConfig(args.target_score, args.ignore_score, args.link_iou, args.ambiguity_margin, args.max_gap,
                     args.min_length, args.link_nms_iou, args.velocity_frames)
    names = sequence_names(args.sources, args.name)
    if args.gt and len(args.gt) != len(args.sources):
        raise ValueError(f"--gt given {len(args.gt)} times for {len(args.sources)} sources (one per source)")
    if args.corrections and len(args.corrections) != len(args.sources):
        raise ValueError(f"--corrections given {len(args.corrections)} times for {len(args.sources)} sources (one per "
                         "source; run a source alone to correct only it)")
    corrections = [load_corrections(p) for p in args.corrections] if args.corrections else None
    if not args.relabel and not args.teacher:
        raise ValueError("give at least one --teacher MODEL.onnx (or --relabel to reuse fused.txt)")
    classes = args.person_class or [0] * len(args.teacher)
    if len(classes) != len(args.teacher):
        raise ValueError("--person-class must be given once per --teacher (or never)")
    teachers = [] if args.relabel else [
        OnnxTeacher(path, person_class=c, num_threads=args.threads) for path, c in zip(args.teacher, classes)
    ]
    for i, (source_path, name) in enumerate(zip(args.sources, names)):
        source = open_source(source_path)
        out_dir = os.path.join(args.out, name)
        last = min(args.last, source.length) if (args.last and source.length) else (args.last or source.length)
        if last is not None and last < args.first:
            raise ValueError(f"{source_path}: empty frame range {args.first}..{last}")
        warps = {} if args.camera_motion == "affine" else None
        if args.relabel:
            fused_path = os.path.join(out_dir, "fused.txt")
            if not os.path.isfile(fused_path):
                raise FileNotFoundError(f"--relabel: no {fused_path} (run with --teacher first)")
            seq = read_seqinfo(os.path.join(out_dir, "seqinfo.ini"))
            size = (int(seq.get("imwidth", 0)), int(seq.get("imheight", 0)))
            fused = read_fused(fused_path, range(args.first, args.first + int(seq.get("seqlength", 0))))
            with open(os.path.join(out_dir, "report.json")) as fh:
                earlier = json.load(fh)  # the teachers behind fused.txt
            n_teachers = int(earlier.get("teachers", 1))
            teacher_files = earlier.get("teacher_files", [])
            if warps is not None:
                motion_path = os.path.join(out_dir, "camera_motion.txt")
                if not os.path.isfile(motion_path):
                    raise FileNotFoundError(f"--relabel --camera-motion affine: no {motion_path} (run the teachers "
                                            "with --camera-motion affine first)")
                warps = read_camera_motion(motion_path)
        else:
            total = (last - args.first + 1) if last else None
            with tqdm(total=total, unit="frame", desc=name, disable=args.no_progress) as bar:
                fused, size = run_teachers(source.frames(args.first, last), teachers, args.tiles, args.fusion_iou, bar,
                                           warps=warps)
            n_teachers = len(teachers)
            teacher_files = [os.path.basename(t.path) for t in teachers]
        if not fused:
            raise ValueError(f"{source_path}: no frames in range {args.first}..{last}")
        rows, stats = make_labels(fused, cfg, warps)
        fixes = None
        if corrections:
            rows, fixes = apply_corrections(rows, corrections[i], (min(fused), max(fused)))
            stats.update(identity_stats(rows))
        gt = None
        if args.gt:
            gt = read_mot_file(args.gt[i], fmt=args.gt_format, frame_range=(min(fused), max(fused)))
        report = quality_report(fused, rows, stats, n_teachers, cfg, gt)
        report["source"] = os.path.abspath(source_path)
        report["teacher_files"] = teacher_files
        report["camera_motion"] = args.camera_motion
        if fixes is not None:
            report["corrections"] = {"file": os.path.abspath(args.corrections[i]), "sha256": corrections[i].sha256,
                                     **fixes}
        save_outputs(out_dir, name, source_path, source.fps, size, fused, rows, report, warps)
        print(format_report(name, report))
    return 0


def format_report(name: str, r: dict) -> str:
    tl = r["tracklet_length_frames"]
    line = (f"{name}: {r['frames']} frames, {r['targets_per_frame']:.2f} targets + {r['ignore_regions_per_frame']:.2f} "
            f"ignore regions per frame, {r['identities']} identities (length median {tl['median']:.0f}, "
            f"p10 {tl['p10']:.0f}, p90 {tl['p90']:.0f}), {r['flickers_dropped']} flickers dropped, "
            f"{r['gap_filled_boxes']} boxes gap-filled, target height median {r['target_height_px']['median']:.0f} px, "
            f"teacher agreement {r['teacher_agreement']:.2f}")
    if "vs_ground_truth" in r:
        g = r["vs_ground_truth"]
        line += (f"\n  vs ground truth ({g['gt_boxes']} boxes): fused AP@0.5 {g['fused_AP50']:.3f}, "
                 f"targets precision {g['target_precision']:.3f} recall {g['target_recall']:.3f}, "
                 f"{g['identities_per_person']:.1f} label identities per person, "
                 f"{g['swapped_identities']} of {g['label_identities_matched']} follow two people")
    if "corrections" in r:
        c = r["corrections"]
        line += (f"\n  hand corrections ({os.path.basename(c['file'])}): {c['merged_identities']} identities merged, "
                 f"{c['splits']} split, {c['deleted_boxes']} boxes deleted, {c['ignored_boxes']} turned into ignore "
                 f"regions, {c['boxes_set']} target boxes set, {c['ignore_regions_added']} ignore regions added")
    return line
