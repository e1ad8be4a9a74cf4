"""Search ``TrackerConfig`` on cached detections of validation scenes: the settings stored in a model file.

    python bench/tune_tracker.py --split tune,fit --checkpoint NEW.pt [--jobs 2] [--write]   # config/people_splits.yaml
    python bench/tune_tracker.py --splits my_scenes.yaml --split mine --checkpoint NEW.pt --write  # your own scenes
    python bench/tune_tracker.py --cache dets.npz --gt gt.txt       # one cache of bench/cache_detections.py
    python bench/tune_tracker.py --split tune,fit --checkpoint NEW.pt --frame-steps 1,2   # also every 2nd frame
    python bench/tune_tracker.py --split tune,fit --checkpoint NEW.pt --frame-steps 1,2,3 --every-frame-floor 94.9

With ``--split`` the detector's box NMS IoU is chosen first (mean AP@0.5 over the scenes); then three stages
of tracker settings, every configuration scored with ``sotmot_ros.evaluation`` on the cached frames only
(see ``compare_trackers.py``), the mean over the scenes:

A. detection thresholds and lifecycle (they depend on the model's calibration, so they come first):
   ``GRID_A`` = high / new-track / low score thresholds x ``min_hits`` x ``max_lost_seconds``;
B. association for the best ``--top-a`` settings of A and the default ones: ``GRID_B`` = ``sot_lambda`` x ``sot_normalize`` x
   ``weight_sot`` (``weight_iou = 1 - weight_sot``) x ``min_sot_response`` x ``min_similarity_stage1``;
   then ``sot_lambda`` alone over ``LAMBDAS`` at the best configuration (a table for the model card, with the
   median association time);
C. one field at a time around the best configuration so far (``REFINE``: the grids' values, every lambda
   and weight_sot 0.3), moving while a single change ranks higher (at most three moves).

All configurations are ranked by IDF1, then MOTA, then HOTA, then by fewer fields changed from the
defaults (ties go to the defaults); the top 10 and the defaults' own score and rank are printed.
``--write`` stores the best (and the NMS IoU) in the model file, where ``config_for_model`` finds them.
The report split is refused: its numbers stay held out of every choice.

Every configuration compensates camera motion as the library default says (``camera_motion``), or as
``--camera-motion`` says (``affine``: a camera on a moving platform; ``--write`` then stores it with the rest); the
camera's warps are measured on each scene's frames as the tracker measures them (``attach_camera_motion``).

``--frame-steps 1,2`` scores every configuration on each scene as recorded and on every 2nd frame of it (at
its real time), each view counting as a scene: what the ROS node's tracker sees when inference runs at half the
camera's rate and the node takes the newest image (a 30 fps camera on a 2-core CPU). The mean over all views
can trade full-rate accuracy for lower rates; ``--every-frame-floor IDF1`` ranks every configuration whose
step-1 mean IDF1 is below that floor after all that reach it.

Validation scenes are short (a few hundred frames, a handful of people): one identity switch moves IDF1 by
several points, so treat small gains as noise.
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import itertools  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cache_detections import (  # noqa: E402
    DEFAULT_GT, DetectionCache, apply_nms, every_nth_frame, frame_step_arg, load_cache, write_json_report)
from compare_trackers import evaluate_rows, run_sotmot  # noqa: E402

from sotmot_ros.tracking import TrackerConfig  # noqa: E402
from sotmot_ros.tracking.config import CAMERA_MOTION_MODES, LOST_SIMILARITY_MODES  # noqa: E402

DEFAULTS = TrackerConfig()
LAMBDAS = (0.01, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0)
# Stage A: what reaches the tracker and how tracks live (detection score thresholds depend on the
# model's calibration, so they come first); stage B: association, seeded by the best of stage A.
GRID_A = {
    "high_score_threshold": (0.2, 0.3, 0.4, 0.5),
    "new_track_score_threshold": (0.3, 0.4, 0.5, 0.6),
    "low_score_threshold": (0.1, 0.2),
    "min_hits": (1, 2, 3),
    "max_lost_seconds": (1.0, 2.0),
}
GRID_B = {
    "sot_lambda": (0.5, 1.0, 2.0, 5.0),
    "sot_normalize": (False, True),
    "weight_sot": (0.5, 0.7, 0.9),
    "min_sot_response": (0.1, 0.3),
    "min_similarity_stage1": (0.1, 0.2, 0.3),
}
# Stage C: every field alone around the best so far (a staged grid cannot visit every combination: for v6 it
# stored weight_sot 0.7 while 0.3, outside its grid, was better on the same data).
# It holds every field of both grids, so it is also the set of fields --write stores.
# lost_similarity (every mode of the tracker) is searched here only: whether a lost track may be re-identified by
# its SOT response alone depends on the response scale and threshold chosen above (model card, eighteenth addendum).
REFINE = {**GRID_A, **GRID_B, "sot_lambda": LAMBDAS, "weight_sot": (0.3, 0.5, 0.7, 0.9),
          "lost_similarity": LOST_SIMILARITY_MODES}
RANK_KEYS = ("IDF1", "MOTA", "HOTA")
SHOW = ("IDF1", "MOTA", "HOTA", "IDs", "FP", "FN")


def make_config(overrides: dict, base: TrackerConfig = DEFAULTS) -> TrackerConfig:
    """``base`` with ``overrides``; tied fields follow unless given: weight_iou = 1 - weight_sot,
    new_track_score_threshold = high_score_threshold + (default gap), clipped to 1."""
    o = dict(overrides)
    if "weight_sot" in o and "weight_iou" not in o:
        o["weight_iou"] = round(1.0 - o["weight_sot"], 6)
    if "high_score_threshold" in o and "new_track_score_threshold" not in o:
        gap = base.new_track_score_threshold - base.high_score_threshold
        o["new_track_score_threshold"] = round(min(1.0, o["high_score_threshold"] + gap), 6)
    return TrackerConfig(**{**base.to_dict(), **o})


def changed_fields(config: TrackerConfig, base: TrackerConfig = DEFAULTS) -> dict:
    b = base.to_dict()
    return {k: v for k, v in config.to_dict().items() if b[k] != v}


def score_config(cache, gt_path, overrides: dict, fmt: str = "mot15", floor: tuple[int, float] | None = None) -> dict:
    """Run and evaluate one configuration; returns overrides, the changed fields and the metrics.

    ``cache``/``gt_path`` may also be lists (several sequences): ratios are then the mean over the
    sequences (each scene counts the same), counts the sum. ``floor = (k, idf1)``: the mean IDF1 of the first
    k sequences (the scenes at every frame, with ``--frame-steps``) is kept as ``IDF1_first`` and
    ``meets_floor`` says whether it reaches ``idf1`` (``rank_key`` puts the configurations that miss it last).
    ``IDF1_views`` keeps each sequence's own IDF1, in order.
    """
    caches = cache if isinstance(cache, (list, tuple)) else [cache]
    gts = gt_path if isinstance(gt_path, (list, tuple)) else [gt_path]
    cfg = make_config(overrides)
    per_seq, assoc = [], []
    for c, g in zip(caches, gts):
        run = run_sotmot(c, cfg)
        per_seq.append(evaluate_rows(run.rows, g, c.frame_range, fmt))
        assoc.extend(run.assoc_s)
    metrics = {k: float(np.mean([m[k] for m in per_seq])) for k in ("MOTA", "IDF1", "HOTA", "DetA", "AssA")}
    metrics.update({k: int(sum(m[k] for m in per_seq)) for k in ("IDs", "FP", "FN", "num_ids")})
    metrics["IDF1_views"] = [float(m["IDF1"]) for m in per_seq]  # per scene/view, for bench/settings_transfer.py
    if floor is not None:
        first = float(np.mean(metrics["IDF1_views"][: floor[0]]))
        metrics.update(IDF1_first=first, meets_floor=bool(first >= floor[1] - 1e-9))
    return {"overrides": dict(overrides), "changed": changed_fields(cfg), **metrics,
            "assoc_us": float(np.median(assoc)) * 1e6 if assoc else float("nan")}


def rank_key(r: dict):
    """Configurations that reach the every-frame floor first (all do without one), then IDF1, MOTA, HOTA, then
    fewer fields changed."""
    return ((not r.get("meets_floor", True),) + tuple(-r[k] for k in RANK_KEYS)
            + (len(r["changed"]), json.dumps(r["changed"], sort_keys=True)))


def grid(axes: dict, fixed: dict | None = None) -> list[dict]:
    names = list(axes)
    return [{**(fixed or {}), **dict(zip(names, vals))} for vals in itertools.product(*(axes[n] for n in names))]


# ------------------------------------------------------------------------------------------ parallel map
_WORK: tuple | None = None


def _init_worker(cache, gt_path, fmt, floor):
    global _WORK
    _WORK = (cache, gt_path, fmt, floor)


def _score_one(overrides):
    cache, gt_path, fmt, floor = _WORK
    return score_config(cache, gt_path, overrides, fmt, floor)


def score_all(cache, gt_path, configs: list[dict], fmt="mot15", jobs: int = 1, floor=None) -> list[dict]:
    if jobs <= 1 or len(configs) < 4:
        return [score_config(cache, gt_path, o, fmt, floor) for o in configs]
    import multiprocessing as mp

    with mp.get_context("fork").Pool(jobs, initializer=_init_worker, initargs=(cache, gt_path, fmt, floor)) as pool:
        return pool.map(_score_one, configs, chunksize=max(1, len(configs) // (8 * jobs)))


def _valid(overrides: dict) -> bool:
    try:
        make_config(overrides)
    except ValueError:
        return False
    return True


def _dedupe(configs: list[dict]) -> list[dict]:
    """Drop invalid combinations (e.g. new-track threshold below the high threshold) and duplicates."""
    seen, out = set(), []
    for o in configs:
        if not _valid(o):
            continue
        key = json.dumps(changed_fields(make_config(o)), sort_keys=True)
        if key not in seen:
            seen.add(key)
            out.append(o)
    return out


def neighbours(overrides: dict, axes: dict) -> list[dict]:
    """Every valid configuration that changes one field of ``overrides`` to another value of ``axes``."""
    current = make_config(overrides).to_dict()
    return _dedupe([{**overrides, k: v} for k, values in axes.items() for v in values if current[k] != v])


def refine(cache, gt_path, start: dict, axes: dict = REFINE, rounds: int = 3, fmt: str = "mot15",
           jobs: int = 1, floor=None) -> tuple[list[dict], int]:
    """Stage C: move to the best single-field change of the current best while one ranks higher, at most
    ``rounds`` times. Returns every scored configuration and the number of moves."""
    best, scored, moves = start, [], 0
    for _ in range(rounds):
        results = score_all(cache, gt_path, neighbours(best["overrides"], axes), fmt, jobs, floor)
        scored.extend(results)
        top = min(results, key=rank_key, default=None)
        if top is None or rank_key(top) >= rank_key(best):
            break
        best, moves = top, moves + 1
    return scored, moves


def tune(cache: DetectionCache, gt_path: str, grid_a: dict = GRID_A, grid_b: dict = GRID_B, top_a: int = 3,
         lambdas=LAMBDAS, fmt: str = "mot15", jobs: int = 1, refine_axes: dict | None = REFINE,
         floor: tuple[int, float] | None = None, fixed: dict | None = None) -> dict:
    """Stages A and B, the lambda sweep at the best configuration, then stage C (``refine``; None = skip);
    returns ``{default, ranked, best, lambda, stage sizes, refine_moves, seconds}``. ``floor``: see
    ``score_config`` (every stage ranks by it). ``fixed``: settings every configuration has, the defaults' too
    (e.g. ``{"camera_motion": "affine"}``)."""
    fixed = dict(fixed or {})
    t0 = time.perf_counter()
    det_floor = (cache[0] if isinstance(cache, (list, tuple)) else cache).meta.get("score_threshold")
    lows = [v for v in grid_b.get("low_score_threshold", ()) if det_floor is not None and v < det_floor]
    if lows:
        print(f"warning: low_score_threshold {lows} below the cache's detector floor {det_floor}: "
              f"those behave like {det_floor}", file=sys.stderr)
    default = score_config(cache, gt_path, fixed, fmt, floor)
    stage_a = score_all(cache, gt_path, _dedupe(grid(grid_a, fixed)), fmt, jobs, floor)
    stage_a.sort(key=rank_key)
    seed_fields = list(grid_a)
    seeds = [{**fixed, **{k: r["overrides"][k] for k in seed_fields}} for r in stage_a[:top_a]]
    seeds.append(fixed)  # the default detection and lifecycle settings
    configs_b = _dedupe([c for s in seeds for c in grid(grid_b, s)])
    stage_b = score_all(cache, gt_path, configs_b, fmt, jobs, floor)
    ranked = _unique_ranked([default] + stage_a + stage_b)
    best = {k: v for k, v in ranked[0]["overrides"].items() if k != "sot_lambda"}
    lam = score_all(cache, gt_path, [{**best, "sot_lambda": v} for v in lambdas], fmt, jobs, floor)
    ranked = _unique_ranked(ranked + lam)
    stage_c, moves = (refine(cache, gt_path, ranked[0], refine_axes, fmt=fmt, jobs=jobs, floor=floor)
                      if refine_axes else ([], 0))
    ranked = _unique_ranked(ranked + stage_c)
    rank_of_default = next(i for i, r in enumerate(ranked) if r["changed"] == default["changed"]) + 1
    return {"default": default, "default_rank": rank_of_default, "ranked": ranked, "best": best, "lambda": lam,
            "num_configs": len(ranked), "stage_sizes": [len(stage_a), len(configs_b), len(stage_c)],
            "refine_moves": moves, "seconds": time.perf_counter() - t0}


def _unique_ranked(results: list[dict]) -> list[dict]:
    seen, out = set(), []
    for r in sorted(results, key=rank_key):
        key = json.dumps(r["changed"], sort_keys=True)
        if key not in seen:
            seen.add(key)
            out.append(r)
    return out


# ------------------------------------------------------------------------------------------ printing
def _fmt_metrics(r: dict) -> str:
    return " ".join(f"{r[k]:>5d}" if isinstance(r[k], int) else f"{100 * r[k]:>5.1f}" for k in SHOW)


def _fmt_changed(changed: dict) -> str:
    return ", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in changed.items()) or "(defaults)"


def format_ranking(out: dict, top: int = 10) -> str:
    head = f"{'rank':>4} " + " ".join(f"{k:>5}" for k in SHOW) + "  changed from defaults"
    lines = [head]
    for i, r in enumerate(out["ranked"][:top], 1):
        first = (f"  [every frame {100 * r['IDF1_first']:.1f}{'' if r['meets_floor'] else ', below the floor'}]"
                 if "IDF1_first" in r else "")
        lines.append(f"{i:>4} {_fmt_metrics(r)}  {_fmt_changed(r['changed'])}{first}")
    best = out["ranked"][0]
    ties = sum(all(r[k] == best[k] for k in SHOW) for r in out["ranked"])
    if ties > 1:
        lines.append(f"({ties} configurations have exactly the rank-1 metrics)")
    d = out["default"]
    lines.append(f"defaults: rank {out['default_rank']}/{out['num_configs']}: {_fmt_metrics(d)}")
    return "\n".join(lines)


def format_lambda_table(out: dict) -> str:
    """Markdown table of lambda's effect with every other field at the best configuration."""
    lines = ["| sot_lambda | IDF1 | MOTA | HOTA | IDs | FP | FN | assoc us (median) |",
             "|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in out["lambda"]:
        lam = r["overrides"]["sot_lambda"]
        mark = " (default)" if lam == DEFAULTS.sot_lambda else ""
        lines.append(f"| {lam:g}{mark} | {100 * r['IDF1']:.1f} | {100 * r['MOTA']:.1f} | {100 * r['HOTA']:.1f} | "
                     f"{r['IDs']} | {r['FP']} | {r['FN']} | {r['assoc_us']:.0f} |")
    return "\n".join(lines)


NMS_SWEEP = (1.0, 0.8, 0.7, 0.6, 0.5)


def frame_steps_arg(text: str) -> tuple[int, ...]:
    """``1,2`` -> (1, 2): the frame steps every configuration is scored at (argparse type)."""
    steps = tuple(frame_step_arg(v) for v in text.split(","))
    if len(set(steps)) != len(steps):
        raise argparse.ArgumentTypeError(f"frame steps must be distinct, got {text!r}")
    return steps


def frame_step_views(caches: list, gts: list[str], steps, folder: str) -> tuple[list, list[str]]:
    """Each sequence at each frame step (``every_nth_frame``), with a ground-truth file of the kept frames only
    (written under ``folder``, which must outlive the tuning): one view per (step, sequence), step 1 first."""
    from evaluate_people import rows_of_frames

    views, view_gts = [], []
    for step in sorted(steps):
        for i, (c, g) in enumerate(zip(caches, gts)):
            if step == 1:
                views.append(c)
                view_gts.append(g)
                continue
            view = every_nth_frame(c, step)
            sub = os.path.join(folder, f"step{step}_seq{i}")
            os.makedirs(sub, exist_ok=True)
            views.append(view)
            view_gts.append(rows_of_frames(g, view.frames, sub))
    return views, view_gts


def sweep_nms(caches: list, gts: list[str], values=NMS_SWEEP) -> dict[float, float]:
    """Mean detection AP@0.5 over the sequences for each box-NMS IoU of the detector."""
    from evaluate_people import detection_metrics

    from sotmot_ros.data.mot import read_mot_file

    out = {}
    for v in values:
        aps = [detection_metrics(apply_nms(c, v), read_mot_file(g, fmt="mot15", frame_range=c.frame_range),
                                 DEFAULTS.high_score_threshold)["AP50"] for c, g in zip(caches, gts)]
        out[v] = float(np.mean(aps))
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cache", default=None, help="npz from bench/cache_detections.py (instead of --split)")
    p.add_argument("--gt", default=DEFAULT_GT, help="MOT file of --cache's sequence")
    p.add_argument("--fmt", default="mot15", choices=("mot15", "mot17"))
    p.add_argument("--top-a", type=int, default=3, help="association settings of stage A carried into stage B")
    p.add_argument("--top", type=int, default=10)
    p.add_argument("--jobs", type=int, default=1, help="worker processes (the machine is shared: keep it small)")
    p.add_argument("--json", default=None)
    p.add_argument("--split", default=None,
                   help="tune on splits of the --splits file (e.g. tune, or tune,fit) instead of --cache/--gt; "
                        "needs --checkpoint")
    p.add_argument("--splits", default=None, help="the splits file (default: config/people_splits.yaml); your own "
                   "scenes: the same layout (see bench/evaluate_people.py)")
    p.add_argument("--cache-dir", default=None, help="where --split's detection caches live (default: "
                   "runs/bench/people)")
    p.add_argument("--checkpoint", default=None, help="model file (or a bundled model's name) whose detections --split "
                   "uses")
    p.add_argument("--frame-steps", type=frame_steps_arg, default=(1,),
                   help="score every configuration on every Nth frame of each scene too, e.g. 1,2 (each view "
                        "counts as a scene; default: 1)")
    p.add_argument("--every-frame-floor", type=float, default=None, metavar="IDF1",
                   help="with --frame-steps including 1: rank the configurations whose mean IDF1 (%%) at every frame "
                        "(the step-1 views) is below IDF1 after every one that reaches it, so tuning for lower rates "
                        "cannot buy them with full-rate accuracy (e.g. the stored settings' step-1 IDF1 minus 1.5)")
    p.add_argument("--camera-motion", choices=CAMERA_MOTION_MODES, default=None,
                   help="camera motion compensation of every configuration (default: the library's, "
                   f"{DEFAULTS.camera_motion}; the warps are measured on the scenes' frames); given, --write stores it "
                   "in the model file (e.g. affine for a camera on a moving platform, none for a fixed one)")
    p.add_argument("--write", action="store_true",
                   help="store the best configuration in the --checkpoint file (meta['tracker']): the settings "
                        "sotmot track, Detector/Tracker users and the ROS node then use with that model")
    args = p.parse_args(argv)
    if args.every_frame_floor is not None and (1 not in args.frame_steps or len(args.frame_steps) < 2):
        p.error("--every-frame-floor needs --frame-steps with 1 and at least one other step (e.g. 1,2,3)")
    if bool(args.split) == bool(args.cache):
        p.error("give either --split (validation scenes, with --checkpoint) or --cache (one cached sequence)")
    if args.split:
        if not args.checkpoint:
            p.error("--split needs --checkpoint")
        from evaluate_people import CACHE_DIR, SPLITS, load_split, sequence_cache, split_names

        from sotmot_ros.model.checkpoint import resolve_model_path

        if "report" in split_names(args.split):
            p.error("the report split is never tuned on: its numbers must stay held out of every choice")
        args.checkpoint = str(resolve_model_path(args.checkpoint))  # --write changes this file
        entries = load_split(args.split, args.splits or SPLITS)
        raw = [sequence_cache(e, args.checkpoint, args.cache_dir or CACHE_DIR) for e in entries]
        gt_arg = [e["gt"] for e in entries]
        nms_ap = sweep_nms(raw, gt_arg)
        best_nms = max(nms_ap, key=lambda k: (round(nms_ap[k], 3), k))  # ties: the lighter NMS
        print("detector box NMS (mean AP@0.5 over the split): "
              + ", ".join(f"{k:g}: {100 * v:.1f}" for k, v in nms_ap.items()) + f" -> {best_nms:g}")
        cache = [apply_nms(c, best_nms) for c in raw]
        args.cache = ",".join(e["name"] for e in entries)
        print(f"split {args.split}: {args.cache} ({sum(len(c) for c in cache)} frames), checkpoint {args.checkpoint}")
    else:
        cache, gt_arg = load_cache(args.cache), args.gt
        print(f"cache {args.cache}: frames {cache.frame_range[0]}-{cache.frame_range[1]}, {len(cache.boxes)} "
              f"detections, fps {cache.fps:g}, checkpoint {cache.meta.get('checkpoint', '?')}")
    floor = None
    if args.frame_steps != (1,):
        import tempfile

        tmp = tempfile.TemporaryDirectory(prefix="sotmot_tune_")  # removed at exit, after the workers
        caches = cache if isinstance(cache, list) else [cache]
        gts = gt_arg if isinstance(gt_arg, list) else [gt_arg]
        cache, gt_arg = frame_step_views(caches, gts, args.frame_steps, tmp.name)
        print(f"frame steps {','.join(map(str, args.frame_steps))}: {len(cache)} views of {len(caches)} sequence(s)")
        if args.every_frame_floor is not None:  # frame_step_views puts the step-1 views first
            floor = (len(caches), args.every_frame_floor / 100.0)
            print(f"every-frame floor: configurations below a mean IDF1 of {args.every_frame_floor:g} on the "
                  f"{len(caches)} step-1 view(s) rank last")
    fixed = {"camera_motion": args.camera_motion} if args.camera_motion else {}
    mode = args.camera_motion or DEFAULTS.camera_motion
    if mode != "none":
        from cache_detections import attach_camera_motion

        views = cache if isinstance(cache, list) else [cache]
        attach_camera_motion(views, args.cache_dir or CACHE_DIR if args.split else None)
        measured = sum(v.camera_motion is not None for v in views)
        print(f"camera motion measured on {measured} of {len(views)} view(s) (the others have no footage at hand: "
              f"tracked uncompensated); every configuration tracks with camera_motion {mode}")
    out = tune(cache, gt_arg, top_a=args.top_a, fmt=args.fmt, jobs=args.jobs, floor=floor, fixed=fixed)
    print(f"{out['num_configs']} configurations (stage A {out['stage_sizes'][0]}, stage B {out['stage_sizes'][1]}, "
          f"+ lambda sweep, stage C {out['stage_sizes'][2]} one-field changes with {out['refine_moves']} moves) in "
          f"{out['seconds']:.0f} s; ranked by IDF1, MOTA, HOTA (ratios in %)")
    print(format_ranking(out, args.top))
    print(f"\nsot_lambda alone (all other fields at the best configuration of stages A and B, before stage C: "
          f"{_fmt_changed(out['best'])}):")
    print(format_lambda_table(out))
    if args.json:
        first = cache[0] if isinstance(cache, list) else cache
        write_json_report(args.json, args.cache, first, gt_arg, defaults=DEFAULTS.to_dict(),
                          grid_a=GRID_A, grid_b=GRID_B, frame_steps=list(args.frame_steps), **out)
    if args.write:
        from sotmot_ros.model.checkpoint import update_meta

        best = make_config(out["ranked"][0]["overrides"])
        tuned = {k: best.to_dict()[k] for k in sorted(set(REFINE) | {"weight_iou"} | set(fixed))}
        extra = {"detector": {"nms_iou": best_nms}} if args.split else {}
        steps = "" if args.frame_steps == (1,) else f" at frame steps {','.join(map(str, args.frame_steps))}"
        if floor is not None:
            steps += f" with an every-frame IDF1 floor of {args.every_frame_floor:g}"
        update_meta(args.checkpoint, tracker=tuned,
                    tracker_tuned_on=f"bench/tune_tracker.py on {args.split or args.cache}{steps}", **extra)
        print(f"wrote the tuned tracker settings into {args.checkpoint}: {tuned}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
