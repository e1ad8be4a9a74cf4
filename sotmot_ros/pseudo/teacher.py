"""ONNX teacher detectors (YOLOX output layout) for pseudo-labelling; development-time only.

A YOLOX-style graph takes a ``1x3xHxW`` float BGR image in [0, 255], resized with its aspect kept and
padded at the bottom/right with grey 114, and returns ``1xNx(5+C)`` raw grid outputs for strides 8, 16
and 32 (``N = sum (H/s)(W/s)``): per anchor point ``dx, dy, log w, log h`` in stride units, the
objectness and ``C`` class probabilities (both already through a sigmoid). The score of a person is
objectness x class probability. Both teachers in ``../shared/teachers`` use this layout (COCO YOLOX-Nano
with ``C = 80``, person = class 0, and a one-class person model); any other YOLOX export works the same.

``onnxruntime`` is an optional dependency (``pip install sotmot_ros[pseudo]``): tracking never needs it.
"""

from __future__ import annotations

import os

import cv2
import numpy as np

from ..boxes import nms

STRIDES = (8, 16, 32)
PAD_VALUE = 114


class TeacherError(RuntimeError):
    """A teacher model is missing, unreadable or not in the YOLOX layout."""


class OnnxTeacher:
    """One ONNX person detector. ``detect(image_bgr)`` -> ``(boxes ltrb (n, 4), scores (n,))`` in pixels.

    Args:
        path: the ``.onnx`` file.
        person_class: index of the person class among the ``C`` class outputs (0 for COCO and one-class).
        score_threshold: boxes below this are discarded before NMS (keep it low: fusion decides later).
        nms_iou: IoU of the per-teacher non-maximum suppression.
        num_threads: onnxruntime intra-op threads (0 = its default).
    """

    def __init__(self, path: str, person_class: int = 0, score_threshold: float = 0.05, nms_iou: float = 0.5,
                 num_threads: int = 0):
        try:
            import onnxruntime as ort
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise TeacherError("pseudo-labelling needs onnxruntime: pip install onnxruntime "
                               "(or the sotmot_ros[pseudo] extra)") from exc
        if not os.path.isfile(path):
            raise TeacherError(f"teacher model not found: {path}")
        options = ort.SessionOptions()
        if num_threads > 0:
            options.intra_op_num_threads = num_threads
        try:
            self.session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own exception types
            raise TeacherError(f"cannot load teacher {path}: {exc}") from exc
        self.path = path
        self.name = os.path.splitext(os.path.basename(path))[0]
        inp = self.session.get_inputs()[0]
        shape = list(inp.shape)
        if len(shape) != 4 or not all(isinstance(v, int) for v in shape[2:]):
            raise TeacherError(f"{path}: expected a fixed 1x3xHxW input, got {shape}")
        self.input_name = inp.name
        self.input_h, self.input_w = int(shape[2]), int(shape[3])
        out_shape = self.session.get_outputs()[0].shape
        self.grid, self.strides = yolox_grid(self.input_w, self.input_h)
        if len(out_shape) != 3 or (isinstance(out_shape[1], int) and out_shape[1] != len(self.grid)):
            raise TeacherError(
                f"{path}: output {out_shape} is not the YOLOX layout 1x{len(self.grid)}x(5+C) for a "
                f"{self.input_w}x{self.input_h} input (strides {STRIDES})"
            )
        self.num_classes = int(out_shape[2]) - 5 if isinstance(out_shape[2], int) else None
        if self.num_classes is not None and not 0 <= person_class < self.num_classes:
            raise TeacherError(f"{path}: person_class {person_class} outside its {self.num_classes} classes")
        self.person_class = person_class
        self.score_threshold = float(score_threshold)
        self.nms_iou = float(nms_iou)

    def detect(self, image_bgr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """People in one BGR uint8 image, after score threshold and NMS, in image pixels."""
        h, w = image_bgr.shape[:2]
        ratio = min(self.input_w / w, self.input_h / h)
        new_w, new_h = max(1, int(round(w * ratio))), max(1, int(round(h * ratio)))
        canvas = np.full((self.input_h, self.input_w, 3), PAD_VALUE, np.uint8)
        canvas[:new_h, :new_w] = cv2.resize(image_bgr, (new_w, new_h), interpolation=cv2.INTER_LINEAR)
        blob = np.ascontiguousarray(canvas.transpose(2, 0, 1)[None], dtype=np.float32)
        raw = self.session.run(None, {self.input_name: blob})[0][0]
        boxes, scores = decode_yolox(raw, self.grid, self.strides, self.person_class, self.score_threshold)
        boxes /= ratio
        boxes[:, [0, 2]] = boxes[:, [0, 2]].clip(0, w)
        boxes[:, [1, 3]] = boxes[:, [1, 3]].clip(0, h)
        keep = nms(boxes, scores, self.nms_iou)
        return boxes[keep], scores[keep]


def yolox_grid(width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
    """Anchor points (N, 2) in cells and their strides (N,) in YOLOX order (stride 8 rows first)."""
    cells, strides = [], []
    for s in STRIDES:
        ys, xs = np.meshgrid(np.arange(height // s), np.arange(width // s), indexing="ij")
        cells.append(np.stack([xs.ravel(), ys.ravel()], 1))
        strides.append(np.full(xs.size, s))
    return np.concatenate(cells).astype(np.float32), np.concatenate(strides).astype(np.float32)


def decode_yolox(raw: np.ndarray, grid: np.ndarray, strides: np.ndarray, person_class: int,
                 score_threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """Raw ``(N, 5 + C)`` outputs -> ltrb boxes in network-input pixels and person scores above threshold."""
    scores = raw[:, 4] * raw[:, 5 + person_class]
    sel = scores >= score_threshold
    raw, scores, grid, strides = raw[sel], scores[sel], grid[sel], strides[sel]
    centre = (raw[:, :2] + grid) * strides[:, None]
    size = np.exp(np.minimum(raw[:, 2:4], 10.0)) * strides[:, None]
    boxes = np.concatenate([centre - size / 2, centre + size / 2], 1).astype(np.float32)
    return boxes, scores.astype(np.float32)


def tile_windows(width: int, height: int, tiles: int, overlap: float = 0.25) -> list[tuple[int, int, int, int]]:
    """``tiles x tiles`` overlapping windows (x0, y0, x1, y1) covering the image; [] for ``tiles < 2``."""
    if tiles < 2:
        return []
    tw = int(np.ceil(width / (tiles - (tiles - 1) * overlap)))
    th = int(np.ceil(height / (tiles - (tiles - 1) * overlap)))
    xs = np.linspace(0, width - tw, tiles).round().astype(int)
    ys = np.linspace(0, height - th, tiles).round().astype(int)
    return [(int(x), int(y), int(x) + tw, int(y) + th) for y in ys for x in xs]


def detect_tiled(teacher, image_bgr: np.ndarray, tiles: int = 0, overlap: float = 0.25,
                 merge_iou: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    """The whole image plus ``tiles x tiles`` zoomed windows, merged by NMS.

    Small teachers (192 or 416 px inputs) miss people that become a few pixels tall once a large frame
    is shrunk to their input; windows see them larger. A window's box that touches one of the window's
    inner edges is cut by it and is dropped (the whole image or a neighbouring window holds that person).
    """
    boxes, scores = [list(x) for x in teacher.detect(image_bgr)]
    h, w = image_bgr.shape[:2]
    margin = 2.0
    for x0, y0, x1, y1 in tile_windows(w, h, tiles, overlap):
        b, s = teacher.detect(image_bgr[y0:y1, x0:x1])
        cut = np.zeros(len(b), bool)
        cut |= (b[:, 0] <= margin) & (x0 > 0)
        cut |= (b[:, 1] <= margin) & (y0 > 0)
        cut |= (b[:, 2] >= (x1 - x0) - margin) & (x1 < w)
        cut |= (b[:, 3] >= (y1 - y0) - margin) & (y1 < h)
        b = b[~cut] + np.array([x0, y0, x0, y0], np.float32)
        boxes.extend(b), scores.extend(s[~cut])
    if not boxes:
        return np.zeros((0, 4), np.float32), np.zeros(0, np.float32)
    boxes, scores = np.asarray(boxes, np.float32).reshape(-1, 4), np.asarray(scores, np.float32)
    keep = nms(boxes, scores, merge_iou)
    return boxes[keep], scores[keep]
