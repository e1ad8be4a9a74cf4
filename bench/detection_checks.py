"""The detection checks every candidate default model is judged by: four AP@0.5 numbers on the tune+fit scenes.

Earlier sessions kept this as a throw-away script per run (``runs/s16/judge.py``, ``runs/s17/judge.py``) and lost it
with ``runs/``; this is its one home. At one box NMS IoU for every model (0.7, as those scripts), on
``config/people_splits.yaml``:
- ``faults``: the mean of 12 camera-fault checks (tune+fit x the 4 faults of ``camera_faults.py``, level 2);
- ``tune``: the clean tune clips' mean;
- ``fit``: PETS09-S2L1 frames 1-317 (the fit split);
- ``small``: the mean of the tune clips seen by small cameras of 240 and 120 rows (``--camera-rows``).
Detections are cached per model file (``bench/evaluate_people.py``), so a second run is quick.

    python bench/detection_checks.py --checkpoint CANDIDATE.pt [--json out.json]
        [--reference REFERENCE.json]   # prints pass/fail against the reference's values minus the tolerances
"""

from __future__ import annotations

import argparse
import json
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from evaluate_people import evaluate, write_json  # noqa: E402

from sotmot_ros.data.camera_faults import FAULTS  # noqa: E402

FAULT_LEVEL = 2
SMALL_CAMERA_ROWS = (240, 120)
# How far below the reference a candidate may fall on each check (AP points), as the fifth and sixth addenda wrote.
TOLERANCES = {"faults": 1.0, "tune": 0.2, "fit": 0.3, "small": 0.3}


def detection_checks(checkpoint: str, nms_iou: float = 0.7, cache_dir: str | None = None) -> dict:
    """The four check values (AP@0.5 in points) and the per-view numbers they average."""
    views: dict[str, float] = {}

    def run(split: str, tag: str, **kw) -> list[float]:
        res = evaluate(checkpoint, split, modes=[], cache_dir=cache_dir, nms_iou=nms_iou, **kw)
        aps = {f"{tag}/{name}": 100.0 * seq["AP50"] for name, seq in res["sequences"].items()}
        views.update(aps)
        return list(aps.values())

    faults = [ap for f in FAULTS for ap in run("tune,fit", f"{f}:{FAULT_LEVEL}", fault=(f, FAULT_LEVEL))]
    tune = run("tune", "clean")
    fit = run("fit", "clean")
    small = [ap for rows in SMALL_CAMERA_ROWS for ap in run("tune", f"camera{rows}", camera_rows=rows)]
    return {"checkpoint": os.path.abspath(checkpoint), "nms_iou": nms_iou,
            "faults": float(np.mean(faults)), "tune": float(np.mean(tune)), "fit": float(np.mean(fit)),
            "small": float(np.mean(small)), "views": views}


def verdict(candidate: dict, reference: dict, tolerances: dict = TOLERANCES) -> dict:
    """Per check: the threshold (reference - tolerance) and whether the candidate reaches it (exact values)."""
    out = {}
    for key, tol in tolerances.items():
        threshold = reference[key] - tol
        out[key] = {"value": candidate[key], "threshold": threshold, "pass": candidate[key] >= threshold}
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--checkpoint", required=True, help="model file or a bundled model's name")
    p.add_argument("--nms-iou", type=float, default=0.7, help="box NMS IoU for every model (default 0.7)")
    p.add_argument("--cache-dir", default=None)
    p.add_argument("--reference", default=None, help="a JSON written by this script for the model to beat")
    p.add_argument("--json", default=None)
    args = p.parse_args(argv)
    res = detection_checks(args.checkpoint, args.nms_iou, args.cache_dir)
    print(f"faults {res['faults']:.2f}  tune {res['tune']:.2f}  fit (PETS 1-317) {res['fit']:.2f}  "
          f"small {res['small']:.2f}")
    if args.reference:
        with open(args.reference) as fh:
            ref = json.load(fh)
        res["verdict"] = verdict(res, ref)
        for key, v in res["verdict"].items():
            print(f"  {key:<6} {v['value']:.2f} >= {v['threshold']:.2f}: {'pass' if v['pass'] else 'FAIL'}")
        res["passes"] = all(v["pass"] for v in res["verdict"].values())
        print("passes every detection check" if res["passes"] else "fails a detection check")
    if args.json:
        write_json(args.json, res)
    return 0


if __name__ == "__main__":
    sys.exit(main())
