"""Compare trackers on the same cached detections: our Tracker (sot / iou / motion+iou) and, when the
optional ``boxmot`` package is importable, its ByteTrack and OC-SORT.

    python bench/cache_detections.py                    # once: detections of the val split 318-397
    python bench/compare_trackers.py [--cache runs/bench/dets_vtest_0318-0397.npz]
        [--gt PETS09-S2L1 annotations (default ../shared/data/PETS09-S2L1/gt_train_0001-0397.txt)] [--json out.json] [--no-boxmot]

Metrics come from ``sotmot_ros.evaluation.evaluate_mot`` (MOTChallenge rules, IoU 0.5, flag-0 rows of the
MOT15 ground truth as ignore regions) restricted to the cached frame range: ground-truth rows outside it
are dropped, and every frame of the range counts even when a tracker reports nothing.

What is reported per frame: ours, the confirmed tracks matched in that frame (what ``sotmot track``
writes); boxmot, what its ``update`` returns.

Fair-comparison settings (all else is each tracker's own default):
- detection thresholds come from our ``TrackerConfig`` (high -> ByteTrack ``track_thresh`` / OC-SORT
  ``det_thresh``, low -> ``min_conf``; ByteTrack's new-track threshold ``det_thresh`` is set to our
  ``new_track_score_threshold``, as in the original ByteTrack where it is track_thresh + 0.1);
- lost tracks are kept as long as ours, ``max_lost_seconds`` converted to frames with the cache's fps
  (ByteTrack ``track_buffer`` at ``frame_rate=30`` so no rescaling, OC-SORT ``max_age``);
- boxmot trackers are called with a blank image of the video's size: with IoU association neither
  ByteTrack nor OC-SORT reads pixels (boxmot only takes the frame size from it).

Timing: ``assoc_us`` is the median per-frame wall time of association: for ours
``Tracker.last_association_seconds`` (SOT solve + gating + assignment); boxmot does not expose its
association separately, so its column is the whole ``update`` (marked ``*``), which is also given for
everyone as ``update_us``. BLAS/OpenMP are pinned to one thread (small matrices, shared machine).
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import logging  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cache_detections import (  # noqa: E402
    DEFAULT_GT, REPO, DetectionCache, attach_camera_motion, load_cache, write_json_report)

from sotmot_ros.data.mot import write_mot_results  # noqa: E402
from sotmot_ros.evaluation import evaluate_mot  # noqa: E402
from sotmot_ros.tracking import Tracker, TrackerConfig, tracks_to_publish  # noqa: E402

OUR_MODES = ("sot", "iou", "motion+iou")
BOXMOT_TRACKERS = ("bytetrack", "ocsort")
METRIC_COLUMNS = ("MOTA", "IDF1", "HOTA", "IDs", "FP", "FN")
DEFAULT_CACHE = os.path.join(REPO, "runs", "bench", "dets_vtest_0318-0397.npz")


@dataclass
class RunResult:
    """Output of one tracker over a cache: MOT rows and per-frame timings (seconds)."""

    rows: list = field(default_factory=list)  # (frame, id, x1, y1, x2, y2, score)
    assoc_s: list = field(default_factory=list)
    update_s: list = field(default_factory=list)
    assoc_is_update: bool = False


# ---------------------------------------------------------------------------------------------- trackers
def run_sotmot(cache: DetectionCache, config: TrackerConfig, timing: bool = True) -> RunResult:
    """Our Tracker over every cached frame; reports confirmed tracks matched in the frame. The cache's
    ``camera_motion`` (its warps, ``attach_camera_motion``) stands in for the frames the tracker measures them on
    (``affine`` needs them; ``auto`` without them compensates nothing, as the tracker does given no frames)."""
    tracker = Tracker(config)
    out = RunResult()
    camera_motion = cache.camera_motion
    if config.camera_motion == "affine" and camera_motion is None:
        raise ValueError("camera_motion='affine' needs the camera's warps of the cached frames "
                         "(cache_detections.attach_camera_motion measures them on the footage); this cache has none")
    if camera_motion is not None and len(camera_motion) != len(cache):
        raise ValueError(f"{len(camera_motion)} camera warps for {len(cache)} cached frames")
    for k, (frame, stamp, dets) in enumerate(cache):
        t0 = time.perf_counter()
        outputs = tracker.update(dets, stamp, camera_motion=None if camera_motion is None else camera_motion[k],
                                 image_width=cache.image_size[0])
        t1 = time.perf_counter()
        if timing:
            out.update_s.append(t1 - t0)
            out.assoc_s.append(tracker.last_association_seconds)
        for o in tracks_to_publish(outputs):
            out.rows.append((frame, o.track_id, *o.box.tolist(), o.score))
    return out


def boxmot_version() -> str | None:
    """boxmot's version when the package and the modules of the two trackers import, else None."""
    try:
        import boxmot
        from boxmot.trackers.box.bytetrack.tracker import ByteTrack  # noqa: F401
        from boxmot.trackers.box.ocsort.tracker import OcSort  # noqa: F401
    except Exception:  # noqa: BLE001 - optional dependency, any import failure means "not available"
        return None
    return str(getattr(boxmot, "__version__", "unknown"))


def make_boxmot_tracker(name: str, config: TrackerConfig, fps: float):
    """ByteTrack / OC-SORT with our detection thresholds and lost-track time (see module docstring)."""
    logging.getLogger("boxmot").setLevel(logging.WARNING)
    lost_frames = max(1, int(round(config.max_lost_seconds * fps)))
    if name == "bytetrack":
        from boxmot.trackers.box.bytetrack.tracker import ByteTrack

        tr = ByteTrack(min_conf=config.low_score_threshold, track_thresh=config.high_score_threshold,
                       track_buffer=lost_frames, frame_rate=30)
        tr.det_thresh = config.new_track_score_threshold  # new-track threshold (original: track_thresh + 0.1)
        return tr
    if name == "ocsort":
        from boxmot.trackers.box.ocsort.tracker import OcSort

        return OcSort(det_thresh=config.high_score_threshold, min_conf=config.low_score_threshold,
                      max_age=lost_frames)
    raise ValueError(f"unknown boxmot tracker {name!r}; choose from {BOXMOT_TRACKERS}")


def run_boxmot(cache: DetectionCache, name: str, config: TrackerConfig | None = None, timing: bool = True) -> RunResult:
    """A boxmot tracker over the cache, fed (x1, y1, x2, y2, conf, cls) rows and a blank image."""
    config = config or TrackerConfig()
    tracker = make_boxmot_tracker(name, config, cache.fps)
    w, h = cache.image_size
    blank = np.zeros((h, w, 3), np.uint8)
    out = RunResult(assoc_is_update=True)
    for frame, _stamp, dets in cache:
        rows = np.concatenate([dets.boxes, dets.scores[:, None], dets.classes[:, None].astype(np.float32)], 1)
        rows = rows.astype(np.float32).reshape(-1, 6)
        t0 = time.perf_counter()
        res = tracker.update(rows, blank)
        t1 = time.perf_counter()
        if timing:
            out.update_s.append(t1 - t0)
            out.assoc_s.append(t1 - t0)
        res = np.asarray(res).reshape(-1, res.shape[1] if np.ndim(res) == 2 else 8)
        for r in res:  # x1, y1, x2, y2, id, conf, cls, det_ind
            out.rows.append((frame, int(r[4]), float(r[0]), float(r[1]), float(r[2]), float(r[3]), float(r[5])))
    return out


# ---------------------------------------------------------------------------------------------- metrics
def evaluate_rows(rows, gt_path: str, frame_range: tuple[int, int], fmt: str = "mot15") -> dict:
    """MOT metrics of result rows against ``gt_path`` restricted to ``frame_range`` (inclusive)."""
    with tempfile.TemporaryDirectory(prefix="sotmot_bench_") as tmp:
        res_path = os.path.join(tmp, "res.txt")
        write_mot_results(res_path, rows)
        metrics = evaluate_mot({"seq": (gt_path, res_path)}, fmt=fmt, frame_range=frame_range)["seq"]
    metrics["num_ids"] = len({int(r[1]) for r in rows})
    return metrics


def summarise(result: RunResult, metrics: dict) -> dict:
    med = (lambda xs: float(np.median(xs)) * 1e6 if xs else float("nan"))
    return {**{k: metrics[k] for k in METRIC_COLUMNS}, "num_ids": metrics["num_ids"],
            "assoc_us": med(result.assoc_s), "update_us": med(result.update_s),
            "assoc_is_update": result.assoc_is_update, "all_metrics": metrics}


def compare(cache: DetectionCache, gt_path: str, config: TrackerConfig | None = None, modes=OUR_MODES,
            use_boxmot: bool = True, fmt: str = "mot15") -> dict[str, dict]:
    """Run every tracker on ``cache`` and evaluate it; ``{tracker name: summary}`` in run order."""
    config = config or TrackerConfig()
    results = {}
    for mode in modes:
        cfg = TrackerConfig(**{**config.to_dict(), "association": mode})
        run = run_sotmot(cache, cfg)
        results[f"sotmot:{mode}"] = summarise(run, evaluate_rows(run.rows, gt_path, cache.frame_range, fmt))
    if use_boxmot and boxmot_version() is not None:
        for name in BOXMOT_TRACKERS:
            run = run_boxmot(cache, name, config)
            results[f"boxmot:{name}"] = summarise(run, evaluate_rows(run.rows, gt_path, cache.frame_range, fmt))
    return results


def format_results(results: dict[str, dict]) -> str:
    width = max(12, *(len(k) for k in results))
    head = (f"{'tracker':<{width}} " + " ".join(f"{c:>6}" for c in METRIC_COLUMNS)
            + f" {'#IDs':>5} {'assoc_us':>9} {'update_us':>9}")
    lines = [head]
    for name, r in results.items():
        cells = [f"{r[c]:>6d}" if isinstance(r[c], int) else f"{100 * r[c]:>6.1f}" for c in METRIC_COLUMNS]
        assoc = f"{r['assoc_us']:.0f}" + ("*" if r["assoc_is_update"] else "")
        lines.append(f"{name:<{width}} " + " ".join(cells) + f" {r['num_ids']:>5d} {assoc:>9} {r['update_us']:>9.0f}")
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cache", default=DEFAULT_CACHE, help="npz from bench/cache_detections.py")
    p.add_argument("--gt", default=DEFAULT_GT, help="ground truth (rows outside the cached frames are dropped)")
    p.add_argument("--fmt", default="mot15", choices=("mot15", "mot17"))
    p.add_argument("--modes", nargs="+", default=list(OUR_MODES), choices=OUR_MODES)
    p.add_argument("--no-boxmot", action="store_true", help="skip ByteTrack/OC-SORT even if boxmot is installed")
    p.add_argument("--json", default=None, help="also write the results (all metrics) as JSON here")
    args = p.parse_args(argv)
    cache = load_cache(args.cache)
    attach_camera_motion(cache)  # the library default may compensate camera motion: measured on the cache's footage
    version = boxmot_version()
    print(f"cache {args.cache}: frames {cache.frame_range[0]}-{cache.frame_range[1]}, {len(cache.boxes)} detections, "
          f"fps {cache.fps:g}, checkpoint {cache.meta.get('checkpoint', '?')}")
    if not args.no_boxmot:
        print(f"boxmot: {version or 'not importable (pip install --no-deps boxmot rich); baselines skipped'}")
    results = compare(cache, args.gt, modes=args.modes, use_boxmot=not args.no_boxmot, fmt=args.fmt)
    print(format_results(results))
    print("ratios in %; assoc_us/update_us: median per frame; * = whole boxmot update (association not separable)")
    if args.json:
        write_json_report(args.json, args.cache, cache, args.gt, fps=cache.fps, boxmot_version=version,
                          tracker_config=TrackerConfig().to_dict(), results=results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
