"""Evaluate a model on the validation scenes of ``config/people_splits.yaml``: detection and tracking.

Per sequence: detections are cached once (``cache_detections``), then
- detection AP@0.5 against the sequence's labels (real annotations or teacher-fusion pseudo-labels; ignore
  regions neither reward nor punish), recall at the tracker's high threshold, and the median height of the
  labelled people vs the median height of the detections that match them (a size blind spot shows here);
- MOT metrics of the tracker with the model's settings (``config_for_model``) in each association mode,
  all on the very same detections.

    python bench/evaluate_people.py --checkpoint sotmot_ros/weights/default.pt [--split report] [--splits FILE]
        [--modes sot iou motion+iou] [--json out.json] [--set key=value ...] [--low-res ROWS]
        [--camera-rows ROWS] [--frame-step N] [--fault NAME:LEVEL] [--moving-camera NAME:LEVEL] [--hide SECONDS]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile

import numpy as np
import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, HERE)
sys.path.insert(0, REPO)

from cache_detections import (  # noqa: E402
    DetectionCache, _file_digest, apply_nms, attach_camera_motion, cache_detections, every_nth_frame, fault_arg,
    frame_step_arg, load_cache, moving_arg)
from compare_trackers import evaluate_rows, run_sotmot  # noqa: E402
from hidden_people import hide_people, hide_windows, write_gt  # noqa: E402

from sotmot_ros.boxes import box_heights, iou_matrix  # noqa: E402
from sotmot_ros.data.camera_faults import FAULTS, fault_tag  # noqa: E402
from sotmot_ros.data.mot import read_mot_file  # noqa: E402
from sotmot_ros.data.moving_camera import MOTIONS, camera_warps, motion_tag, write_view_gt  # noqa: E402
from sotmot_ros.evaluation import detection_ap  # noqa: E402
from sotmot_ros.model.checkpoint import default_checkpoint_path, load_model, resolve_model_path  # noqa: E402
from sotmot_ros.preprocess import LETTERBOX_VERSION  # noqa: E402
from sotmot_ros.tracking import TrackerConfig, config_for_model  # noqa: E402
from sotmot_ros.tracking.config import ASSOCIATION_MODES  # noqa: E402
from sotmot_ros.train.config import resolve_path  # noqa: E402

SPLITS = os.path.join(REPO, "config", "people_splits.yaml")
CACHE_DIR = os.path.join(REPO, "runs", "bench", "people")  # detection caches, per model file and sequence


def split_names(name: str) -> list[str]:
    """``"tune,fit"`` -> ``["tune", "fit"]``: a comma joins splits into one set of sequences."""
    names = [n.strip() for n in name.split(",") if n.strip()]
    if not names:
        raise SystemExit("no split named")
    return names


def load_split(name: str, path: str = SPLITS) -> list[dict]:
    """The sequences of one split, or of several joined by commas (``tune,fit``), with resolved paths."""
    with open(path) as fh:
        splits = yaml.safe_load(fh)
    names = split_names(name)
    for one in names:
        if one not in splits:
            raise SystemExit(f"{path}: no split {one!r} (have {sorted(splits)})")
    out = []
    for e in (dict(e) for one in names for e in splits[one]):
        for key in ("source", "gt"):
            e[key] = resolve_path(e[key], REPO)
            if not os.path.exists(e[key]):
                raise SystemExit(f"{e['name']}: {key} {e[key]} not found (run scripts/make_people_labels.sh?)")
        out.append(e)
    return out


def sequence_cache(entry: dict, checkpoint: str, cache_dir: str, low_res: int | None = None,
                   camera_rows: int | None = None, fault: tuple[str, int] | None = None,
                   moving: tuple[str, int] | None = None) -> DetectionCache:
    """Detections of one sequence, cached per (model file content, letterbox version, sequence, frame range, frame
    rate, low_res, camera_rows, fault, moving camera). ``checkpoint``: a model file or a bundled model's name. An
    entry's ``fps`` overrides the source's frame rate (the time stamps the tracker sees)."""
    from sotmot_ros.sources import open_source

    checkpoint = str(resolve_model_path(checkpoint))

    first = int(entry.get("first", 1))
    last = entry.get("last") or open_source(entry["source"]).length
    fps = float(entry["fps"]) if entry.get("fps") else None
    tag = f"_fps{fps:g}" if fps else ""
    tag += (f"_lowres{int(low_res)}" if low_res else "") + (f"_camera{int(camera_rows)}" if camera_rows else "")
    tag += f"_{fault_tag(*fault)}" if fault else ""
    tag += f"_{motion_tag(*moving)}" if moving else ""
    name = f"{_file_digest(checkpoint)}_lb{LETTERBOX_VERSION}_{entry['name']}_{first}-{last}{tag}.npz"
    path = os.path.join(cache_dir, name)
    if os.path.isfile(path):
        return load_cache(path)
    cache = cache_detections(entry["source"], checkpoint, first, int(last), device="cpu", score_threshold=0.05,
                             fps=fps, progress=False, low_res=low_res, camera_rows=camera_rows, fault=fault,
                             moving=moving)
    cache.save(path)
    return cache


def view_gt(entry: dict, cache: DetectionCache, moving: tuple[str, int], folder: str) -> str:
    """The sequence's labels re-expressed in the simulated moving camera's view of each cached frame."""
    warps = camera_warps(cache.timestamps, tuple(cache.meta["frame_size"]), *moving)
    return write_view_gt(entry["gt"], cache.frames, warps, cache.image_size,
                         os.path.join(folder, "view_" + os.path.basename(entry["gt"])))


def detection_metrics(cache: DetectionCache, gt: dict, high: float) -> dict:
    """AP@0.5, recall at ``high`` and the heights of labelled people vs the detections that find them."""
    dets = {f: (np.zeros(len(d)), d.boxes, d.scores) for f, _, d in cache}
    hits = total = 0
    lab_h, det_h = [], []
    for frame, _, d in cache:
        ann = gt.get(frame)
        if ann is None:
            continue
        boxes = ann.boxes[~ann.ignore]
        total += len(boxes)
        lab_h.extend(box_heights(boxes))
        sel = d.scores >= high
        if len(boxes) and sel.any():
            iou = iou_matrix(boxes, d.boxes[sel])
            found = iou.max(1) >= 0.5
            hits += int(found.sum())
            det_h.extend(box_heights(d.boxes[sel][iou.argmax(1)[found]]))
    return {
        "AP50": detection_ap(gt, dets), f"recall@{high:g}": hits / max(total, 1), "labelled_boxes": total,
        "median_labelled_height": float(np.median(lab_h)) if lab_h else float("nan"),
        "median_detected_height": float(np.median(det_h)) if det_h else float("nan"),
        "labelled_height_p10_p90": [float(np.percentile(lab_h, q)) for q in (10, 90)] if lab_h else [],
    }


def rows_of_frames(gt_path: str, frames, folder: str) -> str:
    """A copy of a MOT ground-truth file with only the rows of ``frames`` (for ``--frame-step``: the skipped
    frames are neither tracked nor scored)."""
    keep = {int(f) for f in frames}
    out = os.path.join(folder, "kept_" + os.path.basename(gt_path))  # never the input itself (a file in folder)
    if os.path.abspath(out) == os.path.abspath(gt_path):
        raise ValueError(f"rows_of_frames would overwrite its input {gt_path}")
    with open(gt_path) as src, open(out, "w") as dst:
        dst.writelines(line for line in src if line.strip() and int(float(line.split(",", 1)[0])) in keep)
    return out


def parse_overrides(items: list[str]) -> dict:
    """``--set key=value ...`` -> tracker overrides (values read as YAML: 0.5, true, sot)."""
    return {k: yaml.safe_load(v) for k, v in (s.split("=", 1) for s in items)}


def write_json(path: str, payload: dict) -> None:
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w") as fh:
        json.dump(payload, fh, indent=2, default=float)
    print(f"-> {path}")


def model_nms(meta: dict) -> float:
    """The box-NMS IoU the model file asks the Detector for (1.0 = none)."""
    return float((meta.get("detector") or {}).get("nms_iou", 1.0))


def evaluate(checkpoint: str, split: str, modes=ASSOCIATION_MODES, overrides: dict | None = None,
             cache_dir: str | None = None, nms_iou: float | None = None, splits_path: str = SPLITS,
             low_res: int | None = None, frame_step: int = 1, camera_rows: int | None = None,
             fault: tuple[str, int] | None = None, moving: tuple[str, int] | None = None,
             hide: float | None = None, hide_seed: int = 0) -> dict:
    checkpoint = str(resolve_model_path(checkpoint))  # a file or a bundled model's name
    _, meta = load_model(checkpoint)
    config, origin = config_for_model(meta, overrides)
    nms_iou = model_nms(meta) if nms_iou is None else nms_iou
    cache_dir = cache_dir or CACHE_DIR
    results = {"checkpoint": os.path.abspath(checkpoint), "split": split, "tracker": config.to_dict(),
               "tracker_origin": origin, "nms_iou": nms_iou, "low_res": low_res, "camera_rows": camera_rows,
               "fault": list(fault) if fault else None, "moving_camera": list(moving) if moving else None,
               "frame_step": frame_step, "hide_seconds": hide, "hide_seed": hide_seed if hide else None,
               "sequences": {}}
    for entry in load_split(split, splits_path):
        raw = sequence_cache(entry, checkpoint, cache_dir, low_res, camera_rows, fault, moving)
        cache = every_nth_frame(apply_nms(raw, nms_iou), frame_step)
        if config.camera_motion != "none":
            attach_camera_motion(cache, cache_dir)
        with tempfile.TemporaryDirectory(prefix="sotmot_people_") as tmp:
            gt_file = view_gt(entry, raw, moving, tmp) if moving else entry["gt"]
            hidden = None
            if hide:  # the windows come from every frame's time, so each frame step hides the same moments
                rows = np.loadtxt(gt_file, delimiter=",", ndmin=2)
                windows = hide_windows(rows, dict(zip(raw.frames.tolist(), raw.timestamps.tolist())), hide, hide_seed)
                cache, rows, removed = hide_people(cache, rows, windows)
                gt_file = write_gt(os.path.join(tmp, "hidden_" + os.path.basename(gt_file)), rows)
                hidden = {"people": len(windows), "detections_removed": removed}
            gt = read_mot_file(gt_file, fmt="mot15", frame_range=cache.frame_range)
            gt = {f: gt[f] for f in cache.frames.tolist() if f in gt}
            seq = {"kind": entry["kind"], "frames": list(cache.frame_range),
                   **detection_metrics(cache, gt, config.high_score_threshold), "tracking": {}}
            if hidden:
                seq["hidden"] = hidden
            gt_path = gt_file if frame_step == 1 else rows_of_frames(gt_file, cache.frames, tmp)
            for mode in modes:
                cfg = TrackerConfig(**{**config.to_dict(), "association": mode})
                m = evaluate_rows(run_sotmot(cache, cfg, timing=False).rows, gt_path, cache.frame_range)
                seq["tracking"][mode] = {k: m[k] for k in ("MOTA", "IDF1", "HOTA", "IDs", "FP", "FN", "IDTP", "IDFP",
                                                           "IDFN")}
        results["sequences"][entry["name"]] = seq
        print(format_sequence(entry["name"], seq), flush=True)
    return results


def format_sequence(name: str, s: dict) -> str:
    recall = next(v for k, v in s.items() if k.startswith("recall@"))
    line = (f"{name} ({s['kind']}, frames {s['frames'][0]}-{s['frames'][1]}): AP@0.5 {100 * s['AP50']:.1f}, "
            f"recall {100 * recall:.1f}, height labelled/detected {s['median_labelled_height']:.0f}/"
            f"{s['median_detected_height']:.0f} px")
    if s.get("hidden"):
        line += f"; {s['hidden']['people']} people hidden once ({s['hidden']['detections_removed']} detections removed)"
    for mode, m in s["tracking"].items():
        line += (f"\n    {mode:<11} MOTA {100 * m['MOTA']:5.1f}  IDF1 {100 * m['IDF1']:5.1f}  HOTA {100 * m['HOTA']:5.1f}"
                 f"  IDs {m['IDs']:3d}  FP {m['FP']:4d}  FN {m['FN']:4d}")
    return line


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--checkpoint", default=str(default_checkpoint_path()))
    p.add_argument("--split", default="report", help="a split of config/people_splits.yaml (report | tune | fit)")
    p.add_argument("--splits", default=SPLITS, help="the splits file (default: config/people_splits.yaml); your own "
                   "scenes: the same layout, e.g. a scene you pseudo-labelled with `sotmot pseudo-label`")
    p.add_argument("--modes", nargs="+", default=list(ASSOCIATION_MODES), choices=ASSOCIATION_MODES)
    p.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE", help="tracker overrides")
    p.add_argument("--cache-dir", default=None)
    p.add_argument("--nms-iou", type=float, default=None, help="box NMS of the detections (default: the model's)")
    p.add_argument("--low-res", type=int, default=None, metavar="ROWS",
                   help="robustness check: degrade every frame to what a camera of ROWS rows gives (e.g. 240)")
    p.add_argument("--camera-rows", type=int, default=None, metavar="ROWS",
                   help="robustness check: a small camera; the detector gets every frame shrunk to ROWS rows, so "
                   "its letterbox enlarges it as it does a real low-resolution stream (e.g. 240)")
    p.add_argument("--fault", type=fault_arg, default=None, metavar="NAME[:LEVEL]",
                   help=f"robustness check: every frame as a faulty camera delivers it ({', '.join(FAULTS)}; "
                   "level 1-3 from mild to bad, default 2; sotmot_ros/data/camera_faults.py)")
    p.add_argument("--frame-step", type=frame_step_arg, default=1, metavar="N",
                   help="robustness check: track every Nth frame only, at its real time (inference N times slower "
                   "than the camera, as the ROS node then takes the newest frame); skipped frames are not scored")
    p.add_argument("--moving-camera", type=moving_arg, default=None, metavar="NAME[:LEVEL]",
                   help=f"robustness check: a simulated moving camera sees a moving window of every frame "
                   f"({', '.join(MOTIONS)}; level 1-3, default 2; sotmot_ros/data/moving_camera.py); the labels "
                   "follow the view exactly")
    p.add_argument("--hide", type=float, default=None, metavar="SECONDS",
                   help="robustness check of re-identification: every labelled person living long enough vanishes "
                   "once for SECONDS (their detections removed, their labels made ignore regions; "
                   "bench/hidden_people.py)")
    p.add_argument("--hide-seed", type=int, default=0, help="seed of the --hide windows")
    p.add_argument("--json", default=None)
    args = p.parse_args(argv)
    if args.hide is not None and not args.hide > 0:
        p.error(f"--hide must be > 0 seconds, got {args.hide}")
    if args.low_res is not None and args.low_res < 16:
        p.error(f"--low-res must be >= 16 rows, got {args.low_res}")
    if args.camera_rows is not None and args.camera_rows < 16:
        p.error(f"--camera-rows must be >= 16 rows, got {args.camera_rows}")
    out = evaluate(args.checkpoint, args.split, args.modes, parse_overrides(args.set), args.cache_dir, args.nms_iou,
                   args.splits, args.low_res, args.frame_step, args.camera_rows, args.fault, args.moving_camera,
                   args.hide, args.hide_seed)
    print(f"tracker: {out['tracker_origin']}; detector box NMS IoU {out['nms_iou']:g}")
    if args.json:
        write_json(args.json, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
