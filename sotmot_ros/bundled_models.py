"""The model files shipped inside the package (``sotmot_ros/weights``), by name, with the one-line summary
that every front-end shows (`sotmot track --checkpoint`, the node's `model_path`). Torch-free, so the CLI
and the ROS parameter table list them without loading torch; details live in the model card."""

from __future__ import annotations

from typing import NamedTuple


class BundledModel(NamedTuple):
    file: str  # file name in sotmot_ros/weights
    summary: str  # what it is and when to choose it, one phrase


BUNDLED = {
    "default": BundledModel("default.pt", "people v10, 640x480 input"),  # 0.5 x J + 0.5 x v9; J = v9 trained on whole
    "fast": BundledModel("people_v4_512.pt", "people v4, 512x384 input, ~1.5x faster on a CPU"),
    "robust": BundledModel("people_v8c_robust.pt",  # trained through camera faults
                           "people v8c, 640x480 input, for noisy, dark or heavily compressed camera images"),
}
BUNDLED_MODELS = {name: model.file for name, model in BUNDLED.items()}  # name -> file


def bundled_models_text() -> str:
    """``'default' (people v10, ...), 'fast' (...) or 'robust' (...)``: the list as the help texts show it."""
    items = [f"'{name}' ({model.summary})" for name, model in BUNDLED.items()]
    return ", ".join(items[:-1]) + " or " + items[-1]
