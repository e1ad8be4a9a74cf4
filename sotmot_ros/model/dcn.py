"""Modulated deformable convolution (DCNv2) on top of ``torchvision.ops.deform_conv2d``.

FairMOT/CenterNet use the ``DCN`` module of the DCNv2 CUDA extension. torchvision's kernel has the same
semantics (offset channel 2k is dy and 2k+1 is dx for kernel tap k; mask multiplies each sample;
samples count iff -1 < y < H and -1 < x < W, bilinear corners outside the image read zero), so only
the module wrapper is needed. The parameter layout (``weight``, ``bias``, then ``conv_offset_mask``)
matches DCNv2's so FairMOT checkpoints load by name.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torchvision.ops import deform_conv2d


def _pair(v) -> tuple[int, int]:
    return (v, v) if isinstance(v, int) else tuple(v)


class DCN(nn.Module):
    """DCNv2 ``DCN``: a plain conv predicts offsets and masks, then a modulated deformable conv runs.

    ``conv_offset_mask`` starts at zero, so a fresh layer behaves as a regular conv scaled by 0.5
    (sigmoid(0)); this is DCNv2's initialisation, kept so training from scratch matches FairMOT.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size=3, stride=1, padding=1, dilation=1,
                 deformable_groups: int = 1):
        super().__init__()
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = _pair(kernel_size)
        self.stride = _pair(stride)
        self.padding = _pair(padding)
        self.dilation = _pair(dilation)
        self.deformable_groups = deformable_groups
        kh, kw = self.kernel_size
        # Registration order fixes the state_dict order: weight, bias, conv_offset_mask.* (as DCNv2).
        self.weight = nn.Parameter(torch.empty(out_channels, in_channels, kh, kw))
        self.bias = nn.Parameter(torch.empty(out_channels))
        self.conv_offset_mask = nn.Conv2d(in_channels, deformable_groups * 3 * kh * kw, self.kernel_size,
                                          stride=self.stride, padding=self.padding, dilation=self.dilation,
                                          bias=True)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        stdv = 1.0 / math.sqrt(self.in_channels * self.kernel_size[0] * self.kernel_size[1])
        nn.init.uniform_(self.weight, -stdv, stdv)
        nn.init.zeros_(self.bias)
        nn.init.zeros_(self.conv_offset_mask.weight)
        nn.init.zeros_(self.conv_offset_mask.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        o1, o2, m = torch.chunk(self.conv_offset_mask(x), 3, dim=1)
        offset = torch.cat((o1, o2), dim=1)
        mask = torch.sigmoid(m)
        return deform_conv2d(x, offset, self.weight, self.bias, stride=self.stride, padding=self.padding,
                             dilation=self.dilation, mask=mask)

    def extra_repr(self) -> str:
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}, "
                f"padding={self.padding}, dilation={self.dilation}, deformable_groups={self.deformable_groups}")
