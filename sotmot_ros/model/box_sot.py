"""An SOT head that reads the whole box instead of its centre cell (``ModelConfig.sot_sampling = "box"``).

The paper's SOT feature is a head's output at the object's centre pixel (``sot_sampling = "centre"``, a 3x3 conv
there). A person's centre cell sees mostly the torso; people in the same clothes look alike there, and after an
occlusion the centre may sit on the occluder. This head samples the stride-4 body map bilinearly at a ``grid`` x
``grid`` lattice spread over the box (the targets' boxes in training, the kept detections' boxes at decoding) and
maps the samples through a small MLP to the SOT feature. The ridge models and the tracker use it as they use the
centre feature. Session 22's exploration and the fifteenth addendum of the model card measure it.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class BoxSOTHead(nn.Module):
    """(C, h, w) body map + (K, 4) boxes in output-grid cells (ltrb) -> (K, out_channels) SOT features.

    Box coordinates are continuous grid units: cell ``i`` covers [i, i + 1), as the decoder's and the training
    targets' boxes (``decode.centre_boxes``). Sample points are the centres of a ``grid`` x ``grid`` split of the
    box; points outside the map read zeros (the border padding of a conv).
    """

    def __init__(self, in_channels: int, out_channels: int, grid: int = 3, hidden: int = 256):
        super().__init__()
        self.grid = grid
        self.out_channels = out_channels
        self.mlp = nn.Sequential(
            nn.Linear(in_channels * grid * grid, hidden), nn.ReLU(inplace=True), nn.Linear(hidden, out_channels)
        )

    def sample_points(self, boxes: torch.Tensor) -> torch.Tensor:
        """(K, 4) ltrb boxes -> (K, grid * grid, 2) sample points (x, y) in grid units, row-major."""
        g = self.grid
        t = (torch.arange(g, device=boxes.device, dtype=boxes.dtype) + 0.5) / g
        xs = boxes[:, 0:1] + t[None] * (boxes[:, 2:3] - boxes[:, 0:1])  # (K, g)
        ys = boxes[:, 1:2] + t[None] * (boxes[:, 3:4] - boxes[:, 1:2])
        return torch.stack([xs[:, None, :].expand(-1, g, -1), ys[:, :, None].expand(-1, -1, g)], -1).reshape(-1, g * g, 2)

    def samples(self, body: torch.Tensor, boxes: torch.Tensor) -> torch.Tensor:
        """The MLP's input: (K, C * grid * grid), channel-major (all points of channel 0 first)."""
        c, h, w = body.shape
        pts = self.sample_points(boxes.float())  # float32 coordinates, also for a half-precision body
        scale = torch.tensor([2.0 / w, 2.0 / h], device=body.device)
        # (1, K, g*g, 2), align_corners=False: -1 is the left edge of cell 0
        grid = (pts * scale - 1.0).to(body.dtype).unsqueeze(0)
        s = F.grid_sample(body.unsqueeze(0), grid, mode="bilinear", padding_mode="zeros", align_corners=False)
        return s[0].permute(1, 0, 2).reshape(len(boxes), -1)  # (C, K, g*g) -> (K, C * g*g)

    def forward(self, body: torch.Tensor, boxes: torch.Tensor) -> torch.Tensor:
        if len(boxes) == 0:
            return body.new_zeros(0, self.out_channels)
        return self.mlp(self.samples(body, boxes))
