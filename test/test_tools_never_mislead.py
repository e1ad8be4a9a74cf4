"""`sotmot eval` scores the frames the ground truth covers (with a warning) and names sequences by their
sequence name; `sotmot track` on an empty frame range says so and fails. Synthetic data only."""

from __future__ import annotations

import json

import numpy as np
import pytest

from sotmot_ros.cli import main
from sotmot_ros.evaluation import _sequence_name, evaluate_mot


def _rows(frames, boxes):
    return "".join(f"{f},{i + 1},{x},{y},20,40,1,-1,-1,-1\n" for f in frames for i, (x, y) in enumerate(boxes))


@pytest.fixture
def seq(tmp_path):
    """A sequence folder with seqinfo.ini and a gt file for frames 1-10; results for frames 1-20 (the
    results on 11-20 are unannotated frames, like PETS09 gt 1-397 vs results 1-795)."""
    d = tmp_path / "MySeq-01"
    d.mkdir()
    (d / "seqinfo.ini").write_text("[Sequence]\nname=MySeq-01\nframeRate=7\nseqLength=20\n")
    gt = d / "gt_train_0001-0010.txt"
    gt.write_text(_rows(range(1, 11), [(10, 10), (100, 10)]))
    res = tmp_path / "results.txt"
    res.write_text(_rows(range(1, 21), [(10, 10), (100, 10)]))
    return gt, res


def test_eval_scores_the_ground_truth_frames_by_default_and_warns(seq, tmp_path, capsys):
    gt, res = seq
    out = tmp_path / "m.json"
    assert main(["eval", "--gt", str(gt), "--res", str(res), "--json", str(out)]) == 0
    captured = capsys.readouterr()
    assert "warning: MySeq-01: results cover frames 1-20 but the ground truth only 1-10: scoring frames 1-10" \
        in captured.err
    r = json.loads(out.read_text())["MySeq-01"]
    assert (r["Frames"], r["FP"], r["FN"]) == (10, 0, 0)
    assert r["MOTA"] == pytest.approx(1.0)
    assert "MySeq-01" in captured.out.splitlines()[1]


def test_eval_explicit_range_still_wins(seq, tmp_path, capsys):
    gt, res = seq
    out = tmp_path / "m.json"
    assert main(["eval", "--gt", str(gt), "--res", str(res), "--first", "1", "--last", "20",
                 "--json", str(out)]) == 0
    assert "count as false positives" in capsys.readouterr().err
    r = json.loads(out.read_text())["MySeq-01"]
    assert (r["Frames"], r["FP"]) == (20, 20)
    out2 = tmp_path / "m2.json"
    assert main(["eval", "--gt", str(gt), "--res", str(res), "--first", "3", "--last", "5",
                 "--json", str(out2)]) == 0
    assert "warning" not in capsys.readouterr().err
    assert json.loads(out2.read_text())["MySeq-01"]["Frames"] == 3


def test_library_gt_frames_option(seq):
    gt, res = seq
    assert evaluate_mot({"s": (str(gt), str(res))})["s"]["FP"] == 20  # the library default: every frame
    assert evaluate_mot({"s": (str(gt), str(res))}, frame_range="gt")["s"]["FP"] == 0


def test_sequence_names(tmp_path):
    (tmp_path / "A" / "gt").mkdir(parents=True)
    assert _sequence_name(str(tmp_path / "A" / "gt" / "gt.txt")) == "A"
    (tmp_path / "B").mkdir()
    assert _sequence_name(str(tmp_path / "B" / "gt_val_0318-0397.txt")) == "B"
    assert _sequence_name(str(tmp_path / "B" / "gt.txt")) == "B"
    assert _sequence_name(str(tmp_path / "B" / "walkers.txt")) == "walkers"
    (tmp_path / "folder_name").mkdir()
    (tmp_path / "folder_name" / "seqinfo.ini").write_text("[Sequence]\nname=Real-Name\n")
    assert _sequence_name(str(tmp_path / "folder_name" / "anything.txt")) == "Real-Name"


def test_plot_uses_sequence_names(seq, tmp_path, monkeypatch):
    import sotmot_ros.commands.eval as ev

    seen = {}
    monkeypatch.setattr(ev, "plot_metrics", lambda results, path: seen.update(names=list(results)))
    gt, res = seq
    assert main(["eval", "--gt", str(gt), "--res", str(res), "--plot", str(tmp_path / "p.png")]) == 0
    assert seen["names"] == ["MySeq-01"]


# ----------------------------------------------------------------------------- sotmot track


def _video(path, n=5):
    import cv2

    w = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (64, 48))
    assert w.isOpened()
    for i in range(n):
        w.write(np.full((48, 64, 3), 20 * i, np.uint8))
    w.release()
    return path


@pytest.mark.parametrize("first, last", [(20, None), (4, 2)])
def test_track_empty_frame_range_fails_clearly(tmp_path, capsys, first, last, monkeypatch):
    video = _video(tmp_path / "v.avi")
    import sotmot_ros.detector as det

    def no_model(*a, **k):
        raise AssertionError("the model must not be loaded for an empty frame range")

    monkeypatch.setattr(det.Detector, "from_checkpoint", classmethod(no_model))
    argv = ["track", str(video), "--first", str(first), "--no-progress", "--out", str(tmp_path / "r.txt")]
    if last is not None:
        argv += ["--last", str(last)]
    assert main(argv) != 0
    err = capsys.readouterr().err
    assert "no frames to track" in err and "5 frames" in err if first == 20 else "no frames to track" in err, err
    assert not (tmp_path / "r.txt").exists()
