"""Pair augmentation: one affine warp per frame from the original image to the network input.

The letterbox (FairMOT's: uniform scale, centred, grey 127.5 border) and the random scale, translation
and horizontal flip are all axis-aligned affine maps, so they compose into a single 2x3 matrix and one
``cv2.warpAffine`` call; boxes go through the same matrix. Both frames of a pair get the same geometric
matrix (the SOT loss compares the two frames, and a shared warp keeps their relation realistic); colour
jitter and blur are drawn per frame, so the SOT features must also tolerate illumination change.

Two ways of choosing the zoom (``AugmentConfig.scale_mode``), both uniform (aspect-preserving):

- ``"range"``: a zoom in ``[1 - scale, 1 + scale]`` about the input centre plus a random shift of up to
  ``translate`` x the input size (the original behaviour).
- ``"person"``: a target height is drawn log-uniformly in ``[person_height_min, person_height_max]``
  (network-input pixels) and one counted person of frame A is picked at random; the zoom (relative to the
  letterbox) gives that person the target height, clamped to ``[zoom_min, zoom_max]``. Along an axis where
  the zoomed image is larger than the input, the crop is placed at random among the positions that keep
  the chosen person fully visible (a random window inside the person when even the person does not fit)
  and the image covering the input; along an axis where it is smaller (zoomed out), the whole image is put
  at a random position inside the input with the grey border elsewhere. ``translate`` is not used. A
  frame A without a counted box falls back to ``"range"``. This makes the network see people at every
  size between the two heights whatever the camera's resolution and distance to the people.

``lowres`` shows a pair as a low-resolution camera would (frames shrunk, then enlarged by the warp):
zooming a sharp high-resolution frame never teaches what an enlarged 240-row stream looks like.

``faults`` shows a pair as a faulty camera delivers it (``camera_faults``: sensor noise, motion blur,
under-exposure, JPEG): one fault and strength per pair (one camera), the noise drawn anew per frame, applied
to the camera's frame before the warp (a low-resolution pair's small frame, since that is the camera's).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ..preprocess import letterbox, letterbox_params
from .camera_faults import FAULTS, degrade, strength_between

BORDER_VALUE = (127.5, 127.5, 127.5)  # FairMOT's letterbox grey
SCALE_MODES = ("range", "person")


@dataclass
class AugmentConfig:
    """Ranges of the random augmentation; all zero/False gives the plain letterbox."""

    scale: float = 0.0  # "range" mode: zoom factor drawn in [1 - scale, 1 + scale]
    translate: float = 0.0  # "range" mode: shift drawn in [-translate, translate] x network input size
    flip: bool = False  # horizontal flip with probability 0.5
    hsv: float = 0.0  # saturation/value factors drawn in [1 - hsv, 1 + hsv]
    scale_mode: str = "range"  # "range" | "person" (zoom chosen from a person's box, see the module doc)
    person_height_min: float = 20.0  # "person" mode: target person heights (network-input pixels),
    person_height_max: float = 320.0  # drawn log-uniformly in [min, max]
    zoom_min: float = 0.25  # "person" mode: zoom relative to the letterbox clamped to [zoom_min, zoom_max]
    zoom_max: float = 6.0
    blur: float = 0.0  # probability of a Gaussian blur (sigma drawn in [0.5, 2.0]) per frame
    gray: float = 0.0  # probability of turning both frames of a pair grey (3 equal channels)
    # probability of showing both frames of a pair as a low-resolution camera would: the source frames are
    # shrunk to a height drawn log-uniformly in [lowres_rows_min, lowres_rows_max] rows and the warp enlarges
    # them (bilinear), never by more than lowres_max_upscale from the shrunk frame to the network input
    lowres: float = 0.0
    lowres_rows_min: float = 120.0
    lowres_rows_max: float = 360.0
    lowres_max_upscale: float = 3.0
    # probability of showing both frames of a pair as a faulty camera delivers them: a fault of
    # camera_faults.FAULTS drawn uniformly, its strength uniformly between that fault's levels 1 and 3
    faults: float = 0.0

    def __post_init__(self):
        if self.scale_mode not in SCALE_MODES:
            raise ValueError(f"scale_mode must be one of {SCALE_MODES}, got {self.scale_mode!r}")
        if not 0 < self.person_height_min <= self.person_height_max:
            raise ValueError("need 0 < person_height_min <= person_height_max")
        if not 0 < self.zoom_min <= self.zoom_max:
            raise ValueError("need 0 < zoom_min <= zoom_max")
        if not 1 <= self.lowres_rows_min <= self.lowres_rows_max:
            raise ValueError("need 1 <= lowres_rows_min <= lowres_rows_max")
        if self.lowres_max_upscale < 1:
            raise ValueError("lowres_max_upscale must be >= 1")
        for name in ("blur", "gray", "lowres", "faults"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} is a probability in [0, 1]")


def letterbox_matrix(img_w: int, img_h: int, net_w: int, net_h: int) -> np.ndarray:
    """The 2x3 letterbox map of ``sotmot_ros.preprocess`` (the inference pre-processing)."""
    lb = letterbox_params(img_w, img_h, net_w, net_h)[0]
    return np.array([[lb.scale, 0.0, lb.pad_x], [0.0, lb.scale, lb.pad_y]], dtype=np.float64)


def _range_matrix(rng: np.random.Generator, cfg: AugmentConfig, net_w: int, net_h: int) -> np.ndarray:
    """The "range"-mode matrix: zoom/shift/flip about the input centre (the original draw order)."""
    s = 1.0 + rng.uniform(-cfg.scale, cfg.scale) if cfg.scale > 0 else 1.0
    tx = rng.uniform(-cfg.translate, cfg.translate) * net_w if cfg.translate > 0 else 0.0
    ty = rng.uniform(-cfg.translate, cfg.translate) * net_h if cfg.translate > 0 else 0.0
    flip = bool(cfg.flip and rng.random() < 0.5)
    sx = -s if flip else s
    cx, cy = net_w / 2.0, net_h / 2.0
    return np.array([[sx, 0.0, cx - sx * cx + tx], [0.0, s, cy - s * cy + ty]], dtype=np.float64)


def _place(rng: np.random.Generator, z: float, img: tuple[float, float], obj: tuple[float, float], size: int) -> float:
    """Offset ``t`` (``x_out = z x + t``) along one axis for image extent ``img`` and person extent ``obj``."""
    (a0, a1), (p0, p1) = img, obj
    if z * (a1 - a0) <= size:  # the zoomed image fits: put all of it somewhere inside the input
        lo, hi = -z * a0, size - z * a1
    elif z * (p1 - p0) <= size:  # crop: the person fully inside, the image covering the input
        lo, hi = max(-z * p0, size - z * a1), min(size - z * p1, -z * a0)
    else:  # the person alone is larger than the input: a window inside the person
        lo, hi = size - z * p1, -z * p0
    return float(rng.uniform(lo, hi)) if hi > lo else 0.5 * (lo + hi)


def _person_matrix(rng, cfg, net_w, net_h, boxes, image_size):
    """The "person"-mode matrix (letterbox coordinates -> input), or None without a usable person."""
    img_w, img_h = image_size
    lb = letterbox_matrix(img_w, img_h, net_w, net_h)
    content = np.array([[0.0, 0.0, img_w, img_h]])
    boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
    vis = np.concatenate([np.maximum(boxes[:, :2], 0), np.minimum(boxes[:, 2:], [img_w, img_h])], 1)
    ok = (vis[:, 2] > vis[:, 0]) & (vis[:, 3] > vis[:, 1]) & (boxes[:, 3] > boxes[:, 1])
    if not ok.any():
        return None
    person = np.flatnonzero(ok)[rng.integers(ok.sum())]
    height = float(np.exp(rng.uniform(np.log(cfg.person_height_min), np.log(cfg.person_height_max))))
    box_lb = transform_boxes(boxes[person : person + 1], lb)[0].astype(np.float64)
    vis_lb = transform_boxes(vis[person : person + 1], lb)[0].astype(np.float64)
    img_lb = transform_boxes(content, lb)[0].astype(np.float64)
    z = float(np.clip(height / (box_lb[3] - box_lb[1]), cfg.zoom_min, cfg.zoom_max))
    tx = _place(rng, z, (img_lb[0], img_lb[2]), (vis_lb[0], vis_lb[2]), net_w)
    ty = _place(rng, z, (img_lb[1], img_lb[3]), (vis_lb[1], vis_lb[3]), net_h)
    m = np.array([[z, 0.0, tx], [0.0, z, ty]], dtype=np.float64)
    if cfg.flip and rng.random() < 0.5:  # mirror about the input's vertical centre line
        m = compose(np.array([[-1.0, 0.0, float(net_w)], [0.0, 1.0, 0.0]]), m)
    return m


def random_matrix(
    rng: np.random.Generator,
    cfg: AugmentConfig,
    net_w: int,
    net_h: int,
    boxes: np.ndarray | None = None,
    image_size: tuple[int, int] | None = None,
) -> np.ndarray:
    """A random zoom/translation/flip applied after the letterbox (2x3, letterbox -> network input).

    ``"range"`` mode: about the centre of the network input. ``"person"`` mode: ``boxes`` are the counted
    ltrb boxes of frame A in its original pixels and ``image_size`` its ``(width, height)``; without a
    usable box the ``"range"`` draw is used.
    """
    if cfg.scale_mode == "person" and boxes is not None and image_size is not None and len(boxes):
        m = _person_matrix(rng, cfg, net_w, net_h, boxes, image_size)
        if m is not None:
            return m
    return _range_matrix(rng, cfg, net_w, net_h)


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


def random_blur(img: np.ndarray, rng: np.random.Generator, prob: float) -> np.ndarray:
    """Gaussian blur with probability ``prob``, sigma drawn in [0.5, 2.0] (no draw when ``prob`` is 0)."""
    if prob <= 0 or rng.random() >= prob:
        return img
    sigma = float(rng.uniform(0.5, 2.0))
    return cv2.GaussianBlur(img, (0, 0), sigmaX=sigma, sigmaY=sigma)


def low_resolution(img: np.ndarray, height: int) -> np.ndarray:
    """The image as a camera of ``height`` rows would show it at this size: shrunk (area) and enlarged
    back (bilinear), so boxes stay valid. A no-op when the image is not taller than ``height``."""
    h, w = img.shape[:2]
    if height >= h:
        return img
    if height < 1:
        raise ValueError(f"low_resolution: height must be >= 1, got {height}")
    small = cv2.resize(img, (max(1, round(w * height / h)), int(height)), interpolation=cv2.INTER_AREA)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)


def low_resolution_source(img: np.ndarray, m: np.ndarray, rows: float, max_upscale: float):
    """The frame as a camera of ``rows`` rows gives it, and the map ``m`` (original pixels -> network
    input) rewritten for that smaller frame. The shrink is limited so that the warp enlarges the small
    frame by at most ``max_upscale``: a 30 px person shrunk four times and zoomed to 400 px is mush that no
    camera delivers. Returns ``(img, m)`` unchanged when no shrink is left."""
    h, w = img.shape[:2]
    rows = max(float(rows), abs(float(m[1, 1])) * h / max_upscale)
    if rows >= h:
        return img, m
    new_h = max(1, int(round(rows)))
    new_w = max(1, int(round(w * new_h / h)))
    small = cv2.resize(img, (new_w, new_h), interpolation=cv2.INTER_AREA)
    return small, compose(m, np.array([[w / new_w, 0.0, 0.0], [0.0, h / new_h, 0.0]]))


def to_gray3(img: np.ndarray) -> np.ndarray:
    """BGR -> grey -> BGR: three equal channels."""
    return cv2.cvtColor(cv2.cvtColor(img, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR)


def warp_image(img: np.ndarray, m: np.ndarray, net_w: int, net_h: int, antialias: bool = False) -> np.ndarray:
    """Warp a BGR uint8 image to the network input size with the grey letterbox border.

    ``m`` maps continuous coordinates (pixel i spans [i, i+1), as boxes and cv2.resize use); OpenCV's
    warp puts pixel centres at integers, so the offsets are shifted by half a pixel to match. With
    ``antialias`` a shrinking map first resizes the image with ``INTER_AREA`` (bilinear sampling alone
    aliases badly at strong zoom-out) and warps the rest.
    """
    m = np.asarray(m, np.float64).copy()
    h, w = img.shape[:2]
    s = min(abs(m[0, 0]), abs(m[1, 1]))
    if antialias and s < 1.0:
        new_w, new_h = max(1, round(w * s)), max(1, round(h * s))
        img = cv2.resize(img, (new_w, new_h), interpolation=cv2.INTER_AREA)
        m = compose(m, np.array([[w / new_w, 0.0, 0.0], [0.0, h / new_h, 0.0]]))
    m[:, 2] += 0.5 * np.array([m[0, 0], m[1, 1]]) - 0.5
    return cv2.warpAffine(img, m, (net_w, net_h), flags=cv2.INTER_LINEAR, borderValue=BORDER_VALUE)


def to_tensor_layout(img_bgr: np.ndarray) -> np.ndarray:
    """BGR uint8 (H, W, 3) -> RGB float32 (3, H, W) in [0, 1] (the network input convention)."""
    return np.ascontiguousarray(img_bgr[:, :, ::-1].transpose(2, 0, 1), dtype=np.float32) / 255.0


def augment_pair(
    images,
    boxes_list,
    rng: np.random.Generator,
    cfg: AugmentConfig,
    net_w: int,
    net_h: int,
    counted=None,
):
    """Augment the frames of one pair with a shared geometric warp.

    ``counted`` (optional) holds, per frame, a boolean mask of the boxes that count (not ignore regions);
    ``"person"`` mode picks its person among the counted boxes of the first frame (all boxes when
    ``counted`` is None). Returns the warped BGR uint8 images and the boxes (network-input pixels) of each
    frame. Random draws, in order: the geometric matrix, the pair's grey decision (when ``gray`` > 0), the
    pair's low-resolution decision and camera rows (when ``lowres`` > 0), the pair's camera-fault decision,
    fault and strength (when ``faults`` > 0), then per frame the fault's noise seed (when the pair has a
    fault), the HSV factors and the blur (when ``blur`` > 0).
    """
    boxes_a = np.asarray(boxes_list[0], np.float32).reshape(-1, 4)
    if counted is not None:
        boxes_a = boxes_a[np.asarray(counted[0], bool)]
    h0, w0 = images[0].shape[:2]
    shared = random_matrix(rng, cfg, net_w, net_h, boxes_a, (w0, h0))
    plain = np.allclose(shared, [[1, 0, 0], [0, 1, 0]])
    gray = bool(cfg.gray > 0 and rng.random() < cfg.gray)
    lowres_rows = None
    if cfg.lowres > 0 and rng.random() < cfg.lowres:
        lowres_rows = float(np.exp(rng.uniform(np.log(cfg.lowres_rows_min), np.log(cfg.lowres_rows_max))))
    fault = None
    if cfg.faults > 0 and rng.random() < cfg.faults:
        name = FAULTS[int(rng.integers(len(FAULTS)))]
        fault = (name, strength_between(name, float(rng.random())))
    antialias = cfg.scale_mode == "person"  # "range" keeps its original pixels (bit-exact old runs)
    out_imgs, out_boxes = [], []
    for img, boxes in zip(images, boxes_list):
        h, w = img.shape[:2]
        m = compose(shared, letterbox_matrix(w, h, net_w, net_h))
        src, m_src = img, m
        if lowres_rows is not None:
            src, m_src = low_resolution_source(img, m, lowres_rows, cfg.lowres_max_upscale)
        if fault is not None:
            src = degrade(src, fault[0], fault[1], np.random.default_rng(int(rng.integers(2**31))))
        # Without geometric augmentation use the inference letterbox itself (its resampling), so that
        # validation sees exactly the images the detector sees.
        if plain and src is img:
            warped = letterbox(img, net_w, net_h)[0]
        else:
            warped = warp_image(src, m_src, net_w, net_h, antialias)
        warped = hsv_jitter(warped, rng, cfg.hsv)
        warped = random_blur(warped, rng, cfg.blur)
        if gray:
            warped = to_gray3(warped)
        out_imgs.append(warped)
        out_boxes.append(transform_boxes(np.asarray(boxes, np.float32), m))
    return out_imgs, out_boxes
