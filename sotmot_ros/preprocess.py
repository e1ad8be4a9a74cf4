"""Pre-processing as FairMOT's, so FairMOT/CenterNet weights see what they were trained on.

Letterbox: scale the image by ``s = min(W_net / w, H_net / h)``, resize to ``round(w s) x round(h s)``,
pad centred with grey 127.5; then BGR -> RGB and values in [0, 1]. The inverse maps network-input pixels
back to original-image pixels.

Resampling (``resize_interpolation``): a frame that shrinks is averaged (``INTER_AREA``, FairMOT's choice,
made for frames that always shrink); a frame that is enlarged (a camera smaller than the network input) is
interpolated bilinearly, as training enlarges it (``augment.warp_image``). FairMOT's ``INTER_AREA`` is close to
nearest-neighbour when enlarging; its blocky edges cost the bundled model up to 14 AP points on 120-row
cameras (model card, "Small cameras").
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

PAD_VALUE = 127.5
# Bumped whenever the letterbox's pixels change, so that cached detections of an older one are not reused:
# 1 = INTER_AREA both ways (FairMOT), 2 = bilinear enlargement.
LETTERBOX_VERSION = 2


@dataclass(frozen=True)
class Letterbox:
    """The affine map original image -> network input: ``x_net = x * scale + pad_x``."""

    scale: float
    pad_x: float
    pad_y: float
    src_width: int
    src_height: int

    @property
    def window(self) -> tuple[float, float, float, float]:
        """Where the image lies in the network input (x1, y1, x2, y2 in network-input pixels): the decoder's box
        NMS compares boxes clipped to it, as the image-pixel boxes it returns are clipped to the image."""
        return (self.pad_x, self.pad_y, self.pad_x + self.src_width * self.scale, self.pad_y + self.src_height * self.scale)

    def to_image(self, boxes: np.ndarray) -> np.ndarray:
        """Boxes (N, 4) in network-input pixels -> original-image pixels, clipped to the image."""
        out = np.asarray(boxes, dtype=np.float32).copy()
        out[:, [0, 2]] = (out[:, [0, 2]] - self.pad_x) / self.scale
        out[:, [1, 3]] = (out[:, [1, 3]] - self.pad_y) / self.scale
        out[:, [0, 2]] = out[:, [0, 2]].clip(0, self.src_width)
        out[:, [1, 3]] = out[:, [1, 3]].clip(0, self.src_height)
        return out

    def to_network(self, boxes: np.ndarray) -> np.ndarray:
        """Boxes (N, 4) in original-image pixels -> network-input pixels."""
        out = np.asarray(boxes, dtype=np.float32).copy()
        out[:, [0, 2]] = out[:, [0, 2]] * self.scale + self.pad_x
        out[:, [1, 3]] = out[:, [1, 3]] * self.scale + self.pad_y
        return out


def letterbox_params(src_width: int, src_height: int, net_width: int, net_height: int) -> tuple[Letterbox, int, int, int, int]:
    """The letterbox for an image size, plus (new_w, new_h, left, top) of the resized image (FairMOT rounding)."""
    scale = min(net_height / src_height, net_width / src_width)
    # at least one pixel: an extreme aspect ratio (e.g. 1x10000) must not resize to zero
    new_w, new_h = max(1, round(src_width * scale)), max(1, round(src_height * scale))
    dw, dh = (net_width - new_w) / 2, (net_height - new_h) / 2
    top, left = round(dh - 0.1), round(dw - 0.1)
    return Letterbox(scale, float(left), float(top), src_width, src_height), new_w, new_h, left, top


def trimmed_input_size(src_width: int, src_height: int, net_width: int, net_height: int,
                       multiple: int = 32) -> tuple[int, int]:
    """The network input for a frame with the letterbox's padding trimmed: the frame keeps (within a rounding
    pixel) the scale it has in ``net_width x net_height``, and the input shrinks to the smallest multiple of
    ``multiple`` that holds it. A 16:9 camera at a 640x480 input -> 640x384 (20 % fewer pixels to compute);
    a 4:3 camera keeps 640x480."""
    _, new_w, new_h, _, _ = letterbox_params(src_width, src_height, net_width, net_height)
    return (min(net_width, -(-new_w // multiple) * multiple), min(net_height, -(-new_h // multiple) * multiple))


def resize_interpolation(src_width: int, src_height: int, new_width: int, new_height: int) -> int:
    """The OpenCV interpolation for resizing to ``new_width x new_height``: area averaging when shrinking,
    bilinear when enlarging (either side), as the training warp enlarges."""
    return cv2.INTER_LINEAR if new_width > src_width or new_height > src_height else cv2.INTER_AREA


def letterbox(image_bgr: np.ndarray, net_width: int, net_height: int) -> tuple[np.ndarray, Letterbox]:
    """Letterbox a BGR uint8 image to (net_height, net_width, 3) uint8 BGR."""
    if image_bgr.ndim != 3 or image_bgr.shape[2] != 3:
        raise ValueError(f"expected an HxWx3 BGR image, got shape {image_bgr.shape}")
    h, w = image_bgr.shape[:2]
    if h < 1 or w < 1:
        raise ValueError(f"empty image of shape {image_bgr.shape}")
    lb, new_w, new_h, left, top = letterbox_params(w, h, net_width, net_height)
    resized = cv2.resize(image_bgr, (new_w, new_h), interpolation=resize_interpolation(w, h, new_w, new_h))
    bottom, right = net_height - new_h - top, net_width - new_w - left
    padded = cv2.copyMakeBorder(
        resized, top, bottom, left, right, cv2.BORDER_CONSTANT, value=(PAD_VALUE, PAD_VALUE, PAD_VALUE)
    )
    return padded, lb


def to_network_input(image_bgr: np.ndarray, net_width: int, net_height: int) -> tuple[np.ndarray, Letterbox]:
    """Letterboxed RGB float32 CHW in [0, 1], as FairMOT feeds its network."""
    padded, lb = letterbox(image_bgr, net_width, net_height)
    chw = np.ascontiguousarray(padded[:, :, ::-1].transpose(2, 0, 1), dtype=np.float32)
    chw /= 255.0
    return chw, lb
