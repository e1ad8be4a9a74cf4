"""Time the camera-motion estimator (``camera_motion: affine``) per frame and check it against a known motion.

The tracker runs it once per processed frame when camera motion compensation is on, on the node's worker
thread beside the detector, so its cost adds to every frame's latency. With ``--moving-camera`` the frames
are a simulated moving camera's views (``sotmot_ros/data/moving_camera.py``), whose true warps are known:
the script then also prints how far the estimate is from the truth (the largest error over three points of
the view, in pixels).

    python bench/bench_camera_motion.py [--video data_cache/vtest.avi] [--first 1 --last 200]
        [--moving-camera robot:2] [--work-side 320] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from cache_detections import DEFAULT_VIDEO, check_not_held_out, moving_arg  # noqa: E402

from sotmot_ros.data.moving_camera import MOTIONS, camera_view, camera_warps  # noqa: E402
from sotmot_ros.sources import open_source  # noqa: E402
from sotmot_ros.tracking.camera_motion import CameraMotionEstimator  # noqa: E402


def relative_warps(warps: np.ndarray) -> np.ndarray:
    """Absolute frame -> view warps (F, 2, 3) -> the view-to-view warps between consecutive frames (identity first)."""
    full = np.concatenate([warps, np.tile([[[0.0, 0.0, 1.0]]], (len(warps), 1, 1))], 1)
    rel = [np.eye(2, 3)] + [(full[k] @ np.linalg.inv(full[k - 1]))[:2] for k in range(1, len(full))]
    return np.stack(rel)


def warp_error(estimated: np.ndarray, true: np.ndarray, size) -> float:
    """Largest distance (px) between where the two warps send three points of a (width, height) image."""
    w, h = size
    pts = np.array([[0.1 * w, 0.1 * h, 1.0], [0.9 * w, 0.9 * h, 1.0], [0.5 * w, 0.5 * h, 1.0]])
    return float(np.linalg.norm(pts @ estimated.T - pts @ true.T, axis=1).max())


def run(video: str, first: int, last: int, moving=None, work_side: int = 320, repeat: int = 3,
        static_check: bool = True) -> dict:
    check_not_held_out(video, last)
    frames, stamps, size = [], [], None
    for _, image, stamp in open_source(video).frames(first, last):
        size = (image.shape[1], image.shape[0])
        if moving:
            image = camera_view(image, stamp, *moving)
        frames.append(image)
        stamps.append(stamp)
    times, errors, failures = [], [], 0
    true = relative_warps(camera_warps(stamps, size, *moving)) if moving else None
    for _ in range(repeat):
        est = CameraMotionEstimator(work_side=work_side, static_check=static_check)
        for k, image in enumerate(frames):
            t0 = time.perf_counter()
            warp = est(image)
            times.append(time.perf_counter() - t0)
            if true is not None and k:
                errors.append(warp_error(warp, true[k], (image.shape[1], image.shape[0])))
        failures = est.failures
    h, w = frames[0].shape[:2]
    out = {"frames": len(frames), "size": [w, h], "work_side": work_side, "median_ms": 1e3 * float(np.median(times)),
           "p90_ms": 1e3 * float(np.percentile(times, 90)), "failures": failures}
    if errors:
        out.update(error_median_px=float(np.median(errors)), error_p90_px=float(np.percentile(errors, 90)),
                   error_max_px=float(np.max(errors)))
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--video", default=DEFAULT_VIDEO)
    p.add_argument("--first", type=int, default=1)
    p.add_argument("--last", type=int, default=200)
    p.add_argument("--moving-camera", type=moving_arg, default=None, metavar="NAME[:LEVEL]",
                   help=f"frames seen by a simulated moving camera ({', '.join(MOTIONS)}; level 1-3)")
    p.add_argument("--work-side", type=int, default=320, help="the estimator's working resolution (longer side)")
    p.add_argument("--repeat", type=int, default=3, help="passes over the frames (timings pooled)")
    p.add_argument("--no-static-check", action="store_true",
                   help="without the estimator's still-background check (a vehicle is not the camera)")
    args = p.parse_args(argv)
    if args.first < 1 or args.last <= args.first:
        p.error(f"bad frame range {args.first}..{args.last}")
    r = run(args.video, args.first, args.last, args.moving_camera, args.work_side, args.repeat,
            not args.no_static_check)
    line = (f"{os.path.basename(args.video)} {args.first}-{args.last} ({r['size'][0]}x{r['size'][1]}"
            f"{', ' + ':'.join(map(str, args.moving_camera)) if args.moving_camera else ''}), work side {r['work_side']}"
            f"{', no still-background check' if args.no_static_check else ''}: "
            f"{r['median_ms']:.2f} ms median, {r['p90_ms']:.2f} ms p90 per frame, {r['failures']} failed estimates")
    if "error_median_px" in r:
        line += (f"; error vs the true warp {r['error_median_px']:.2f} px median, {r['error_p90_px']:.2f} p90, "
                 f"{r['error_max_px']:.2f} max")
    print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
