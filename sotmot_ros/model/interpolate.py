"""Weight interpolation of two models of one lineage: ``(1 - w) * A + w * B``.

A model fine-tuned further (A) and its ancestor (B) lie in one basin, so the straight line between their
weights holds models that keep part of the ancestor's broader prior while fitting what A learned
(WiSE-FT, Wortsman et al., CVPR 2022). People v7 is 0.9 x v6 + 0.1 x v4, v9 0.5 x v8b + 0.5 x v7, v10 0.5 x J + 0.5 x v9 (model card). The result carries
A's configuration (its input size) and provenance, but not A's tuned detector and tracker settings: an
interpolated model is a new model and gets its own (``bench/tune_tracker.py --write``).
"""

from __future__ import annotations

import os

from .checkpoint import CheckpointError, file_digest, load_model
from .network import SOTMOTNet

# meta entries chosen for one model's weights (bench/tune_tracker.py --write): never inherited
TUNED_META_KEYS = ("tracker", "tracker_tuned_on", "detector")
_RUN_TIME_FIELDS = ("input_width", "input_height")


def interpolate_models(path_a: str | os.PathLike, path_b: str | os.PathLike, weight_b: float) -> tuple[SOTMOTNet, dict]:
    """The model ``(1 - weight_b) * A + weight_b * B`` with A's configuration, and its meta (A's provenance
    without its tuned settings, plus ``interpolated_from``). Integer buffers (batch-norm counters) are A's.
    Raises ValueError for a weight outside [0, 1], CheckpointError when the architectures differ."""
    weight_b = float(weight_b)
    if not 0.0 <= weight_b <= 1.0:
        raise ValueError(f"the weight of B must be in [0, 1], got {weight_b}")
    model_a, meta_a = load_model(path_a)
    model_b, _ = load_model(path_b)
    arch_a = {k: v for k, v in model_a.config.to_dict().items() if k not in _RUN_TIME_FIELDS}
    arch_b = {k: v for k, v in model_b.config.to_dict().items() if k not in _RUN_TIME_FIELDS}
    if arch_a != arch_b:
        diff = sorted(k for k in arch_a.keys() | arch_b.keys() if arch_a.get(k) != arch_b.get(k))
        raise CheckpointError(f"{path_a} and {path_b} are different architectures ({', '.join(diff)} differ)")
    state_a, state_b = model_a.state_dict(), model_b.state_dict()
    mixed = {}
    for key, a in state_a.items():
        b = state_b[key]
        mixed[key] = ((1.0 - weight_b) * a + weight_b * b).to(a.dtype) if a.is_floating_point() else a.clone()
    model_a.load_state_dict(mixed)
    meta = {k: v for k, v in meta_a.items() if k not in TUNED_META_KEYS}
    meta["interpolated_from"] = {"a": str(path_a), "a_sha256_16": file_digest(path_a), "weight_a": 1.0 - weight_b,
                                 "b": str(path_b), "b_sha256_16": file_digest(path_b), "weight_b": weight_b}
    return model_a, meta
