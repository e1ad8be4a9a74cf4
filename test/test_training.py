"""End-to-end training on a tiny synthetic clip: loss goes down, files appear, resume is exact."""

import csv
import os

import cv2
import numpy as np
import pytest
import torch
import yaml
from torch import nn

import sotmot_ros.model.network as network
from sotmot_ros.cli import main as cli_main
from sotmot_ros.model.checkpoint import load_model
from sotmot_ros.train.config import TrainConfig
from sotmot_ros.train.trainer import Trainer

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class TinyBody(nn.Module):
    """A small stride-4 conv body so the tests run in seconds on CPU."""

    out_channels = 16

    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(3, 16, 3, 2, 1), nn.BatchNorm2d(16), nn.ReLU(),
            nn.Conv2d(16, 16, 3, 2, 1), nn.BatchNorm2d(16), nn.ReLU(),
            nn.Conv2d(16, 16, 3, 1, 1), nn.ReLU(),
        )

    def forward(self, x):
        return self.net(x)


@pytest.fixture(autouse=True)
def tiny_body(monkeypatch):
    monkeypatch.setattr(network, "build_body", lambda name, pretrained=False: TinyBody())
    torch.set_num_threads(2)


def make_clip(root, n=16, size=64):
    """A MOTChallenge folder: three distinctly textured blobs moving over a noisy background."""
    rng = np.random.default_rng(0)
    os.makedirs(root / "img1")
    os.makedirs(root / "gt")
    textures = [np.array(c, np.uint8) for c in ((230, 40, 40), (40, 230, 40), (40, 40, 230))]
    rows = []
    for f in range(1, n + 1):
        img = rng.integers(90, 140, (size, size, 3)).astype(np.uint8)
        for k, tex in enumerate(textures):
            x = 4 + (k * 19 + 2 * f) % (size - 20)
            y = 6 + k * 18
            img[y : y + 14, x : x + 10] = tex
            img[y : y + 14 : 3, x : x + 10] = 255 - tex  # stripes: a texture, not just a colour
            rows.append(f"{f},{k + 1},{x},{y},10,14,1,1,1.0\n")
        cv2.imwrite(str(root / "img1" / f"{f:06d}.jpg"), img, [cv2.IMWRITE_JPEG_QUALITY, 98])
    (root / "gt" / "gt.txt").write_text("".join(rows))
    (root / "seqinfo.ini").write_text(
        f"[Sequence]\nname=synth\nimDir=img1\nframeRate=10\nseqLength={n}\nimWidth={size}\nimHeight={size}\nimExt=.jpg\n"
    )
    return root


def tiny_config(clip, out, **kw):
    base = dict(
        pretrained=False, head_conv=16, sot_dim=16, input_width=64, input_height=64,
        train_sequences=[{"source": str(clip), "frames": [1, 12], "format": "mot17"}],
        val_sequences=[{"source": str(clip), "frames": [13, 16], "format": "mot17"}],
        min_gap=1, max_gap=3, max_objs=8, batch_size=2, epochs=6, lr=5e-3, lr_schedule="step", lr_steps=[5],
        warmup_iters=2, grad_clip=10.0, num_workers=0, device="cpu", out_dir=str(out), log_every=1, seed=1,
    )
    base.update(kw)
    return TrainConfig.from_dict(base)


def read_csv(path):
    with open(path) as fh:
        return list(csv.DictReader(fh))


def test_training_reduces_loss_and_writes_outputs(tmp_path):
    clip = make_clip(tmp_path / "clip")
    trainer = Trainer(tiny_config(clip, tmp_path / "run"), show_progress=False)
    assert trainer.iters_per_epoch == 5
    result = trainer.train()
    trainer.close()
    assert result["step"] == 30 and not result["stopped_early"]
    log = read_csv(tmp_path / "run" / "train_log.csv")
    det = [float(r["det"]) for r in log]
    loss = [float(r["loss"]) for r in log]
    assert np.mean(det[-5:]) < 0.6 * np.mean(det[:5])
    assert np.mean(loss[-5:]) < np.mean(loss[:5])
    epochs = read_csv(tmp_path / "run" / "epoch_log.csv")
    assert len(epochs) == 6 and np.isfinite(float(epochs[-1]["val_loss"]))
    for name in ("last.pth", "model_last.pt", "model_epoch1.pt", "model_epoch6.pt", "config.yaml"):
        assert (tmp_path / "run" / name).is_file()
    assert os.listdir(tmp_path / "run" / "tb")
    model, meta = load_model(tmp_path / "run" / "model_last.pt", "cpu")
    assert meta["epoch"] == 6
    for k, v in trainer.model.state_dict().items():
        assert torch.equal(model.state_dict()[k], v)


def test_resume_equals_uninterrupted_run(tmp_path):
    clip = make_clip(tmp_path / "clip")
    kw = dict(epochs=2, aug_scale=0.2, aug_translate=0.1, aug_flip=True, aug_hsv=0.2, val_sequences=[])
    full = Trainer(tiny_config(clip, tmp_path / "full", **kw), show_progress=False)
    full.train()
    # stop in the middle of the first epoch (step 3 of 5), then resume in a fresh trainer
    part = Trainer(tiny_config(clip, tmp_path / "part", max_steps=3, **kw), show_progress=False)
    r = part.train()
    assert r["stopped_early"] and r["step"] == 3
    torch.manual_seed(12345)  # disturb global RNG: resume must restore it
    np.random.seed(7)
    resumed = Trainer(tiny_config(clip, tmp_path / "part", **kw), resume=True, show_progress=False)
    assert (resumed.epoch, resumed.batch_in_epoch, resumed.step) == (0, 3, 3)
    resumed.train()
    assert resumed.step == full.step == 10
    for (k, a), b in zip(full.model.state_dict().items(), resumed.model.state_dict().values()):
        assert torch.equal(a, b), k
    for a, b in zip(full.criterion.parameters(), resumed.criterion.parameters()):
        assert torch.equal(a, b)
    assert full.optimizer.param_groups[0]["lr"] == resumed.optimizer.param_groups[0]["lr"]


def test_cli_train_and_config_validation(tmp_path):
    clip = make_clip(tmp_path / "clip", n=8)
    cfg = tmp_path / "c.yaml"
    cfg.write_text(
        "pretrained: false\nhead_conv: 8\nsot_dim: 8\ninput_width: 64\ninput_height: 64\n"
        f"train_sequences:\n  - {{source: {clip}, frames: [1, 8]}}\n"
        "batch_size: 2\nepochs: 1\nlr: 1e-3\ndevice: cpu\nnum_workers: 0\n"
    )
    assert cli_main(["train", "--config", str(cfg), "--out", str(tmp_path / "o"), "--no-progress", "max_steps=2"]) == 0
    assert (tmp_path / "o" / "last.pth").is_file() and (tmp_path / "o" / "model_last.pt").is_file()
    assert TrainConfig.load(str(cfg)).lr == 1e-3
    with pytest.raises(ValueError, match="unknown"):
        TrainConfig.load(str(cfg), ["learning_rate=0.1"])
    pets = TrainConfig.load(os.path.join(REPO, "config", "train_pets_cpu.yaml"))
    for seq in pets.train_sequences + pets.val_sequences:
        assert seq["frames"][1] <= 397  # frames 398+ are the held-out test split


def image_folder_copy(clip, root):
    """The clip's frames as a plain image folder (no img1/, non-%06d names) with its gt beside it."""
    os.makedirs(root)
    for f in range(1, 17):
        img = cv2.imread(str(clip / "img1" / f"{f:06d}.jpg"))
        cv2.imwrite(str(root / f"shot-{f:03d}.png"), img)
    return str(root), str(clip / "gt" / "gt.txt")


def test_resume_is_exact_with_person_zoom_photometric_aug_and_sequence_cap(tmp_path):
    clip = make_clip(tmp_path / "clip")
    folder, gt = image_folder_copy(clip, tmp_path / "folder")
    kw = dict(
        epochs=2, aug_scale_mode="person", aug_person_height_min=8, aug_person_height_max=40, aug_zoom_min=0.5,
        aug_zoom_max=3.0, aug_flip=True, aug_hsv=0.2, aug_blur=0.5, aug_gray=0.5, aug_lowres=0.5, aug_faults=0.5,
        max_pairs_per_sequence=5,
        val_sequences=[],
        train_sequences=[
            {"source": str(clip), "frames": [1, 12], "format": "mot17"},
            {"source": folder, "gt": gt, "frames": [1, 12], "format": "mot17"},
        ],
    )
    full = Trainer(tiny_config(clip, tmp_path / "full", **kw), show_progress=False)
    aug = full.train_set.augment
    assert (aug.scale_mode, aug.person_height_max, aug.zoom_min, aug.blur, aug.gray, aug.lowres, aug.faults) == (
        "person", 40, 0.5, 0.5, 0.5, 0.5, 0.5)
    assert full.iters_per_epoch == 5  # 5 pairs from each of the two sequences, batches of 2
    epoch0 = full.sampler.epoch_pairs()
    assert [sum(p.seq == s for p in epoch0) for s in (0, 1)] == [5, 5]
    spec = epoch0[0]
    a, b = full.train_set[spec], full.train_set[spec]
    assert all(torch.equal(a[k], b[k]) for k in a)  # an item is a pure function of its PairSpec
    full.train()
    part = Trainer(tiny_config(clip, tmp_path / "part", max_steps=3, **kw), show_progress=False)
    assert part.train()["step"] == 3
    resumed = Trainer(tiny_config(clip, tmp_path / "part", **kw), resume=True, show_progress=False)
    resumed.train()
    assert resumed.step == full.step == 10
    for (k, x), y in zip(full.model.state_dict().items(), resumed.model.state_dict().values()):
        assert torch.equal(x, y), k


def test_new_augmentation_fields_are_validated(tmp_path):
    clip = make_clip(tmp_path / "clip", n=4)
    cfg = tiny_config(clip, tmp_path / "o")
    assert (cfg.aug_scale_mode, cfg.aug_person_height_min, cfg.aug_person_height_max) == ("range", 20.0, 320.0)
    assert (cfg.aug_zoom_min, cfg.aug_zoom_max, cfg.aug_blur, cfg.aug_gray, cfg.max_pairs_per_sequence) == (
        0.25, 6.0, 0.0, 0.0, 0)
    for bad in (dict(aug_scale_mode="zoom"), dict(aug_person_height_min=0), dict(aug_zoom_min=2.0, aug_zoom_max=1.0),
                dict(aug_blur=1.5), dict(aug_gray=-0.1), dict(aug_lowres=2.0), dict(aug_lowres_max_upscale=0.0),
                dict(aug_faults=-0.5),
                dict(max_pairs_per_sequence=-1)):
        with pytest.raises(ValueError, match=next(iter(bad))):  # the error names the key as written
            tiny_config(clip, tmp_path / "o", **bad)


def test_weight_average_update_rule():
    from sotmot_ros.train.trainer import ema_update_fn

    update = ema_update_fn(0.9)
    avg, step = [torch.zeros(3), torch.tensor(3)], [torch.ones(3), torch.tensor(7)]
    update(avg, step, torch.tensor(0))  # warm-up: the first averages follow the weights closely
    assert torch.allclose(avg[0], torch.full((3,), 0.9)) and int(avg[1]) == 7
    avg = [torch.zeros(3), torch.tensor(3)]
    update(avg, step, torch.tensor(1000))  # settled: the configured decay
    assert torch.allclose(avg[0], torch.full((3,), 0.1))


def test_a_run_too_short_for_its_weight_average_decay_is_told_so(tmp_path, caplog):
    """The warm-up (1 + n) / (10 + n) reaches 0.998 only after 4490 updates: session 26 trained twice with decays
    that never bound (0.998 and 0.999 gave the same weights). A run that plans fewer updates than its decay needs
    says so; a long enough one does not."""
    from sotmot_ros.train.trainer import ema_settling_updates, ema_update_fn

    for decay in (0.8, 0.998, 0.999):
        n = ema_settling_updates(decay)
        for k, binds in ((n - 1, False), (n, True)):
            avg = [torch.zeros(1)]
            ema_update_fn(decay)(avg, [torch.ones(1)], torch.tensor(k))
            assert (float(avg[0]) == pytest.approx(1 - decay)) == binds, (decay, k)
    assert ema_settling_updates(0.998) == 4490
    clip = make_clip(tmp_path / "clip")
    with caplog.at_level("WARNING", logger="sotmot.train"):
        Trainer(tiny_config(clip, tmp_path / "short", epochs=2, ema_decay=0.8, val_sequences=[]), show_progress=False)
    assert "ema_decay 0.8 binds only after 35 updates" in caplog.text
    caplog.clear()
    with caplog.at_level("WARNING", logger="sotmot.train"):
        Trainer(tiny_config(clip, tmp_path / "long", epochs=2, ema_decay=0.5, val_sequences=[]), show_progress=False)
    assert "binds only after" not in caplog.text


def test_weight_average_is_what_model_files_hold_and_resumes_exactly(tmp_path):
    clip = make_clip(tmp_path / "clip")
    kw = dict(epochs=2, ema_decay=0.8, aug_flip=True, val_sequences=[])
    full = Trainer(tiny_config(clip, tmp_path / "full", **kw), show_progress=False)
    full.train()
    saved, _ = load_model(tmp_path / "full" / "model_last.pt", "cpu")
    ema_sd, raw_sd = full.ema.module.state_dict(), full.model.state_dict()
    for k, v in saved.state_dict().items():
        assert torch.equal(v, ema_sd[k]), k
    assert any(not torch.equal(ema_sd[k], raw_sd[k]) for k in raw_sd if raw_sd[k].is_floating_point())
    part = Trainer(tiny_config(clip, tmp_path / "part", max_steps=3, **kw), show_progress=False)
    assert part.train()["step"] == 3
    resumed = Trainer(tiny_config(clip, tmp_path / "part", **kw), resume=True, show_progress=False)
    resumed.train()
    for (k, a), b in zip(ema_sd.items(), resumed.ema.module.state_dict().values()):
        assert torch.equal(a, b), k
    with pytest.raises(ValueError, match="ema_decay"):
        tiny_config(clip, tmp_path / "o", ema_decay=1.0)
    # a run saved without an average cannot silently start one from the resumed weights
    Trainer(tiny_config(clip, tmp_path / "plain", max_steps=2, epochs=2, val_sequences=[]), show_progress=False).train()
    with pytest.raises(ValueError, match="weight average"):
        Trainer(tiny_config(clip, tmp_path / "plain", **kw), resume=True, show_progress=False)


def test_frozen_parameters_keep_their_starting_values_and_the_rest_trains(tmp_path):
    clip = make_clip(tmp_path / "clip")
    trainer = Trainer(tiny_config(clip, tmp_path / "run", max_steps=3, val_sequences=[], freeze=["body"]),
                      show_progress=False)
    before = {k: v.clone() for k, v in trainer.model.state_dict().items()}
    trainer.train()
    after = trainer.model.state_dict()
    body = [k for k in before if k.startswith("body.") and before[k].is_floating_point()]
    heads = [k for k in before if k.startswith("hm.")]
    assert body and all(torch.equal(before[k], after[k]) for k in body)
    assert any(not torch.equal(before[k], after[k]) for k in heads)
    with pytest.raises(ValueError, match="'bdy' names no parameter"):  # a typo must not train everything
        Trainer(tiny_config(clip, tmp_path / "typo", freeze=["bdy"]), show_progress=False)
    for bad in ([""], "body"):  # a bare string (YAML `freeze: body`) is not a list of prefixes
        with pytest.raises(ValueError, match="freeze must be a list"):
            tiny_config(clip, tmp_path / "o", freeze=bad)


def test_overrides_reach_into_sequence_entries(tmp_path):
    clip = make_clip(tmp_path / "clip", n=4)
    cfg = tmp_path / "c.yaml"
    cfg.write_text(f"pretrained: false\ninput_width: 64\ninput_height: 64\ntrain_sequences:\n  - {{source: {clip}}}\n"
                   f"  - {{source: {clip}, frames: [1, 4]}}\n")
    loaded = TrainConfig.load(str(cfg), ["train_sequences.1.pairs=96", "ema_decay=0.998"])
    assert loaded.pairs_per_sequence() == [0, 96] and loaded.ema_decay == 0.998
    for bad, why in (("train_sequences.2.pairs=1", "no list item"), ("nothing.x=1", "no key"),
                     ("train_sequences.0.pairs=-1", "pairs"), ("train_sequences.x=1", "no list item")):
        with pytest.raises(ValueError, match=why):
            TrainConfig.load(str(cfg), [bad])


def test_out_folder_given_at_run_time_is_what_the_run_records(tmp_path):
    clip = make_clip(tmp_path / "clip")
    cfg = tiny_config(clip, tmp_path / "from_config", max_steps=1, epochs=1, val_sequences=[])
    trainer = Trainer(cfg, out_dir=str(tmp_path / "given"), show_progress=False)
    trainer.train()
    assert yaml.safe_load((tmp_path / "given" / "config.yaml").read_text())["out_dir"] == str(tmp_path / "given")
    _, meta = load_model(tmp_path / "given" / "model_last.pt", "cpu")
    assert meta["train_config"]["out_dir"] == str(tmp_path / "given")
    assert not (tmp_path / "from_config").exists()
