"""CenterNet-style prediction heads: 3x3 conv -> ReLU -> 1x1 conv, as in CenterNet/FairMOT.

Parameter names (``<head>.0.*`` and ``<head>.2.*``) match FairMOT's heads so checkpoints load.
"""

from __future__ import annotations

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
