"""`TrackerConfig`: every tracker knob in one validated place.

Times are seconds (never frame counts) so the tracker behaves the same at any frame rate and when
frames are dropped. The defaults of sot_lambda (2.0) and of the detection thresholds (high 0.2, new track
0.3) were chosen with ``bench/tune_tracker.py`` on the PETS09-S2L1 validation frames 318-397 with the
bundled model (see ``sotmot_ros/weights/MODEL_CARD.md``); re-tune them for another detector.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

from typing import NamedTuple


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


@dataclass
class TrackerConfig:
    """Configuration of :class:`sotmot_ros.tracking.Tracker` (validated on construction).

    Association:
        association: 'sot' (SOT response fused with IoU, motion-gated), 'iou' (IoU only, no gate) or
            'motion+iou' (IoU, motion-gated).
        sot_lambda: ridge lambda of the per-track SOT models (> 0).
        sot_normalize: divide each track's responses by its response to its own template. A ridge model
            answers 1 / (1 + lambda) to its own (orthogonal) template, so raw responses shrink as lambda
            grows and the thresholds/fusion weights below mean different things at each lambda;
            normalised, a detection that looks exactly like the track scores 1.
        weight_sot, weight_iou: fusion weights of stage 1, similarity = (ws*resp + wi*iou) / (ws + wi).
        min_sot_response: a stage-1 pair needs a response >= this or an IoU >= ``min_iou_stage1``.
        min_iou_stage1: see above; also the only test in the IoU modes.
        min_similarity_stage1: fused similarity a stage-1 match needs.
        min_iou_stage2: IoU a confirmed track needs with a leftover/low-score detection (stage 2).
        min_iou_tentative: IoU a tentative track needs with a leftover high-score detection (stage 3).
        gate: 'mahalanobis' (chi-square 95 % on the KF innovation of cx, cy, w, h), 'centre' (centre
            distance / box height <= ``gate_centre_distance``) or 'none'.
        gate_centre_distance: threshold of the 'centre' gate, in box heights.
        gate_widen_per_second: lost tracks' gate threshold is multiplied by (1 + this * seconds lost).
    Detections:
        high_score_threshold: detections >= this take part in stage 1 and can start tracks.
        low_score_threshold: detections below this are discarded; those in [low, high) only in stage 2.
        new_track_score_threshold: an unmatched high detection needs this score to start a track.
    Lifecycle:
        min_hits: consecutive matched updates that confirm a tentative track (1 = immediately).
        confirm_on_first_update: tracks born at the first update after a (re)start are confirmed at once.
        tentative_timeout_seconds: an unmatched tentative track is removed once it has gone this long
            without a match (0 = at its first miss).
        max_lost_seconds: a lost track is kept this long for re-identification, then removed.
        template_momentum: fraction of the old SOT template kept at each update (EMA; 0 = replace).
        template_update_min_score: only detections with at least this score update the template.
        history_length: per-track box history cap (memory bound).
        max_tracks: hard cap on live tracks (memory bound that holds even when stamps stop advancing);
            beyond it the lost tracks unmatched the longest go first, then the oldest tentative ones.
    Time:
        max_time_jump_seconds: a forward jump larger than this resets the tracker (backward always does).
    Motion model (Kalman filter, box heights as the unit so noise scales with target size):
        kf_std_measurement: measurement noise std, in box heights.
        kf_position_noise: position random-walk density, heights^2 per second.
        kf_velocity_noise: velocity random-walk density, heights^2 per second^3.
        kf_init_velocity_std: initial velocity std, heights per second.
    """

    association: str = "sot"
    sot_lambda: float = 2.0
    sot_normalize: bool = False
    weight_sot: float = 0.7
    weight_iou: float = 0.3
    min_sot_response: float = 0.2
    min_iou_stage1: float = 0.2
    min_similarity_stage1: float = 0.2
    min_iou_stage2: float = 0.5
    min_iou_tentative: float = 0.3
    gate: str = "mahalanobis"
    gate_centre_distance: float = 1.0
    gate_widen_per_second: float = 0.5
    high_score_threshold: float = 0.2
    low_score_threshold: float = 0.1
    new_track_score_threshold: float = 0.3
    min_hits: int = 2
    confirm_on_first_update: bool = True
    tentative_timeout_seconds: float = 0.0
    max_lost_seconds: float = 1.5
    template_momentum: float = 0.9
    template_update_min_score: float = 0.5
    history_length: int = 30
    max_tracks: int = 1000
    max_time_jump_seconds: float = 5.0
    kf_std_measurement: float = 0.05
    kf_position_noise: float = 0.075
    kf_velocity_noise: float = 1.0
    kf_init_velocity_std: float = 0.5

    def __post_init__(self):
        errors = []
        if self.association not in ASSOCIATION_MODES:
            errors.append(f"association must be one of {ASSOCIATION_MODES}, got {self.association!r}")
        if self.gate not in GATE_KINDS:
            errors.append(f"gate must be one of {GATE_KINDS}, got {self.gate!r}")
        for f in fields(self):
            v = getattr(self, f.name)
            if f.type in ("float", "int") and (isinstance(v, bool) or not isinstance(v, (int, float))):
                errors.append(f"{f.name} must be a number, got {v!r}")
            elif f.type == "float" and v != v:
                errors.append(f"{f.name} must not be NaN")
            elif f.type == "bool" and not isinstance(v, bool):
                errors.append(f"{f.name} must be a bool, got {v!r}")
        if errors:
            raise ValueError("invalid TrackerConfig: " + "; ".join(errors))

        def check(cond, msg):
            if not cond:
                errors.append(msg)

        check(self.sot_lambda > 0, f"sot_lambda must be > 0, got {self.sot_lambda}")
        check(self.weight_sot >= 0 and self.weight_iou >= 0, "fusion weights must be >= 0")
        check(self.weight_sot + self.weight_iou > 0, "weight_sot + weight_iou must be > 0")
        for name in ("min_iou_stage1", "min_iou_stage2", "min_iou_tentative", "min_similarity_stage1",
                     "high_score_threshold", "low_score_threshold", "new_track_score_threshold",
                     "template_update_min_score"):
            v = getattr(self, name)
            check(0.0 <= v <= 1.0, f"{name} must be in [0, 1], got {v}")
        check(self.low_score_threshold <= self.high_score_threshold,
              f"low_score_threshold ({self.low_score_threshold}) must be <= high_score_threshold "
              f"({self.high_score_threshold})")
        check(self.new_track_score_threshold >= self.high_score_threshold,
              f"new_track_score_threshold ({self.new_track_score_threshold}) must be >= "
              f"high_score_threshold ({self.high_score_threshold}): only high detections start tracks")
        check(0.0 <= self.template_momentum < 1.0, f"template_momentum must be in [0, 1), got {self.template_momentum}")
        check(isinstance(self.min_hits, int) and self.min_hits >= 1, f"min_hits must be an int >= 1, got {self.min_hits}")
        check(isinstance(self.history_length, int) and self.history_length >= 1,
              f"history_length must be an int >= 1, got {self.history_length}")
        check(isinstance(self.max_tracks, int) and self.max_tracks >= 1,
              f"max_tracks must be an int >= 1, got {self.max_tracks}")
        for name in ("tentative_timeout_seconds", "max_lost_seconds", "gate_widen_per_second",
                     "kf_position_noise", "kf_velocity_noise"):
            check(getattr(self, name) >= 0, f"{name} must be >= 0, got {getattr(self, name)}")
        for name in ("max_time_jump_seconds", "gate_centre_distance", "kf_std_measurement", "kf_init_velocity_std"):
            check(getattr(self, name) > 0, f"{name} must be > 0, got {getattr(self, name)}")
        if errors:
            raise ValueError("invalid TrackerConfig: " + "; ".join(errors))

    def to_dict(self) -> dict:
        return asdict(self)

    @property
    def strategy(self) -> AssociationStrategy:
        return ASSOCIATION_STRATEGIES[self.association]


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
