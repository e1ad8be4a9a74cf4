"""The training loop: pairs -> augmented frames -> targets -> SOTMOT losses -> Adam, with exact resume.

Outputs in ``out_dir``: ``last.pth`` (training state for ``--resume``: model, loss weights, optimiser,
scheduler, AMP scaler, weight average, epoch/batch/step counters, RNG states), ``model_epoch{E}.pt`` and
``model_last.pt`` (deployable model files, ``sotmot_ros.model.checkpoint`` format; with ``ema_decay`` > 0
they hold the exponential moving average of the weights, not the last step's), ``train_log.csv``
(one row per ``log_every`` steps), ``epoch_log.csv`` (train/val means per epoch), ``tb/`` (TensorBoard)
and ``config.yaml``.

Exact resume on CPU: an item is a pure function of its PairSpec (seeded per pair), the pair list of an
epoch is a pure function of (seed, epoch), and the state saved after step k holds everything that
step k+1 reads, so stopping after k steps and resuming gives the same weights as an uninterrupted run.

DDP (``torchrun --nproc_per_node=N -m sotmot_ros.cli train ...``): each rank takes every N-th pair of
the epoch's list (``batch_size`` pairs per rank and step), gradients are averaged over ranks, and only
rank 0 writes files. Resume needs the same number of ranks. See ``distributed.py`` for what DDP makes
equal across ranks and what it does not (BatchNorm batch statistics, per-rank loss normalisation).
"""

from __future__ import annotations

import csv
import dataclasses
import logging
import math
import os
import random
import time

import numpy as np
import torch
import yaml
from torch.optim.swa_utils import AveragedModel
from torch.utils.data import DataLoader
from tqdm import tqdm

from ..data.dataset import PairDataset
from ..data.mot import MOTSequence
from ..data.pairs import PairSampler
from ..decode import centre_boxes
from ..model.checkpoint import atomic_save, load_state_dict_strict
from ..model.network import SOTMOTNet
from . import distributed
from .config import TrainConfig, resolve_path
from .losses import SOTMOTLoss

log = logging.getLogger("sotmot.train")

LOSS_KEYS = ("loss", "det", "hm", "wh", "off", "sot")


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def rng_state() -> dict:
    state = {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_model_file(path: str, model: SOTMOTNet, meta: dict) -> None:
    """Deployable model file in the project format (``sotmot_ros.model.checkpoint.save_model``)."""
    from ..model.checkpoint import save_model

    save_model(path, model, meta=meta)


EMA_WARMUP = (1.0, 10.0)  # the weight average's decay after n updates is at most (1 + n) / (10 + n)


def ema_warmup_decay(n: float) -> float:
    """The warm-up's cap on the weight average's decay after ``n`` updates (``EMA_WARMUP``)."""
    a, b = EMA_WARMUP
    return (a + n) / (b + n)


def ema_update_fn(decay: float):
    """The weight average of ``AveragedModel``: an exponential moving average whose decay starts low,
    ``min(decay, ema_warmup_decay(n))`` after n updates, so the average follows the early steps and then
    settles to ~1 / (1 - decay) steps. Integer buffers (BatchNorm step counters) take the current value."""

    @torch.no_grad()
    def update(averaged: list, current: list, num_averaged: torch.Tensor) -> None:
        d = min(decay, ema_warmup_decay(float(num_averaged)))
        floats = [(a, c) for a, c in zip(averaged, current) if torch.is_floating_point(a)]
        if floats:
            torch._foreach_lerp_([a for a, _ in floats], [c for _, c in floats], 1.0 - d)
        for a, c in zip(averaged, current):
            if not torch.is_floating_point(a):
                a.copy_(c)

    return update


def ema_settling_updates(decay: float) -> int:
    """Updates after which ``ema_warmup_decay`` reaches ``decay`` (its inverse): before that the configured decay
    does not bind (0.998: 4490 updates), so a shorter run's average is the warm-up's whatever ``ema_decay`` says."""
    a, b = EMA_WARMUP
    return max(0, math.ceil((b * decay - a) / (1.0 - decay) - 1e-9))


def build_sequences(entries: list[dict], cache: str) -> list[MOTSequence]:
    seqs = []
    for e in entries:
        frames = e.get("frames")
        seqs.append(
            MOTSequence(
                resolve_path(e["source"]),
                gt=resolve_path(e.get("gt")),
                frame_range=tuple(frames) if frames else None,
                fmt=e.get("format", "mot17"),
                seqinfo=resolve_path(e.get("seqinfo")),
                cache=cache,
                min_visibility=float(e.get("min_visibility", 0.0)),
            )
        )
    return seqs


def freeze_parameters(model: torch.nn.Module, prefixes: list[str]) -> None:
    """Stop training every parameter whose name starts with one of ``prefixes`` (a whole dotted component:
    ``body.encoder`` freezes ``body.encoder.stem.conv.weight``, not ``body.encoder2.*``); a prefix that names
    nothing is an error (a typo must not train everything)."""
    for prefix in prefixes:
        hits = [p for name, p in model.named_parameters() if name == prefix or name.startswith(prefix + ".")]
        if not hits:
            tops = sorted({name.split(".")[0] for name, _ in model.named_parameters()})
            raise ValueError(f"freeze: {prefix!r} names no parameter of this model (its modules: {', '.join(tops)}, "
                             "e.g. body.encoder)")
        for p in hits:
            p.requires_grad_(False)


def lr_factor(cfg: TrainConfig, step: int, iters_per_epoch: int) -> float:
    """LR multiplier at an iteration: linear warm-up, then step decay at epochs or cosine to 0."""
    warm = 1.0
    if cfg.warmup_iters and step < cfg.warmup_iters:
        warm = (step + 1) / cfg.warmup_iters
    if cfg.lr_schedule == "cosine":
        total = max(1, cfg.epochs * iters_per_epoch)
        return warm * 0.5 * (1.0 + math.cos(math.pi * min(step, total) / total))
    epoch = step // max(1, iters_per_epoch)
    return warm * cfg.lr_gamma ** sum(1 for e in cfg.lr_steps if epoch >= e)


def split_batch(batch: dict, device) -> tuple[torch.Tensor, dict, dict]:
    imgs = torch.cat([batch["img_a"], batch["img_b"]]).to(device, non_blocking=True)
    t_a = {k[:-2]: v.to(device) for k, v in batch.items() if k.endswith("_a") and k != "img_a"}
    t_b = {k[:-2]: v.to(device) for k, v in batch.items() if k.endswith("_b") and k != "img_b"}
    return imgs, t_a, t_b


def at_targets(imgs: torch.Tensor, t_a: dict, t_b: dict, down_ratio: int) -> dict[str, torch.Tensor]:
    """The network's keyword arguments that compute its box, offset and SOT heads only at the pair's targets:
    ``centres`` (2B, K) flat cells and ``boxes`` (2B, K, 4) in grid cells (read by a box-sampling SOT head)."""
    width = imgs.shape[3] // down_ratio
    ind = torch.cat([t_a["ind"], t_b["ind"]])
    boxes = centre_boxes(ind, width, torch.cat([t_a["reg"], t_b["reg"]]), torch.cat([t_a["wh"], t_b["wh"]]))
    return {"centres": ind, "boxes": boxes}


def load_init_weights(model: SOTMOTNet, init: SOTMOTNet, source: str) -> list[str]:
    """``init_model``'s weights, strictly, into ``model``. The SOT heads go by kind (``SOTMOTNet.sot_heads``): a
    head of a kind the file has is loaded from it, a head of a kind it lacks (``sot_sampling`` centre vs box vs
    both) starts fresh; returns the names of the parameters that started fresh."""
    own, theirs = model.state_dict(), init.state_dict()
    own_heads, their_heads = model.sot_heads(), init.sot_heads()
    state = {k: v for k, v in theirs.items() if not any(k.startswith(p) for p in their_heads.values())}
    fresh = []
    for kind, prefix in own_heads.items():
        keys = [k for k in own if k.startswith(prefix)]
        if kind in their_heads:
            state.update({k: theirs[their_heads[kind] + k[len(prefix):]] for k in keys
                          if their_heads[kind] + k[len(prefix):] in theirs})
        else:
            fresh += keys
            state.update({k: own[k] for k in keys})
    load_state_dict_strict(model, state, source)
    return fresh


class Trainer:
    """One training run. ``train()`` runs until ``epochs`` or the time budget, saving every epoch."""

    def __init__(self, cfg: TrainConfig, out_dir: str | None = None, resume: bool = False, show_progress: bool = True):
        if out_dir:  # the run's own config.yaml and model files must name the folder it really wrote
            cfg = dataclasses.replace(cfg, out_dir=out_dir)
        self.cfg = cfg
        self.out_dir = resolve_path(cfg.out_dir)
        self.show_progress = show_progress
        if cfg.device == "auto":
            self.device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
        else:
            self.device = torch.device(cfg.device)
        self.dist = distributed.setup(self.device.type)
        if self.device.type == "cuda" and self.dist.enabled:
            self.device = torch.device("cuda", self.dist.local_rank)
        if cfg.num_threads > 0:
            torch.set_num_threads(cfg.num_threads)
        self.use_amp = bool(cfg.amp and self.device.type == "cuda")
        seed_everything(cfg.seed)

        if not cfg.train_sequences:
            raise ValueError("train_sequences is empty")
        aug = cfg.augment_config()
        common = dict(num_classes=cfg.num_classes, max_objs=cfg.max_objs)
        self.train_set = PairDataset(
            build_sequences(cfg.train_sequences, cfg.frame_cache), cfg.input_width, cfg.input_height, aug, **common
        )
        self.val_set = (
            PairDataset(build_sequences(cfg.val_sequences, cfg.frame_cache), cfg.input_width, cfg.input_height, None, **common)
            if cfg.val_sequences
            else None
        )
        self.sampler = PairSampler(
            self.train_set.seq_frames(), cfg.min_gap, cfg.max_gap, cfg.seed, cfg.batch_size,
            rank=self.dist.rank, world_size=self.dist.world_size, max_pairs=cfg.pairs_per_epoch,
            max_pairs_per_sequence=cfg.max_pairs_per_sequence, pairs_per_sequence=cfg.pairs_per_sequence(),
        )
        self.iters_per_epoch = self.sampler.batches_per_epoch()
        if self.iters_per_epoch < 1:
            raise ValueError("not enough training pairs for one batch")
        if self.dist.enabled:
            distributed.log(
                self.dist, f"DDP backend {self.dist.backend}, device {self.device}, {self.iters_per_epoch} steps/epoch "
                f"of {cfg.batch_size} pairs per rank",
            )
        self.loader = DataLoader(
            self.train_set, batch_size=cfg.batch_size, sampler=self.sampler, drop_last=True,
            num_workers=cfg.num_workers, persistent_workers=False,
        )

        self.model = SOTMOTNet(cfg.model_config(), pretrained_backbone=cfg.pretrained and not resume and not cfg.init_model)
        if cfg.init_model and not resume:
            from ..model.checkpoint import load_model

            init, _ = load_model(resolve_path(cfg.init_model), "cpu")
            fresh = load_init_weights(self.model, init, cfg.init_model)
            if fresh:
                heads = sorted({k.split(".")[0] for k in fresh})
                distributed.log(self.dist, f"init_model: SOT head {', '.join(heads)} starts fresh ({init.config.sot_sampling}"
                                f" sampling in {cfg.init_model}, {cfg.sot_sampling} in this run)")
        freeze_parameters(self.model, cfg.freeze)
        # a frozen batch norm keeps its running statistics too (eval mode while the rest trains)
        self.frozen_norms = [
            m for m in self.model.modules()
            if isinstance(m, torch.nn.modules.batchnorm._BatchNorm) and not any(p.requires_grad for p in m.parameters())
        ]
        self.model.to(self.device)
        self.criterion = SOTMOTLoss(
            cfg.sot_lambda, cfg.sot_loss, cfg.hm_weight, cfg.wh_weight, cfg.off_weight, cfg.sot_weight, cfg.uncertainty
        ).to(self.device)
        # the averaged weights (ema_decay > 0) are what validation sees and the model files hold
        self.ema = (
            AveragedModel(self.model, multi_avg_fn=ema_update_fn(cfg.ema_decay), use_buffers=True)
            if cfg.ema_decay > 0
            else None
        )
        if cfg.ema_decay > 0 and self.dist.is_main:
            planned = cfg.epochs * self.iters_per_epoch
            planned = min(planned, cfg.max_steps) if cfg.max_steps > 0 else planned
            settle = ema_settling_updates(cfg.ema_decay)
            if planned < settle:
                log.warning("ema_decay %g binds only after %d updates and this run plans %d: its weight average is the "
                            "warm-up's, over about its last %d steps, whatever ema_decay says", cfg.ema_decay, settle,
                            planned, round(1.0 / (1.0 - ema_warmup_decay(planned))))
        self.net = self.model
        if self.dist.enabled:
            ids = [self.dist.local_rank] if self.device.type == "cuda" else None
            self.net = torch.nn.parallel.DistributedDataParallel(self.model, device_ids=ids)
        params = [p for p in self.model.parameters() if p.requires_grad] + list(self.criterion.parameters())
        self.optimizer = torch.optim.Adam(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer, lambda s: lr_factor(cfg, s, self.iters_per_epoch)
        )
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.use_amp)
        self.epoch, self.batch_in_epoch, self.step = 0, 0, 0
        self.writer = None
        if self.dist.is_main:
            os.makedirs(self.out_dir, exist_ok=True)
        if resume:
            self.load_state(os.path.join(self.out_dir, "last.pth"))

    @property
    def eval_model(self) -> SOTMOTNet:
        """The weights validation uses and the model files hold: the average when ema_decay > 0."""
        return self.ema.module if self.ema is not None else self.model

    # ----------------------------------------------------------------- state
    def state_dict(self) -> dict:
        return {
            "model": self.model.state_dict(),
            "criterion": self.criterion.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "scaler": self.scaler.state_dict(),
            "ema": self.ema.state_dict() if self.ema is not None else None,
            "epoch": self.epoch,
            "batch_in_epoch": self.batch_in_epoch,
            "step": self.step,
            "world_size": self.dist.world_size,
            "rng": rng_state(),
            "config": self.cfg.to_dict(),
        }

    def save_state(self) -> None:
        if self.dist.is_main:
            atomic_save(self.state_dict(), os.path.join(self.out_dir, "last.pth"))

    def load_state(self, path: str) -> None:
        if not os.path.isfile(path):
            raise FileNotFoundError(f"--resume: no training state at {path}")
        state = torch.load(path, map_location=self.device, weights_only=False)
        saved_world = int(state.get("world_size", 1))
        if saved_world != self.dist.world_size:
            # the epoch's pairs are sharded by rank and the schedule counts steps per rank: another world
            # size would replay or skip pairs and shift the LR schedule
            raise ValueError(
                f"--resume: {path} was saved by a run with {saved_world} process(es), this run has "
                f"{self.dist.world_size}; resume with the same number of processes (or start anew with init_model)"
            )
        self.model.load_state_dict(state["model"])
        self.criterion.load_state_dict(state["criterion"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.scaler.load_state_dict(state["scaler"])
        if self.ema is not None:
            if state.get("ema") is None:
                raise ValueError(f"--resume: {path} holds no weight average; ema_decay must stay 0 for this run")
            self.ema.load_state_dict(state["ema"])
        self.epoch, self.batch_in_epoch, self.step = state["epoch"], state["batch_in_epoch"], state["step"]
        set_rng_state(state["rng"])

    # ----------------------------------------------------------------- logging
    def _csv(self, name: str, row: dict) -> None:
        if not self.dist.is_main:
            return
        path = os.path.join(self.out_dir, name)
        new = not os.path.exists(path)
        with open(path, "a", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=list(row))
            if new:
                w.writeheader()
            w.writerow(row)

    def _tb(self, prefix: str, values: dict, step: int) -> None:
        if not self.dist.is_main:
            return
        if self.writer is None:
            from torch.utils.tensorboard import SummaryWriter

            self.writer = SummaryWriter(os.path.join(self.out_dir, "tb"))
        for k, v in values.items():
            self.writer.add_scalar(f"{prefix}/{k}", v, step)

    # ----------------------------------------------------------------- steps
    def train_step(self, batch: dict) -> dict[str, float]:
        self.net.train()
        for norm in self.frozen_norms:
            norm.eval()
        imgs, t_a, t_b = split_batch(batch, self.device)
        with torch.autocast(self.device.type, enabled=self.use_amp):
            out = self.net(imgs, **at_targets(imgs, t_a, t_b, self.cfg.down_ratio))  # box/offset/SOT heads at the targets
        # Losses in float32 outside autocast: the ridge solves must not run in half precision.
        out = {k: v.float() for k, v in out.items()}
        parts = self.criterion(out, t_a, t_b)
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(parts["loss"]).backward()
        # the loss weights live outside DDP: average their grads by hand (no-op for a single process)
        distributed.all_reduce_grads_mean(self.criterion.parameters(), self.dist)
        if self.cfg.grad_clip > 0:
            self.scaler.unscale_(self.optimizer)
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.cfg.grad_clip)
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.last_lr = self.optimizer.param_groups[0]["lr"]  # the LR this step used, for the log
        self.scheduler.step()
        if self.ema is not None:
            self.ema.update_parameters(self.model)
        self.step += 1
        return {k: float(parts[k].detach()) for k in LOSS_KEYS}

    @torch.no_grad()
    def validate(self) -> dict[str, float]:
        """Mean losses over the held-out pairs (fixed pairs, no augmentation).

        Under DDP every rank takes every N-th pair of the full list (none dropped) with rank 0's BatchNorm
        statistics, and the means are weighted by the ranks' pair counts: the same pairs and model as a
        single-process validation. NaN when there is no validation pair.
        """
        if self.val_set is None:
            return {}
        pairs = PairSampler(
            self.val_set.seq_frames(), self.cfg.min_gap, self.cfg.max_gap, self.cfg.seed + 7919, 1,
            shuffle=False, max_pairs=self.cfg.val_max_pairs,
        ).epoch_pairs()[self.dist.rank :: self.dist.world_size]
        loader = DataLoader(self.val_set, batch_size=self.cfg.batch_size, sampler=pairs, num_workers=self.cfg.num_workers)
        model = self.eval_model
        distributed.broadcast_buffers(model, self.dist)
        model.eval()
        sums, n = {k: 0.0 for k in LOSS_KEYS}, 0
        for batch in loader:
            imgs, t_a, t_b = split_batch(batch, self.device)
            with torch.autocast(self.device.type, enabled=self.use_amp):
                out = model(imgs, **at_targets(imgs, t_a, t_b, self.cfg.down_ratio))
            parts = self.criterion({k: v.float() for k, v in out.items()}, t_a, t_b)
            bs = imgs.shape[0] // 2
            for k in LOSS_KEYS:
                sums[k] += float(parts[k]) * bs
            n += bs
        return distributed.all_reduce_weighted_mean(sums, n, self.dist, self.device)

    # ----------------------------------------------------------------- loop
    def train(self) -> dict:
        cfg, t0 = self.cfg, time.time()
        if self.dist.is_main:
            with open(os.path.join(self.out_dir, "config.yaml"), "w") as fh:
                yaml.safe_dump(cfg.to_dict(), fh, sort_keys=False)
        stopped, val = False, {}
        while self.epoch < cfg.epochs and not stopped:
            self.sampler.set_epoch(self.epoch, self.batch_in_epoch)
            window, win_n, win_t = {k: 0.0 for k in LOSS_KEYS}, 0, time.time()
            ep_sums, ep_n = {k: 0.0 for k in LOSS_KEYS}, 0
            bar = tqdm(
                self.loader, total=self.iters_per_epoch, initial=self.batch_in_epoch,
                desc=f"epoch {self.epoch + 1}/{cfg.epochs}", disable=not (self.show_progress and self.dist.is_main),
                dynamic_ncols=True,
            )
            for batch in bar:
                losses = self.train_step(batch)
                self.batch_in_epoch += 1
                for k in LOSS_KEYS:
                    window[k] += losses[k]
                    ep_sums[k] += losses[k]
                win_n += 1
                ep_n += 1
                bar.set_postfix(loss=f"{losses['loss']:.3f}", det=f"{losses['det']:.3f}", sot=f"{losses['sot']:.3f}")
                if self.step % cfg.log_every == 0:
                    means = distributed.all_reduce_mean({k: v / win_n for k, v in window.items()}, self.dist, self.device)
                    extra = {
                        "lr": self.last_lr,
                        "s_det": float(self.criterion.s_det.detach()), "s_sot": float(self.criterion.s_sot.detach()),
                        "sec_per_iter": (time.time() - win_t) / win_n,
                    }
                    self._csv("train_log.csv", {"step": self.step, "epoch": self.epoch + 1, **means, **extra})
                    self._tb("train", {**means, **extra}, self.step)
                    window, win_n, win_t = {k: 0.0 for k in LOSS_KEYS}, 0, time.time()
                over = cfg.max_minutes > 0 and (time.time() - t0) > cfg.max_minutes * 60
                over = over or (cfg.max_steps > 0 and self.step >= cfg.max_steps)
                if distributed.broadcast_flag(over, self.dist, self.device):
                    stopped = True
                    break
            bar.close()
            if stopped and self.batch_in_epoch < self.iters_per_epoch:
                self.save_state()  # mid-epoch: resume continues with the next batch of this epoch
                self._save_model_files(None, {})
                break
            epoch_done = self.epoch + 1
            train_means = distributed.all_reduce_mean(
                {k: v / max(ep_n, 1) for k, v in ep_sums.items()}, self.dist, self.device
            )
            val = self.validate() if (epoch_done % cfg.val_every == 0 or epoch_done == cfg.epochs) else {}
            self.epoch, self.batch_in_epoch = epoch_done, 0
            self.save_state()
            self._save_model_files(epoch_done, val)
            row = {"epoch": epoch_done, "step": self.step, "minutes": (time.time() - t0) / 60}
            row.update({f"train_{k}": v for k, v in train_means.items()})
            row.update({f"val_{k}": val.get(k, float("nan")) for k in LOSS_KEYS})
            self._csv("epoch_log.csv", row)
            self._tb("epoch", {k: v for k, v in row.items() if k not in ("epoch", "step")}, epoch_done)
        if self.writer is not None:
            self.writer.flush()
        in_sync = True
        if self.dist.enabled:
            distributed.broadcast_buffers(self.model, self.dist)
            tensors = list(self.model.state_dict().values()) + list(self.criterion.parameters())
            in_sync = distributed.tensors_in_sync(tensors, self.dist, self.device)
            distributed.log(self.dist, f"finished at step {self.step}; parameters identical on all ranks: {in_sync}")
        distributed.barrier(self.dist)
        return {"epoch": self.epoch, "step": self.step, "stopped_early": stopped, "val": val, "ranks_in_sync": in_sync}

    def _save_model_files(self, epoch: int | None, val: dict) -> None:
        if not self.dist.is_main:
            return
        meta = {"epoch": self.epoch, "step": self.step, "val_losses": val, "train_config": self.cfg.to_dict()}
        if epoch is not None:
            save_model_file(os.path.join(self.out_dir, f"model_epoch{epoch}.pt"), self.eval_model, meta)
        save_model_file(os.path.join(self.out_dir, "model_last.pt"), self.eval_model, meta)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        distributed.cleanup()
