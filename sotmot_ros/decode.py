"""Heatmap peaks -> detections: 3x3 max-pool suppression, top-K, score threshold (CenterNet decoding).

Works on a batch on the network's device; returns boxes in network-input pixels (the detector maps
them back through the inverse letterbox) together with the L2-normalised SOT features at the peaks.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torchvision.ops import batched_nms


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


def decode_outputs(
    outputs: dict[str, torch.Tensor],
    max_detections: int = 500,
    score_threshold: float = 0.3,
    down_ratio: int = 4,
    nms_iou: float = 1.0,
) -> list[RawDetections]:
    """Decode a batch of network outputs into per-image detections above ``score_threshold``.

    Peaks are local maxima of the heatmap (3x3), as in CenterNet. A large person can still leave two or
    three separate maxima on its heatmap; ``nms_iou`` < 1 removes, per image and class, the boxes that
    overlap a better-scoring box by more than that IoU (1.0 = no box NMS, CenterNet's behaviour).
    """
    hm_logits = outputs["hm"]
    b, c, h, w = hm_logits.shape
    heat = hm_logits.float().sigmoid()
    heat = heat * peak_mask(heat)
    k = min(max_detections, c * h * w)
    scores, inds = heat.reshape(b, -1).topk(k, dim=1)
    classes = inds // (h * w)
    pix = inds % (h * w)
    ys = (pix // w).float()
    xs = (pix % w).float()
    reg = gather_at(outputs["reg"].float(), pix)
    wh = gather_at(outputs["wh"].float(), pix)
    cx, cy = xs + reg[..., 0], ys + reg[..., 1]
    boxes = torch.stack([cx - wh[..., 0], cy - wh[..., 1], cx + wh[..., 2], cy + wh[..., 3]], dim=-1) * down_ratio
    if "id" in outputs:
        feats = F.normalize(gather_at(outputs["id"].float(), pix), dim=-1)
    else:
        feats = boxes.new_zeros(b, k, 0)
    centers = torch.stack([cx, cy], dim=-1)
    result = []
    for i in range(b):
        keep = scores[i] >= score_threshold
        if nms_iou < 1.0 and int(keep.sum()) > 1:
            idx = torch.nonzero(keep).squeeze(1)
            kept = batched_nms(boxes[i][idx], scores[i][idx], classes[i][idx], nms_iou)
            keep = torch.zeros_like(keep)
            keep[idx[kept]] = True
        result.append(
            RawDetections(
                boxes=boxes[i][keep].cpu(),
                scores=scores[i][keep].cpu(),
                classes=classes[i][keep].cpu(),
                features=feats[i][keep].cpu(),
                centers=centers[i][keep].cpu(),
            )
        )
    return result
