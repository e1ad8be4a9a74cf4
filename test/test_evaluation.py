"""`sotmot eval` / `evaluate_mot` against motmetrics' own API, on synthetic sequences written as MOTChallenge files.

(motmetrics' wheel ships two MOT15 sequences as samples; they are held-out data of this project and never read.)"""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

import motmetrics as mm

from sotmot_ros.cli import main
from sotmot_ros.evaluation import detection_ap, evaluate_mot, pooled_idf1

SEQS = ("walkers-a", "walkers-b")


def write_sequence(folder, name: str, seed: int) -> tuple[str, str]:
    """A synthetic sequence and a tracker's imperfect result for it, as MOT15 files ``(gt, result)``: 7 people
    walking for 80 frames; the result jitters their boxes, misses ~10 % of them, adds false positives, breaks
    one person's track after a gap and swaps two people's identities half-way."""
    rng = np.random.default_rng(seed)
    start = rng.uniform([0, 50], [500, 300], (7, 2))
    speed = rng.uniform(-4, 4, (7, 2))
    gt_rows, res_rows = [], []
    for f in range(1, 81):
        for p in range(7):
            x, y = start[p] + speed[p] * f
            gt_rows.append(f"{f},{p + 1},{x:.2f},{y:.2f},40,100,1,-1,-1,-1")
            if rng.random() < 0.1 or (p == 3 and 30 <= f < 36):
                continue  # missed
            track = p + 1
            if p == 3 and f >= 36:
                track = 20  # a new identity after the gap
            if f >= 50 and p in (0, 1):
                track = 2 - p  # 1 and 2 swap
            jx, jy = rng.normal(0, 3, 2)
            res_rows.append(f"{f},{track},{x + jx:.2f},{y + jy:.2f},40,100,{rng.uniform(0.3, 1):.3f},-1,-1,-1")
        if rng.random() < 0.3:
            res_rows.append(f"{f},{100 + f},{rng.uniform(0, 600):.2f},{rng.uniform(0, 400):.2f},40,100,0.3,-1,-1,-1")
    gt = os.path.join(folder, f"{name}_gt.txt")
    res = os.path.join(folder, f"{name}_res.txt")
    with open(gt, "w") as fh:
        fh.write("\n".join(gt_rows) + "\n")
    with open(res, "w") as fh:
        fh.write("\n".join(res_rows) + "\n")
    return gt, res


def motmetrics_reference(gt, res, name, monkeypatch):
    # motmetrics 1.4's iou_matrix calls np.asfarray, removed in NumPy 2: shim it for the reference only.
    monkeypatch.setattr(np, "asfarray", lambda a, dtype=float: np.asarray(a, dtype=dtype), raising=False)
    acc = mm.utils.compare_to_groundtruth(mm.io.loadtxt(gt), mm.io.loadtxt(res), "iou", distth=0.5)
    row = mm.metrics.create().compute(acc, metrics=["mota", "idf1", "num_switches", "num_false_positives",
                                                   "num_misses"], name=name)
    return row.iloc[0]


def test_cli_eval_matches_motmetrics_api_and_trackeval(tmp_path, capsys, monkeypatch):
    argv = ["eval"]
    files = {}
    for k, seq in enumerate(SEQS):
        (tmp_path / seq / "gt").mkdir(parents=True)
        gt, res = write_sequence(tmp_path / seq, seq, k)
        os.replace(gt, tmp_path / seq / "gt" / "gt.txt")  # .../SEQ/gt/gt.txt names the sequence
        files[seq] = (str(tmp_path / seq / "gt" / "gt.txt"), res)
        argv += ["--gt", files[seq][0], "--res", res]
    out_json, out_png = tmp_path / "m.json", tmp_path / "m.png"
    assert main(argv + ["--json", str(out_json), "--plot", str(out_png)]) == 0
    table = capsys.readouterr().out
    assert "walkers-a" in table and "OVERALL" in table and "HOTA" in table
    results = json.loads(out_json.read_text())
    for seq in SEQS:
        ref = motmetrics_reference(*files[seq], seq, monkeypatch)
        r = results[seq]
        assert r["MOTA"] == pytest.approx(ref["mota"], abs=1e-9)
        assert r["IDF1"] == pytest.approx(ref["idf1"], abs=1e-9)
        assert (r["IDs"], r["FP"], r["FN"]) == (ref["num_switches"], ref["num_false_positives"], ref["num_misses"])
        # the two libraries agree on the same filtered data
        assert r["MOTA_trackeval"] == pytest.approx(r["MOTA"], abs=1e-6)
        assert r["IDF1_trackeval"] == pytest.approx(r["IDF1"], abs=1e-6)
        assert 0.3 < r["HOTA"] < 0.95 and r["IDs"] >= 2  # the swap and the broken track
    assert out_png.stat().st_size > 1000


def test_pooled_idf1_of_separate_runs_is_the_combined_score_and_weighs_sequences_by_their_boxes(tmp_path):
    """Rules compare settings over many views evaluated one at a time: pooling the identity counts of separate runs
    must give the IDF1 of evaluating them together (motmetrics' OVERALL), so a two-person clip weighs by its boxes,
    not as much as a crowd."""
    files = {seq: write_sequence(tmp_path, seq, k) for k, seq in enumerate(SEQS)}
    together = evaluate_mot(files)
    alone = [evaluate_mot({seq: files[seq]})[seq] for seq in SEQS]
    for r in alone:
        assert r["IDF1"] == pytest.approx(2 * r["IDTP"] / (2 * r["IDTP"] + r["IDFP"] + r["IDFN"]), abs=1e-9)
    assert pooled_idf1(alone) == pytest.approx(together["OVERALL"]["IDF1"], abs=1e-9)
    # a short clip of one person, tracked badly, barely moves the pooled score but halves a plain mean's gap
    gt, res = tmp_path / "small_gt.txt", tmp_path / "small_res.txt"
    gt.write_text("".join(f"{f},1,10,10,40,100,1,-1,-1,-1\n" for f in range(1, 11)))
    res.write_text("".join(f"{f},{1 if f <= 5 else 2},10,10,40,100,1,-1,-1,-1\n" for f in range(1, 11)))
    small = evaluate_mot({"small": (str(gt), str(res))})["small"]
    assert small["IDF1"] == pytest.approx(0.5)
    assert abs(pooled_idf1(alone + [small]) - pooled_idf1(alone)) < 0.01
    assert np.isnan(pooled_idf1([]))


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
    gt_dir = tmp_path / "gt" / "walkers-a" / "gt"
    gt_dir.mkdir(parents=True)
    gt, res = write_sequence(tmp_path, "walkers-a", 0)
    (gt_dir / "gt.txt").write_text(open(gt).read())
    res_dir = tmp_path / "res"
    res_dir.mkdir()
    (res_dir / "walkers-a.txt").write_text(open(res).read())
    assert main(["eval", "--gt-folder", str(tmp_path / "gt"), "--res-folder", str(res_dir)]) == 0
    assert "walkers-a" in capsys.readouterr().out
    assert main(["evaldets", "--gt", gt, "--dets", res]) == 0
    assert "AP@0.5" in capsys.readouterr().out


def test_identity_switches_say_who_took_the_person_and_after_how_long(tmp_path, capsys):
    """Person 1 is missed for 2 frames and comes back as a new track; person 2's track is taken over by the track
    that had followed person 1: both switches are listed with what tells them apart, and the CLI prints them."""
    from sotmot_ros.evaluation import identity_switches

    gt = tmp_path / "gt.txt"
    res = tmp_path / "res.txt"
    gt.write_text("".join(f"{f},1,0,0,40,100,1,-1,-1,-1\n{f},2,300,0,40,100,1,-1,-1,-1\n" for f in range(1, 11)))
    rows = []
    for f in range(1, 11):
        if f <= 4:
            rows.append(f"{f},10,0,0,40,100,1,-1,-1,-1")
        elif f >= 7:
            rows.append(f"{f},30,0,0,40,100,1,-1,-1,-1")  # a new track after the gap
        rows.append(f"{f},{20 if f <= 5 else 10},300,0,40,100,1,-1,-1,-1")  # then track 10 takes person 2
    res.write_text("\n".join(rows) + "\n")
    switches = identity_switches(str(gt), str(res))
    assert [(s["frame"], s["person"], s["before"], s["after"], s["after_born"], s["missed_before"])
            for s in switches] == [(6, 2, 20, 10, 1, 0), (7, 1, 10, 30, 7, 2)]
    assert len(switches) == evaluate_mot({"seq": (str(gt), str(res))})["seq"]["IDs"]
    assert main(["eval", "--gt", str(gt), "--res", str(res), "--switches"]) == 0
    out = capsys.readouterr().out
    assert "frame 7: person 1 from track 10 to new track 30, after 2 missed frames" in out
    assert "frame 6: person 2 from track 20 to track 10 (since frame 1)" in out
