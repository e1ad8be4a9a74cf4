"""Do tracker settings chosen on some frames hold on others? ``tune_tracker``'s choice and other rules, measured.

Why: in session 19 the settings ``tune_tracker`` chose for candidate K (the best of 786 on tune+fit) tracked the
report's PETS09-S2L1 318-397 at 79.8 IDF1 where v10's settings on the same detections reached 94.5, while on
PETS 1-317 the two pointed the other way (model card, the sixth addendum's result). This asks the same question without the
report: every tune+fit sequence is cut into its first and second half, every candidate configuration is scored on
every view (half x sequence x frame step, as ``tune_tracker --frame-steps``), and each selection rule chooses on
the first halves and is scored on the second, then the other way round.

Rules (``RULES``; each sees only the choosing half's scores):
- ``max``: ``tune_tracker``'s own ranking (every-frame floor, then mean IDF1, MOTA, HOTA, fewer changed fields);
- ``fewest_changes``: among configurations within ``--margin`` IDF1 of that best (and above the floor), the one
  that changes the fewest fields from the library defaults (then the higher IDF1);
- ``maximin``: above the floor, the best worst view (then the mean);
- ``mean_rank``: above the floor, the best mean of its per-view ranks (one view cannot dominate).
The floor is the choosing half's best every-frame mean minus ``--floor-drop`` (an absolute floor such as
``tune_tracker``'s 94.9 means different things on different frames). Beside them: the model file's stored
settings, the library defaults, and the oracle (the best on the scoring half).

    python bench/settings_transfer.py --checkpoint default --configs TUNE.json [--jobs 2] [--json out.json]

``TUNE.json``: a ``tune_tracker.py --json`` output; its ranked configurations are the candidates (the defaults and
the model's stored settings are added).
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cache_detections import DetectionCache, apply_nms, attach_camera_motion  # noqa: E402
from tune_tracker import (  # noqa: E402
    DEFAULTS, frame_step_views, frame_steps_arg, make_config, rank_key, score_all)

HALVES = ("first", "second")


def half_of(cache: DetectionCache, which: str) -> DetectionCache:
    """The first or second half of a cached sequence's frames (the second gets the odd one), timestamps kept."""
    mid = len(cache) // 2
    return cache.select(range(0, mid) if which == "first" else range(mid, len(cache)), half=which)


def _floor_ok(results: list[dict], k: int, floor_drop: float) -> list[bool]:
    firsts = [float(np.mean(r["IDF1_views"][:k])) for r in results]
    floor = max(firsts) - floor_drop / 100.0
    return [f >= floor - 1e-9 for f in firsts]


def choose(rule: str, results: list[dict], k: int, floor_drop: float = 1.5, margin: float = 1.0) -> int:
    """Index of the configuration ``rule`` picks from ``results`` (scores on the choosing views; the first ``k``
    views are every frame)."""
    ok = _floor_ok(results, k, floor_drop)
    keyed = [({**r, "meets_floor": o}) for r, o in zip(results, ok)]
    if rule == "max":
        return min(range(len(keyed)), key=lambda i: rank_key(keyed[i]))
    eligible = [i for i in range(len(results)) if ok[i]]
    if rule == "fewest_changes":
        best = max(results[i]["IDF1"] for i in eligible)
        near = [i for i in eligible if results[i]["IDF1"] >= best - margin / 100.0]
        return min(near, key=lambda i: (len(results[i]["changed"]), -results[i]["IDF1"], rank_key(keyed[i])))
    if rule == "maximin":
        return max(eligible, key=lambda i: (min(results[i]["IDF1_views"]), results[i]["IDF1"]))
    if rule == "mean_rank":
        views = np.array([results[i]["IDF1_views"] for i in eligible])  # configs x views
        ranks = (-views).argsort(axis=0).argsort(axis=0).mean(axis=1)  # 0 = best on a view
        order = min(range(len(eligible)), key=lambda j: (ranks[j], -results[eligible[j]]["IDF1"]))
        return eligible[order]
    raise ValueError(f"unknown rule {rule!r} (have {', '.join(RULES)})")


RULES = ("max", "fewest_changes", "maximin", "mean_rank")


def candidates(tune_json: str, stored: dict | None) -> tuple[list[dict], dict[str, int]]:
    """The candidate overrides (deduplicated by the configuration they make) and the index of the named ones."""
    with open(tune_json) as fh:
        ranked = json.load(fh)["ranked"]
    out, seen, named = [], {}, {}
    for name, o in [("defaults", {})] + ([("stored", dict(stored))] if stored else []) + [
            (None, r["overrides"]) for r in ranked]:
        key = json.dumps(make_config(o).to_dict(), sort_keys=True)
        if key not in seen:
            seen[key] = len(out)
            out.append(o)
        if name:
            named[name] = seen[key]
    return out, named


def transfer(scores: dict[str, list[dict]], k: int, named: dict[str, int], floor_drop: float = 1.5,
             margin: float = 1.0) -> list[dict]:
    """For each rule (and the named settings, and the oracle): chosen on one half, scored on the other."""
    rows = []
    for choose_on, score_on in (HALVES, HALVES[::-1]):
        src, dst = scores[choose_on], scores[score_on]
        picks = {rule: choose(rule, src, k, floor_drop, margin) for rule in RULES}
        picks.update(named)
        picks["oracle"] = choose("max", dst, k, floor_drop, margin)
        for what, i in picks.items():
            rows.append({"what": what, "chosen_on": choose_on, "scored_on": score_on, "index": i,
                         "changed": dst[i]["changed"], "IDF1_chosen": src[i]["IDF1"], "IDF1": dst[i]["IDF1"],
                         "IDF1_every_frame": float(np.mean(dst[i]["IDF1_views"][:k])), "IDs": dst[i]["IDs"]})
    return rows


def format_table(rows: list[dict]) -> str:
    whats = list(dict.fromkeys(r["what"] for r in rows))
    lines = ["| settings | first -> second: IDF1 all views / every frame (on the choosing half) | second -> first | "
             "mean IDF1 |", "|---|---|---|---:|"]
    for w in whats:
        mine = [r for r in rows if r["what"] == w]
        cells = [f"{100 * r['IDF1']:.1f} / {100 * r['IDF1_every_frame']:.1f} ({100 * r['IDF1_chosen']:.1f})"
                 for r in mine]
        lines.append(f"| {w} | {' | '.join(cells)} | {100 * np.mean([r['IDF1'] for r in mine]):.2f} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--checkpoint", required=True, help="model file or bundled model name (its detections, its NMS)")
    p.add_argument("--configs", required=True, help="a tune_tracker.py --json output: its ranked configurations")
    p.add_argument("--split", default="tune,fit", help="splits of --splits to cut in halves (never the report)")
    p.add_argument("--splits", default=None, help="the splits file (default: config/people_splits.yaml)")
    p.add_argument("--cache-dir", default=None)
    p.add_argument("--frame-steps", type=frame_steps_arg, default=(1, 2, 3))
    p.add_argument("--floor-drop", type=float, default=1.5, help="IDF1 points below the choosing half's best "
                   "every-frame mean that still count as reaching the floor")
    p.add_argument("--margin", type=float, default=1.0, help="fewest_changes: IDF1 points below the best allowed")
    p.add_argument("--jobs", type=int, default=1)
    p.add_argument("--json", default=None)
    args = p.parse_args(argv)
    if 1 not in args.frame_steps:
        p.error("--frame-steps must include 1 (the floor is on every frame)")
    from evaluate_people import CACHE_DIR, SPLITS, load_split, model_nms, sequence_cache, split_names, write_json

    from sotmot_ros.model.checkpoint import load_model, resolve_model_path

    if "report" in split_names(args.split):
        p.error("the report split is never used to choose: its numbers must stay held out")
    checkpoint = str(resolve_model_path(args.checkpoint))
    _, meta = load_model(checkpoint)
    configs, named = candidates(args.configs, meta.get("tracker"))
    entries = load_split(args.split, args.splits or SPLITS)
    full = [apply_nms(sequence_cache(e, checkpoint, args.cache_dir or CACHE_DIR), model_nms(meta)) for e in entries]
    gts = [e["gt"] for e in entries]
    print(f"{len(configs)} candidate configurations; {', '.join(e['name'] for e in entries)} in halves at frame "
          f"steps {','.join(map(str, args.frame_steps))}; box NMS {model_nms(meta):g}", flush=True)
    scores = {}
    with tempfile.TemporaryDirectory(prefix="sotmot_transfer_") as tmp:
        for which in HALVES:
            halves = [half_of(c, which) for c in full]
            views, view_gts = frame_step_views(halves, gts, args.frame_steps, os.path.join(tmp, which))
            attach_camera_motion(views, args.cache_dir or CACHE_DIR)  # for the candidates that compensate
            scores[which] = score_all(views, view_gts, configs, jobs=args.jobs)
            print(f"scored the {which} halves ({sum(len(h) for h in halves)} frames)", flush=True)
    k = len(entries)
    rows = transfer(scores, k, named, args.floor_drop, args.margin)
    print(format_table(rows))
    for r in rows:
        if r["what"] in RULES or r["what"] == "oracle":
            print(f"{r['what']:>15} on {r['chosen_on']}: {r['changed'] or '(defaults)'}")
    if args.json:
        write_json(args.json, {"checkpoint": checkpoint, "configs": args.configs, "split": args.split,
                               "frame_steps": list(args.frame_steps), "floor_drop": args.floor_drop,
                               "margin": args.margin, "defaults": DEFAULTS.to_dict(), "rows": rows,
                               "scores": {w: [{k2: v for k2, v in r.items() if k2 != "assoc_us"} for r in s]
                                          for w, s in scores.items()}})
    return 0


if __name__ == "__main__":
    sys.exit(main())
