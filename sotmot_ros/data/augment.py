"""Pair augmentation: one affine warp per frame from the original image to the network input.

The letterbox (FairMOT's: uniform scale, centred, grey 127.5 border) and the random scale, translation
and horizontal flip are all axis-aligned affine maps, so they compose into a single 2x3 matrix and one
``cv2.warpAffine`` call; boxes go through the same matrix. Both frames of a pair get the same geometric
matrix (the SOT loss compares the two frames, and a shared warp keeps their relation realistic); colour
jitter is drawn per frame, so the SOT features must also tolerate illumination change.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ..preprocess import letterbox, letterbox_params

BORDER_VALUE = (127.5, 127.5, 127.5)  # FairMOT's letterbox grey


@dataclass
class AugmentConfig:
    """Ranges of the random augmentation; all zero/False gives the plain letterbox."""

    scale: float = 0.0  # zoom factor drawn in [1 - scale, 1 + scale]
    translate: float = 0.0  # shift drawn in [-translate, translate] x network input size
    flip: bool = False  # horizontal flip with probability 0.5
    hsv: float = 0.0  # saturation/value factors drawn in [1 - hsv, 1 + hsv]


def letterbox_matrix(img_w: int, img_h: int, net_w: int, net_h: int) -> np.ndarray:
    """The 2x3 letterbox map of ``sotmot_ros.preprocess`` (the inference pre-processing)."""
    lb = letterbox_params(img_w, img_h, net_w, net_h)[0]
    return np.array([[lb.scale, 0.0, lb.pad_x], [0.0, lb.scale, lb.pad_y]], dtype=np.float64)


def random_matrix(rng: np.random.Generator, cfg: AugmentConfig, net_w: int, net_h: int) -> np.ndarray:
    """A random scale/translation/flip about the centre of the network input (2x3)."""
    s = 1.0 + rng.uniform(-cfg.scale, cfg.scale) if cfg.scale > 0 else 1.0
    tx = rng.uniform(-cfg.translate, cfg.translate) * net_w if cfg.translate > 0 else 0.0
    ty = rng.uniform(-cfg.translate, cfg.translate) * net_h if cfg.translate > 0 else 0.0
    flip = bool(cfg.flip and rng.random() < 0.5)
    sx = -s if flip else s
    cx, cy = net_w / 2.0, net_h / 2.0
    return np.array([[sx, 0.0, cx - sx * cx + tx], [0.0, s, cy - s * cy + ty]], dtype=np.float64)


def compose(outer: np.ndarray, inner: np.ndarray) -> np.ndarray:
    """``outer ∘ inner`` for 2x3 affine matrices."""
    a = np.vstack([outer, [0, 0, 1]]) @ np.vstack([inner, [0, 0, 1]])
    return a[:2]


def transform_boxes(boxes: np.ndarray, m: np.ndarray) -> np.ndarray:
    """Apply an axis-aligned affine map to ltrb boxes (a flip swaps left and right)."""
    if len(boxes) == 0:
        return boxes.reshape(0, 4).astype(np.float32)
    x = boxes[:, [0, 2]] * m[0, 0] + m[0, 2]
    y = boxes[:, [1, 3]] * m[1, 1] + m[1, 2]
    return np.stack([x.min(1), y.min(1), x.max(1), y.max(1)], 1).astype(np.float32)


def hsv_jitter(img: np.ndarray, rng: np.random.Generator, amount: float) -> np.ndarray:
    """Scale saturation and value by random factors (lookup tables: cheap on uint8)."""
    if amount <= 0:
        return img
    hsv = cv2.cvtColor(img, cv2.COLOR_BGR2HSV)
    lut = np.arange(256, dtype=np.float32)
    for ch in (1, 2):
        f = 1.0 + rng.uniform(-amount, amount)
        hsv[..., ch] = cv2.LUT(hsv[..., ch], np.clip(lut * f, 0, 255).astype(np.uint8))
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)


def warp_image(img: np.ndarray, m: np.ndarray, net_w: int, net_h: int) -> np.ndarray:
    """Warp a BGR uint8 image to the network input size with the grey letterbox border.

    ``m`` maps continuous coordinates (pixel i spans [i, i+1), as boxes and cv2.resize use); OpenCV's
    warp puts pixel centres at integers, so the offsets are shifted by half a pixel to match.
    """
    m = np.asarray(m, np.float64).copy()
    m[:, 2] += 0.5 * np.array([m[0, 0], m[1, 1]]) - 0.5
    return cv2.warpAffine(img, m, (net_w, net_h), flags=cv2.INTER_LINEAR, borderValue=BORDER_VALUE)


def to_tensor_layout(img_bgr: np.ndarray) -> np.ndarray:
    """BGR uint8 (H, W, 3) -> RGB float32 (3, H, W) in [0, 1] (the network input convention)."""
    return np.ascontiguousarray(img_bgr[:, :, ::-1].transpose(2, 0, 1), dtype=np.float32) / 255.0


def augment_pair(images, boxes_list, rng: np.random.Generator, cfg: AugmentConfig, net_w: int, net_h: int):
    """Augment the frames of one pair with a shared geometric warp.

    Returns the warped BGR uint8 images and the boxes (network-input pixels) of each frame.
    """
    shared = random_matrix(rng, cfg, net_w, net_h)
    plain = np.allclose(shared, [[1, 0, 0], [0, 1, 0]])
    out_imgs, out_boxes = [], []
    for img, boxes in zip(images, boxes_list):
        h, w = img.shape[:2]
        m = compose(shared, letterbox_matrix(w, h, net_w, net_h))
        # Without geometric augmentation use the inference letterbox itself (INTER_AREA), so that
        # validation sees exactly the images the detector sees.
        warped = letterbox(img, net_w, net_h)[0] if plain else warp_image(img, m, net_w, net_h)
        warped = hsv_jitter(warped, rng, cfg.hsv)
        out_imgs.append(warped)
        out_boxes.append(transform_boxes(np.asarray(boxes, np.float32), m))
    return out_imgs, out_boxes
