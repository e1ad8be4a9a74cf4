"""DLA-34 with the deformable IDA-up neck of CenterNet/FairMOT (``DLASeg`` without its heads).

Module names and registration order reproduce ``DLASeg``'s state_dict layout (``base.*``, ``dla_up.*``,
``ida_up.*``), so FairMOT/CenterNet weights load after only a prefix change (see ``fairmot.py``).
The ImageNet classifier ``base.fc`` is left out: ``forward`` never uses it.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from .dcn import DCN

BN_MOMENTUM = 0.1  # CenterNet's value; only matters in training


def _bn(channels: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(channels, momentum=BN_MOMENTUM)


class BasicBlock(nn.Module):
    """Two 3x3 conv-BN layers with a residual; the caller may supply the (projected) residual."""

    def __init__(self, inplanes: int, planes: int, stride: int = 1, dilation: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride=stride, padding=dilation, dilation=dilation, bias=False)
        self.bn1 = _bn(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=1, padding=dilation, dilation=dilation, bias=False)
        self.bn2 = _bn(planes)

    def forward(self, x: torch.Tensor, residual: torch.Tensor | None = None) -> torch.Tensor:
        if residual is None:
            residual = x
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + residual)


class Root(nn.Module):
    """Aggregation node: 1x1 conv over the concatenated children (first child first)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 1, residual: bool = False):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size, stride=1, padding=(kernel_size - 1) // 2,
                              bias=False)
        self.bn = _bn(out_channels)
        self.relu = nn.ReLU(inplace=True)
        self.residual = residual

    def forward(self, *children: torch.Tensor) -> torch.Tensor:
        x = self.bn(self.conv(torch.cat(children, 1)))
        if self.residual:
            x = x + children[0]
        return self.relu(x)


class Tree(nn.Module):
    """Hierarchical deep aggregation tree (DLA paper); ``level_root`` also feeds the downsampled input
    to the root, which is what makes the root widths 448/896/1280 in DLA-34."""

    def __init__(self, levels: int, in_channels: int, out_channels: int, stride: int = 1, level_root: bool = False,
                 root_dim: int = 0, root_kernel_size: int = 1, dilation: int = 1, root_residual: bool = False):
        super().__init__()
        if root_dim == 0:
            root_dim = 2 * out_channels
        if level_root:
            root_dim += in_channels
        if levels == 1:
            self.tree1 = BasicBlock(in_channels, out_channels, stride, dilation=dilation)
            self.tree2 = BasicBlock(out_channels, out_channels, 1, dilation=dilation)
            self.root = Root(root_dim, out_channels, root_kernel_size, root_residual)
        else:
            self.tree1 = Tree(levels - 1, in_channels, out_channels, stride, root_dim=0,
                              root_kernel_size=root_kernel_size, dilation=dilation, root_residual=root_residual)
            self.tree2 = Tree(levels - 1, out_channels, out_channels, root_dim=root_dim + out_channels,
                              root_kernel_size=root_kernel_size, dilation=dilation, root_residual=root_residual)
        self.level_root = level_root
        self.levels = levels
        self.downsample = nn.MaxPool2d(stride, stride=stride) if stride > 1 else None
        self.project = (nn.Sequential(nn.Conv2d(in_channels, out_channels, 1, stride=1, bias=False), _bn(out_channels))
                        if in_channels != out_channels else None)

    def forward(self, x: torch.Tensor, children: list[torch.Tensor] | None = None) -> torch.Tensor:
        children = [] if children is None else children
        bottom = self.downsample(x) if self.downsample is not None else x
        residual = self.project(bottom) if self.project is not None else bottom
        if self.level_root:
            children.append(bottom)
        if self.levels == 1:
            x1 = self.tree1(x, residual)
            x2 = self.tree2(x1)
            return self.root(x2, x1, *children)
        # A sub-tree recomputes its own residual, so none is passed down.
        x1 = self.tree1(x)
        children.append(x1)
        return self.tree2(x1, children=children)


class DLA34(nn.Module):
    """DLA-34 trunk; returns the six level outputs (strides 1, 2, 4, 8, 16, 32)."""

    levels = (1, 1, 1, 2, 2, 1)
    channels = (16, 32, 64, 128, 256, 512)

    def __init__(self):
        super().__init__()
        lv, ch = self.levels, self.channels
        self.base_layer = nn.Sequential(nn.Conv2d(3, ch[0], 7, stride=1, padding=3, bias=False), _bn(ch[0]),
                                        nn.ReLU(inplace=True))
        self.level0 = self._conv_level(ch[0], ch[0], lv[0])
        self.level1 = self._conv_level(ch[0], ch[1], lv[1], stride=2)
        self.level2 = Tree(lv[2], ch[1], ch[2], 2, level_root=False)
        self.level3 = Tree(lv[3], ch[2], ch[3], 2, level_root=True)
        self.level4 = Tree(lv[4], ch[3], ch[4], 2, level_root=True)
        self.level5 = Tree(lv[5], ch[4], ch[5], 2, level_root=True)

    @staticmethod
    def _conv_level(inplanes: int, planes: int, convs: int, stride: int = 1) -> nn.Sequential:
        modules: list[nn.Module] = []
        for i in range(convs):
            modules += [nn.Conv2d(inplanes, planes, 3, stride=stride if i == 0 else 1, padding=1, bias=False),
                        _bn(planes), nn.ReLU(inplace=True)]
            inplanes = planes
        return nn.Sequential(*modules)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        x = self.base_layer(x)
        out = []
        for i in range(6):
            x = getattr(self, f"level{i}")(x)
            out.append(x)
        return out


class DeformConv(nn.Module):
    """DCN -> BN -> ReLU. ``actf`` is registered before ``conv`` to match FairMOT's key order."""

    def __init__(self, chi: int, cho: int):
        super().__init__()
        self.actf = nn.Sequential(_bn(cho), nn.ReLU(inplace=True))
        self.conv = DCN(chi, cho, kernel_size=3, stride=1, padding=1, dilation=1, deformable_groups=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.actf(self.conv(x))


def fill_up_weights(up: nn.ConvTranspose2d) -> None:
    """Bilinear-upsampling kernel in every (depthwise) channel: the starting point CenterNet trains from."""
    w = up.weight.data
    k = w.size(2)
    f = math.ceil(k / 2)
    c = (2 * f - 1 - f % 2) / (2.0 * f)
    t = 1 - (torch.arange(k, dtype=torch.float64) / f - c).abs()
    w.copy_((t[:, None] * t[None, :]).to(w.dtype).expand_as(w))


class IDAUp(nn.Module):
    """Iterative deep aggregation: project each coarser level to ``o`` channels, upsample it to the
    previous level's resolution and merge it with that level (``node``), chaining towards the end."""

    def __init__(self, o: int, channels: list[int], up_f: list[int]):
        super().__init__()
        for i in range(1, len(channels)):
            f = int(up_f[i])
            proj = DeformConv(channels[i], o)
            up = nn.ConvTranspose2d(o, o, f * 2, stride=f, padding=f // 2, output_padding=0, groups=o, bias=False)
            fill_up_weights(up)
            node = DeformConv(o, o)
            setattr(self, f"proj_{i}", proj)
            setattr(self, f"up_{i}", up)
            setattr(self, f"node_{i}", node)

    def forward(self, layers: list[torch.Tensor], startp: int, endp: int) -> None:
        """Update ``layers[startp+1:endp]`` in place (as FairMOT does; callers read ``layers[endp-1]``)."""
        for i in range(startp + 1, endp):
            j = i - startp
            up = getattr(self, f"up_{j}")(getattr(self, f"proj_{j}")(layers[i]))
            layers[i] = getattr(self, f"node_{j}")(up + layers[i - 1])


class DLAUp(nn.Module):
    """Chain of IDAUp stages, coarse to fine; returns the finest-first list of aggregated maps."""

    def __init__(self, startp: int, channels: list[int], scales: list[int]):
        super().__init__()
        self.startp = startp
        channels = list(channels)
        in_channels = list(channels)
        scales = list(scales)
        for i in range(len(channels) - 1):
            j = -i - 2
            setattr(self, f"ida_{i}", IDAUp(channels[j], in_channels[j:], [s // scales[j] for s in scales[j:]]))
            # After stage i every level from j on has been brought to level j's width and resolution.
            n_after = len(channels) + j + 1
            scales[n_after:] = [scales[j]] * (len(scales) - n_after)
            in_channels[n_after:] = [channels[j]] * (len(in_channels) - n_after)

    def forward(self, layers: list[torch.Tensor]) -> list[torch.Tensor]:
        layers = list(layers)
        out = [layers[-1]]
        for i in range(len(layers) - self.startp - 1):
            getattr(self, f"ida_{i}")(layers, len(layers) - i - 2, len(layers))
            out.insert(0, layers[-1])
        return out


class DLA34Body(nn.Module):
    """FairMOT's ``DLASeg`` trunk for ``down_ratio=4``, ``last_level=5``: stride-4, 64-channel features.

    Input is RGB in [0, 1] fed as is: FairMOT trains and tracks on ``img / 255`` without mean/std
    normalisation, so applying one here would break its checkpoints.
    """

    out_channels = 64
    first_level = 2
    last_level = 5

    def __init__(self):
        super().__init__()
        self.base = DLA34()
        channels = list(self.base.channels)
        fl, ll = self.first_level, self.last_level
        scales = [2 ** i for i in range(len(channels[fl:]))]
        self.dla_up = DLAUp(fl, channels[fl:], scales)
        self.ida_up = IDAUp(channels[fl], channels[fl:ll], [2 ** i for i in range(ll - fl)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.dla_up(self.base(x))
        y = [x[i] for i in range(self.last_level - self.first_level)]
        self.ida_up(y, 0, len(y))
        return y[-1]
