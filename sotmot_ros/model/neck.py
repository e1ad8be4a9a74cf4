"""The top-down merge both CPU bodies end with: coarse levels upsampled and added into finer ones."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def top_down_merge(laterals: nn.ModuleList, feats) -> torch.Tensor:
    """FPN top-down path: ``laterals[i]`` maps ``feats[i]`` (finest first) to a common width; from the
    coarsest level down, each is upsampled (nearest) to the next finer one and added to it. Returns the
    finest merged map (before any smoothing conv)."""
    y = laterals[-1](feats[-1])
    for lateral, f in zip(reversed(laterals[:-1]), reversed(feats[:-1])):
        y = lateral(f) + F.interpolate(y, size=f.shape[-2:], mode="nearest")
    return y
