"""PairDataset: two augmented frames of one sequence with their detection and identity targets."""

from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import Dataset

from .augment import AugmentConfig, augment_pair, to_tensor_layout
from .pairs import PairSpec
from .targets import encode_targets


class PairDataset(Dataset):
    """Items are indexed by :class:`PairSpec` (from :class:`~sotmot_ros.data.pairs.PairSampler`).

    An item is ``{"img_a", "img_b"}`` (3, H, W) float RGB in [0, 1] plus the targets of each frame with
    suffix ``_a``/``_b`` (``hm``, ``wh``, ``reg``, ``ind``, ``mask``, ``ids``, ``hm_ignore``). ``ind`` and
    ``ids`` are the centre indices and ground-truth track ids the SOT loss uses; the ids are the
    sequence's own track ids offset by ``seq * 1_000_000`` so that they never collide across sequences.
    The augmentation is seeded by the pair's seed, so an item is a pure function of its PairSpec; the
    ``"person"`` scale mode picks its person among the counted (non-ignore) boxes of frame A.
    """

    def __init__(
        self,
        sequences,
        input_width: int,
        input_height: int,
        augment: AugmentConfig | None = None,
        num_classes: int = 1,
        max_objs: int = 128,
        down_ratio: int = 4,
    ):
        self.sequences = list(sequences)
        self.net_w, self.net_h = input_width, input_height
        self.augment = augment or AugmentConfig()
        self.num_classes, self.max_objs, self.down_ratio = num_classes, max_objs, down_ratio

    def seq_frames(self) -> list[list[int]]:
        """Per sequence, the frames the pair sampler may use (those with at least one counted box)."""
        return [
            [f for f in seq.frames if (~seq.annotation(f).ignore).any()] for seq in self.sequences
        ]

    def __len__(self) -> int:  # the sampler decides what an epoch is; this is informative only
        return sum(len(f) for f in self.seq_frames())

    def __getitem__(self, spec: PairSpec) -> dict[str, torch.Tensor]:
        spec = PairSpec(*spec)
        seq = self.sequences[spec.seq]
        rng = np.random.default_rng(spec.seed)
        anns = [seq.annotation(spec.frame_a), seq.annotation(spec.frame_b)]
        images = [seq.image(spec.frame_a), seq.image(spec.frame_b)]
        imgs, boxes = augment_pair(
            images, [a.boxes for a in anns], rng, self.augment, self.net_w, self.net_h, counted=[~a.ignore for a in anns]
        )
        out_w, out_h = self.net_w // self.down_ratio, self.net_h // self.down_ratio
        item: dict[str, torch.Tensor] = {}
        for suffix, img, b, ann in zip(("a", "b"), imgs, boxes, anns):
            b = b / self.down_ratio
            keep = ~ann.ignore
            t = encode_targets(
                b[keep],
                np.zeros(int(keep.sum()), np.int64),
                ann.ids[keep] + spec.seq * 1_000_000,
                out_w,
                out_h,
                self.num_classes,
                self.max_objs,
                ignore_boxes_out=b[ann.ignore],
            )
            item[f"img_{suffix}"] = torch.from_numpy(to_tensor_layout(img))
            for key, value in t.items():
                item[f"{key}_{suffix}"] = torch.from_numpy(value)
        return item
