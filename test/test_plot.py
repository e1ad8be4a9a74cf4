"""``sotmot plot RUN_DIR``: PNG of the loss curves from the trainer's CSV logs; clear errors without them."""

import csv
import math
import struct

import cv2
import numpy as np
import pytest

from sotmot_ros.cli import main as cli_main
from sotmot_ros.train.plotting import PlotError, plot_run, read_log
from sotmot_ros.train.trainer import LOSS_KEYS

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def write_csv(path, rows):
    with open(path, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)


def make_run(root, steps=40, epochs=4, with_val=True, repeat_steps=True):
    """CSV logs with the trainer's columns (train_log: step, epoch, losses, lr, s_det, s_sot, sec_per_iter)."""
    root.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    rows = []
    for s in range(1, steps + 1):
        decay = math.exp(-s / 15)
        parts = {"det": 2 * decay + 0.5, "hm": 1.5 * decay + 0.3, "wh": 3 * decay + 1, "off": 0.3 * decay + 0.1,
                 "sot": 0.8 * decay + 0.05}
        parts = {k: v * (1 + 0.05 * rng.standard_normal()) for k, v in parts.items()}
        parts["loss"] = 4 * parts["det"] + 2 * parts["sot"] - 2.9
        rows.append({"step": s, "epoch": (s - 1) * epochs // steps + 1, **{k: parts[k] for k in LOSS_KEYS},
                     "lr": 1e-3 * 0.5 * (1 + math.cos(math.pi * s / steps)), "s_det": -1.85 + 0.01 * s,
                     "s_sot": -1.05 + 0.004 * s, "sec_per_iter": 0.3})
    if repeat_steps:  # a run killed after logging steps 31-33 and resumed from step 30 logs them again
        rows = rows[:33] + rows[30:]
    write_csv(root / "train_log.csv", rows)
    erows = []
    for e in range(1, epochs + 1):
        row = {"epoch": e, "step": e * steps // epochs, "minutes": e * 0.5}
        row.update({f"train_{k}": 3.0 / e for k in LOSS_KEYS})
        row.update({f"val_{k}": (3.2 / e if with_val else float("nan")) for k in LOSS_KEYS})
        erows.append(row)
    if epochs:
        write_csv(root / "epoch_log.csv", erows)
    return root


def png_size(path):
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def test_plot_writes_a_valid_png(tmp_path, capsys):
    run = make_run(tmp_path / "run")
    out = tmp_path / "figs" / "curves.png"
    assert cli_main(["plot", str(run), "--out", str(out)]) == 0
    assert capsys.readouterr().out.strip() == str(out)
    assert png_size(out) == (1200, 800)  # 12 x 8 inches at 100 dpi
    assert 20_000 < out.stat().st_size < 2_000_000
    img = cv2.imread(str(out))
    assert img is not None and img.shape == (800, 1200, 3)
    assert (img < 128).mean() > 0.005  # lines, text and axes drawn, not a blank canvas


def test_plot_default_path_without_epoch_log_and_without_val(tmp_path):
    run = make_run(tmp_path / "first_epoch", epochs=0)  # still in its first epoch: no epoch_log.csv yet
    assert plot_run(str(run)) == str(run / "curves.png")
    assert png_size(run / "curves.png") == (1200, 800)
    run2 = make_run(tmp_path / "noval", with_val=False)
    assert cli_main(["plot", str(run2), "--dpi", "50"]) == 0
    assert png_size(run2 / "curves.png") == (600, 400)


def test_read_log_keeps_the_last_row_of_a_repeated_step(tmp_path):
    run = make_run(tmp_path / "run")
    log = read_log(str(run / "train_log.csv"), "step")
    assert log["step"].tolist() == list(range(1, 41))
    assert set(log) >= {"loss", "det", "hm", "wh", "off", "sot", "lr", "s_det", "s_sot"}
    with open(run / "train_log.csv", "a") as fh:
        fh.write("41,4,1.0,2.0")  # a half-written last line of a run that is still training
    log = read_log(str(run / "train_log.csv"), "step")
    assert log["step"][-1] == 41 and log["det"][-1] == 2.0 and np.isnan(log["sot"][-1])


def test_missing_or_empty_logs_give_clear_errors(tmp_path):
    with pytest.raises(SystemExit, match="run directory .* not found"):
        cli_main(["plot", str(tmp_path / "nope")])
    (tmp_path / "empty_dir").mkdir()
    with pytest.raises(SystemExit, match="sotmot plot: error: no train_log.csv in"):
        cli_main(["plot", str(tmp_path / "empty_dir")])
    run = make_run(tmp_path / "run")
    (run / "train_log.csv").write_text("")
    with pytest.raises(SystemExit, match="train_log.csv is empty"):
        cli_main(["plot", str(run)])
    (run / "train_log.csv").write_text("step,epoch,loss\n")
    with pytest.raises(PlotError, match="header but no data rows"):
        plot_run(str(run))
    make_run(run)
    (run / "epoch_log.csv").write_text("")
    with pytest.raises(PlotError, match="epoch_log.csv is empty"):
        plot_run(str(run))
    (run / "epoch_log.csv").write_text("minutes,train_loss\n1,2\n")
    with pytest.raises(PlotError, match="no 'epoch' column"):
        plot_run(str(run))
    assert not (run / "curves.png").exists()
