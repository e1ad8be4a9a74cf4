"""`sotmot eval` / `evaluate_mot` against motmetrics' own API on the MOTChallenge files shipped in its wheel."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

import motmetrics as mm

from sotmot_ros.cli import main
from sotmot_ros.evaluation import detection_ap, evaluate_mot

DATA = os.path.join(os.path.dirname(mm.__file__), "data")
SEQS = ("TUD-Campus", "TUD-Stadtmitte")


def pair(seq):
    return os.path.join(DATA, seq, "gt.txt"), os.path.join(DATA, seq, "test.txt")


def motmetrics_reference(seq, monkeypatch):
    # motmetrics 1.4's iou_matrix calls np.asfarray, removed in NumPy 2: shim it for the reference only.
    monkeypatch.setattr(np, "asfarray", lambda a, dtype=float: np.asarray(a, dtype=dtype), raising=False)
    gt, res = pair(seq)
    acc = mm.utils.compare_to_groundtruth(mm.io.loadtxt(gt), mm.io.loadtxt(res), "iou", distth=0.5)
    row = mm.metrics.create().compute(acc, metrics=["mota", "idf1", "num_switches", "num_false_positives",
                                                   "num_misses"], name=seq)
    return row.iloc[0]


def test_cli_eval_matches_motmetrics_api_and_trackeval(tmp_path, capsys, monkeypatch):
    argv = ["eval"]
    for seq in SEQS:
        gt, res = pair(seq)
        argv += ["--gt", gt, "--res", res]
    out_json, out_png = tmp_path / "m.json", tmp_path / "m.png"
    assert main(argv + ["--json", str(out_json), "--plot", str(out_png)]) == 0
    table = capsys.readouterr().out
    assert "TUD-Campus" in table and "OVERALL" in table and "HOTA" in table
    results = json.loads(out_json.read_text())
    for seq in SEQS:
        ref = motmetrics_reference(seq, monkeypatch)
        r = results[seq]
        assert r["MOTA"] == pytest.approx(ref["mota"], abs=1e-9)
        assert r["IDF1"] == pytest.approx(ref["idf1"], abs=1e-9)
        assert (r["IDs"], r["FP"], r["FN"]) == (ref["num_switches"], ref["num_false_positives"], ref["num_misses"])
        # the two libraries agree on the same filtered data
        assert r["MOTA_trackeval"] == pytest.approx(r["MOTA"], abs=1e-6)
        assert r["IDF1_trackeval"] == pytest.approx(r["IDF1"], abs=1e-6)
        assert 0.2 < r["HOTA"] < 0.8
    assert out_png.stat().st_size > 1000


def test_ignore_regions_drop_matched_results(tmp_path):
    """A result on a flag-0 gt box is neither TP nor FP; a flag-1 gt missed stays an FN."""
    gt = tmp_path / "gt.txt"
    gt.write_text("1,1,0,0,10,20,1,-1,-1,-1\n1,2,100,0,10,20,0,-1,-1,-1\n2,1,1,0,10,20,1,-1,-1,-1\n")
    res = tmp_path / "res.txt"
    res.write_text("1,7,0,0,10,20,1,-1,-1,-1\n1,8,101,0,10,20,1,-1,-1,-1\n2,7,1,0,10,20,1,-1,-1,-1\n"
                   "2,9,300,300,10,20,1,-1,-1,-1\n")
    r = evaluate_mot({"s": (str(gt), str(res))})["s"]
    assert (r["FP"], r["FN"], r["IDs"]) == (1, 0, 0)  # only the box at (300, 300) is a false positive
    assert r["MOTA"] == pytest.approx(1 - 1 / 2)
    # with a frame range only frame 2 is scored
    r2 = evaluate_mot({"s": (str(gt), str(res))}, frame_range=(2, 2))["s"]
    assert (r2["FP"], r2["FN"], r2["Frames"]) == (1, 0, 1)


def test_detection_ap(tmp_path):
    gt = tmp_path / "gt.txt"
    gt.write_text("1,1,0,0,10,10,1,-1,-1,-1\n1,2,50,50,10,10,1,-1,-1,-1\n1,3,200,0,10,10,0,-1,-1,-1\n")
    perfect = tmp_path / "d1.txt"
    perfect.write_text("1,-1,0,0,10,10,0.9,-1,-1,-1\n1,-1,50,50,10,10,0.8,-1,-1,-1\n1,-1,200,0,10,10,0.95,-1,-1,-1\n")
    assert detection_ap(str(gt), str(perfect)) == pytest.approx(1.0)
    # a confident false positive first: precision 0 at rank 1, then 2/3 at full recall -> AP = 2/3
    worse = tmp_path / "d2.txt"
    worse.write_text("1,-1,400,400,10,10,0.99,-1,-1,-1\n1,-1,0,0,10,10,0.9,-1,-1,-1\n1,-1,50,50,10,10,0.8,-1,-1,-1\n")
    assert detection_ap(str(gt), str(worse)) == pytest.approx(2 / 3)
    half = tmp_path / "d3.txt"
    half.write_text("1,-1,0,0,10,10,0.9,-1,-1,-1\n")
    assert detection_ap(str(gt), str(half)) == pytest.approx(0.5)


def test_cli_evaldets_and_folder_mode(tmp_path, capsys):
    gt_dir = tmp_path / "gt" / "TUD-Campus" / "gt"
    gt_dir.mkdir(parents=True)
    gt, res = pair("TUD-Campus")
    (gt_dir / "gt.txt").write_text(open(gt).read())
    res_dir = tmp_path / "res"
    res_dir.mkdir()
    (res_dir / "TUD-Campus.txt").write_text(open(res).read())
    assert main(["eval", "--gt-folder", str(tmp_path / "gt"), "--res-folder", str(res_dir)]) == 0
    assert "TUD-Campus" in capsys.readouterr().out
    assert main(["evaldets", "--gt", gt, "--dets", res]) == 0
    assert "AP@0.5" in capsys.readouterr().out
