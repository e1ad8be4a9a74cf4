"""DDP for real: ``torchrun --standalone --nproc_per_node=2 -m sotmot_ros.cli train`` on 2 CPU processes (gloo).

A tiny synthetic video (cv2.VideoWriter) and the real ``efficientnet_lite0`` body (pretrained: false) at
64x64 input, 1 pair per rank and step. The run is stopped after 3 steps and resumed under torchrun to the
end (8 steps), then checked against a single-process reference computed here.

What is checked, and why it is the right reference: a DDP step over 2 ranks x 1 pair is *not* a
single-process step over a batch of 2 pairs, for two reasons that are properties of the model, not bugs:
BatchNorm normalises with each rank's own batch statistics (no SyncBatchNorm on CPU/gloo), and the losses
are normalised per batch (focal loss by the batch's number of centres, the SOT loss by its targets). What
DDP must give is the mean of the per-rank gradients, i.e. single-process gradient accumulation over the
same shards, with rank 0's BatchNorm running statistics (DDP broadcasts rank 0's buffers at every forward).
The reference replays exactly that with the trainer's own model, loss, optimiser, LR schedule and data,
and the DDP model file must match it within 1e-5 (in practice it is bit-identical); the logged per-step
losses (means over both ranks) and the validation losses must match too, so both ranks' data really
entered every step.
"""

import csv
import os
import subprocess
import sys

import cv2
import numpy as np
import pytest
import torch
import torch.distributed as dist
from torch.utils.data import default_collate

from sotmot_ros.data.pairs import PairSampler
from sotmot_ros.model.checkpoint import load_model
from sotmot_ros.train.config import TrainConfig
from sotmot_ros.train.trainer import Trainer, split_batch

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WORLD = 2

pytestmark = pytest.mark.skipif(
    not (dist.is_available() and dist.is_gloo_available()), reason="torch.distributed with gloo is not available"
)


def make_video_clip(root, n=12, size=64):
    """A 64x64 MJPG video of three striped blobs moving over noise, and its MOT17 gt file."""
    os.makedirs(root, exist_ok=True)
    rng = np.random.default_rng(0)
    video, gt = os.path.join(root, "clip.avi"), os.path.join(root, "gt.txt")
    writer = cv2.VideoWriter(video, cv2.VideoWriter_fourcc(*"MJPG"), 10, (size, size))
    assert writer.isOpened()
    textures = [np.array(c, np.uint8) for c in ((230, 40, 40), (40, 230, 40), (40, 40, 230))]
    rows = []
    for f in range(1, n + 1):
        img = rng.integers(90, 140, (size, size, 3)).astype(np.uint8)
        for k, tex in enumerate(textures):
            x, y = 4 + (k * 19 + 2 * f) % (size - 20), 6 + k * 18
            img[y : y + 14, x : x + 10] = tex
            img[y : y + 14 : 3, x : x + 10] = 255 - tex
            rows.append(f"{f},{k + 1},{x},{y},10,14,1,1,1.0\n")
        writer.write(img)
    writer.release()
    with open(gt, "w") as fh:
        fh.write("".join(rows))
    return video, gt


def write_config(path, video, gt):
    # train frames 1-9 with gaps 1-2: 8 pairs = 4 steps per epoch at 1 pair per rank; val frames 10-12: 2 pairs
    seq = f"{{source: {video}, gt: {gt}, format: mot17, frames: "
    path.write_text(
        "backbone: efficientnet_lite0\npretrained: false\nhead_conv: 8\nsot_dim: 8\ninput_width: 64\ninput_height: 64\n"
        f"train_sequences:\n  - {seq}[1, 9]}}\nval_sequences:\n  - {seq}[10, 12]}}\n"
        "min_gap: 1\nmax_gap: 2\nmax_objs: 8\nbatch_size: 1\nepochs: 2\nlr: 1e-3\nlr_schedule: cosine\n"
        "warmup_iters: 2\ngrad_clip: 10.0\nnum_workers: 0\ndevice: cpu\nlog_every: 1\nseed: 3\n"
    )
    return path


def torchrun(*args, timeout=150):
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=REPO + os.pathsep + os.environ.get("PYTHONPATH", ""))
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={WORLD}",
           "-m", "sotmot_ros.cli", "train", "--no-progress", *args]
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-6000:]
    return proc.stdout + proc.stderr


def read_csv(path):
    with open(path) as fh:
        return list(csv.DictReader(fh))


def reference_run(cfg, steps_per_epoch):
    """Single process replay of 2-rank DDP: per step, the mean of both ranks' gradients (rank r takes pairs
    r, r+2, ... of the epoch), BatchNorm batch statistics per shard and running statistics from rank 0."""
    trainer = Trainer(cfg, out_dir=cfg.out_dir, show_progress=False)
    trainer.iters_per_epoch = steps_per_epoch  # the LR schedule counts steps per rank
    model, crit, opt = trainer.model, trainer.criterion, trainer.optimizer
    params = list(model.parameters()) + list(crit.parameters())
    samplers = [
        PairSampler(trainer.train_set.seq_frames(), cfg.min_gap, cfg.max_gap, cfg.seed, cfg.batch_size,
                    rank=r, world_size=WORLD)
        for r in range(WORLD)
    ]
    step_losses = []
    for epoch in range(cfg.epochs):
        shards = []
        for s in samplers:
            s.set_epoch(epoch)
            shards.append(s.epoch_pairs())
        assert all(len(p) == steps_per_epoch * cfg.batch_size for p in shards)
        for i in range(steps_per_epoch):
            model.train()
            opt.zero_grad(set_to_none=True)
            start = [b.clone() for b in model.buffers()]
            rank0_buffers, losses = None, []
            for r in range(WORLD):
                for b, v in zip(model.buffers(), start):  # DDP: every rank starts from rank 0's buffers
                    b.copy_(v)
                specs = shards[r][i * cfg.batch_size : (i + 1) * cfg.batch_size]
                imgs, t_a, t_b = split_batch(default_collate([trainer.train_set[s] for s in specs]), "cpu")
                out = model(imgs, centres=torch.cat([t_a["ind"], t_b["ind"]]))
                parts = crit({k: v.float() for k, v in out.items()}, t_a, t_b)
                parts["loss"].backward()
                losses.append(float(parts["loss"].detach()))
                if r == 0:
                    rank0_buffers = [b.clone() for b in model.buffers()]
            for b, v in zip(model.buffers(), rank0_buffers):
                b.copy_(v)
            for p in params:
                if p.grad is not None:
                    p.grad /= WORLD
            torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
            opt.step()
            trainer.scheduler.step()
            step_losses.append(float(np.mean(losses)))
    val = trainer.validate()
    trainer.close()
    return model, crit, step_losses, val


def test_ddp_two_cpu_processes_match_gradient_averaged_reference(tmp_path):
    video, gt = make_video_clip(str(tmp_path / "clip"))
    cfg_path = write_config(tmp_path / "c.yaml", video, gt)
    run = tmp_path / "run"

    # 1) stop after 3 of 8 steps (mid-epoch), 2) resume under torchrun to the end
    log1 = torchrun("--config", str(cfg_path), "--out", str(run), "max_steps=3")
    log2 = torchrun("--config", str(cfg_path), "--out", str(run), "--resume")
    for log in (log1, log2):
        for r in range(WORLD):  # every rank ran, in a real 2-process gloo group, 4 steps per epoch
            assert f"[rank {r}/{WORLD}] DDP backend gloo, device cpu, 4 steps/epoch" in log, log[-3000:]
    assert "stopped early: True" in log1 and "done: epoch 2, step 8" in log2
    for r in range(WORLD):
        assert f"[rank {r}/{WORLD}] finished at step 8; parameters identical on all ranks: True" in log2

    # only rank 0 wrote: one set of files, each log row once, one TensorBoard file per launch
    assert sorted(os.listdir(run)) == sorted(
        ["config.yaml", "epoch_log.csv", "last.pth", "model_epoch1.pt", "model_epoch2.pt", "model_last.pt", "tb",
         "train_log.csv"]
    )
    assert len(os.listdir(run / "tb")) == 2
    train_log, epoch_log = read_csv(run / "train_log.csv"), read_csv(run / "epoch_log.csv")
    assert [int(r["step"]) for r in train_log] == list(range(1, 9))
    assert [(int(r["epoch"]), int(r["step"])) for r in epoch_log] == [(1, 4), (2, 8)]

    model, meta = load_model(str(run / "model_last.pt"), "cpu")
    assert (meta["epoch"], meta["step"]) == (2, 8)
    state = torch.load(run / "last.pth", map_location="cpu", weights_only=False)
    assert state["world_size"] == WORLD

    # the single-process reference (same initial weights: same seed; DDP also broadcasts rank 0's)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        cfg = TrainConfig.load(str(cfg_path), [f"out_dir={tmp_path / 'ref'}"])
        ref_model, ref_crit, ref_losses, ref_val = reference_run(cfg, steps_per_epoch=4)
    finally:
        torch.set_num_threads(threads)
    ref_state = ref_model.state_dict()
    worst = max(float((v.double() - ref_state[k].double()).abs().max()) for k, v in model.state_dict().items())
    assert worst < 1e-5, worst
    assert torch.allclose(state["criterion"]["s_det"], ref_crit.s_det.detach(), atol=1e-6)
    assert torch.allclose(state["criterion"]["s_sot"], ref_crit.s_sot.detach(), atol=1e-6)
    np.testing.assert_allclose([float(r["loss"]) for r in train_log], ref_losses, rtol=1e-4, atol=1e-5)
    for k in ("loss", "det", "sot"):  # validation: all pairs, rank 0's BN statistics, weighted over ranks
        assert abs(float(epoch_log[-1][f"val_{k}"]) - ref_val[k]) < 1e-4, (k, epoch_log[-1], ref_val)

    # a state saved by 2 processes cannot be resumed by 1 (the shards and the schedule would change)
    with pytest.raises(ValueError, match="2 process"):
        Trainer(cfg, out_dir=str(run), resume=True, show_progress=False)
