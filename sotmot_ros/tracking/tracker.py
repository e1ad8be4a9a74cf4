"""`Tracker`: SOTMOT-style online tracking of detections with per-track SOT models.

Per update (timestamps in seconds):

1. Kalman prediction of every track by the elapsed time, then (``camera_motion: affine``, or ``auto`` while the
   camera moves) every prediction moved by the camera's own motion since the last update (measured on the frame,
   or given; ``camera_motion.py``).
2. Stage 1 - high-score detections vs all tracks (tentative, confirmed, lost; ``tentative_in_stage1: false``
   leaves the tentative ones to stage 3). In 'sot' mode the ridge
   models of all tracks are solved jointly from their templates (each against the others) and scored
   at the detections' features; the cost fuses that response with the IoU of the predicted box and is
   gated by motion (``overlap_passes_gate``: a box overlapping the prediction passes). Lost tracks get a gate
   widened with the time they have been lost, so they can be re-identified (same ID) mainly by their SOT model
   (``lost_similarity: sot``: by the larger of the fused similarity and the SOT response alone, since a lost
   track's predicted box drifts from the person; ``sot_or_overlap``: as ``sot``, and a pair whose boxes overlap is
   at least acceptable, at the lowest accepted similarity, so a person back with another look can still be taken
   back where no other track wants the box).
3. Stage 2 - confirmed tracks left over vs low-score and left-over high-score detections, IoU only
   (low-score detections are often occluded targets whose features are unreliable).
4. Stage 3 - tentative tracks left over vs left-over high-score detections, IoU only.
5. Lifecycle: unmatched high detections start tentative tracks; ``min_hits`` consecutive matches
   confirm them; an unmatched tentative track is dropped, an unmatched confirmed one becomes lost and
   is kept for ``max_lost_seconds``.

Every duration is measured in seconds from the caller's stamps, never in frames. A stamp going
backwards, or jumping further forward than ``max_time_jump_seconds``, resets the tracker (a logged
warning; IDs keep counting up so an output stream never reuses an ID); a NaN/inf stamp raises
``ValueError``.
"""

from __future__ import annotations

import logging
import math
import time

import numpy as np

from ..boxes import iou_matrix, nms
from ..types import Detections, TrackOutput, TrackState
from . import association as assoc
from .camera_motion import CameraMotionEstimator, CameraMotionMonitor, check_warp, warp_states
from .config import TrackerConfig
from .kalman import KalmanBoxFilter, z_to_boxes
from .track import Track

log = logging.getLogger(__name__)


def tracks_to_publish(outputs: list[TrackOutput], states=(TrackState.CONFIRMED,)) -> list[TrackOutput]:
    """The one definition of what callers see of an update (the CLI, bench scripts, renderer and ROS node).

    Default: confirmed tracks matched in this update. ``states`` widens it (e.g. lost tracks' predicted
    boxes for a viewer, tentative tracks for debugging); a confirmed or tentative track is shown only in
    the update that matched it.
    """
    states = set(states)
    return [o for o in outputs if o.state in states and (o.matched or o.state == TrackState.LOST)]


class Tracker:
    """Online multi-object tracker; see the module docstring for the algorithm.

    >>> tracker = Tracker(TrackerConfig(association="sot"))
    >>> outputs = tracker.update(detections, timestamp=12.5)   # doctest: +SKIP
    >>> shown = tracks_to_publish(outputs)   # doctest: +SKIP
    """

    def __init__(self, config: TrackerConfig | None = None, first_id: int = 1, on_reset=None, **overrides):
        """``on_reset(reason: str)`` is called when the time policy resets the tracker (a timestamp going
        backwards or jumping beyond ``max_time_jump_seconds``); default: a logged warning. The policy lives
        here only; front-ends (the ROS node) report it through this callback."""
        if config is None:
            config = TrackerConfig(**overrides)
        elif overrides:
            config = TrackerConfig(**{**config.to_dict(), **overrides})
        self.config = config  # validated by the setter
        self._active = config  # the settings self.kf was built for and the last update used
        self.kf = KalmanBoxFilter(*config.kalman_settings())
        if int(first_id) < 1:
            raise ValueError(f"first_id must be >= 1, got {first_id}")
        self._first_id = int(first_id)  # a restarted pipeline can continue its ID sequence
        self._on_reset = on_reset or (lambda reason: log.warning("%s", reason))
        self._next_id = self._first_id
        self._warned_floor: tuple[float, float] | None = None
        self.last_association_seconds = 0.0  # wall time of the last association (SOT + gate + assignment)
        self.motion_estimator = CameraMotionEstimator()  # used when the settings ask for it and a frame is given
        self.motion_monitor = CameraMotionMonitor()  # how fast the image moves (``camera_speed``)
        self.last_camera_motion: np.ndarray | None = None  # the warp the last update applied (None: none)
        self.reset()

    # ------------------------------------------------------------------ settings
    @property
    def config(self) -> TrackerConfig:
        """The settings the next update uses (the latest assigned)."""
        return self._requested

    @config.setter
    def config(self, config: TrackerConfig) -> None:
        """Swap in new settings, safely from any thread: the update running now finishes with the settings
        it started with, the next one takes the new object whole (and rebuilds the Kalman filter when its
        settings changed). A TrackerConfig is immutable, so nothing can change it half-way."""
        if not isinstance(config, TrackerConfig):
            raise TypeError(f"config must be a TrackerConfig, got {type(config).__name__}")
        self._requested = config  # one reference assignment: atomic

    def _settings_for_update(self) -> TrackerConfig:
        """Take the latest settings for this update (the one place an update reads ``config``)."""
        cfg = self._requested
        if cfg is not self._active:
            if cfg.kalman_settings() != self._active.kalman_settings():
                self.kf = KalmanBoxFilter(*cfg.kalman_settings())  # the tracks' states stay valid: same units
            self._active = cfg
        return cfg

    # ------------------------------------------------------------------ state
    def reset(self, reset_ids: bool = True) -> None:
        """Forget all tracks. ``reset_ids=False`` keeps the ID counter (automatic resets do that)."""
        self._tracks: list[Track] = []
        self._last_time: float | None = None
        self._feature_dim: int | None = None
        self.motion_estimator.reset()
        if reset_ids:
            self._next_id = self._first_id

    @property
    def next_id(self) -> int:
        """The ID the next new track will get (pass it as ``first_id`` to continue a sequence)."""
        return self._next_id

    @property
    def num_active(self) -> int:
        """Tracks that are not lost (tentative + confirmed)."""
        return sum(1 for t in self._tracks if t.state != TrackState.LOST)

    @property
    def tracks(self) -> list[Track]:
        """The live track records (a new list; the records themselves are the tracker's)."""
        return list(self._tracks)

    # ------------------------------------------------------------------ update
    def _check_time(self, timestamp, cfg: TrackerConfig) -> tuple[float, float]:
        try:
            t = float(timestamp)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"timestamp must be a number of seconds, got {timestamp!r}") from exc
        if not math.isfinite(t):
            raise ValueError(f"timestamp must be finite seconds, got {t}")
        if self._last_time is None:
            return t, 0.0
        dt = t - self._last_time
        if dt < 0:
            reason = f"timestamp went backwards ({self._last_time:.3f} s -> {t:.3f} s): tracker reset"
        elif dt > cfg.max_time_jump_seconds:
            reason = (f"timestamp jumped {dt:.3f} s forward (> max_time_jump_seconds="
                      f"{cfg.max_time_jump_seconds:g}): tracker reset")
        else:
            return t, dt
        self.reset(reset_ids=False)
        self._on_reset(reason + " (tracks restart, IDs stay unique)")
        return t, 0.0

    def _check_score_floor(self, floor: float | None, low: float) -> None:
        """Warn (once per combination) when detections were decoded above the low threshold: stage 2 would
        silently never see a low-score detection."""
        if floor is None or floor <= low + 1e-9 or self._warned_floor == (floor, low):
            return
        self._warned_floor = (floor, low)
        log.warning("detections are decoded at score >= %g but low_score_threshold is %g: the second stage "
                    "sees nothing below %g; set the detector's score_threshold <= %g", floor, low, floor, low)

    def update(self, detections: Detections, timestamp: float, frame: np.ndarray | None = None,
               camera_motion: np.ndarray | None = None, image_width: int | None = None) -> list[TrackOutput]:
        """Advance to ``timestamp`` (seconds) with this frame's detections.

        With ``camera_motion: affine`` in the settings, the camera's motion since the last update moves every
        track's prediction: ``camera_motion`` (a 2x3 warp from the last update's image to this one, e.g. from
        odometry) when given, else measured on ``frame`` (the image the detections come from; pass it at every
        update); neither: no compensation. ``auto`` does the same only while the camera counts as moving
        (``CameraMotionMonitor.moving``, judged on these warps) or did within ``camera_motion_hold_seconds``; a
        given warp needs ``frame`` or ``image_width``, the width in pixels of the image it maps. With
        ``camera_motion: none`` both are ignored.

        Returns a snapshot of every track, lost and tentative ones included; callers usually keep
        ``state == 'confirmed' and matched``.
        """
        if not isinstance(detections, Detections):
            raise TypeError(f"detections must be a sotmot_ros.types.Detections, got {type(detections).__name__}")
        cfg = self._settings_for_update()
        self._check_score_floor(detections.score_floor, cfg.low_score_threshold)
        t, dt = self._check_time(timestamp, cfg)  # may reset (and so forget the last frame)
        warp = self._camera_warp(detections, frame, camera_motion, image_width, cfg, t, dt)
        self.last_camera_motion = warp
        first_update = self._last_time is None
        self._last_time = t

        if not len(detections) and not self._tracks:
            return []  # nothing to track: keep idle frames cheap
        keep = detections.scores >= cfg.low_score_threshold
        dets = detections if keep.all() else detections.select(keep)
        finite = np.isfinite(dets.boxes).all(1) & np.isfinite(dets.features).all(1)
        if not finite.all():
            # One NaN feature would poison the joint ridge solve of every track, and a template forever.
            log.warning("dropping %d detections with non-finite boxes or features", int((~finite).sum()))
            dets = dets.select(finite)
        d = dets.features.shape[1]
        if self._feature_dim is None or not self._tracks:
            self._feature_dim = d
        elif len(dets) and d != self._feature_dim:  # an empty frame may come without features
            raise ValueError(f"detection feature dimension changed from {self._feature_dim} to {d}")

        tracks = self._tracks
        if tracks and (dt > 0 or warp is not None):  # one batch: predict by the time, then move by the camera
            mean, cov = np.stack([tr.mean for tr in tracks]), np.stack([tr.cov for tr in tracks])
            if dt > 0:
                mean, cov = self.kf.predict(mean, cov, dt)
            if warp is not None:
                mean, cov = warp_states(mean, cov, warp)
            for i, tr in enumerate(tracks):
                tr.mean, tr.cov = mean[i], cov[i]

        t0 = time.perf_counter()
        matches, responses = self._associate(dets, t, cfg)
        self.last_association_seconds = time.perf_counter() - t0

        matched_tracks = np.zeros(len(tracks), bool)
        matched_dets = np.zeros(len(dets), bool)
        if len(matches):
            ti, di = matches[:, 0], matches[:, 1]
            mean, cov = self.kf.update(np.stack([tracks[i].mean for i in ti]), np.stack([tracks[i].cov for i in ti]),
                                       dets.boxes[di])
            for k, (i, j) in enumerate(zip(ti.tolist(), di.tolist())):
                tr = tracks[i]
                tr.mean, tr.cov = mean[k], cov[k]
                tr.mark_matched(dets.scores[j], dets.classes[j], t, responses[k])
                if tr.state == TrackState.LOST or (tr.state == TrackState.TENTATIVE and tr.streak >= cfg.min_hits):
                    tr.state = TrackState.CONFIRMED
            matched_tracks[ti] = True
            self._update_templates([tracks[i] for i in ti], dets, di, cfg)
            matched_dets[di] = True

        kept: list[Track] = []
        for i, tr in enumerate(tracks):
            if not matched_tracks[i]:
                tr.mark_missed()
                missing = t - tr.last_update_time
                if tr.state == TrackState.TENTATIVE:
                    # timeout 0 = drop at the first miss, even when the stamp did not advance
                    if cfg.tentative_timeout_seconds == 0 or missing > cfg.tentative_timeout_seconds:
                        continue
                elif tr.state == TrackState.CONFIRMED:
                    tr.state = TrackState.LOST
                if tr.state == TrackState.LOST and missing > cfg.max_lost_seconds:
                    continue
            kept.append(tr)

        new = np.nonzero(~matched_dets & (dets.scores >= cfg.new_track_score_threshold))[0]
        if first_update and len(new) > 1 and cfg.first_update_duplicate_iou < 1.0:
            new = self._without_duplicates(dets, new, cfg.first_update_duplicate_iou)
        if len(new):
            mean, cov = self.kf.initiate(dets.boxes[new])
            for k, j in enumerate(new.tolist()):
                tr = Track(self._next_id, mean[k], cov[k], dets.features[j], dets.scores[j], dets.classes[j], t,
                           cfg.history_length)
                self._next_id += 1
                if cfg.min_hits <= 1 or (first_update and cfg.confirm_on_first_update):
                    tr.state = TrackState.CONFIRMED
                kept.append(tr)
        self._tracks = self._enforce_cap(kept, cfg.max_tracks)
        if not self._tracks:
            return []
        boxes = z_to_boxes(np.stack([tr.mean[:4] for tr in self._tracks])).astype(np.float32)  # one batched call
        return [self._output(tr, t, box) for tr, box in zip(self._tracks, boxes)]

    @staticmethod
    def _without_duplicates(dets: Detections, idx: np.ndarray, max_iou: float) -> np.ndarray:
        """``idx`` less every detection overlapping a higher-scoring one of its class by more than ``max_iou``, in
        the given order (the first-update births: a detector's near-duplicate must not start a second identity)."""
        keep = nms(dets.boxes[idx], dets.scores[idx], max_iou, classes=dets.classes[idx])
        return np.sort(idx[keep])  # births keep the detections' order (and so their IDs)

    def _camera_warp(self, detections: Detections, frame, camera_motion, image_width, cfg: TrackerConfig, t: float,
                     dt: float) -> np.ndarray | None:
        """The warp this update applies (None: none): given, measured on ``frame``, or none at all (``auto``: none
        while the camera does not count as moving). Either way the image's speed is followed (``camera_speed``)."""
        if cfg.camera_motion == "none":
            self.motion_estimator.reset()  # a later switch to compensation must not compare with a stale frame
            if frame is not None:
                self.motion_monitor.observe(frame, detections.boxes, t)
            return None
        width = np.asarray(frame).shape[1] if frame is not None else image_width
        if camera_motion is not None:
            warp = check_warp(camera_motion)
            if width is None and cfg.camera_motion == "auto":
                raise ValueError("camera_motion: auto judges a given warp by the image's speed: pass the frame or "
                                 "image_width with it")
            if width is not None:
                self.motion_monitor.record(warp, dt, int(width), t)
        elif frame is None:
            return None
        else:
            warp = self.motion_estimator(frame, detections.boxes)
            if not self.motion_estimator.last_inliers:
                return None  # the first frame, or not measurable: nothing to apply
            self.motion_monitor.record(warp, dt, width, t)
        if cfg.camera_motion == "auto" and not self.motion_monitor.moving_within(t, cfg.camera_motion_hold_seconds):
            return None
        return warp

    @property
    def camera_speed(self) -> float | None:
        """How fast the image moves, as a fraction of its width per second (median of recent measurements; None
        before the first): ~0 for a fixed camera, >= ``camera_motion.MOVING_CAMERA_SPEED`` for a moving one."""
        return self.motion_monitor.speed

    def _enforce_cap(self, tracks: list[Track], max_tracks: int) -> list[Track]:
        """Keep at most ``max_tracks``: drop lost tracks unmatched the longest, then the oldest tentative ones."""
        excess = len(tracks) - max_tracks
        if excess <= 0:
            return tracks
        rank = {TrackState.LOST: 0, TrackState.TENTATIVE: 1, TrackState.CONFIRMED: 2}
        victims = sorted(tracks, key=lambda tr: (rank[tr.state], tr.last_update_time, tr.track_id))[:excess]
        log.warning("more than max_tracks=%d tracks: dropping %d (are the timestamps advancing?)",
                    max_tracks, excess)
        drop = {id(tr) for tr in victims}
        return [tr for tr in tracks if id(tr) not in drop]

    def _update_templates(self, matched: list[Track], dets: Detections, det_idx: np.ndarray,
                          cfg: TrackerConfig) -> None:
        """Batched EMA of the matched tracks' templates with confident detections' features."""
        if dets.features.shape[1] == 0:
            return
        ok = dets.scores[det_idx] >= cfg.template_update_min_score
        if not ok.any():
            return
        sel = [tr for tr, k in zip(matched, ok) if k]
        new = cfg.template_momentum * np.stack([tr.template for tr in sel]) + (1.0 - cfg.template_momentum) * dets.features[det_idx[ok]]
        norms = np.linalg.norm(new, axis=1, keepdims=True)
        new = (new / np.where(norms > 0, norms, 1.0)).astype(np.float32)
        for tr, row in zip(sel, new):
            tr.template = row

    # ------------------------------------------------------------------ association
    def _associate(self, dets: Detections, t: float, cfg: TrackerConfig) -> tuple[np.ndarray, np.ndarray]:
        """Three-stage matching; returns matches (K, 2) track/detection indices and their SOT responses (K,)."""
        tracks = self._tracks
        n, m = len(tracks), len(dets)
        if n == 0 or m == 0:
            return np.zeros((0, 2), np.int64), np.zeros(0, np.float32)
        mean = np.stack([tr.mean for tr in tracks])
        track_boxes = z_to_boxes(mean[:, :4])
        states = np.array([tr.state for tr in tracks])  # every stage reads the tracks' states from here
        lost = states == TrackState.LOST
        high = np.nonzero(dets.scores >= cfg.high_score_threshold)[0]
        out_matches: list[np.ndarray] = []
        out_resp: list[np.ndarray] = []
        free_tracks = np.ones(n, bool)
        free_dets = np.ones(m, bool)

        # Stage 1: high detections vs every track.
        if len(high):
            iou = iou_matrix(track_boxes, dets.boxes[high])
            use_sot = cfg.strategy.uses_sot and dets.features.shape[1] > 0
            resp = None
            if use_sot:
                templates = np.stack([tr.template for tr in tracks])
                resp = assoc.stage1_sot_responses(templates, dets.features[high], cfg.sot_lambda, cfg.sot_normalize)
                feasible = (resp >= cfg.min_sot_response) | (iou >= cfg.min_iou_stage1)
            else:
                feasible = iou >= cfg.min_iou_stage1
            if cfg.strategy.motion_gated:
                lost_for = np.where(lost, t - np.array([tr.last_update_time for tr in tracks]), 0.0)
                cov = np.stack([tr.cov for tr in tracks])
                gate = assoc.motion_gate(self.kf, mean, cov, dets.boxes[high], cfg.gate,
                                         widen=1.0 + cfg.gate_widen_per_second * lost_for,
                                         centre_distance=cfg.gate_centre_distance)
                feasible &= (gate | (iou >= cfg.min_iou_stage1)) if cfg.overlap_passes_gate else gate
            if not cfg.tentative_in_stage1:  # they wait for stage 3 (their templates still shape the joint solve)
                feasible &= (states != TrackState.TENTATIVE)[:, None]
            sim = assoc.fused_similarity(resp, iou, cfg.weight_sot, cfg.weight_iou)
            if use_sot:
                sim = assoc.lost_track_similarity(sim, resp, iou, lost, cfg.lost_similarity, cfg.min_iou_stage1,
                                                  cfg.min_similarity_stage1)
            cost = np.where(feasible, 1.0 - sim, assoc.INFEASIBLE)
            matches, _, _ = assoc.assign(cost, 1.0 - cfg.min_similarity_stage1)
            if len(matches):
                r = resp[matches[:, 0], matches[:, 1]] if resp is not None else np.full(len(matches), np.nan, np.float32)
                matches = np.stack([matches[:, 0], high[matches[:, 1]]], 1)
                out_matches.append(matches)
                out_resp.append(r.astype(np.float32))
                free_tracks[matches[:, 0]] = False
                free_dets[matches[:, 1]] = False

        high_mask = np.zeros(m, bool)
        high_mask[high] = True
        for state, det_filter, min_iou in ((TrackState.CONFIRMED, np.ones(m, bool), cfg.min_iou_stage2),
                                           (TrackState.TENTATIVE, high_mask, cfg.min_iou_tentative)):
            # Stage 2 (confirmed vs all remaining detections), then stage 3 (tentative vs remaining high).
            matches = self._iou_stage(track_boxes, dets.boxes, free_tracks & (states == state),
                                      free_dets & det_filter, min_iou)
            if len(matches):
                out_matches.append(matches)
                out_resp.append(np.full(len(matches), np.nan, np.float32))
                free_tracks[matches[:, 0]] = False
                free_dets[matches[:, 1]] = False
        if not out_matches:
            return np.zeros((0, 2), np.int64), np.zeros(0, np.float32)
        return np.concatenate(out_matches), np.concatenate(out_resp)

    @staticmethod
    def _iou_stage(track_boxes, det_boxes, track_mask, det_mask, min_iou) -> np.ndarray:
        """IoU-only matching of the masked tracks and detections -> (K, 2) global indices."""
        ti = np.nonzero(track_mask)[0]
        di = np.nonzero(det_mask)[0]
        if len(ti) == 0 or len(di) == 0:
            return np.zeros((0, 2), np.int64)
        iou = iou_matrix(track_boxes[ti], det_boxes[di])
        cost = np.where(iou >= min_iou, 1.0 - iou, assoc.INFEASIBLE)
        matches, _, _ = assoc.assign(cost, 1.0 - min_iou)
        return np.stack([ti[matches[:, 0]], di[matches[:, 1]]], 1) if len(matches) else np.zeros((0, 2), np.int64)

    @staticmethod
    def _output(tr: Track, t: float, box: np.ndarray) -> TrackOutput:
        return TrackOutput(
            track_id=tr.track_id,
            box=box,
            score=tr.score,
            class_id=tr.class_id,
            state=tr.state,
            hits=tr.hits,
            age=t - tr.birth_time,
            time_since_update=t - tr.last_update_time,
            velocity=tr.mean[4:6].astype(np.float32),
            sot_response=tr.sot_response,
            matched=tr.matched,
        )
