"""SOTMOTNet: backbone body + heads hm (centre heatmap), wh (ltrb size), reg (centre offset), id (SOT features)."""

from __future__ import annotations

import torch
from torch import nn

from .backbones import build_body
from .config import ModelConfig
from .heads import HEATMAP_PRIOR_BIAS, head_at_index, make_head

HEAD_NAMES = ("hm", "wh", "id", "reg")  # FairMOT's order (it fixes the state_dict order)
HEATMAP_OUTPUTS = ("hm", "body")  # what ``forward_heatmap`` returns


class SOTMOTNet(nn.Module):
    """The network. ``forward`` returns a dict of raw head maps at stride 4:

    - ``hm``  (B, C, h, w) heatmap logits (apply sigmoid for scores),
    - ``wh``  (B, 4, h, w) distances centre -> left, top, right, bottom, in output-grid cells,
    - ``id``  (B, D, h, w) SOT features (not normalised),
    - ``reg`` (B, 2, h, w) sub-cell offset of the centre (x, y).
    """

    def __init__(self, config: ModelConfig, pretrained_backbone: bool = False):
        super().__init__()
        self.config = config
        self.body = build_body(config.backbone, pretrained=pretrained_backbone)
        c = self.body.out_channels
        self.hm = make_head(c, config.num_classes, config.head_conv, HEATMAP_PRIOR_BIAS)
        self.wh = make_head(c, 4, config.head_conv)
        self.id = make_head(c, config.sot_dim, config.head_conv)
        self.reg = make_head(c, 2, config.head_conv)

    def forward(self, x: torch.Tensor, centres: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """Every head map; with ``centres`` (B, K) flat cell indices (the training targets'), ``wh``, ``reg`` and
        ``id`` are computed only at those cells, (B, K, C) instead of maps: the losses read them nowhere else, and
        a training step on a CPU takes ~20 % less time. ``hm`` is always the dense map."""
        feat = self.body(x)
        if centres is None:
            return {name: getattr(self, name)(feat) for name in HEAD_NAMES}
        return {name: self.hm(feat) if name == "hm" else head_at_index(getattr(self, name), feat, centres)
                for name in HEAD_NAMES}

    def forward_heatmap(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """What the detector runs: the heatmap logits ``hm`` and the stride-4 ``body`` features (B, C, h, w) they
        come from. The other heads are needed only at the heatmap's peaks, where ``decode_outputs`` computes
        them from ``body`` (``heads.head_at``) instead of over every cell."""
        feat = self.body(x)
        return {"hm": self.hm(feat), "body": feat}


def build_model(config: ModelConfig | None = None, pretrained_backbone: bool = False) -> SOTMOTNet:
    return SOTMOTNet(config or ModelConfig(), pretrained_backbone=pretrained_backbone)
