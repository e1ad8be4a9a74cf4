"""YOLOX-Nano body: a COCO-trained person-aware encoder + FPN, ending in 64-channel stride-4 features.

Why: ImageNet features plus a few thousand pseudo-labelled frames teach the CPU model people of the scenes
it saw; a detector body trained on COCO (people in every setting, next to the bags, chairs and balls they
are confused with) starts from features that already separate people from clutter. YOLOX-Nano is the
CSPDarknet (depth 0.33, width 0.25, depthwise convs, SiLU) + PAFPN of the YOLOX paper (Ge et al. 2021,
Apache-2.0); its weights are converted once from an ONNX export by ``sotmot_ros.model.onnx_import``
(``sotmot init-from-onnx``), whose batch norms are already folded into the convs, hence conv + bias here.

The body keeps the YOLOX encoder and its whole PAFPN, whose three outputs (strides 8, 16, 32) are what
YOLOX's heads detect small, medium and large objects from, and merges them down to stride 4 as the Lite0
body does: 1x1 laterals on those three and on the stride-4 encoder stage, nearest upsampling + add, one
3x3 smoothing conv. (A first version used only the stride-8 output: after 870 training steps it still
found no person taller than ~250 px; YOLOX leaves large objects to its stride-32 level.)

Module execution order matches the YOLOX forward pass, so the converter can pair convs with the ONNX
graph's Conv nodes one by one (``encoder_convs`` lists them; the converter checks every pair).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .neck import top_down_merge


class BaseConv(nn.Module):
    """Conv (+ bias: batch norm folded in) -> SiLU."""

    def __init__(self, in_ch: int, out_ch: int, kernel: int, stride: int = 1, groups: int = 1):
        super().__init__()
        self.conv = nn.Conv2d(in_ch, out_ch, kernel, stride, padding=(kernel - 1) // 2, groups=groups, bias=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.silu(self.conv(x))


class DWConv(nn.Module):
    """Depthwise k x k conv + pointwise 1x1, each with SiLU."""

    def __init__(self, in_ch: int, out_ch: int, kernel: int, stride: int = 1):
        super().__init__()
        self.dconv = BaseConv(in_ch, in_ch, kernel, stride, groups=in_ch)
        self.pconv = BaseConv(in_ch, out_ch, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pconv(self.dconv(x))


class Bottleneck(nn.Module):
    def __init__(self, ch: int, shortcut: bool):
        super().__init__()
        self.conv1 = BaseConv(ch, ch, 1)
        self.conv2 = DWConv(ch, ch, 3)
        self.shortcut = shortcut

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv2(self.conv1(x))
        return x + y if self.shortcut else y


class CSPLayer(nn.Module):
    """Cross-stage partial block: half the channels through ``n`` bottlenecks, half straight, then a 1x1."""

    def __init__(self, in_ch: int, out_ch: int, n: int, shortcut: bool = True):
        super().__init__()
        hidden = out_ch // 2
        self.conv1 = BaseConv(in_ch, hidden, 1)
        self.conv2 = BaseConv(in_ch, hidden, 1)
        self.m = nn.Sequential(*(Bottleneck(hidden, shortcut) for _ in range(n)))
        self.conv3 = BaseConv(2 * hidden, out_ch, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a = self.conv1(x)
        b = self.conv2(x)
        return self.conv3(torch.cat([self.m(a), b], 1))


class SPPBottleneck(nn.Module):
    def __init__(self, in_ch: int, out_ch: int, kernels=(5, 9, 13)):
        super().__init__()
        hidden = in_ch // 2
        self.conv1 = BaseConv(in_ch, hidden, 1)
        self.kernels = tuple(kernels)
        self.conv2 = BaseConv(hidden * (len(kernels) + 1), out_ch, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv1(x)
        pools = [F.max_pool2d(x, k, stride=1, padding=k // 2) for k in self.kernels]
        return self.conv2(torch.cat([x] + pools, 1))


def space_to_depth(x: torch.Tensor) -> torch.Tensor:
    """YOLOX's Focus slicing: (B, C, H, W) -> (B, 4C, H/2, W/2) in the order top-left, bottom-left,
    top-right, bottom-right."""
    return torch.cat([x[..., ::2, ::2], x[..., 1::2, ::2], x[..., ::2, 1::2], x[..., 1::2, 1::2]], 1)


class YoloxNanoEncoder(nn.Module):
    """CSPDarknet-nano + PAFPN."""

    def __init__(self):
        super().__init__()
        self.stem = BaseConv(12, 16, 3)
        self.dark2 = nn.Sequential(DWConv(16, 32, 3, 2), CSPLayer(32, 32, 1))
        self.dark3 = nn.Sequential(DWConv(32, 64, 3, 2), CSPLayer(64, 64, 3))
        self.dark4 = nn.Sequential(DWConv(64, 128, 3, 2), CSPLayer(128, 128, 3))
        self.dark5 = nn.Sequential(DWConv(128, 256, 3, 2), SPPBottleneck(256, 256), CSPLayer(256, 256, 1, False))
        self.lateral_conv0 = BaseConv(256, 128, 1)
        self.c3_p4 = CSPLayer(256, 128, 1, False)
        self.reduce_conv1 = BaseConv(128, 64, 1)
        self.c3_p3 = CSPLayer(128, 64, 1, False)
        self.bu_conv2 = DWConv(64, 64, 3, 2)
        self.c3_n3 = CSPLayer(128, 128, 1, False)
        self.bu_conv1 = DWConv(128, 128, 3, 2)
        self.c3_n4 = CSPLayer(256, 256, 1, False)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """``x``: BGR in [0, 255] (the YOLOX input convention), H and W multiples of 32. Returns the
        stride-4 encoder stage and the PAFPN outputs at strides 8, 16 and 32 (32, 64, 128, 256 channels)."""
        c2 = self.dark2(self.stem(space_to_depth(x)))
        c3 = self.dark3(c2)
        c4 = self.dark4(c3)
        c5 = self.dark5(c4)
        p5 = self.lateral_conv0(c5)
        p4 = self.c3_p4(torch.cat([F.interpolate(p5, scale_factor=2.0, mode="nearest"), c4], 1))
        p4 = self.reduce_conv1(p4)
        s8 = self.c3_p3(torch.cat([F.interpolate(p4, scale_factor=2.0, mode="nearest"), c3], 1))
        s16 = self.c3_n3(torch.cat([self.bu_conv2(s8), p4], 1))
        s32 = self.c3_n4(torch.cat([self.bu_conv1(s16), p5], 1))
        return c2, s8, s16, s32


def encoder_convs(encoder: YoloxNanoEncoder, image_size: tuple[int, int] = (64, 64)) -> list[nn.Conv2d]:
    """The encoder's convs in execution order (what the ONNX graph lists), found by a traced forward."""
    order: list[nn.Conv2d] = []
    hooks = [m.register_forward_hook(lambda mod, _i, _o: order.append(mod))
             for m in encoder.modules() if isinstance(m, nn.Conv2d)]
    try:
        with torch.no_grad():
            encoder(torch.zeros(1, 3, image_size[1], image_size[0]))
    finally:
        for h in hooks:
            h.remove()
    return order


LEVEL_CHANNELS = (32, 64, 128, 256)  # encoder outputs at strides 4, 8, 16, 32


class YoloxNanoBody(nn.Module):
    """RGB in [0, 1] (B, 3, H, W) -> (B, 64, H/4, W/4)."""

    out_channels = 64

    def __init__(self):
        super().__init__()
        self.encoder = YoloxNanoEncoder()
        c = self.out_channels
        self.laterals = nn.ModuleList(BaseConv(ch, c, 1) for ch in LEVEL_CHANNELS)
        self.smooth = BaseConv(c, c, 3)
        for m in [lat.conv for lat in self.laterals] + [self.smooth.conv]:
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x[:, [2, 1, 0]] * 255.0  # RGB [0, 1] -> BGR [0, 255], what the COCO weights were trained on
        return self.smooth(top_down_merge(self.laterals, self.encoder(x)))
