"""`TrackerConfig`: every tracker knob in one validated place.

Times are seconds (never frame counts) so the tracker behaves the same at any frame rate and when
frames are dropped. These are the library defaults; a model file carries the settings tuned for it
(``config_for_model``; ``bench/tune_tracker.py --write`` chooses them on validation scenes).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import NamedTuple

from .camera_motion import MOVING_CAMERA_SPEED


class AssociationStrategy(NamedTuple):
    """What a stage-1 association mode uses: SOT responses (fused with IoU) and/or the motion gate."""

    uses_sot: bool
    motion_gated: bool


# The association modes, one row each: a new mode is a new row here, never a string test elsewhere.
ASSOCIATION_STRATEGIES = {
    "sot": AssociationStrategy(uses_sot=True, motion_gated=True),
    "iou": AssociationStrategy(uses_sot=False, motion_gated=False),
    "motion+iou": AssociationStrategy(uses_sot=False, motion_gated=True),
}
ASSOCIATION_MODES = tuple(ASSOCIATION_STRATEGIES)
GATE_KINDS = ("mahalanobis", "centre", "none")
CAMERA_MOTION_MODES = ("none", "affine", "auto")  # camera_motion.py: the estimator and the monitor
LOST_SIMILARITY_MODES = ("fused", "sot", "sot_or_overlap")


@dataclass(frozen=True)
class Setting:
    """What one tracker setting means and which values it takes: the one definition from which the
    validation below, the ROS parameter descriptors and the ``sotmot track`` flags are all derived.

    Bounds are inclusive unless ``low_open`` / ``high_open``; None = unbounded. ``rule`` describes a
    cross-setting constraint (checked in :meth:`TrackerConfig.__post_init__`) for descriptors and help.
    """

    help: str
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    choices: tuple = ()
    rule: str = ""

    def bounds_text(self) -> str:
        """``'in [0, 1]'``, ``'> 0'``, ``'>= 1'``... ('' when unbounded)."""
        lo = None if self.low is None else ("> " if self.low_open else ">= ") + f"{self.low:g}"
        hi = None if self.high is None else ("< " if self.high_open else "<= ") + f"{self.high:g}"
        if lo and hi:
            return f"in {'(' if self.low_open else '['}{self.low:g}, {self.high:g}{')' if self.high_open else ']'}"
        return lo or hi or ""

    def violation(self, name: str, value) -> str | None:
        """None when ``value`` is within the choices and bounds, else the reason."""
        if self.choices and value not in self.choices:
            return f"{name} must be one of {self.choices}, got {value!r}"
        too_low = self.low is not None and (value <= self.low if self.low_open else value < self.low)
        too_high = self.high is not None and (value >= self.high if self.high_open else value > self.high)
        if too_low or too_high:
            return f"{name} must be {self.bounds_text()}, got {value}"
        return None


def _setting(default, help: str, **bounds):
    return field(default=default, metadata={"setting": Setting(help, **bounds)})


_PROBABILITY = dict(low=0.0, high=1.0)


@dataclass(frozen=True)
class TrackerConfig:
    """Configuration of :class:`sotmot_ros.tracking.Tracker`: immutable, validated on construction.

    Each field's meaning and valid values are its :class:`Setting` (``TrackerConfig.settings()``); the
    ROS node's tracker parameters and the ``sotmot track`` flags are generated from them, so a new knob
    is added here only. Change settings by building a new object (``dataclasses.replace``) and handing
    it to ``Tracker.config``: the tracker swaps it in whole between two updates.
    """

    # --- association
    association: str = _setting(
        "sot", "Association mode: sot (SOT response fused with IoU, motion-gated), iou (IoU only, no gate) "
        "or motion+iou (IoU, motion-gated).", choices=ASSOCIATION_MODES)
    sot_lambda: float = _setting(2.0, "Ridge lambda of the per-track SOT models.", low=0.0, low_open=True)
    sot_normalize: bool = _setting(
        False, "Divide each track's SOT responses by its response to its own template (a ridge model answers "
        "1 / (1 + lambda) to its own template, so raw responses shrink as lambda grows).")
    weight_sot: float = _setting(0.7, "Fusion weight of the SOT response in stage 1: similarity = (ws * "
                                 "response + wi * IoU) / (ws + wi).", low=0.0, rule="weight_sot + weight_iou > 0")
    weight_iou: float = _setting(0.3, "Fusion weight of the IoU in stage 1.", low=0.0, rule="weight_sot + weight_iou > 0")
    min_sot_response: float = _setting(
        0.2, "A stage-1 pair needs an SOT response >= this or an IoU >= min_iou_stage1.")
    min_iou_stage1: float = _setting(0.2, "See min_sot_response; the only test of stage 1 in the IoU modes.",
                                     **_PROBABILITY)
    min_similarity_stage1: float = _setting(0.2, "Fused similarity a stage-1 match needs.", **_PROBABILITY)
    min_iou_stage2: float = _setting(0.5, "IoU a confirmed track needs with a left-over or low-score detection "
                                     "(stage 2).", **_PROBABILITY)
    min_iou_tentative: float = _setting(0.3, "IoU a tentative track needs with a left-over high-score detection "
                                        "(stage 3).", **_PROBABILITY)
    gate: str = _setting("mahalanobis", "Motion gate: mahalanobis (chi-square 95 % on the Kalman innovation of "
                         "cx, cy, w, h), centre (centre distance / box height <= gate_centre_distance) or none.",
                         choices=GATE_KINDS)
    gate_centre_distance: float = _setting(1.0, "Threshold of the centre gate, in box heights.", low=0.0,
                                           low_open=True)
    gate_widen_per_second: float = _setting(0.5, "A lost track's gate threshold is multiplied by (1 + this x "
                                            "seconds lost).", low=0.0)
    overlap_passes_gate: bool = _setting(
        False, "A detection whose IoU with a track's predicted box reaches min_iou_stage1 passes the motion gate "
        "(true): the gate then only vetoes far, appearance-only matches. The Mahalanobis gate also weighs the box's "
        "width and height, which change when a hidden person reappears half covered, so it can refuse a lost track "
        "the very box the IoU modes give it (false: every stage-1 pair must pass the gate).")
    lost_similarity: str = _setting(
        "fused", "Stage-1 similarity of a lost track (sot association): fused (its SOT response fused with the IoU of "
        "its predicted box, as for every track) or sot (the larger of that and its SOT response alone: after a while "
        "hidden, a lost track's predicted box rarely overlaps the person who comes back, so its appearance model "
        "decides, within the motion gate) or sot_or_overlap (as sot, and a pair whose IoU reaches min_iou_stage1 "
        "scores at least min_similarity_stage1: a person who comes back looking different, turned or half hidden, "
        "can still be taken back by the overlap, as IoU association would, but only where no better-scoring track "
        "wants the box).", choices=LOST_SIMILARITY_MODES)
    tentative_in_stage1: bool = _setting(
        True, "Tentative tracks compete in stage 1 with the confirmed and lost ones (true), or are matched only in "
        "stage 3, to the high-score detections the others left (false, as in ByteTrack: a near-duplicate box that "
        "started a track cannot then take the person from the track that is re-identifying them).")
    camera_motion: str = _setting(
        "auto", "Camera motion compensation: affine (the image's own motion between processed frames, measured on "
        "the background, moves every track's prediction before association: for a camera that pans, vibrates or "
        f"drives), auto (measured at every frame, applied only while the image moves >= {100 * MOVING_CAMERA_SPEED:g} % "
        "of its width per second: a camera that sometimes stands still, or one you are unsure about) or none (a "
        "fixed camera).",
        choices=CAMERA_MOTION_MODES)
    camera_motion_hold_seconds: float = _setting(
        2.0, "With camera_motion auto: compensation stays on this long (s) after the camera last counted as moving, "
        "so a pan that slows where it turns is followed through (0 = only while it counts as moving).", low=0.0)
    # --- detections
    high_score_threshold: float = _setting(0.2, "Detections with at least this score take part in stage 1 and "
                                           "can start tracks.", **_PROBABILITY)
    low_score_threshold: float = _setting(
        0.1, "Detections below this score are discarded; those in [low, high) only take part in stage 2. "
        "Also the detector's decode threshold.", **_PROBABILITY, rule="<= high_score_threshold")
    new_track_score_threshold: float = _setting(0.3, "Score an unmatched detection needs to start a track.",
                                                **_PROBABILITY, rule=">= high_score_threshold")
    # --- lifecycle
    min_hits: int = _setting(2, "Consecutive matched updates that confirm a tentative track (1 = at once).", low=1)
    confirm_on_first_update: bool = _setting(True, "Tracks born at the first update after a (re)start are "
                                             "confirmed at once.")
    first_update_duplicate_iou: float = _setting(
        0.7, "At the first update after a (re)start, where every detection starts a track, a detection overlapping a "
        "higher-scoring one of its class by more than this IoU starts none: a detector's near-duplicate box would "
        "otherwise give one person two identities from the first frame (1 = every box starts a track).",
        low=0.0, low_open=True, high=1.0)
    tentative_timeout_seconds: float = _setting(0.0, "An unmatched tentative track is removed once it has gone "
                                                "this long (s) without a match (0 = at its first miss).", low=0.0)
    max_lost_seconds: float = _setting(1.5, "A lost track is kept this long (s) for re-identification, then "
                                       "removed.", low=0.0)
    template_momentum: float = _setting(0.9, "Fraction of the old SOT template kept at each update (EMA; "
                                        "0 = replace).", low=0.0, high=1.0, high_open=True)
    template_update_min_score: float = _setting(0.5, "Only detections with at least this score update a "
                                                "track's template.", **_PROBABILITY)
    history_length: int = _setting(30, "Per-track box history cap (memory bound).", low=1)
    max_tracks: int = _setting(1000, "Hard cap on live tracks (a memory bound that holds even when stamps stop "
                               "advancing); beyond it the lost tracks unmatched the longest go first, then the "
                               "oldest tentative ones.", low=1)
    # --- time
    max_time_jump_seconds: float = _setting(5.0, "A forward stamp jump larger than this (s) resets the tracker; "
                                            "a backward jump always does.", low=0.0, low_open=True)
    # --- motion model (Kalman filter; box heights are the unit, so noise scales with target size)
    kf_std_measurement: float = _setting(0.05, "Kalman measurement noise std, in box heights.", low=0.0,
                                         low_open=True)
    kf_position_noise: float = _setting(0.075, "Kalman position random-walk density, heights^2 per second.",
                                        low=0.0)
    kf_velocity_noise: float = _setting(1.0, "Kalman velocity random-walk density, heights^2 per second^3.",
                                        low=0.0)
    kf_init_velocity_std: float = _setting(0.5, "Kalman initial velocity std, heights per second.", low=0.0,
                                           low_open=True)

    def __post_init__(self):
        errors = []
        for f in fields(self):
            v = getattr(self, f.name)
            if f.type in ("float", "int") and (isinstance(v, bool) or not isinstance(v, (int, float))):
                errors.append(f"{f.name} must be a number, got {v!r}")
            elif f.type == "int" and not isinstance(v, int):
                errors.append(f"{f.name} must be an integer, got {v!r}")
            elif f.type == "float" and v != v:
                errors.append(f"{f.name} must not be NaN")
            elif f.type == "bool" and not isinstance(v, bool):
                errors.append(f"{f.name} must be a bool, got {v!r}")
            elif f.type == "str" and not isinstance(v, str):
                errors.append(f"{f.name} must be a string, got {v!r}")
            else:
                reason = f.metadata["setting"].violation(f.name, v)
                if reason:
                    errors.append(reason)
        if not errors:  # cross-setting rules (each also named in its Setting.rule)
            if self.weight_sot + self.weight_iou <= 0:
                errors.append("weight_sot + weight_iou must be > 0")
            if self.low_score_threshold > self.high_score_threshold:
                errors.append(f"low_score_threshold ({self.low_score_threshold}) must be <= high_score_threshold "
                              f"({self.high_score_threshold})")
            if self.new_track_score_threshold < self.high_score_threshold:
                errors.append(f"new_track_score_threshold ({self.new_track_score_threshold}) must be >= "
                              f"high_score_threshold ({self.high_score_threshold}): only high detections start tracks")
        if errors:
            raise ValueError("invalid TrackerConfig: " + "; ".join(errors))

    def to_dict(self) -> dict:
        return asdict(self)

    @property
    def strategy(self) -> AssociationStrategy:
        return ASSOCIATION_STRATEGIES[self.association]

    @classmethod
    def settings(cls) -> tuple[tuple[str, type, object, Setting], ...]:
        """(name, type, default, Setting) of every field, in declaration order: what front-ends generate from."""
        types = {"float": float, "int": int, "bool": bool, "str": str}
        return tuple((f.name, types[f.type], f.default, f.metadata["setting"]) for f in fields(cls))

    def kalman_settings(self) -> tuple[float, float, float, float]:
        """The motion model's settings (a change of any of them means a new Kalman filter)."""
        return (self.kf_std_measurement, self.kf_position_noise, self.kf_velocity_noise, self.kf_init_velocity_std)


# The key of a model file's ``meta`` that holds the tracker settings tuned for that model.
MODEL_META_KEY = "tracker"


def config_for_model(meta: dict | None, overrides: dict | None = None) -> tuple[TrackerConfig, str]:
    """The tracker settings to use with a model: library defaults <- the model's tuned settings <- ``overrides``.

    A model file carries the settings chosen for it on validation scenes under ``meta["tracker"]``
    (written by ``bench/tune_tracker.py --write``); a file without them (another training run, a FairMOT
    file) gets the library defaults, never some other model's tuning. ``overrides`` are the values the
    user set explicitly (CLI flags, ROS parameters, keyword arguments) and always win. Returns the config
    and a short description of where its settings came from (for logs). Unknown keys are errors.
    """
    tuned = dict((meta or {}).get(MODEL_META_KEY) or {})
    overrides = {k: v for k, v in (overrides or {}).items() if v is not None}
    known = {f.name for f in fields(TrackerConfig)}
    for what, values in (("the model's tracker settings", tuned), ("tracker overrides", overrides)):
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown keys in {what}: {unknown}")
    config = TrackerConfig(**{**TrackerConfig().to_dict(), **tuned, **overrides})
    origin = "settings tuned for this model" if tuned else "library defaults (the model file carries no tuned settings)"
    if overrides:
        origin += f", overridden: {sorted(overrides)}"
    return config, origin
