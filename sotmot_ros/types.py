"""Plain data records shared by the detector, the tracker and the adapters.

One place defines the conventions: boxes are ``[x1, y1, x2, y2]`` (left, top, right, bottom) in
pixels of the original image, float32; times are seconds (float); track IDs are Python ints.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

# Engines that can run the network (``Detector(backend=...)``; ``detector.resolve_backend`` decides 'auto').
# Here, not in detector.py, so front-ends (ROS parameters, CLI flags) list them without importing torch.
BACKENDS = ("auto", "torch", "onnxruntime")


def backend_name(value: str | None) -> str:
    """A backend as given (any case, spaces, None/'' = 'auto') -> its name in ``BACKENDS``; ValueError otherwise."""
    name = (value or "auto").strip().lower()
    if name not in BACKENDS:
        raise ValueError(f"backend must be one of {list(BACKENDS)}, got {value!r}")
    return name


def _as2d(a, cols: int, dtype) -> np.ndarray:
    arr = np.asarray(a, dtype=dtype)
    if arr.size == 0:
        return np.zeros((0, cols), dtype=dtype)
    return arr.reshape(-1, cols)


@dataclass
class Detections:
    """Detections of one image: N boxes with scores, class ids and SOT features.

    ``features`` are the SOT-head vectors at the detected centres, L2-normalised (N x D);
    D may be 0 when the detector has no SOT head (IoU-only tracking). ``score_floor`` is the score
    threshold they were decoded with (None = unknown): the tracker warns when it is above its own low
    threshold, since its second stage would then silently see nothing.
    """

    boxes: np.ndarray
    scores: np.ndarray
    classes: np.ndarray = None
    features: np.ndarray = None
    score_floor: float | None = None

    def __post_init__(self):
        self.boxes = _as2d(self.boxes, 4, np.float32)
        n = len(self.boxes)
        self.scores = np.asarray(self.scores, dtype=np.float32).reshape(n)
        if self.classes is None:
            self.classes = np.zeros(n, dtype=np.int64)
        self.classes = np.asarray(self.classes, dtype=np.int64).reshape(n)
        if self.features is None:
            self.features = np.zeros((n, 0), dtype=np.float32)
        self.features = np.asarray(self.features, dtype=np.float32)
        if self.features.ndim != 2 or self.features.shape[0] != n:
            raise ValueError(f"features must be (N, D) with N={n}, got {self.features.shape}")

    def __len__(self) -> int:
        return len(self.boxes)

    def select(self, idx) -> "Detections":
        """A subset by boolean mask or integer indices."""
        return Detections(self.boxes[idx], self.scores[idx], self.classes[idx], self.features[idx], self.score_floor)

    @staticmethod
    def empty(feature_dim: int = 0) -> "Detections":
        return Detections(np.zeros((0, 4)), np.zeros(0), np.zeros(0), np.zeros((0, feature_dim)))


class TrackState:
    """Lifecycle states of a track (strings so they print and serialise plainly)."""

    TENTATIVE = "tentative"
    CONFIRMED = "confirmed"
    LOST = "lost"
    ALL = (TENTATIVE, CONFIRMED, LOST)


@dataclass
class TrackOutput:
    """What the tracker reports for one track after an update (a snapshot, safe to keep)."""

    track_id: int
    box: np.ndarray  # [x1, y1, x2, y2] pixels
    score: float  # detection score of the last matched detection
    class_id: int
    state: str  # one of TrackState.ALL
    hits: int  # number of matched frames
    age: float  # seconds since the track was born
    time_since_update: float  # seconds since the last matched detection
    velocity: np.ndarray = field(default_factory=lambda: np.zeros(2, np.float32))  # box-centre px/s (vx, vy)
    sot_response: float = float("nan")  # SOT response of the match this frame (nan when not SOT-matched)
    matched: bool = False  # whether a detection was matched in this update
