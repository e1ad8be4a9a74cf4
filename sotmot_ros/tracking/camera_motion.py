"""Camera motion between two processed frames, so that tracks survive a moving camera.

The tracker predicts each person in image pixels. When the camera pans, vibrates or drives (a robot's head,
a vehicle), the whole image moves between frames, every prediction is off by the same warp, and IoU stages
and the motion gate lose true pairs. ``CameraMotionEstimator`` measures that warp on the background:
corners of the previous frame (people's detected boxes masked out, they move on their own), tracked into the
current frame by pyramidal Lucas-Kanade, a RANSAC similarity fit (rotation, uniform scale, translation; the
"sparse optical flow" global motion compensation of BoT-SORT, Aharon et al. 2022); a fit that moves the image
while a still background spans more of it is one object moving, not the camera (identity). ``warp_states`` then moves
every track's Kalman state (position, size, velocity, covariance) into the current frame before association.

A warp is a (2, 3) affine matrix W mapping a pixel of the previous processed frame to the current one:
``[x', y'] = W[:, :2] @ [x, y] + W[:, 2]``. It can also come from elsewhere (odometry): ``Tracker.update``
takes either a frame or a warp.
"""

from __future__ import annotations

import logging
from collections import deque

import cv2
import numpy as np

log = logging.getLogger(__name__)

IDENTITY = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
MAX_SCALE_CHANGE = 0.25  # a warp changing the scale by more than this between two frames is not a camera move
# Image speed (fraction of the image width per second, median of recent measurements) above which a camera counts
# as moving. Measured (runs/s20): fixed cameras 0.0004-0.004, the hand-held bedroom clip 0.033, the panning gym clip
# 0.076, the simulated moving cameras 0.08 (pan:2) to 0.9.
MOVING_CAMERA_SPEED = 0.05
MIN_SPEED_MEASUREMENTS = 3  # before this many, the monitor does not call a camera moving (hint, ``auto``)
STILL_PX = 0.3  # a tracked corner that moved less than this (working-size pixels) stood still
MOVED_PX = 1.0  # a fit moving the tracked corners by more than this on average moves the camera


def spread(points: np.ndarray, shape: tuple[int, int]) -> float:
    """The fraction of an image of ``shape`` that a set of corners (N, 2) x, y spans: the area between their 10th
    and 90th percentiles in x and in y (a few stray corners do not stretch it)."""
    if len(points) < 2:
        return 0.0
    h, w = shape[:2]
    lo, hi = np.percentile(points, [10, 90], axis=0)
    return float((hi[0] - lo[0]) * (hi[1] - lo[1]) / (w * h))


def check_warp(warp, what: str = "camera_motion") -> np.ndarray:
    """``warp`` as a (2, 3) float64 array; ValueError naming the problem when it is not a plausible camera move
    (wrong shape, not finite, a mirror or collapse, or a scale change beyond ``MAX_SCALE_CHANGE``)."""
    w = np.asarray(warp, dtype=np.float64)
    if w.shape != (2, 3):
        raise ValueError(f"{what} must be a 2x3 affine warp, got shape {w.shape}")
    if not np.isfinite(w).all():
        raise ValueError(f"{what} must be finite, got {w.tolist()}")
    det = float(np.linalg.det(w[:, :2]))
    if det <= 0 or abs(np.sqrt(det) - 1.0) > MAX_SCALE_CHANGE:
        raise ValueError(f"{what} is not a camera move between two frames (scale {np.sqrt(max(det, 0)):.3f}, "
                         f"allowed 1 +- {MAX_SCALE_CHANGE}; a mirror or collapse has det <= 0): {w.tolist()}")
    return w


def warp_states(mean: np.ndarray, cov: np.ndarray, warp: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Kalman states ``[cx, cy, w, h, vcx, vcy, vw, vh]`` (N, 8) and covariances (N, 8, 8) moved by a camera warp.

    Centres map through the warp, sizes scale by its scale (boxes stay axis-aligned: a camera rolls a few
    degrees at most between frames), velocities turn and scale with its linear part (they keep describing the
    person's own motion), and the covariances follow the same linear map.
    """
    lin = warp[:, :2]
    s = float(np.sqrt(abs(np.linalg.det(lin))))
    t = np.zeros((8, 8))
    t[0:2, 0:2] = lin
    t[2, 2] = t[3, 3] = s
    t[4:6, 4:6] = lin
    t[6, 6] = t[7, 7] = s
    new_mean = mean @ t.T
    new_mean[:, 0:2] += warp[:, 2]
    new_cov = t @ cov @ t.T
    return new_mean, new_cov


class CameraMotionEstimator:
    """The warp from the previously given frame to this one (identity for the first frame or when it fails).

    ``work_side``: frames are shrunk so that their longer side is at most this many pixels before corners
    are tracked (the fit is sub-pixel there, and it keeps the cost to a few milliseconds on a CPU).
    ``last_inliers`` and ``failures`` say how the latest estimate went (a fit needs ``min_inliers`` corners
    that agree; a frame of sky or a lens cap gives identity, counted in ``failures``).
    """

    def __init__(self, work_side: int = 320, max_corners: int = 300, min_inliers: int = 15,
                 corner_quality: float = 0.003, static_check: bool = True):
        if work_side < 32 or max_corners < 4 or min_inliers < 3 or not 0 < corner_quality < 1:
            raise ValueError("work_side >= 32, max_corners >= 4, min_inliers >= 3 and 0 < corner_quality < 1 are needed")
        self.work_side = int(work_side)
        self.max_corners = int(max_corners)
        self.min_inliers = int(min_inliers)
        self.corner_quality = float(corner_quality)  # relative to the strongest corner; low for plain scenes
        self.static_check = bool(static_check)  # a still background outweighs one moving object (``_estimate``)
        self.failures = 0
        self.reset()

    def reset(self) -> None:
        """Forget the previous frame (the next call returns identity)."""
        self._prev: np.ndarray | None = None
        self._prev_boxes: np.ndarray | None = None
        self._prev_shape: tuple | None = None
        self.last_inliers = 0

    def _grey(self, image: np.ndarray) -> tuple[np.ndarray, float]:
        if image.ndim == 3 and image.shape[2] in (3, 4):
            grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY if image.shape[2] == 3 else cv2.COLOR_BGRA2GRAY)
        else:
            grey = image.reshape(image.shape[:2])
        if grey.dtype != np.uint8:  # 16-bit or float cameras: corners and flow need 8 bits
            grey = cv2.normalize(grey.astype(np.float32), None, 0, 255, cv2.NORM_MINMAX).astype(np.uint8)
        scale = min(1.0, self.work_side / max(grey.shape[:2]))
        if scale < 1.0:
            grey = cv2.resize(grey, (max(1, round(grey.shape[1] * scale)), max(1, round(grey.shape[0] * scale))),
                              interpolation=cv2.INTER_AREA)
        return grey, scale

    def __call__(self, image: np.ndarray, boxes: np.ndarray | None = None) -> np.ndarray:
        """The warp previous -> ``image`` (BGR or grey) in ``image``'s pixels. ``boxes`` (N, 4) ltrb: this
        frame's people, masked out when the next frame's warp is measured."""
        image = np.asarray(image)
        if image.size == 0 or not (image.ndim == 2 or (image.ndim == 3 and image.shape[2] in (1, 3, 4))):
            raise ValueError(f"camera motion needs a grey, BGR or BGRA image, got shape {image.shape}")
        grey, scale = self._grey(image)
        warp = IDENTITY.copy()
        self.last_inliers = 0
        if self._prev is not None and self._prev_shape == image.shape[:2]:
            estimated = self._estimate(self._prev, grey, self._prev_boxes)
            if estimated is None and self._prev_boxes is not None:  # too little background left: people too
                estimated = self._estimate(self._prev, grey, None)
            if estimated is None:
                self.failures += 1
            else:
                warp = estimated
                warp[:, 2] /= scale  # translation back in full-resolution pixels (the linear part is scale-free)
        self._prev, self._prev_shape = grey, image.shape[:2]
        self._prev_boxes = None if boxes is None or not len(boxes) else np.asarray(boxes, np.float64) * scale
        return warp

    def _estimate(self, prev: np.ndarray, cur: np.ndarray, boxes: np.ndarray | None) -> np.ndarray | None:
        mask = np.full(prev.shape, 255, np.uint8)
        if boxes is not None:
            h, w = prev.shape
            for x1, y1, x2, y2 in np.round(boxes).astype(int):
                mask[max(0, y1):min(h, y2), max(0, x1):min(w, x2)] = 0
        pts = cv2.goodFeaturesToTrack(prev, self.max_corners, self.corner_quality, 8, mask=mask, blockSize=3)
        if pts is None or len(pts) < self.min_inliers:
            return None
        nxt, status, _ = cv2.calcOpticalFlowPyrLK(prev, cur, pts, None, winSize=(21, 21), maxLevel=3)
        ok = status.reshape(-1) == 1
        if ok.sum() < self.min_inliers:
            return None
        warp, inliers = cv2.estimateAffinePartial2D(pts[ok], nxt[ok], method=cv2.RANSAC, ransacReprojThreshold=1.0,
                                                    maxIters=500, confidence=0.99, refineIters=10)
        if warp is None or inliers is None or int(inliers.sum()) < self.min_inliers:
            return None
        inliers = inliers.reshape(-1).astype(bool)
        src, dst = pts[ok].reshape(-1, 2), nxt[ok].reshape(-1, 2)
        if self.static_check:
            moved = float(np.mean(np.linalg.norm(src @ warp[:, :2].T + warp[:, 2] - src, axis=1)))
            still = np.linalg.norm(dst - src, axis=1) < STILL_PX
            # A fit that moves the image while the corners that stood still span more of it than those that
            # followed the fit: one object moved (a vehicle past a fixed camera), not the camera.
            if moved > MOVED_PX and still.sum() >= self.min_inliers and \
                    spread(src[still], prev.shape) > spread(src[inliers], prev.shape):
                self.last_inliers = int(still.sum())
                return IDENTITY.copy()
        self.last_inliers = int(inliers.sum())
        try:
            return check_warp(warp, "the estimated camera motion")
        except ValueError as exc:
            log.debug("%s", exc)
            return None


class CameraMotionMonitor:
    """Is the camera moving? The image speed (fraction of its width per second), the median of the last ``window``
    measurements: every ``period_seconds`` one warp between two consecutive processed frames (~4 ms) while
    compensation is off, or every measured or given warp while it is on (``record``). ``moving`` is the one
    definition of a moving camera: ``camera_motion: auto`` compensates while it holds, and front-ends tell the user
    (``moving_camera_hint``) when a fixed-camera setting meets one."""

    def __init__(self, period_seconds: float = 2.0, window: int = 5):
        self.period = float(period_seconds)
        self._speeds: deque[float] = deque(maxlen=int(window))
        self._prev = None  # (image, boxes, stamp) of the last observed frame (a reference, no copy)
        self._due: float | None = None
        self._last_moving: float | None = None  # stamp of the last measurement after which the camera was moving

    @property
    def speed(self) -> float | None:
        """The median of the recent measurements (None before the first)."""
        return float(np.median(self._speeds)) if self._speeds else None

    @property
    def measurements(self) -> int:
        return len(self._speeds)

    @property
    def moving(self) -> bool:
        """At least ``MIN_SPEED_MEASUREMENTS`` measurements and their median at or above ``MOVING_CAMERA_SPEED``."""
        return self.measurements >= MIN_SPEED_MEASUREMENTS and self.speed >= MOVING_CAMERA_SPEED

    def record(self, warp: np.ndarray, dt: float, width: int, stamp: float | None = None) -> None:
        """One warp over ``dt`` seconds of an image ``width`` pixels wide, ending at ``stamp`` (s; for
        ``moving_within``)."""
        if dt > 0 and width > 0:
            self._speeds.append(float(np.hypot(*warp[:, 2])) / dt / width)
            if stamp is not None and self.moving:
                self._last_moving = float(stamp)

    def moving_within(self, stamp: float, hold_seconds: float) -> bool:
        """``moving`` now, or at a measurement at most ``hold_seconds`` before ``stamp``."""
        if self.moving:
            return True
        return self._last_moving is not None and 0.0 <= stamp - self._last_moving <= hold_seconds

    def observe(self, image: np.ndarray, boxes: np.ndarray | None, stamp: float) -> None:
        """A processed frame while compensation is off: measured against the previous one when a measurement is due."""
        prev, self._prev = self._prev, (image, boxes, float(stamp))
        if prev is None or stamp <= prev[2] or prev[0].shape != image.shape:
            return
        if self._due is not None and stamp < self._due:
            return
        self._due = stamp + self.period
        estimator = CameraMotionEstimator()
        estimator(prev[0], prev[1])
        warp = estimator(image, boxes)
        if estimator.last_inliers:
            self.record(warp, stamp - prev[2], image.shape[1])


def moving_camera_hint(monitor: CameraMotionMonitor, mode: str, setting: str = "camera_motion") -> str | None:
    """What to tell a user whose camera moves while compensation is off (None: nothing to say); ``setting``: how
    this front-end spells the setting."""
    if mode != "none" or not monitor.moving:
        return None
    return (f"the image moves ~{100 * monitor.speed:.0f} % of its width per second (median of {monitor.measurements} "
            f"measurements): if the camera is on a moving platform, set {setting} auto (compensates while the camera "
            f"moves) or affine (always; model card, 'A moving camera')")
