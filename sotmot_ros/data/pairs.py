"""Pair sampling: two frames of one sequence a random gap apart, reproducible from (seed, epoch).

Each pair carries its own augmentation seed, so an item's content depends only on the pair list and
not on worker processes or on how far an interrupted run had got: this is what makes resume exact.
"""

from __future__ import annotations

from typing import NamedTuple, Sequence

import numpy as np
from torch.utils.data import Sampler


class PairSpec(NamedTuple):
    """One training pair: sequence index, frames a < b (1-based) and the augmentation seed."""

    seq: int
    frame_a: int
    frame_b: int
    seed: int


def sample_pairs(
    seq_frames: list[list[int]],
    min_gap: int,
    max_gap: int,
    seed: int,
    epoch: int = 0,
    shuffle: bool = True,
    max_per_sequence: int = 0,
    pairs_per_sequence: Sequence[int] | None = None,
) -> list[PairSpec]:
    """One pair per usable anchor frame of every sequence, with a gap drawn uniformly in [min_gap, max_gap].

    ``seq_frames[s]`` lists the frames of sequence ``s`` that may be used (sorted or not). Partners are
    drawn only among those frames and never from another sequence. ``max_per_sequence`` = K > 0 caps each
    sequence at K pairs: their anchors are drawn without replacement among the sequence's usable anchors
    (those with a partner in the gap range) by the (seed, epoch) generator, so long clips do not dominate
    an epoch and successive epochs use different frames. 0 (no cap) draws exactly as before the cap existed.
    ``pairs_per_sequence[s]`` = N > 0 gives sequence ``s`` exactly N pairs instead (0 = the cap above): more
    than its usable anchors uses each anchor once and draws the rest again with replacement, so one scene
    (real annotations among pseudo-labelled clips) can be weighted up without copying it in the config.
    """
    if min_gap < 1 or max_gap < min_gap:
        raise ValueError(f"need 1 <= min_gap <= max_gap, got {min_gap}, {max_gap}")
    if max_per_sequence < 0:
        raise ValueError(f"max_per_sequence must be >= 0, got {max_per_sequence}")
    exact = [0] * len(seq_frames) if pairs_per_sequence is None else [int(n) for n in pairs_per_sequence]
    if len(exact) != len(seq_frames) or any(n < 0 for n in exact):
        raise ValueError(f"pairs_per_sequence needs one count >= 0 per sequence, got {pairs_per_sequence}")
    rng = np.random.default_rng([seed, epoch])
    pairs: list[PairSpec] = []
    for s, frames in enumerate(seq_frames):
        frames = np.asarray(sorted(frames), dtype=np.int64)
        # partners of anchor i: frames[lo[i]:hi[i]] (frames are sorted, so the gap window is contiguous)
        lo = np.searchsorted(frames, frames + min_gap, side="left")
        hi = np.searchsorted(frames, frames + max_gap, side="right")
        anchors = np.arange(len(frames))
        if exact[s]:
            anchors = anchors[hi > lo]
            if len(anchors):
                repeats = np.full(len(anchors), exact[s] // len(anchors))
                repeats[rng.choice(len(anchors), size=exact[s] % len(anchors), replace=False)] += 1
                anchors = np.repeat(anchors, repeats)
        elif max_per_sequence:
            anchors = anchors[hi > lo]
            if len(anchors) > max_per_sequence:
                anchors = np.sort(rng.choice(anchors, size=max_per_sequence, replace=False))
        for i in anchors:
            a, ok = frames[i], frames[lo[i] : hi[i]]
            if len(ok) == 0:
                continue
            b = int(ok[rng.integers(len(ok))])
            pairs.append(PairSpec(s, int(a), b, int(rng.integers(2**31 - 1))))
    if shuffle:
        order = rng.permutation(len(pairs))
        pairs = [pairs[i] for i in order]
    return pairs


class PairSampler(Sampler):
    """Yields the :class:`PairSpec` items of one epoch, sharded over ``world_size`` ranks.

    The list is truncated to a multiple of ``world_size * batch_size`` so that all ranks run the same
    number of full batches (DDP needs equal step counts). ``start_batch`` skips batches already done
    (resume in the middle of an epoch); ``max_pairs`` caps the epoch length, ``max_pairs_per_sequence``
    the pairs each sequence contributes and ``pairs_per_sequence`` sets some exactly (see :func:`sample_pairs`).
    """

    def __init__(
        self,
        seq_frames: list[list[int]],
        min_gap: int,
        max_gap: int,
        seed: int,
        batch_size: int,
        rank: int = 0,
        world_size: int = 1,
        shuffle: bool = True,
        max_pairs: int = 0,
        drop_last: bool = True,
        max_pairs_per_sequence: int = 0,
        pairs_per_sequence: Sequence[int] | None = None,
    ):
        self.seq_frames = seq_frames
        self.min_gap, self.max_gap = min_gap, max_gap
        self.seed, self.batch_size = seed, batch_size
        self.rank, self.world_size = rank, world_size
        self.shuffle, self.max_pairs, self.drop_last = shuffle, max_pairs, drop_last
        self.max_pairs_per_sequence = max_pairs_per_sequence
        self.pairs_per_sequence = pairs_per_sequence
        self.epoch = 0
        self.start_batch = 0

    def set_epoch(self, epoch: int, start_batch: int = 0) -> None:
        self.epoch, self.start_batch = epoch, start_batch

    def epoch_pairs(self) -> list[PairSpec]:
        """This rank's pairs of the current epoch (before skipping ``start_batch``)."""
        pairs = sample_pairs(
            self.seq_frames, self.min_gap, self.max_gap, self.seed, self.epoch, self.shuffle, self.max_pairs_per_sequence,
            self.pairs_per_sequence,
        )
        if self.max_pairs:
            pairs = pairs[: self.max_pairs]
        chunk = self.world_size * (self.batch_size if self.drop_last else 1)
        pairs = pairs[: len(pairs) // chunk * chunk]
        return pairs[self.rank :: self.world_size]

    def batches_per_epoch(self) -> int:
        n = len(self.epoch_pairs())
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def __iter__(self):
        return iter(self.epoch_pairs()[self.start_batch * self.batch_size :])

    def __len__(self) -> int:
        return max(0, len(self.epoch_pairs()) - self.start_batch * self.batch_size)
