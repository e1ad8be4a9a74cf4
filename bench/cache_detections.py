"""Run the Detector once over a frame range of a video and cache its detections in an ``.npz``.

Every tracker in ``compare_trackers.py`` and every configuration in ``tune_tracker.py`` then sees the
very same detections (boxes, scores, classes, SOT features), so differences come from association only
and the network runs once instead of once per configuration.

Default: the PETS09-S2L1 validation split (frames 318-397 of ``data_cache/vtest.avi``). Frames 398-795
of that sequence are held out; this script refuses to decode them.

    python bench/cache_detections.py [--checkpoint sotmot_ros/weights/default.pt] [--first 318 --last 397]
        [--out runs/bench/dets_val_0318-0397.npz] [--score-threshold 0.05] [--device auto] [--fps F]

Timestamps are ``(frame - 1) / fps`` seconds with the source's frame rate (as ``sotmot track`` uses;
vtest.avi is tagged 10 fps although MOT15 lists PETS09-S2L1 at 7 fps), or ``--fps``.

Cache layout (ragged per frame, one flat array per field):
    frames (F,) int64 1-based, timestamps (F,) float64 s, offsets (F+1,) int64 (frame k owns rows
    offsets[k]:offsets[k+1]), boxes (N, 4) float32 ltrb px, scores (N,) float32, classes (N,) int64,
    features (N, D) float32 L2-normalised, fps (), image_size (2,) = (width, height), meta () JSON string.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import dataclass, replace

import cv2
import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if REPO not in sys.path:
    sys.path.insert(0, REPO)

from sotmot_ros.data.camera_faults import FAULTS, apply_fault, parse_fault  # noqa: E402
from sotmot_ros.data.moving_camera import MOTIONS, camera_view, parse_motion  # noqa: E402
from sotmot_ros.types import Detections  # noqa: E402

DEFAULT_VIDEO = os.path.join(REPO, "data_cache", "vtest.avi")
# PETS09-S2L1 annotations (frames 1-397): $SOTMOT_SHARED_DIR, else the development machines' ../shared next to
# the repository. Elsewhere pass --gt: the MOTChallenge 2D MOT 2015 (MOT15) training set has
# train/PETS09-S2L1/gt/gt.txt (https://motchallenge.net/data/MOT15/).
SHARED_DIR = os.environ.get("SOTMOT_SHARED_DIR") or os.path.join(os.path.dirname(REPO), "shared")
DEFAULT_GT = os.path.join(SHARED_DIR, "data", "PETS09-S2L1", "gt_train_0001-0397.txt")
VAL_RANGE = (318, 397)
# Sequences with a held-out tail: name (file stem) -> first held-out frame. Never decoded here.
HELD_OUT_FROM = {"vtest": 398, "PETS09-S2L1": 398}
CACHE_VERSION = 1
MOTION_BOX_SCORE = 0.1  # detections masked out of the camera-motion estimate: the node decodes at low_score_threshold


@dataclass
class DetectionCache:
    """Per-frame detections of one video range (see the module docstring for the file layout)."""

    frames: np.ndarray
    timestamps: np.ndarray
    offsets: np.ndarray
    boxes: np.ndarray
    scores: np.ndarray
    classes: np.ndarray
    features: np.ndarray
    fps: float
    image_size: tuple[int, int]
    meta: dict
    # (F, 2, 3) per cached frame, the camera's warp from the previous cached frame (measure_camera_motion); not
    # saved, and a selection (select, every_nth_frame) drops it: its frames are further apart, measure it again
    camera_motion: np.ndarray | None = None

    def __post_init__(self):
        self.frames = np.asarray(self.frames, np.int64)
        self.timestamps = np.asarray(self.timestamps, np.float64)
        self.offsets = np.asarray(self.offsets, np.int64)
        self.boxes = np.asarray(self.boxes, np.float32).reshape(-1, 4)
        self.scores = np.asarray(self.scores, np.float32)
        self.classes = np.asarray(self.classes, np.int64)
        self.features = np.asarray(self.features, np.float32)
        if self.features.ndim != 2:
            self.features = self.features.reshape(len(self.boxes), -1)
        f, n = len(self.frames), len(self.boxes)
        if len(self.timestamps) != f or len(self.offsets) != f + 1 or self.offsets[0] != 0 or self.offsets[-1] != n:
            raise ValueError("inconsistent detection cache: frames/timestamps/offsets do not line up")
        if np.any(np.diff(self.offsets) < 0) or np.any(np.diff(self.frames) <= 0):
            raise ValueError("inconsistent detection cache: offsets or frames not increasing")
        if not (len(self.scores) == len(self.classes) == len(self.features) == n):
            raise ValueError("inconsistent detection cache: per-detection arrays differ in length")
        self.image_size = (int(self.image_size[0]), int(self.image_size[1]))
        self.fps = float(self.fps)

    def __len__(self) -> int:
        return len(self.frames)

    @property
    def frame_range(self) -> tuple[int, int]:
        return int(self.frames[0]), int(self.frames[-1])

    @property
    def feature_dim(self) -> int:
        return self.features.shape[1]

    def detections(self, k: int) -> Detections:
        """Detections of the k-th cached frame (0-based index, not the frame number)."""
        a, b = self.offsets[k], self.offsets[k + 1]
        return Detections(self.boxes[a:b], self.scores[a:b], self.classes[a:b], self.features[a:b])

    def __iter__(self):
        """Yields ``(frame, timestamp, Detections)``."""
        for k in range(len(self.frames)):
            yield int(self.frames[k]), float(self.timestamps[k]), self.detections(k)

    @classmethod
    def from_frames(cls, frames, timestamps, dets: list[Detections], fps: float, image_size, meta=None,
                    feature_dim: int | None = None) -> "DetectionCache":
        d = feature_dim if feature_dim is not None else (dets[0].features.shape[1] if dets else 0)
        counts = [len(x) for x in dets]
        cat = (lambda attr, shape: np.concatenate([getattr(x, attr) for x in dets]) if dets else np.zeros(shape))
        return cls(frames, timestamps, np.concatenate([[0], np.cumsum(counts)]).astype(np.int64),
                   cat("boxes", (0, 4)), cat("scores", 0), cat("classes", 0),
                   np.concatenate([x.features for x in dets]) if dets else np.zeros((0, d)),
                   fps, image_size, dict(meta or {}))

    def select(self, kept, fps: float | None = None, **meta) -> "DetectionCache":
        """The cached frames at indices ``kept`` (in order), each with its own timestamp and detections; ``fps``
        (default: unchanged) and ``meta`` entries describe the selection."""
        kept = list(kept)
        return DetectionCache.from_frames([int(self.frames[k]) for k in kept], [float(self.timestamps[k]) for k in kept],
                                          [self.detections(k) for k in kept], self.fps if fps is None else fps,
                                          self.image_size, {**self.meta, **meta}, feature_dim=self.feature_dim)

    def save(self, path: str) -> str:
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        tmp = path + ".tmp.npz"
        np.savez_compressed(tmp, version=CACHE_VERSION, frames=self.frames, timestamps=self.timestamps,
                            offsets=self.offsets, boxes=self.boxes, scores=self.scores, classes=self.classes,
                            features=self.features, fps=self.fps, image_size=np.asarray(self.image_size),
                            meta=json.dumps(self.meta))
        os.replace(tmp, path)
        return path


def apply_nms(cache: DetectionCache, iou: float) -> DetectionCache:
    """The cache after per-frame, per-class box NMS at ``iou`` (1.0: unchanged), as ``Detector(nms_iou=iou)``
    would have decoded it: the detector compares the boxes clipped to the image (``Letterbox.window``), as these
    cached image boxes are, and IoU is scale-invariant (``test_box_nms_at_the_image_edge_is_what_the_bench_measures``)."""
    if iou >= 1.0:
        return cache
    from sotmot_ros.boxes import nms

    frames, stamps, dets = [], [], []
    for frame, stamp, d in cache:
        if len(d) > 1:
            keep = np.sort(nms(d.boxes, d.scores, iou, classes=d.classes))  # keep the decoder's score order
            d = Detections(d.boxes[keep], d.scores[keep], d.classes[keep], d.features[keep])
        frames.append(frame), stamps.append(stamp), dets.append(d)
    return DetectionCache.from_frames(frames, stamps, dets, cache.fps, cache.image_size, {**cache.meta, "nms_iou": iou},
                                      feature_dim=cache.feature_dim)


def every_nth_frame(cache: DetectionCache, step: int) -> DetectionCache:
    """Every ``step``-th cached frame (the first one kept), with its real timestamp: what the tracker sees
    when inference is ``step`` times slower than the camera and the ROS node takes the newest frame."""
    if step < 1:
        raise ValueError(f"frame step must be >= 1, got {step}")
    if step == 1:
        return cache
    return cache.select(range(0, len(cache), step), cache.fps / step, frame_step=step)


def write_json_report(path: str, cache_path: str, cache: DetectionCache, gt: str, **fields) -> None:
    """Write a benchmark's results with the provenance of its detection cache (shared by the bench scripts)."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    payload = {"cache": os.path.abspath(cache_path), "cache_meta": cache.meta, "gt": gt,
               "frame_range": list(cache.frame_range), **fields}
    with open(path, "w") as fh:
        json.dump(payload, fh, indent=2, default=float)
    print(f"-> {path}")


def load_cache(path: str) -> DetectionCache:
    with np.load(path, allow_pickle=False) as z:
        version = int(z["version"]) if "version" in z else 0
        if version != CACHE_VERSION:
            raise ValueError(f"{path}: detection cache version {version}, expected {CACHE_VERSION}")
        return DetectionCache(z["frames"], z["timestamps"], z["offsets"], z["boxes"], z["scores"], z["classes"],
                              z["features"], float(z["fps"]), tuple(z["image_size"].tolist()),
                              json.loads(str(z["meta"])))


def check_not_held_out(video: str, last: int) -> None:
    stem = os.path.splitext(os.path.basename(os.path.normpath(video)))[0]
    limit = HELD_OUT_FROM.get(stem)
    if limit is not None and last >= limit:
        raise SystemExit(f"refusing: frames >= {limit} of {stem} are the held-out split (asked up to {last})")


def _file_digest(path: str, limit: int = 1 << 26) -> str:
    """The model file's digest over its first 64 MiB (enough to tell model files apart, quick on large ones)."""
    from sotmot_ros.model.checkpoint import file_digest

    return file_digest(path, limit)


def camera_image(image: np.ndarray, frame: int, stamp: float, moving: tuple[str, int] | None = None,
                 low_res: int | None = None, camera_rows: int | None = None,
                 fault: tuple[str, int] | None = None) -> tuple[np.ndarray, tuple[int, int]]:
    """The image a cached frame's detector got (see ``cache_detections``) and the (width, height) its boxes and
    labels are in: the one place both the detections and the camera's warps (``measure_camera_motion``) take
    a frame through the simulated camera, its resolution and its fault."""
    from sotmot_ros.data.augment import low_resolution

    if moving:
        image = camera_view(image, stamp, *moving)
    size = (image.shape[1], image.shape[0])
    if low_res:
        image = low_resolution(image, low_res)
    if camera_rows and camera_rows < image.shape[0]:
        image = cv2.resize(image, (max(1, round(size[0] * camera_rows / size[1])), int(camera_rows)),
                           interpolation=cv2.INTER_AREA)
    if fault:  # the fault happens in the camera, at its own resolution (as aug_faults does)
        image = apply_fault(image, fault[0], fault[1], seed=frame)
    return image, size


def cache_detections(video: str, checkpoint: str | None, first: int, last: int, device: str = "auto",
                     half: bool = False, score_threshold: float = 0.05, max_detections: int = 500,
                     fps: float | None = None, progress: bool = True, low_res: int | None = None,
                     camera_rows: int | None = None, fault: tuple[str, int] | None = None,
                     moving: tuple[str, int] | None = None) -> DetectionCache:
    """Detect in frames ``first..last`` (inclusive, 1-based) of ``video``; returns the cache (not saved).

    ``low_res``: each frame is first degraded to what a camera of that many rows would give
    (``augment.low_resolution``), at the frame's own size so that its labels still hold.
    ``camera_rows``: the detector gets the frame itself shrunk to that many rows (a small camera: its
    letterbox enlarges it, as it does a real low-resolution stream); boxes are mapped back to the frame's
    own size, so its labels still hold.
    ``fault``: (name, level) of a camera fault (``camera_faults``), seeded by the frame number, applied to the
    frame the detector gets (the small camera's own frame with ``camera_rows``).
    ``moving``: (name, level) of a simulated moving camera (``moving_camera``): the detector gets its view of
    each frame (smaller than the frame, see ``view_size``), and the boxes stay in the view's pixels (the labels
    must be re-expressed with ``moving_camera.write_view_gt``). It comes first: the faults and ``camera_rows``
    happen in that camera.
    """
    from sotmot_ros.detector import Detector
    from sotmot_ros.model.checkpoint import resolve_model_path
    from sotmot_ros.preprocess import LETTERBOX_VERSION
    from sotmot_ros.sources import open_source

    check_not_held_out(video, last)
    checkpoint = str(resolve_model_path(checkpoint))  # a file, '' / None or a bundled model's name
    source = open_source(video, fps=fps)
    if source.length is not None and last > source.length:
        raise SystemExit(f"{video} has {source.length} frames; --last {last} is beyond it")
    # raw peaks (no box NMS): bench scripts apply a model's NMS afterwards (apply_nms) or sweep it
    detector = Detector.from_checkpoint(checkpoint, device=device, half=half, score_threshold=score_threshold,
                                        max_detections=max_detections, nms_iou=1.0)
    detector.warmup()
    frames, stamps, dets, size = [], [], [], None
    start = time.perf_counter()
    frame_size = None
    for frame, image, stamp in source.frames(first, last):
        frame_size = (image.shape[1], image.shape[0])
        image, size = camera_image(image, frame, stamp, moving, low_res, camera_rows, fault)
        d = detector(image)
        if image.shape[:2] != size[::-1]:  # a small camera's boxes back at the labels' size
            d = replace(d, boxes=d.boxes * np.array([size[0] / image.shape[1], size[1] / image.shape[0]] * 2,
                                                    np.float32))
        dets.append(d)
        frames.append(frame)
        stamps.append(stamp)
        if progress and (len(frames) % 20 == 0 or frame == last):
            print(f"  frame {frame} ({len(frames)}/{last - first + 1}), {len(dets[-1])} detections", file=sys.stderr)
    elapsed = time.perf_counter() - start
    if len(frames) != last - first + 1:
        raise SystemExit(f"{video}: decoded {len(frames)} frames of {first}..{last}")
    meta = {"video": os.path.abspath(video), "checkpoint": os.path.abspath(checkpoint),
            "checkpoint_sha256_16": _file_digest(checkpoint), "score_threshold": score_threshold,
            "max_detections": max_detections, "device": str(detector.device), "half": detector.half,
            "input_size": list(detector.input_size), "first": first, "last": last, "low_res": low_res,
            "camera_rows": camera_rows, "fault": list(fault) if fault else None, "letterbox_version": LETTERBOX_VERSION,
            "moving_camera": list(moving) if moving else None, "frame_size": list(frame_size) if frame_size else None,
            "detector_seconds": round(elapsed, 3), "created": time.strftime("%Y-%m-%d %H:%M:%S")}
    return DetectionCache.from_frames(frames, stamps, dets, source.fps, size, meta, feature_dim=detector.feature_dim)


def camera_of(cache: DetectionCache) -> dict:
    """The ``camera_image`` arguments a cache's detections were made with (its meta): simulated camera, resolution,
    fault."""
    meta = cache.meta
    found = {"moving": meta.get("moving_camera"), "low_res": meta.get("low_res"),
             "camera_rows": meta.get("camera_rows"), "fault": meta.get("fault")}
    return {k: tuple(v) if isinstance(v, list) else v for k, v in found.items()}


def measure_camera_motion(cache: DetectionCache, box_score: float = MOTION_BOX_SCORE) -> np.ndarray:
    """(F, 2, 3): for each cached frame, the camera warp from the previous cached frame as ``Tracker.update``
    measures it on the images (``CameraMotionEstimator``, the frame's detections with score >= ``box_score``
    masked out; identity for the first), on the very images the detector got (the cache's simulated camera,
    resolution and fault, ``camera_image``), in the boxes' pixels. ``cache`` may be a selection
    (``every_nth_frame``): the warps then span its steps, as the node's tracker sees them when it skips frames."""
    from sotmot_ros.sources import open_source
    from sotmot_ros.tracking.camera_motion import CameraMotionEstimator

    video = cache.meta["video"]
    first, last = cache.frame_range
    check_not_held_out(video, last)
    degrade = camera_of(cache)
    wanted = {int(f): k for k, f in enumerate(cache.frames)}
    estimator = CameraMotionEstimator()
    warps = np.zeros((len(cache), 2, 3))
    for frame, image, _ in open_source(video).frames(first, last):
        k = wanted.get(int(frame))
        if k is None:
            continue
        image, size = camera_image(image, frame, float(cache.timestamps[k]), **degrade)
        scale = image.shape[1] / size[0]  # < 1 for a small camera (camera_rows)
        d = cache.detections(k)
        warps[k] = estimator(image, d.boxes[d.scores >= box_score] * scale)
        warps[k, :, 2] /= scale  # the translation in the boxes' pixels
    return warps


def estimator_signature() -> dict:
    """The camera-motion estimator's settings: part of the key of kept warps, so a changed estimator measures again."""
    from sotmot_ros.tracking.camera_motion import CameraMotionEstimator

    e = CameraMotionEstimator()
    return {k: getattr(e, k) for k in ("work_side", "max_corners", "min_inliers", "corner_quality", "static_check")}


def attach_camera_motion(caches, cache_dir: str | None = None) -> None:
    """Give every cache whose footage is at hand (``meta['video']``) its ``camera_motion``
    (``measure_camera_motion``), kept in ``cache_dir``/motion under a digest of what decides the warps (footage, frames,
    simulated camera and degradations, the masked boxes) so reruns and other scripts reuse it. Caches without
    footage (synthetic ones) are left without: the tracker then compensates nothing, as with no frames."""
    import hashlib

    for cache in caches if isinstance(caches, (list, tuple)) else [caches]:
        video = cache.meta.get("video")
        if cache.camera_motion is not None or not video or not os.path.exists(video):
            continue
        key = hashlib.sha256(json.dumps([os.path.abspath(video), estimator_signature(), camera_of(cache)]).encode())
        key.update(cache.frames.tobytes())
        key.update(cache.timestamps.tobytes())
        key.update(cache.boxes[cache.scores >= MOTION_BOX_SCORE].tobytes())
        path = os.path.join(cache_dir, "motion", f"{key.hexdigest()[:20]}.npz") if cache_dir else None
        if path and os.path.isfile(path):
            with np.load(path) as z:
                cache.camera_motion = z["warps"]
            continue
        cache.camera_motion = measure_camera_motion(cache)
        if path:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            np.savez(path, warps=cache.camera_motion)


def frame_step_arg(text: str) -> int:
    """argparse type of ``--frame-step N``, a whole number >= 1 (``every_nth_frame``'s step; every bench script)."""
    try:
        step = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"a frame step is a whole number >= 1, got {text!r}") from None
    if step < 1:
        raise argparse.ArgumentTypeError(f"a frame step must be >= 1, got {step}")
    return step


def _argparse_type(parse, name: str):
    """An argparse type from a parser that raises ValueError: the message becomes the usage error."""
    def convert(text: str):
        try:
            return parse(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
    convert.__name__ = name
    return convert


fault_arg = _argparse_type(parse_fault, "fault")  # --fault NAME[:LEVEL] (the bench scripts)
moving_arg = _argparse_type(parse_motion, "moving camera")  # --moving-camera NAME[:LEVEL]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--video", default=DEFAULT_VIDEO)
    p.add_argument("--checkpoint", default=None, help="model file (default: the packaged default model)")
    p.add_argument("--first", type=int, default=VAL_RANGE[0], help="first frame, 1-based inclusive")
    p.add_argument("--last", type=int, default=VAL_RANGE[1], help="last frame, inclusive")
    p.add_argument("--out", default=None, help="npz path (default runs/bench/dets_<video>_<first>-<last>.npz)")
    p.add_argument("--device", default="auto")
    p.add_argument("--half", action="store_true")
    p.add_argument("--score-threshold", type=float, default=0.05,
                   help="detector score floor; keep it <= the lowest low_score_threshold you will tune")
    p.add_argument("--max-detections", type=int, default=500)
    p.add_argument("--fps", type=float, default=None, help="override the video's frame rate (timestamps)")
    p.add_argument("--low-res", type=int, default=None, metavar="ROWS",
                   help="degrade each frame to what a camera of ROWS rows gives (shrunk and enlarged back)")
    p.add_argument("--camera-rows", type=int, default=None, metavar="ROWS",
                   help="give the detector each frame shrunk to ROWS rows (a small camera); boxes mapped back")
    p.add_argument("--fault", type=fault_arg, default=None, metavar="NAME[:LEVEL]",
                   help=f"a camera fault in each frame the detector gets ({', '.join(FAULTS)}; level 1-3, default 2)")
    p.add_argument("--moving-camera", type=moving_arg, default=None, metavar="NAME[:LEVEL]",
                   help=f"detect in a simulated moving camera's view of each frame ({', '.join(MOTIONS)}; level 1-3, "
                   "default 2; boxes in the view's pixels)")
    p.add_argument("--quiet", action="store_true")
    args = p.parse_args(argv)
    if args.first < 1 or args.last < args.first:
        p.error(f"bad frame range {args.first}..{args.last}")
    stem = os.path.splitext(os.path.basename(args.video))[0]
    out = args.out or os.path.join(REPO, "runs", "bench", f"dets_{stem}_{args.first:04d}-{args.last:04d}.npz")
    cache = cache_detections(args.video, args.checkpoint, args.first, args.last, args.device, args.half,
                             args.score_threshold, args.max_detections, args.fps, progress=not args.quiet,
                             low_res=args.low_res, camera_rows=args.camera_rows, fault=args.fault,
                             moving=args.moving_camera)
    cache.save(out)
    n = np.diff(cache.offsets)
    print(f"{out}: frames {cache.frame_range[0]}-{cache.frame_range[1]} ({len(cache)}), {len(cache.boxes)} detections "
          f"(mean {n.mean():.1f}/frame, max {n.max()}), D={cache.feature_dim}, fps={cache.fps:g}, "
          f"image {cache.image_size[0]}x{cache.image_size[1]}, detector {cache.meta['detector_seconds']:.1f} s "
          f"on {cache.meta['device']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
