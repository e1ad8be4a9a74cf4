"""The detector: pre-processing -> SOTMOT network -> peak decoding, on CPU or CUDA.

``Detector(image_bgr)`` returns :class:`~sotmot_ros.types.Detections` in original-image pixels with
L2-normalised SOT features, which the tracker's ridge models consume.
"""

from __future__ import annotations

import logging
import os
from dataclasses import replace

import numpy as np
import torch

from .boxes import box_areas
from .decode import decode_outputs
from .model.checkpoint import load_model
from .model.network import SOTMOTNet
from .preprocess import to_network_input, trimmed_input_size
from .tracking.config import TrackerConfig, config_for_model
from .types import Detections, backend_name

log = logging.getLogger(__name__)


def resolve_backend(backend: str, device: torch.device, half: bool = False) -> str:
    """Which engine runs the network: 'auto' -> ONNX Runtime on the CPU when it is installed (15-27 % less
    time per frame there, ``bench/bench_model.py --backend``), PyTorch otherwise (CUDA, float16, or no onnxruntime).
    An explicit 'onnxruntime' that cannot run raises ValueError naming why."""
    from .model.onnxruntime_network import onnxruntime_missing

    backend = backend_name(backend)
    if backend == "torch":
        return backend
    usable = device.type == "cpu" and not half
    missing = onnxruntime_missing()
    if backend == "onnxruntime":
        if not usable:
            raise ValueError(f"the onnxruntime backend runs float32 on the CPU; device {device}"
                             f"{' with half' if half else ''} needs backend 'torch' or 'auto'")
        if missing:
            raise ValueError(f"the onnxruntime backend needs {missing}: pip install onnxruntime onnx "
                             "(or backend 'torch')")
        return backend
    return "onnxruntime" if usable and not missing else "torch"


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """'auto' -> first CUDA device if present else CPU; an unavailable CUDA device falls back to CPU with a warning."""
    if isinstance(device, torch.device):
        device = str(device)
    device = (device or "auto").strip().lower()
    if device == "auto":
        return torch.device("cuda:0" if torch.cuda.is_available() else "cpu")
    if device == "cpu":
        return torch.device("cpu")
    if device.startswith("cuda"):
        try:
            dev = torch.device(device)
        except RuntimeError as exc:
            raise ValueError(f"invalid device {device!r}: {exc}") from exc
        index = dev.index or 0
        if not torch.cuda.is_available() or index >= torch.cuda.device_count():
            log.warning("device %s requested but CUDA is not available (or has fewer devices); using CPU", device)
            return torch.device("cpu")
        return torch.device("cuda", index)
    raise ValueError(f"invalid device {device!r}: use 'auto', 'cpu' or 'cuda:N'")


class Detector:
    """Runs the network on BGR images and decodes detections with SOT features.

    Args:
        model: a :class:`SOTMOTNet` (its config fixes the default input size).
        device: 'auto', 'cpu' or 'cuda:N'.
        half: float16 inference (CUDA only; ignored with a warning on CPU).
        score_threshold: minimum heatmap score of a returned detection. Keep it at or below the tracker's
            ``low_score_threshold`` (the default is the library tracker's; ``from_checkpoint`` uses the
            model's tuned one), else the tracker's second stage sees nothing (it warns).
        max_detections: top-K peaks considered per image.
        input_size: (width, height) of the network input, multiples of 32; default the model's.
        min_box_area: detections with a smaller box (original-image pixels^2) are dropped.
        channels_last: NHWC memory layout; None = on for EfficientNet-Lite0 and yolox_nano (their depthwise convs:
            Lite0 15-30 % less CPU time, yolox_nano ~50 vs ~72 ms per 768x576 frame on 2 cores), off for DLA-34
            (deformable convs want NCHW).
        nms_iou: box NMS after the heatmap peaks (see ``decode_outputs``); 1.0 = none. ``from_checkpoint``
            takes the model file's value (``meta["detector"]``, chosen on validation scenes) unless given.
        backend: 'auto' (ONNX Runtime on the CPU when installed, else PyTorch), 'torch' or 'onnxruntime'
            (see ``resolve_backend``); ``self.backend`` says which one runs. ONNX Runtime gets the network
            exported in memory; the PyTorch model stays in ``self.model`` (its config, its weights).
        trim_padding: run each batch at the smallest input (multiples of 32, at most ``input_size``) that holds
            its frames at their letterbox scale (``preprocess.trimmed_input_size``): a 16:9 camera at 640x480
            computes 640x384, ~12 % less time, and the people keep their size. Off by default: the bundled
            model was trained on letterboxed 4:3 inputs and lost tune-clip accuracy without the grey bands
            (model card, "Trimming the letterbox's padding").
    """

    def __init__(
        self,
        model: SOTMOTNet,
        device: str | torch.device = "auto",
        half: bool = False,
        score_threshold: float = TrackerConfig().low_score_threshold,
        max_detections: int = 500,
        input_size: tuple[int, int] | None = None,
        min_box_area: float = 0.0,
        channels_last: bool | None = None,
        nms_iou: float = 1.0,
        backend: str = "auto",
        trim_padding: bool = False,
    ):
        if not 0.0 <= float(score_threshold) <= 1.0:
            raise ValueError(f"score_threshold must be in [0, 1], got {score_threshold}")
        if not 0.0 < float(nms_iou) <= 1.0:
            raise ValueError(f"nms_iou must be in (0, 1], got {nms_iou}")
        if int(max_detections) < 1:
            raise ValueError(f"max_detections must be >= 1, got {max_detections}")
        if input_size is not None:
            w, h = int(input_size[0]), int(input_size[1])
            if w < 32 or h < 32 or w % 32 or h % 32:
                raise ValueError(f"input_size must be multiples of 32, got {input_size}")
            model.config = replace(model.config, input_width=w, input_height=h)
        self.device = resolve_device(device)
        self.half = bool(half) and self.device.type == "cuda"
        if half and not self.half:
            log.warning("half precision requested on %s; using float32", self.device)
        self.model = model.eval().to(self.device)
        if self.half:
            self.model.half()
        if channels_last is None:
            channels_last = model.config.backbone != "dla34"
        self.memory_format = torch.channels_last if channels_last else torch.contiguous_format
        self.model.to(memory_format=self.memory_format)
        self.score_threshold = float(score_threshold)
        self.max_detections = int(max_detections)
        self.min_box_area = float(min_box_area)
        self.nms_iou = float(nms_iou)
        self.trim_padding = bool(trim_padding)
        requested = backend_name(backend)
        self.backend = resolve_backend(requested, self.device, self.half)
        # the heatmap and the body features; decode computes the other heads at the peaks (forward_heatmap)
        self.network = self.model.forward_heatmap
        if self.backend == "onnxruntime":
            from .model.onnxruntime_network import OnnxRuntimeNetwork

            try:
                self.network = OnnxRuntimeNetwork(self.model, *self.input_size)
                # ONNX Runtime takes NCHW: a channels-last batch would only be converted back per frame
                self.memory_format = torch.contiguous_format
            except Exception as exc:  # e.g. DLA-34's deformable convs have no ONNX form
                # the exporter's message starts with the whole graph; its last line says what failed
                lines = [line for line in str(exc).splitlines() if line.strip()] or [type(exc).__name__]
                reason = lines[-1].strip()[:300]
                if requested == "onnxruntime":
                    raise ValueError(f"the onnxruntime backend cannot run this model: {reason}") from exc
                log.warning("ONNX Runtime cannot run this model (%s); using PyTorch", reason)
                self.backend = "torch"
        self.meta: dict = {}  # the model file's metadata (training run, tuned tracker settings), see from_checkpoint

    @classmethod
    def from_checkpoint(cls, path: str | os.PathLike | None = None, device: str = "auto", **kwargs) -> "Detector":
        """Load a model file or a bundled model by name (default: the default bundled model); raises
        CheckpointError naming the file on failure."""
        model, meta = load_model(path, device="cpu")  # load_model resolves None / '' / a bundled model's name
        for key, value in (meta.get("detector") or {}).items():
            kwargs.setdefault(key, value)  # settings chosen for this model; explicit arguments win
        # decode down to the low threshold of the tracker settings tuned for this model
        kwargs.setdefault("score_threshold", config_for_model(meta)[0].low_score_threshold)
        det = cls(model, device=device, **kwargs)
        det.meta = meta
        return det

    @property
    def config(self):
        return self.model.config

    @property
    def input_size(self) -> tuple[int, int]:
        return self.config.input_width, self.config.input_height

    @property
    def feature_dim(self) -> int:
        return self.config.feature_dim

    def __call__(self, image_bgr: np.ndarray) -> Detections:
        return self.detect_batch([image_bgr])[0]

    @torch.inference_mode()
    def detect_batch(self, images_bgr: list[np.ndarray]) -> list[Detections]:
        """Detect in several images in one forward pass (images may differ in size)."""
        if not images_bgr:
            return []
        batch, letterboxes = self.prepare(images_bgr)
        return self.decode(self.network(batch), letterboxes)

    def batch_input_size(self, images_bgr: list[np.ndarray]) -> tuple[int, int]:
        """(width, height) of the network input for these images: ``input_size``, or with ``trim_padding`` the
        smallest one that holds every image at its letterbox scale."""
        net_w, net_h = self.input_size
        if not self.trim_padding:
            return net_w, net_h
        sizes = [trimmed_input_size(img.shape[1], img.shape[0], net_w, net_h) for img in images_bgr]
        return max(w for w, _ in sizes), max(h for _, h in sizes)

    def prepare(self, images_bgr: list[np.ndarray]) -> tuple[torch.Tensor, list]:
        """Stage 1 of ``detect_batch``: the letterboxed batch on the device, and each image's letterbox."""
        for image in images_bgr:
            if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
                raise ValueError("images must be HxWx3 uint8 BGR numpy arrays")
            if image.shape[0] < 1 or image.shape[1] < 1:
                raise ValueError(f"empty image of shape {image.shape}")
        net_w, net_h = self.batch_input_size(images_bgr)
        inputs, letterboxes = [], []
        for image in images_bgr:
            chw, lb = to_network_input(image, net_w, net_h)
            inputs.append(chw)
            letterboxes.append(lb)
        batch = torch.from_numpy(np.stack(inputs)).to(self.device, non_blocking=True)
        batch = batch.contiguous(memory_format=self.memory_format)
        return (batch.half() if self.half else batch), letterboxes

    @torch.inference_mode()
    def decode(self, outputs: dict, letterboxes: list) -> list[Detections]:
        """Stage 3 of ``detect_batch`` (after ``self.network``): peaks -> detections in each image's pixels (the box,
        offset and SOT heads computed at the peaks from ``outputs["body"]``, or read from dense head maps)."""
        raw = decode_outputs(
            outputs, self.max_detections, self.score_threshold, down_ratio=self.config.down_ratio, nms_iou=self.nms_iou,
            heads=self.model, windows=[lb.window for lb in letterboxes],
        )
        results = []
        for det, lb in zip(raw, letterboxes):
            boxes = lb.to_image(det.boxes.numpy())
            keep = box_areas(boxes) > max(self.min_box_area, 0.0)
            results.append(
                Detections(boxes[keep], det.scores.numpy()[keep], det.classes.numpy()[keep], det.features.numpy()[keep],
                           score_floor=self.score_threshold)
            )
        return results

    def warmup(self, runs: int = 1) -> None:
        """Run dummy frames so the first real frame does not pay for lazy initialisation."""
        dummy = np.full((self.config.input_height, self.config.input_width, 3), 127, np.uint8)
        for _ in range(runs):
            self(dummy)
