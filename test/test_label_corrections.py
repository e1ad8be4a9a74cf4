"""Hand corrections of pseudo-labels and the review sheets that show where they are needed."""

import json
import os

import numpy as np
import pytest
from label_helpers import blank_clip

from sotmot_ros.data.mot import read_mot_file
from sotmot_ros.pseudo.corrections import apply_corrections, load_corrections, parse_corrections
from sotmot_ros.pseudo.linking import LabelRow
from sotmot_ros.pseudo.review import identity_tracks, join_candidates


def ltrb(cx, cy, w=20.0, h=50.0):
    return np.array([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2])


def walk(track_id, frames, x0=40.0, step=2.0, y=60.0):
    return [LabelRow(f, track_id, ltrb(x0 + step * (f - frames[0]), y), 0.9, 1) for f in frames]


def ids_by_frame(rows):
    out = {}
    for r in rows:
        out.setdefault(r.frame, []).append(r.track_id)
    return out


def fix(text):
    import yaml

    return parse_corrections(yaml.safe_load(text), "fix.yaml")


def test_merged_identities_become_the_first_one_and_a_split_starts_a_new_one():
    # one person labelled 1 then (after hiding) 2; identity 3 follows one person to frame 14, another from 15
    rows = walk(1, range(1, 6)) + walk(2, range(9, 13)) + walk(3, range(1, 21), x0=120)
    out, summary = apply_corrections(rows, fix("merge: [[1, 2]]\nsplit: [{id: 3, frame: 15}]"))
    by = {}
    for r in out:
        by.setdefault(r.track_id, []).append(r.frame)
    assert by[1] == [1, 2, 3, 4, 5, 9, 10, 11, 12]
    assert by[3] == list(range(1, 15)) and by[4] == list(range(15, 21))  # the next free identity
    assert summary["merged_identities"] == 1 and summary["splits"] == 1
    assert [r.frame for r in out] == sorted(r.frame for r in out)  # the linker's order: by frame


def test_a_merge_of_two_people_seen_together_is_refused_with_the_frame():
    rows = walk(1, range(1, 6)) + walk(2, range(5, 9), x0=100)
    with pytest.raises(ValueError, match=r"identities 1 and 2 both have a box in frame 5"):
        apply_corrections(rows, fix("merge: [[1, 2]]"))


def test_a_stale_file_naming_identities_the_labels_lack_fails_loudly():
    rows = walk(1, range(1, 6))
    for text in ("merge: [[1, 7]]", "split: [{id: 7, frame: 3}]", "delete: [{id: 7}]",
                 "boxes: [{id: 7, keys: {2: [0, 0, 10, 10]}}]"):
        with pytest.raises(ValueError, match="identity 7, which the labels do not have"):
            apply_corrections(rows, fix(text))
    with pytest.raises(ValueError, match="spans frames 1-5"):
        apply_corrections(rows, fix("split: [{id: 1, frame: 1}]"))  # a split at the first frame splits nothing


def test_deleted_boxes_go_or_become_ignore_regions():
    rows = walk(1, range(1, 11)) + walk(2, range(1, 11), x0=150)
    out, summary = apply_corrections(rows, fix("delete: [{id: 1, first: 3, last: 4}, {id: 2, first: 9, ignore: true}]"))
    f = ids_by_frame(out)
    assert f[3] == [2] and f[4] == [2] and f[5] == [1, 2]
    assert f[9] == [1, -1] and f[10] == [1, -1]
    assert [r.flag for r in out if r.track_id == -1] == [0, 0]
    assert summary["deleted_boxes"] == 2 and summary["ignored_boxes"] == 2


def test_key_frame_boxes_are_interpolated_and_replace_the_identitys_own():
    rows = walk(1, range(1, 21))
    text = """
boxes:
  - {id: 1, keys: {10: [100, 10, 20, 50], 14: [140, 10, 20, 90]}}
  - {ignore: true, keys: {2: [0, 0, 30, 60], 4: [10, 0, 30, 60]}}
"""
    out, summary = apply_corrections(rows, fix(text))
    one = {r.frame: r.box for r in out if r.track_id == 1}
    assert sorted(one) == list(range(1, 21))  # still one box per frame
    np.testing.assert_allclose(one[12], [120, 10, 140, 80])  # half-way between the keys (ltrb)
    np.testing.assert_allclose(one[9], rows[8].box)  # outside the keys: the linker's box
    ign = {r.frame: r.box for r in out if r.flag == 0}
    assert sorted(ign) == [2, 3, 4] and np.allclose(ign[3], [5, 0, 35, 60])
    assert summary["boxes_set"] == 5 and summary["ignore_regions_added"] == 3
    out, _ = apply_corrections(rows, fix("boxes: [{id: 9, new: true, keys: {3: [0, 0, 10, 20], 5: [4, 0, 10, 20]}}]"))
    assert [r.frame for r in out if r.track_id == 9] == [3, 4, 5]  # a person the labels lacked
    with pytest.raises(ValueError, match="identity 1 is already in the labels"):
        apply_corrections(rows, fix("boxes: [{id: 1, new: true, keys: {3: [0, 0, 10, 20]}}]"))
    with pytest.raises(ValueError, match="outside the labelled frames 1-20"):
        apply_corrections(rows, fix("boxes: [{id: 1, keys: {19: [0, 0, 5, 5], 25: [0, 0, 5, 5]}}]"), (1, 20))


@pytest.mark.parametrize("text, message", [
    ("mrege: [[1, 2]]", "unknown section"),
    ("merge: [[1]]", "two or more identities"),
    ("merge: [[1, 2], [2, 3]]", "more than one merge group"),
    ("split: [{id: 1}]", "needs `id` and `frame`"),
    ("delete: [{id: 1, first: 9, last: 3}]", "last .3. is before first .9."),
    ("boxes: [{id: 1, keys: {3: [0, 0, -5, 10]}}]", "positive width"),
    ("boxes: [{id: 1, ignore: true, keys: {3: [0, 0, 5, 10]}}]", "either `id`"),
    ("boxes: [{id: 1, keys: {3: [0, 0, 5, 10]}, colour: red}]", "unknown key"),
])
def test_malformed_corrections_are_refused_naming_the_entry(text, message):
    with pytest.raises(ValueError, match=message):
        fix(text)


def test_pseudo_label_applies_the_corrections_on_every_relabel(tmp_path):
    """The command re-makes the labels from the teachers' boxes and the corrections each time, and reports them."""
    from sotmot_ros import cli
    from sotmot_ros.pseudo.fusion import FusedBoxes
    from sotmot_ros.pseudo.labeller import write_fused, write_seqinfo

    frames, out = blank_clip(tmp_path, 20, 200, 120)
    # one person, unseen by the teachers in frames 8-13 (longer than the linker's max_gap): two identities
    fused = {f: (FusedBoxes(ltrb(40 + 3 * f, 60)[None].astype(np.float32), np.array([0.8], np.float32),
                            np.array([2])) if not 8 <= f <= 13 else FusedBoxes.empty()) for f in range(1, 21)}
    write_fused(str(out / "fused.txt"), fused)
    write_seqinfo(str(out / "seqinfo.ini"), "clip", str(frames), 10.0, 20, (200, 120))
    (out / "report.json").write_text(json.dumps({"teachers": 2}))
    args = ["pseudo-label", str(frames), "--relabel", "--out", str(tmp_path / "labels")]
    assert cli.main(args) == 0
    assert sorted({int(i) for a in read_mot_file(str(out / "gt" / "gt.txt")).values() for i in a.ids}) == [1, 2]
    fixes = tmp_path / "clip.yaml"
    fixes.write_text("merge: [[1, 2]]\nboxes: [{id: 1, keys: {8: [61, 35, 20, 50], 13: [76, 35, 20, 50]}}]\n")
    for _ in range(2):  # the same result every time the labels are re-made
        assert cli.main(args + ["--corrections", str(fixes)]) == 0
        anns = read_mot_file(str(out / "gt" / "gt.txt"))
        assert sorted(anns) == list(range(1, 21)) and all(a.ids.tolist() == [1] for a in anns.values())
    report = json.loads((out / "report.json").read_text())
    assert report["identities"] == 1 and report["corrections"]["merged_identities"] == 1
    assert report["corrections"]["boxes_set"] == 6 and len(report["corrections"]["sha256"]) == 64
    fixes.write_text("merge: [[1, 3]]\n")  # a stale file: the command fails and names the problem
    assert cli.main(args + ["--corrections", str(fixes)]) == 1
    assert cli.main(args + ["--corrections", str(fixes), "--corrections", str(fixes)]) == 1  # one per source


def test_join_candidates_pair_an_identity_that_ends_with_one_that_starts_near_it_soon_after():
    def track(frames, x):
        return np.asarray(frames), np.stack([ltrb(x + 2 * k, 60) for k in range(len(frames))])

    tracks = {1: track(range(1, 11), 40),         # ends at frame 10 near x 58
              2: track(range(16, 31), 62),        # starts 0.5 s later, close by: a candidate
              3: track(range(14, 31), 400),       # starts far away: not one
              4: track(range(60, 70), 60),        # starts 5 s later: not one (max 3 s)
              5: track(range(12, 31), 110)}       # a second candidate, one height away: listed after 2
    cands = join_candidates(tracks, fps=10.0, max_gap_seconds=3.0, max_distance=2.5)
    assert [(c["ends"], c["starts"]) for c in cands if c["ends"] == 1] == [(1, 2), (1, 5)]
    assert cands[0]["gap_seconds"] == pytest.approx(0.6) and cands[0]["distance_heights"] < 0.2
    assert all(c["ends"] != 4 for c in cands)  # the last to end has nothing after it
    assert [c["starts"] for c in join_candidates(tracks, 10.0, per_identity=1) if c["ends"] == 1] == [2]


def test_review_labels_draws_the_sheets_for_a_labelled_folder(tmp_path, capsys):
    import cv2

    from sotmot_ros import cli
    from sotmot_ros.pseudo.labeller import write_labels, write_seqinfo

    video, out = blank_clip(tmp_path, 30, 200, 120, grey=90)
    write_labels(str(out / "gt" / "gt.txt"), walk(1, range(1, 11)) + walk(2, range(14, 31), x0=64))
    write_seqinfo(str(out / "seqinfo.ini"), "clip", str(video), 10.0, 30, (200, 120))
    assert cli.main(["review-labels", str(out), "--frames", "5,20"]) == 0
    text = capsys.readouterr().out
    assert "#  - [1, 2]" in text
    written = sorted(p.name for p in (out / "review").iterdir())
    assert written == ["candidates.yaml", "frame_000005.png", "frame_000020.png", "identities_1.png", "joins_1.png"]
    frame = cv2.imread(str(out / "review" / "frame_000005.png"))
    assert frame.shape == (120, 200, 3)  # full size, so boxes can be read off in pixels
    x1, y1, x2, y2 = walk(1, range(1, 11))[4].box.astype(int)
    assert (frame[y1, x1 + 5] != 90).any() and (frame[(y1 + y2) // 2, (x1 + x2) // 2] == 90).all()  # the box is drawn
    assert cli.main(["review-labels", str(out), "--frames", "40"]) == 1  # not in the source: a clear error
    sheet = cv2.imread(str(out / "review" / "joins_1.png"))
    assert sheet is not None and sheet.shape[0] > 100
    assert len(identity_tracks(str(out / "gt" / "gt.txt"))) == 2
    assert cli.main(["review-labels", str(tmp_path / "nowhere")]) == 1  # a clear error, no traceback


CORRECTIONS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "config", "label_corrections")


@pytest.mark.parametrize("name", sorted(f[:-5] for f in os.listdir(CORRECTIONS_DIR) if f.endswith(".yaml")))
def test_the_projects_corrections_files_parse(name):
    """The project's corrections files (config/label_corrections, every one) stay valid as the format evolves."""
    path = os.path.join(CORRECTIONS_DIR, f"{name}.yaml")
    fixes = load_corrections(path)
    assert fixes.merge and all(len(g) >= 2 for g in fixes.merge) and len(fixes.sha256) == 64
