"""DDP set-up under torchrun: process group from the environment, rank-0-only side effects.

torchrun sets RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR and MASTER_PORT; without them the run is a
single process and nothing is initialised (every helper here is then a no-op). gloo on CPU, nccl on
CUDA (one process per GPU, ``LOCAL_RANK`` picks the GPU).

What DDP does and does not make equal across ranks (see test/test_distributed.py):

- parameters (model and loss weights) are identical on every rank after every step: DDP averages the
  model's gradients, :func:`all_reduce_grads_mean` averages those of the parameters outside DDP;
- BatchNorm normalises with each rank's own batch statistics (plain BN, not SyncBatchNorm, which
  has no CPU/gloo implementation), and the running statistics are rank 0's: DDP broadcasts rank 0's
  buffers at every forward, and :func:`broadcast_buffers` does it before validation and at the end;
- the losses are normalised per rank batch (focal loss by the rank's number of centres, the SOT loss by
  its targets), so a DDP step over R ranks x B pairs is the mean of R per-shard gradients, not the
  gradient of one R*B batch: equal to single-process gradient accumulation over the same shards.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass
class DistInfo:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    backend: str = ""

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def setup(device_type: str) -> DistInfo:
    """Initialise the process group when launched by torchrun (WORLD_SIZE > 1)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistInfo()
    if "RANK" not in os.environ or "MASTER_ADDR" not in os.environ:
        raise RuntimeError("WORLD_SIZE > 1 but RANK/MASTER_ADDR are not set: launch multi-process training with torchrun")
    info = DistInfo(int(os.environ["RANK"]), world, int(os.environ.get("LOCAL_RANK", "0")))
    info.backend = "nccl" if device_type == "cuda" else "gloo"
    if device_type == "cuda":
        if info.local_rank >= torch.cuda.device_count():
            raise RuntimeError(
                f"LOCAL_RANK {info.local_rank} but only {torch.cuda.device_count()} CUDA device(s): "
                "use --nproc_per_node <= the number of GPUs (or device=cpu for gloo)"
            )
        torch.cuda.set_device(info.local_rank)
    if not dist.is_initialized():
        dist.init_process_group(backend=info.backend)
    else:
        info.backend = dist.get_backend()
    return info


def cleanup() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def log(info: DistInfo, message: str) -> None:
    """One line on stderr tagged with the rank (every rank prints: used to show that all of them run)."""
    print(f"[rank {info.rank}/{info.world_size}] {message}", file=sys.stderr, flush=True)


def barrier(info: DistInfo) -> None:
    if info.enabled:
        dist.barrier()


def all_reduce_mean(values: dict[str, float], info: DistInfo, device) -> dict[str, float]:
    """Average scalar logs over ranks (so rank 0 logs the global means); for equal per-rank counts."""
    if not info.enabled or not values:
        return values
    keys = sorted(values)
    t = torch.tensor([float(values[k]) for k in keys], dtype=torch.float64, device=device)
    dist.all_reduce(t)
    t /= info.world_size
    return dict(zip(keys, t.tolist()))


def all_reduce_weighted_mean(sums: dict[str, float], count: float, info: DistInfo, device) -> dict[str, float]:
    """Global means from per-rank sums and counts (ranks may hold different counts, even 0); NaN if none."""
    keys = sorted(sums)
    t = torch.tensor([float(sums[k]) for k in keys] + [float(count)], dtype=torch.float64, device=device)
    if info.enabled:
        dist.all_reduce(t)
    total = float(t[-1])
    return {k: (float(v) / total if total > 0 else float("nan")) for k, v in zip(keys, t[:-1].tolist())}


def all_reduce_grads_mean(params, info: DistInfo) -> None:
    """Average the gradients of parameters that DDP does not manage (one collective for all of them)."""
    if not info.enabled:
        return
    grads = [p.grad for p in params if p.grad is not None]
    if not grads:
        return
    flat = torch.cat([g.reshape(-1) for g in grads])
    dist.all_reduce(flat)
    flat /= info.world_size
    offset = 0
    for g in grads:
        n = g.numel()
        g.copy_(flat[offset : offset + n].view_as(g))
        offset += n


def broadcast_buffers(module: torch.nn.Module, info: DistInfo) -> None:
    """Rank 0's buffers (BatchNorm running statistics) to every rank, so all ranks hold the saved model."""
    if not info.enabled:
        return
    for b in module.buffers():
        dist.broadcast(b.data, src=0)


def tensors_in_sync(tensors, info: DistInfo, device) -> bool:
    """True when every rank holds the same tensors as rank 0 (per-tensor float64 sum and sum of squares,
    compared exactly: bitwise equal tensors give equal checksums). Always True for a single process."""
    if not info.enabled:
        return True
    rows = []
    for t in tensors:
        d = t.detach().to(torch.float64)
        rows.append(torch.stack([d.sum(), (d * d).sum()]))
    local = torch.stack(rows).reshape(-1).to(device) if rows else torch.zeros(1, dtype=torch.float64, device=device)
    ref = local.clone()
    dist.broadcast(ref, src=0)
    diff = torch.tensor([0.0 if torch.equal(local, ref) else 1.0], device=device)
    dist.all_reduce(diff)
    return bool(diff.item() == 0)


def broadcast_flag(flag: bool, info: DistInfo, device) -> bool:
    """Rank 0's decision for everyone (e.g. the time budget ran out), so all ranks stop together."""
    if not info.enabled:
        return flag
    t = torch.tensor([1.0 if flag else 0.0], device=device)
    dist.broadcast(t, src=0)
    return bool(t.item() > 0)
