"""Training curves of a run directory (``sotmot plot RUN_DIR``) from the trainer's CSV logs, to PNG.

Reads ``train_log.csv`` (one row per ``log_every`` steps: step, epoch, loss, det, hm, wh, off, sot, lr,
s_det, s_sot, ...) and ``epoch_log.csv`` (one row per epoch: train_* and val_* means) and draws:

- the training losses per logged step (total, det, sot),
- the detection terms per logged step (hm, wh, off; those that are logged),
- train vs validation losses per epoch (total, det, sot),
- the learned uncertainty weights s_det and s_sot (the loss is
  ``0.5 * (exp(-s_det) * L_det + exp(-s_sot) * L_sot + s_det + s_sot)``) with the learning rate.

``train_log.csv`` is required; ``epoch_log.csv`` may be missing while the first epoch runs (the panel says
so). A file that exists but holds no data row is an error. Rows repeated for the same step or epoch (a run
killed after logging and resumed from the last saved state logs those steps again) keep the last one.
Works on a run that is still training (a half-written last line is ignored). Uses matplotlib's Agg
canvas directly (no pyplot, no display).
"""

from __future__ import annotations

import csv
import math
import os

import numpy as np

TRAIN_LOG = "train_log.csv"
EPOCH_LOG = "epoch_log.csv"
STEP_LOSSES = ("loss", "det", "sot")
DET_TERMS = ("hm", "wh", "off")
EPOCH_LOSSES = ("loss", "det", "sot")


class PlotError(ValueError):
    """The run directory has no usable logs (missing or empty CSV, no step column)."""


def _float(value) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def read_log(path: str, key: str) -> dict[str, np.ndarray]:
    """A trainer CSV as ``{column: float array}`` sorted by ``key``, one row per ``key`` value (the last)."""
    if not os.path.isfile(path):
        raise PlotError(f"{path} not found")
    with open(path, newline="") as fh:
        reader = csv.DictReader(fh)
        columns = reader.fieldnames or []
        rows = [{c: _float(r.get(c)) for c in columns} for r in reader]
    if not columns:
        raise PlotError(f"{path} is empty (no header, no rows)")
    if key not in columns:
        raise PlotError(f"{path} has no {key!r} column (columns: {', '.join(columns)})")
    by_key = {}
    for r in rows:
        if math.isfinite(r[key]):
            by_key[r[key]] = r  # a later row for the same step/epoch replaces the earlier one
    if not by_key:
        raise PlotError(f"{path} has a header but no data rows")
    ordered = [by_key[k] for k in sorted(by_key)]
    return {c: np.array([r[c] for r in ordered], dtype=np.float64) for c in columns}


def _has(log: dict | None, name: str) -> bool:
    return log is not None and name in log and bool(np.isfinite(log[name]).any())


def _note(ax, text: str) -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, color="0.4")
    ax.set_xticks([])
    ax.set_yticks([])


def plot_run(run_dir: str, out: str | None = None, dpi: int = 100) -> str:
    """Draw the curves of ``run_dir`` to ``out`` (default ``RUN_DIR/curves.png``); returns the PNG path."""
    if not os.path.isdir(run_dir):
        raise PlotError(f"run directory {run_dir} not found")
    train_path = os.path.join(run_dir, TRAIN_LOG)
    if not os.path.isfile(train_path):
        raise PlotError(f"no {TRAIN_LOG} in {run_dir}: not a 'sotmot train' output directory, or no step logged yet")
    train = read_log(train_path, "step")
    epoch_path = os.path.join(run_dir, EPOCH_LOG)
    epochs = read_log(epoch_path, "epoch") if os.path.exists(epoch_path) else None

    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    fig = Figure(figsize=(12, 8), dpi=dpi)
    FigureCanvasAgg(fig)
    axes = fig.subplots(2, 2)
    step = train["step"]
    colors = {"loss": "C0", "det": "C1", "sot": "C2", "hm": "C3", "wh": "C4", "off": "C5"}

    ax = axes[0, 0]
    drawn = [k for k in STEP_LOSSES if _has(train, k)]
    for k in drawn:
        ax.plot(step, train[k], color=colors[k], lw=1.2, label="total" if k == "loss" else k)
    if drawn:
        ax.set(title="training losses per logged step", xlabel="step", ylabel="loss")
        ax.legend(loc="upper right")
        ax.grid(alpha=0.3)
    else:
        _note(ax, f"no loss columns in {TRAIN_LOG}")

    ax = axes[0, 1]
    drawn = [k for k in DET_TERMS if _has(train, k)]
    for k in drawn:
        ax.plot(step, train[k], color=colors[k], lw=1.2, label=k)
    if drawn:
        ax.set(title="detection terms per logged step", xlabel="step", ylabel="loss")
        ax.legend(loc="upper right")
        ax.grid(alpha=0.3)
    else:
        _note(ax, "hm / wh / off not logged")

    ax = axes[1, 0]
    if epochs is None:
        _note(ax, f"no {EPOCH_LOG} yet (no completed epoch)")
    else:
        ep = epochs["epoch"]
        marker = "o" if len(ep) < 30 else None
        drawn = 0
        for k in EPOCH_LOSSES:
            if _has(epochs, f"train_{k}"):
                ax.plot(ep, epochs[f"train_{k}"], "-", color=colors[k], marker=marker, label=f"train {k}")
                drawn += 1
            if _has(epochs, f"val_{k}"):
                ax.plot(ep, epochs[f"val_{k}"], "--", color=colors[k], marker=marker, mfc="none", label=f"val {k}")
                drawn += 1
        if drawn:
            has_val = any(_has(epochs, f"val_{k}") for k in EPOCH_LOSSES)
            title = "per epoch: train (solid) vs val (dashed)" if has_val else "per epoch: train (no validation logged)"
            ax.set(title=title, xlabel="epoch", ylabel="mean loss")
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            ax.legend(loc="upper right", fontsize="small", ncol=2)
            ax.grid(alpha=0.3)
        else:
            _note(ax, f"no train_*/val_* columns in {EPOCH_LOG}")

    ax = axes[1, 1]
    weights = [k for k in ("s_det", "s_sot") if _has(train, k)]
    for k, c in zip(weights, ("C1", "C2")):
        ax.plot(step, train[k], color=c, lw=1.5, label=f"{k} (last exp(-{k}) = {math.exp(-train[k][-1]):.3g})")
    if weights:
        ax.set(title="learned uncertainty weights", xlabel="step", ylabel="s")
        ax.grid(alpha=0.3)
        handles, labels = ax.get_legend_handles_labels()
        if _has(train, "lr"):
            lr_ax = ax.twinx()
            h = lr_ax.plot(step, train["lr"], ":", color="0.4", lw=1.2, label="lr")
            lr_ax.set_ylabel("learning rate")
            lr_ax.ticklabel_format(axis="y", style="sci", scilimits=(-2, 3))
            handles, labels = handles + h, labels + ["lr"]
        ax.legend(handles, labels, loc="best", fontsize="small")
    else:
        _note(ax, "s_det / s_sot not logged")

    last = f"step {int(step[-1])}"
    if epochs is not None:
        last += f", epoch {int(epochs['epoch'][-1])}"
    fig.suptitle(f"{os.path.basename(os.path.abspath(run_dir))} ({last})")
    fig.tight_layout()
    out = out or os.path.join(run_dir, "curves.png")
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    fig.savefig(out, format="png")
    return out
