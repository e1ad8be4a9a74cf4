"""Heatmap peaks -> detections: 3x3 max-pool suppression, top-K, score threshold (CenterNet decoding).

Works on a batch on the network's device; returns boxes in network-input pixels (the detector maps
them back through the inverse letterbox) together with the L2-normalised SOT features at the peaks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn
from torchvision.ops import batched_nms

from .model.heads import head_at_index


@dataclass
class RawDetections:
    """Detections of one image in network-input pixels (tensors on the CPU)."""

    boxes: torch.Tensor  # (K, 4) x1, y1, x2, y2
    scores: torch.Tensor  # (K,)
    classes: torch.Tensor  # (K,) int64
    features: torch.Tensor  # (K, D) L2-normalised
    centers: torch.Tensor  # (K, 2) peak cell (x, y) + offset, in output-grid cells


def peak_mask(heat: torch.Tensor, kernel: int = 3) -> torch.Tensor:
    """True where a heatmap value is the maximum of its kernel x kernel neighbourhood."""
    return F.max_pool2d(heat, kernel, stride=1, padding=kernel // 2) == heat


def gather_at(fmap: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """Values of a (B, C, h, w) map at flat pixel indices (B, K) -> (B, K, C)."""
    b, c = fmap.shape[:2]
    flat = fmap.reshape(b, c, -1)
    return flat.gather(2, index.unsqueeze(1).expand(b, c, index.shape[1])).transpose(1, 2)


def centre_points(cells: torch.Tensor, width: int, reg: torch.Tensor) -> torch.Tensor:
    """Object centres (K, 2) x, y in grid cells: flat ``cells`` (K,) of a map ``width`` cells wide plus their
    sub-cell offsets ``reg`` (K, 2). Leading batch dims are allowed."""
    cells = cells.long()
    col = (cells % width).to(reg.dtype)
    row = torch.div(cells, width, rounding_mode="floor").to(reg.dtype)
    return torch.stack([col, row], dim=-1) + reg


def boxes_around(centres: torch.Tensor, wh: torch.Tensor) -> torch.Tensor:
    """Boxes (K, 4) x1, y1, x2, y2 from centres (K, 2) and ltrb distances ``wh`` (K, 4)."""
    return torch.cat([centres - wh[..., :2], centres + wh[..., 2:]], dim=-1)


def centre_boxes(cells: torch.Tensor, width: int, reg: torch.Tensor, wh: torch.Tensor) -> torch.Tensor:
    """Boxes (K, 4) x1, y1, x2, y2 in grid cells from flat ``cells``, offsets ``reg`` and ltrb distances ``wh``:
    CenterNet's box geometry, for the decoder's predictions and for the training targets (``ind``, ``reg``,
    ``wh``) alike. Leading batch dims are allowed."""
    return boxes_around(centre_points(cells, width, reg), wh)


def clip_boxes(boxes: torch.Tensor, window: tuple[float, float, float, float]) -> torch.Tensor:
    """(K, 4) x1, y1, x2, y2 boxes clipped to ``window`` (x1, y1, x2, y2)."""
    x1, y1, x2, y2 = (float(v) for v in window)
    lo = boxes.new_tensor([x1, y1, x1, y1])
    hi = boxes.new_tensor([x2, y2, x2, y2])
    return torch.maximum(torch.minimum(boxes, hi), lo)


def head_sampler(outputs: dict[str, torch.Tensor], heads: nn.Module | None = None) -> Callable:
    """How the decoder reads a head at some cells of image ``i``: ``sample(name, i, cells) -> (K, C)`` float, ``cells``
    (K,) flat indices into the stride-4 map (as the losses' ``ind``).

    From the head's dense map when ``outputs`` holds one (the network's ``forward``), else computed at those
    cells from ``outputs["body"]`` by the head module of ``heads`` (the network; ``forward_heatmap`` outputs).
    For ``id``, ``boxes`` (K, 4) in grid cells are passed on to the network's ``sot_at`` (a box-sampling SOT head
    needs them).
    """

    def sample(name: str, i: int, cells: torch.Tensor, boxes: torch.Tensor | None = None) -> torch.Tensor:
        if name in outputs:
            return gather_at(outputs[name][i : i + 1].float(), cells.unsqueeze(0))[0]
        if heads is None or "body" not in outputs:
            raise KeyError(f"no {name!r} head map in the outputs and no body features + heads to compute it")
        body = outputs["body"][i]
        if name == "id" and hasattr(heads, "sot_at"):
            return heads.sot_at(body, cells, boxes).float()
        return head_at_index(getattr(heads, name), body.unsqueeze(0), cells.unsqueeze(0))[0].float()

    return sample


def has_sot_head(outputs: dict[str, torch.Tensor], heads: nn.Module | None = None) -> bool:
    """Whether SOT features can be decoded: a dense ``id`` map, or body features and an ``id`` head."""
    return "id" in outputs or ("body" in outputs and heads is not None and hasattr(heads, "id"))


def decode_outputs(
    outputs: dict[str, torch.Tensor],
    max_detections: int = 500,
    score_threshold: float = 0.3,
    down_ratio: int = 4,
    nms_iou: float = 1.0,
    heads: nn.Module | None = None,
    windows: list[tuple[float, float, float, float]] | None = None,
) -> list[RawDetections]:
    """Decode a batch of network outputs into per-image detections above ``score_threshold``.

    Peaks are local maxima of the heatmap (3x3), as in CenterNet. A large person can still leave two or
    three separate maxima on its heatmap; ``nms_iou`` < 1 removes, per image and class, the boxes that
    overlap a better-scoring box by more than that IoU (1.0 = no box NMS, CenterNet's behaviour).
    ``outputs`` holds the dense head maps, or ``hm`` + ``body`` with the network as ``heads``: then the box,
    offset and SOT heads are computed only where a detection is kept (``head_sampler``). ``windows`` (per image,
    ``Letterbox.window``): box NMS compares the boxes' parts inside the image, the boxes a user gets (two large
    boxes that differ only beyond the image edge are one box there); the returned boxes are not clipped.
    """
    hm_logits = outputs["hm"]
    b, c, h, w = hm_logits.shape
    heat = hm_logits.float().sigmoid()
    heat = heat * peak_mask(heat)
    k = min(max_detections, c * h * w)
    scores, inds = heat.reshape(b, -1).topk(k, dim=1)
    classes = inds // (h * w)
    pix = inds % (h * w)
    sample = head_sampler(outputs, heads)
    with_features = has_sot_head(outputs, heads)
    result = []
    for i in range(b):
        idx = torch.nonzero(scores[i] >= score_threshold).squeeze(1)
        cells = pix[i][idx]
        centres = centre_points(cells, w, sample("reg", i, cells))
        grid_boxes = boxes_around(centres, sample("wh", i, cells))
        boxes = grid_boxes * down_ratio
        keep = torch.arange(len(idx), device=idx.device)
        if nms_iou < 1.0 and len(idx) > 1:
            seen = boxes if windows is None else clip_boxes(boxes, windows[i])
            keep = batched_nms(seen, scores[i][idx], classes[i][idx], nms_iou).sort().values  # keep score order
        idx, cells = idx[keep], cells[keep]
        if with_features:
            feats = F.normalize(sample("id", i, cells, grid_boxes[keep]), dim=-1)
        else:
            feats = boxes.new_zeros(len(idx), 0)
        result.append(
            RawDetections(
                boxes=boxes[keep].cpu(),
                scores=scores[i][idx].cpu(),
                classes=classes[i][idx].cpu(),
                features=feats.cpu(),
                centers=centres[keep].cpu(),
            )
        )
    return result
