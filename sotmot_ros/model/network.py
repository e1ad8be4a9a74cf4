"""SOTMOTNet: backbone body + heads hm (centre heatmap), wh (ltrb size), reg (centre offset), id (SOT features)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .backbones import build_body
from .box_sot import BoxSOTHead
from .config import ModelConfig
from .heads import HEATMAP_PRIOR_BIAS, head_at, head_at_index, make_head

HEAD_NAMES = ("hm", "wh", "id", "reg")  # FairMOT's order (it fixes the state_dict order)
HEATMAP_OUTPUTS = ("hm", "body")  # what ``forward_heatmap`` returns


class SOTMOTNet(nn.Module):
    """The network. ``forward`` returns a dict of raw head maps at stride 4:

    - ``hm``  (B, C, h, w) heatmap logits (apply sigmoid for scores),
    - ``wh``  (B, 4, h, w) distances centre -> left, top, right, bottom, in output-grid cells,
    - ``id``  (B, D, h, w) SOT features (not normalised),
    - ``reg`` (B, 2, h, w) sub-cell offset of the centre (x, y).

    With ``config.sot_sampling == "box"`` the SOT head ``id`` reads the whole box (``BoxSOTHead``), so it has no
    dense map: ``forward`` returns the stride-4 ``body`` features instead of ``id``, and the features come from
    ``sot_at`` once the boxes are known. ``both`` has the centre head ``id`` and a box head ``id_box``; its feature
    is the two, each unit length, side by side.
    """

    def __init__(self, config: ModelConfig, pretrained_backbone: bool = False):
        super().__init__()
        self.config = config
        self.body = build_body(config.backbone, pretrained=pretrained_backbone)
        c = self.body.out_channels
        self.hm = make_head(c, config.num_classes, config.head_conv, HEATMAP_PRIOR_BIAS)
        self.wh = make_head(c, 4, config.head_conv)
        if config.sot_sampling == "box":
            self.id = BoxSOTHead(c, config.sot_dim, config.sot_grid, config.sot_hidden)
        else:
            self.id = make_head(c, config.sot_dim, config.head_conv)
        self.reg = make_head(c, 2, config.head_conv)
        if config.sot_sampling == "both":
            self.id_box = BoxSOTHead(c, config.sot_dim, config.sot_grid, config.sot_hidden)

    @property
    def samples_boxes(self) -> bool:
        """Whether the SOT feature needs the object's box (``sot_sampling: box`` or ``both``), not only its centre."""
        return self.config.sot_sampling != "centre"

    def sot_heads(self) -> dict[str, str]:
        """The SOT heads by kind (``centre`` / ``box``) -> their parameter-name prefix."""
        return {"centre": "id.", "box": "id_box."} if self.config.sot_sampling == "both" else {
            self.config.sot_sampling: "id."}

    def forward(self, x: torch.Tensor, centres: torch.Tensor | None = None,
                boxes: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """Every head map; with ``centres`` (B, K) flat cell indices (the training targets'), ``wh``, ``reg`` and
        ``id`` are computed only at those cells, (B, K, C) instead of maps: the losses read them nowhere else, and
        a training step on a CPU takes ~20 % less time. ``hm`` is always the dense map. A box-sampling SOT head
        also needs the targets' ``boxes`` (B, K, 4), ltrb in grid cells (``decode.centre_boxes``)."""
        feat = self.body(x)
        if centres is None:
            out = {name: getattr(self, name)(feat) for name in HEAD_NAMES if name != "id" or not self.samples_boxes}
            if self.samples_boxes:
                out["body"] = feat
            return out
        out = {name: head_at_index(getattr(self, name), feat, centres) for name in ("wh", "reg")}
        out["hm"] = self.hm(feat)
        out["id"] = self.sot_at_index(feat, centres, boxes)
        return {name: out[name] for name in HEAD_NAMES}

    def sot_at(self, body: torch.Tensor, cells: torch.Tensor, boxes: torch.Tensor | None = None) -> torch.Tensor:
        """SOT features (not normalised) of K objects of one image: body (C, h, w), their centre ``cells`` (K,)
        flat indices and, for a box-sampling head, their ``boxes`` (K, 4) ltrb in grid cells -> (K, D)."""
        if self.samples_boxes and boxes is None:
            raise ValueError(f"this model's SOT feature samples the box (sot_sampling: {self.config.sot_sampling}): "
                             "pass the boxes")
        if self.config.sot_sampling == "box":
            return self.id(body, boxes)
        w = body.shape[2]
        cells = cells.long()
        centre = head_at(self.id, body, cells // w, cells % w)
        if self.config.sot_sampling == "centre":
            return centre
        return torch.cat([F.normalize(centre, dim=-1), F.normalize(self.id_box(body, boxes), dim=-1)], dim=-1)

    def sot_at_index(self, feat: torch.Tensor, centres: torch.Tensor, boxes: torch.Tensor | None = None) -> torch.Tensor:
        """``sot_at`` for a batch: (B, C, h, w), centres (B, K), boxes (B, K, 4) or None -> (B, K, D)."""
        if not self.samples_boxes:
            return head_at_index(self.id, feat, centres)
        return torch.stack([self.sot_at(feat[i], centres[i], None if boxes is None else boxes[i])
                            for i in range(feat.shape[0])])

    def forward_heatmap(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """What the detector runs: the heatmap logits ``hm`` and the stride-4 ``body`` features (B, C, h, w) they
        come from. The other heads are needed only at the heatmap's peaks, where ``decode_outputs`` computes
        them from ``body`` (``heads.head_at``) instead of over every cell."""
        feat = self.body(x)
        return {"hm": self.hm(feat), "body": feat}


def build_model(config: ModelConfig | None = None, pretrained_backbone: bool = False) -> SOTMOTNet:
    return SOTMOTNet(config or ModelConfig(), pretrained_backbone=pretrained_backbone)
