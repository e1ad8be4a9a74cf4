"""Camera faults: what real cameras do to a frame that clean benchmark clips rarely show.

A robot's camera is noisy in the dark, smears people when it or they move, under-exposes indoors and
arrives JPEG-compressed over a weak link. The robustness checks of the bench scripts
(``evaluate_people --fault NAME:LEVEL``, ``cache_detections --fault``) degrade every frame with one of
these before the detector sees it, at the frame's own size so that its labels still hold. Levels 1-3 go
from a mild to a bad camera. Every fault is deterministic for a given frame (the noise is seeded by the
frame number), so a cached result is reproducible. Training draws the same faults at strengths between
levels 1 and 3 (``augment.AugmentConfig.faults``), so the network learns to see through them.
"""

from __future__ import annotations

import cv2
import numpy as np

from ..config_utils import parse_name_level

# per fault, its strength at levels 1, 2, 3
FAULT_LEVELS = {
    "noise": (8.0, 16.0, 28.0),  # sensor noise: standard deviation of Gaussian noise per pixel (0-255)
    "motion_blur": (0.01, 0.02, 0.035),  # horizontal smear, its length as a fraction of the frame's rows
    "dark": (0.45, 0.25, 0.12),  # under-exposure: the gain applied to the light (plus read noise of std 3)
    "jpeg": (40, 20, 10),  # JPEG quality of a compressed stream
}
FAULTS = tuple(FAULT_LEVELS)


def parse_fault(text: str) -> tuple[str, int]:
    """``"NAME:LEVEL"`` (or ``"NAME"``, level 2) -> (name, level); a clear ValueError otherwise."""
    return parse_name_level(text, FAULTS, "camera fault")


def fault_tag(name: str, level: int) -> str:
    """A file-name-safe label of a fault, for cache names."""
    return f"{name}{level}"


def apply_fault(image: np.ndarray, name: str, level: int, seed: int = 0) -> np.ndarray:
    """``image`` (H x W x 3 uint8) as a camera with that fault at ``level`` would deliver it; same size and
    dtype; the same for the same ``seed``."""
    return degrade(image, name, FAULT_LEVELS[name][level - 1], np.random.default_rng(seed))


def strength_between(name: str, t: float) -> float:
    """The strength of fault ``name`` a fraction ``t`` of the way from level 1 (t = 0) to level 3 (t = 1)."""
    mild, _, bad = FAULT_LEVELS[name]
    return float(mild + (bad - mild) * t)


def degrade(image: np.ndarray, name: str, strength: float, rng: np.random.Generator) -> np.ndarray:
    """``image`` with fault ``name`` at a raw ``strength`` (the units of ``FAULT_LEVELS``)."""
    if name == "noise":
        return _add_noise(image.astype(np.float32), strength, rng)
    if name == "motion_blur":
        length = max(3, int(round(strength * image.shape[0])) | 1)
        kernel = np.full((1, length), 1.0 / length, np.float32)
        return cv2.filter2D(image, -1, kernel, borderType=cv2.BORDER_REFLECT)
    if name == "dark":
        return _add_noise(image.astype(np.float32) * strength, 3.0, rng)
    if name == "jpeg":
        ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, int(round(strength))])
        if not ok:
            raise RuntimeError("OpenCV could not JPEG-encode the frame")
        return cv2.imdecode(buf, cv2.IMREAD_COLOR)
    raise ValueError(f"unknown camera fault {name!r}")


def _add_noise(img: np.ndarray, std: float, rng: np.random.Generator) -> np.ndarray:
    noisy = img + rng.normal(0.0, std, img.shape).astype(np.float32)
    return np.clip(np.rint(noisy), 0, 255).astype(np.uint8)
