"""Median per-frame time of the tracker's association (SOT solve + scoring + gate + assignment).

Synthetic steady-state scenes: N targets on a grid moving slowly, N detections per frame with
128-D unit features (the model's sot_dim), all tracks confirmed. Prints a table of median
microseconds per frame for association alone and for the whole ``Tracker.update``.

Small matrices are slower with a multi-threaded BLAS on a loaded machine, so this script pins
OpenBLAS/OpenMP to one thread unless the environment already says otherwise.

    python bench/bench_association.py [--frames 300] [--mode sot]
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

from sotmot_ros.tracking import Tracker, TrackerConfig  # noqa: E402
from sotmot_ros.types import Detections  # noqa: E402


def bench(n: int, frames: int, warmup: int, mode: str, dim: int = 128, seed: int = 0) -> tuple[float, float]:
    rng = np.random.default_rng(seed)
    side = int(np.ceil(np.sqrt(n)))
    grid = np.stack(np.meshgrid(np.arange(side), np.arange(side)), -1).reshape(-1, 2)[:n] * [60.0, 120.0] + 50
    vel = rng.uniform(-20, 20, size=(n, 2))
    feats = rng.normal(size=(n, dim))
    feats /= np.linalg.norm(feats, axis=1, keepdims=True)
    tracker = Tracker(TrackerConfig(association=mode))
    assoc_us, update_us = [], []
    for k in range(warmup + frames):
        t = k / 30.0
        c = grid + vel * t + rng.normal(scale=1.0, size=grid.shape)
        boxes = np.concatenate([c - [20, 50], c + [20, 50]], 1)
        f = feats + 0.05 * rng.normal(size=feats.shape)
        f /= np.linalg.norm(f, axis=1, keepdims=True)
        dets = Detections(boxes, rng.uniform(0.6, 1.0, n), None, f)
        a = time.perf_counter()
        tracker.update(dets, t)
        b = time.perf_counter()
        if k >= warmup:
            assoc_us.append(tracker.last_association_seconds * 1e6)
            update_us.append((b - a) * 1e6)
    assert tracker.num_active == n, f"tracker lost targets in the benchmark scene ({tracker.num_active}/{n})"
    return float(np.median(assoc_us)), float(np.median(update_us))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--frames", type=int, default=300)
    p.add_argument("--warmup", type=int, default=30)
    p.add_argument("--mode", default="sot", choices=["sot", "iou", "motion+iou"])
    p.add_argument("--sizes", type=int, nargs="+", default=[10, 50, 100, 200])
    args = p.parse_args()
    print(f"association={args.mode}, frames={args.frames}, BLAS threads={os.environ['OPENBLAS_NUM_THREADS']}")
    print(f"{'tracks=dets':>12} {'association us':>15} {'update us':>10}")
    for n in args.sizes:
        a, u = bench(n, args.frames, args.warmup, args.mode)
        print(f"{n:>12} {a:>15.0f} {u:>10.0f}")


if __name__ == "__main__":
    main()
