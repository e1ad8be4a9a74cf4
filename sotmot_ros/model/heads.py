"""CenterNet-style prediction heads: 3x3 conv -> ReLU -> 1x1 conv, as in CenterNet/FairMOT.

Parameter names (``<head>.0.*`` and ``<head>.2.*``) match FairMOT's heads so checkpoints load.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

HEATMAP_PRIOR_BIAS = -2.19  # sigmoid(-2.19) ~ 0.1: the focal-loss prior of CenterNet


def make_head(in_channels: int, out_channels: int, head_conv: int, bias_fill: float = 0.0) -> nn.Sequential:
    """One head; ``bias_fill`` initialises the final bias (the heatmap prior for ``hm``)."""
    head = nn.Sequential(
        nn.Conv2d(in_channels, head_conv, kernel_size=3, padding=1, bias=True),
        nn.ReLU(inplace=True),
        nn.Conv2d(head_conv, out_channels, kernel_size=1, bias=True),
    )
    for m in head.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.normal_(m.weight, std=0.001)
            nn.init.constant_(m.bias, 0.0)
    nn.init.constant_(head[-1].bias, bias_fill)
    return head


def _check_head(head: nn.Sequential) -> tuple[nn.Conv2d, nn.Conv2d]:
    first, last = head[0], head[-1]
    ok = (len(head) == 3 and isinstance(first, nn.Conv2d) and isinstance(head[1], nn.ReLU) and isinstance(last, nn.Conv2d)
          and first.kernel_size == (3, 3) and first.padding == (1, 1) and first.stride == (1, 1)
          and first.dilation == (1, 1) and first.groups == 1 and last.kernel_size == (1, 1) and last.groups == 1)
    if not ok:
        raise ValueError("head_at needs a make_head head (3x3 conv, padding 1 -> ReLU -> 1x1 conv)")
    return first, last


def head_at(head: nn.Sequential, body: torch.Tensor, ys: torch.Tensor, xs: torch.Tensor) -> torch.Tensor:
    """A head's outputs at some cells of one image's body map (C, h, w): (K,) rows ``ys`` and columns ``xs``
    -> (K, out_channels), the values the dense head map holds there (zero padding at the border, as the conv).

    The detector reads the box, offset and SOT heads only at the heatmap's peaks; computing them there instead
    of over the whole stride-4 map skips about a third of the network's time (``bench/bench_model.py``).
    """
    first, last = _check_head(head)
    c, h, w = body.shape
    k = int(ys.numel())
    if k == 0:
        return body.new_zeros(0, last.out_channels)
    step = torch.arange(-1, 2, device=body.device)
    rows = ys.long().view(k, 1, 1) + step.view(1, 3, 1)  # (K, 3, 1)
    cols = xs.long().view(k, 1, 1) + step.view(1, 1, 3)  # (K, 1, 3)
    inside = ((rows >= 0) & (rows < h)) & ((cols >= 0) & (cols < w))  # (K, 3, 3)
    patches = body[:, rows.clamp(0, h - 1).expand(k, 3, 3), cols.clamp(0, w - 1).expand(k, 3, 3)]  # (C, K, 3, 3)
    patches = (patches * inside.to(body.dtype)).permute(1, 0, 2, 3).reshape(k, c * 9)  # conv weight order
    hidden = F.relu(F.linear(patches, first.weight.reshape(first.out_channels, -1), first.bias))
    return F.linear(hidden, last.weight.reshape(last.out_channels, -1), last.bias)


def head_at_index(head: nn.Sequential, body: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """``head_at`` for a batch: body maps (B, C, h, w) and flat cell indices (B, K) -> (B, K, out_channels)."""
    w = body.shape[3]
    index = index.long()
    return torch.stack([head_at(head, body[i], index[i] // w, index[i] % w) for i in range(body.shape[0])])
