"""The per-target record kept by the tracker between frames."""

from __future__ import annotations

from collections import deque

import numpy as np

from ..boxes import cxcywh_to_ltrb
from ..types import TrackState


class Track:
    """One target: ID, Kalman state, SOT template, lifecycle counters and a bounded box history.

    The Kalman mean/covariance live here but are advanced in batches by the tracker (one numpy call
    for all tracks). Times are seconds from the caller's timestamps.
    """

    __slots__ = ("track_id", "mean", "cov", "template", "score", "class_id", "hits", "streak",
                 "birth_time", "last_update_time", "state", "history", "sot_response", "matched")

    def __init__(self, track_id: int, mean: np.ndarray, cov: np.ndarray, feature: np.ndarray, score: float,
                 class_id: int, timestamp: float, history_length: int):
        self.track_id = int(track_id)
        self.mean = mean
        self.cov = cov
        self.template = self._normalised(np.asarray(feature, dtype=np.float32).copy())
        self.score = float(score)
        self.class_id = int(class_id)
        self.hits = 1  # matched updates in total (the birth detection counts)
        self.streak = 1  # consecutive matched updates, for confirmation
        self.birth_time = float(timestamp)
        self.last_update_time = float(timestamp)
        self.state = TrackState.TENTATIVE
        self.history: deque = deque(maxlen=history_length)  # (timestamp, box) pairs, bounded
        self.history.append((float(timestamp), self.box))
        self.sot_response = float("nan")
        self.matched = True

    @staticmethod
    def _normalised(v: np.ndarray) -> np.ndarray:
        n = float(np.linalg.norm(v))
        return v / n if n > 0 else v

    @property
    def box(self) -> np.ndarray:
        return cxcywh_to_ltrb(self.mean[None, :4])[0].astype(np.float32)

    def mark_matched(self, score: float, class_id: int, timestamp: float, sot_response: float) -> None:
        """Bookkeeping of a successful match (Kalman correction is done by the caller in batch)."""
        self.score = float(score)
        self.class_id = int(class_id)
        self.hits += 1
        self.streak += 1
        self.last_update_time = float(timestamp)
        self.sot_response = float(sot_response)
        self.matched = True
        self.history.append((float(timestamp), self.box))

    def mark_missed(self) -> None:
        self.streak = 0
        self.matched = False
        self.sot_response = float("nan")

    def __repr__(self) -> str:
        return f"Track(id={self.track_id}, state={self.state}, hits={self.hits}, box={self.box.round(1).tolist()})"
