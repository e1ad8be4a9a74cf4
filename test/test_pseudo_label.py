"""Pseudo-labelling: teacher decoding, fusion of teachers, linking into tracklets, label files for training."""

import os

import numpy as np
import pytest
import torch

from sotmot_ros.data.dataset import PairDataset
from sotmot_ros.data.mot import MOTSequence, read_mot_file
from sotmot_ros.data.pairs import PairSpec
from sotmot_ros.pseudo.fusion import FusedBoxes, fuse_boxes
from sotmot_ros.pseudo.labeller import make_labels, read_fused, write_fused, write_labels
from sotmot_ros.pseudo.linking import LinkConfig
from sotmot_ros.pseudo.teacher import decode_yolox, detect_tiled, tile_windows, yolox_grid
from sotmot_ros.train.losses import focal_loss

SHARED = os.path.join(os.path.dirname(__file__), "..", "..", "shared")
TEACHERS = os.path.join(SHARED, "teachers")


def box(cx, cy, w=20, h=50):
    return np.array([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], np.float32)


def frames_of(seq: dict[int, list[tuple[np.ndarray, float]]]) -> dict[int, FusedBoxes]:
    out = {}
    for f, items in seq.items():
        if items:
            out[f] = FusedBoxes(np.stack([b for b, _ in items]), np.array([s for _, s in items], np.float32),
                                np.ones(len(items), np.int64))
        else:
            out[f] = FusedBoxes.empty()
    return out


# ----------------------------------------------------------------------------- teacher decoding


def test_yolox_grid_and_decoding_follow_the_layout():
    grid, strides = yolox_grid(64, 32)
    assert len(grid) == 8 * 4 + 4 * 2 + 2 * 1
    raw = np.zeros((len(grid), 5 + 3), np.float32)
    # one confident person at anchor (x=3, y=1) of stride 8, offset (0.5, 0.5), size exp(0)*8 x exp(log 3)*8
    i = 1 * 8 + 3
    raw[i, :4] = [0.5, 0.5, 0.0, np.log(3.0)]
    raw[i, 4], raw[i, 5] = 0.9, 0.8  # objectness, person
    raw[i + 1, 4], raw[i + 1, 6] = 0.9, 0.9  # another class only: not a person
    boxes, scores = decode_yolox(raw, grid, strides, person_class=0, score_threshold=0.3)
    assert len(boxes) == 1
    np.testing.assert_allclose(scores, [0.72], atol=1e-6)
    np.testing.assert_allclose(boxes[0], [28 - 4, 12 - 12, 28 + 4, 12 + 12], atol=1e-4)


def test_tiles_cover_the_image_and_cut_boxes_are_dropped():
    windows = tile_windows(800, 600, 2, overlap=0.25)
    assert len(windows) == 4
    assert min(w[0] for w in windows) == 0 and max(w[2] for w in windows) == 800
    assert min(w[1] for w in windows) == 0 and max(w[3] for w in windows) == 600

    class Fake:  # sees one person at a fixed image position, in any window that contains it whole
        def __init__(self):
            self.person = np.array([380, 250, 420, 350], np.float32)

        def detect(self, img):
            h, w = img.shape[:2]
            return np.zeros((0, 4), np.float32), np.zeros(0, np.float32)

    class Cutting(Fake):  # reports a box touching the window's right edge (a truncated person)
        def detect(self, img):
            h, w = img.shape[:2]
            if w == 800:
                return np.zeros((0, 4), np.float32), np.zeros(0, np.float32)
            return np.array([[w - 30, 10, w, 90]], np.float32), np.array([0.9], np.float32)

    img = np.zeros((600, 800, 3), np.uint8)
    boxes, _ = detect_tiled(Cutting(), img, tiles=2)
    # windows on the left have an inner right edge: their boxes are cut; the right column's touch the image edge
    assert len(boxes) >= 1 and np.all(boxes[:, 2] >= 799)


@pytest.mark.skipif(not os.path.isdir(TEACHERS), reason="../shared/teachers not present (development data)")
def test_real_teachers_find_people_in_a_pets_frame():
    from sotmot_ros.data.video import iter_video_frames
    from sotmot_ros.pseudo.teacher import OnnxTeacher

    video = os.path.join(os.path.dirname(__file__), "..", "data_cache", "vtest.avi")
    if not os.path.isfile(video):
        pytest.skip("data_cache/vtest.avi not fetched")
    gt = read_mot_file(os.path.join(SHARED, "data", "PETS09-S2L1", "gt_train_0001-0397.txt"), "mot15", (50, 50))[50]
    _, img = next(iter_video_frames(video, 50, 50))
    teachers = [OnnxTeacher(os.path.join(TEACHERS, n)) for n in ("yolox_nano_coco.onnx", "person_yoloxstyle_192.onnx")]
    fused = fuse_boxes([detect_tiled(t, img, tiles=2) for t in teachers])
    from sotmot_ros.boxes import iou_matrix

    confident = fused.boxes[fused.scores >= 0.5]
    found = (iou_matrix(gt.boxes[~gt.ignore], confident).max(1) >= 0.5).mean()
    assert found >= 0.7


# ----------------------------------------------------------------------------- fusion


def test_two_teachers_that_agree_fuse_into_one_confident_box():
    a = (np.array([box(100, 100)]), np.array([0.9]))
    b = (np.array([box(103, 101)]), np.array([0.7]))
    fused = fuse_boxes([a, b])
    assert len(fused) == 1 and fused.support.tolist() == [2]
    np.testing.assert_allclose(fused.scores, [0.8], atol=1e-6)
    expected = (0.9 * box(100, 100) + 0.7 * box(103, 101)) / 1.6
    np.testing.assert_allclose(fused.boxes[0], expected, atol=1e-4)


def test_a_box_only_one_teacher_sees_is_down_weighted():
    a = (np.array([box(100, 100), box(300, 100)]), np.array([0.9, 0.9]))
    b = (np.array([box(100, 100)]), np.array([0.9]))
    fused = fuse_boxes([a, b])
    assert sorted(fused.support.tolist()) == [1, 2]
    lone = fused.scores[fused.support == 1][0]
    assert lone == pytest.approx(0.45) and lone < 0.5  # below the default target score: not a target alone


def test_one_teacher_never_fuses_two_of_its_own_boxes():
    a = (np.array([box(100, 100), box(104, 100)]), np.array([0.9, 0.8]))  # two close people
    fused = fuse_boxes([a])
    assert len(fused) == 2


# ----------------------------------------------------------------------------- linking and labels


def test_a_walking_person_becomes_one_identity():
    seq = {f: [(box(50 + 5 * f, 100), 0.8)] for f in range(1, 11)}
    rows, stats = make_labels(frames_of(seq), LinkConfig())
    assert stats["confirmed_tracklets"] == 1
    assert [r.frame for r in rows] == list(range(1, 11))
    assert {r.track_id for r in rows} == {1} and all(r.flag == 1 for r in rows)


def test_one_frame_flicker_is_dropped_but_a_confident_unconfirmed_box_is_ignored():
    seq = {f: [(box(50 + 5 * f, 100), 0.8)] for f in range(1, 11)}
    seq[5] = seq[5] + [(box(400, 300), 0.3)]  # weak flicker: dropped (background)
    seq[7] = seq[7] + [(box(600, 300), 0.9)]  # confident but a single frame: ignore region
    rows, stats = make_labels(frames_of(seq), LinkConfig())
    assert stats["flickers_dropped"] == 1
    assert not any(r.frame == 5 and r.box[0] > 300 for r in rows)
    ignored = [r for r in rows if r.flag == 0]
    assert len(ignored) == 1 and ignored[0].frame == 7 and ignored[0].track_id == -1


def test_short_gap_is_filled_and_weak_boxes_of_a_track_are_kept():
    seq = {f: [(box(50 + 5 * f, 100), 0.8 if f != 4 else 0.2)] for f in range(1, 11)}
    seq[6], seq[7] = [], []  # missed by the teachers for two frames
    rows, stats = make_labels(frames_of(seq), LinkConfig(max_gap=3))
    assert stats["confirmed_tracklets"] == 1 and stats["filled_boxes"] == 2
    filled = [r for r in rows if r.filled]
    assert [r.frame for r in filled] == [6, 7]
    np.testing.assert_allclose(filled[0].box, box(50 + 5 * 6, 100), atol=1e-4)
    assert any(r.frame == 4 and r.flag == 1 for r in rows)  # the weak box inside the track is a target


def test_gap_longer_than_max_gap_splits_the_tracklet():
    seq = {f: [(box(50 + 5 * f, 100), 0.8)] for f in range(1, 21)}
    for f in range(8, 13):
        seq[f] = []
    rows, stats = make_labels(frames_of(seq), LinkConfig(max_gap=3))
    assert stats["confirmed_tracklets"] == 2 and stats["filled_boxes"] == 0


def test_crossing_people_never_swap_identities():
    # A walks right, B walks left on the same line; they pass each other around frame 20
    seq = {f: [(box(100 + 5 * f, 100), 0.9), (box(300 - 5 * f, 100), 0.9)] for f in range(1, 41)}
    rows, stats = make_labels(frames_of(seq), LinkConfig())
    by_id: dict[int, list] = {}
    for r in rows:
        if r.flag == 1:
            by_id.setdefault(r.track_id, []).append(r)
    assert stats["confirmed_tracklets"] >= 2 and sum(map(len, by_id.values())) >= 50  # linked, not all dropped
    for rs in by_id.values():
        xs = [float((r.box[0] + r.box[2]) / 2) for r in sorted(rs, key=lambda r: r.frame)]
        steps = np.diff(xs)
        # one identity keeps one direction of motion: no tracklet jumps from A to B
        assert np.all(steps > 0) or np.all(steps < 0), xs


def test_label_file_round_trips_through_the_training_reader_with_ignore_regions(tmp_path):
    seq = {f: [(box(50 + 5 * f, 100), 0.8)] for f in range(1, 6)}
    seq[3] = seq[3] + [(box(200, 100), 0.9)]  # confident single box -> ignore region
    fused = frames_of(seq)
    rows, _ = make_labels(fused, LinkConfig())
    write_labels(str(tmp_path / "gt.txt"), rows)
    anns = read_mot_file(str(tmp_path / "gt.txt"), fmt="mot15")
    assert anns[3].ignore.tolist() == [False, True]
    np.testing.assert_allclose(anns[3].boxes[1], box(200, 100), atol=0.01)
    write_fused(str(tmp_path / "fused.txt"), fused)
    back = read_fused(str(tmp_path / "fused.txt"), range(1, 6))
    np.testing.assert_allclose(back[3].boxes, fused[3].boxes, atol=0.01)


def test_ignore_regions_are_left_out_of_the_heatmap_loss(tmp_path):
    import cv2

    h, w = 192, 256
    frames = tmp_path / "imgs"
    frames.mkdir()
    for f in range(1, 4):
        cv2.imwrite(str(frames / f"{f:04d}.png"), np.full((h, w, 3), 90, np.uint8))
    gt = tmp_path / "gt.txt"
    gt.write_text("".join(f"{f},1,20,20,30,80,1,-1,-1,-1\n{f},-1,150,40,40,100,0,-1,-1,-1\n" for f in range(1, 4)))
    seq = MOTSequence(str(frames), gt=str(gt), fmt="mot15")
    item = PairDataset([seq], w, h)[PairSpec(0, 1, 2, 0)]
    ign = item["hm_ignore_a"][0]
    assert ign[60 // 4, 170 // 4] and not ign[60 // 4, 35 // 4]
    assert item["mask_a"].sum() == 1  # only the target is a training object
    # a confident false peak inside the ignore region costs nothing; outside it costs
    base = torch.full((1, 1, h // 4, w // 4), -6.0)
    inside, outside = base.clone(), base.clone()
    inside[0, 0, 60 // 4, 170 // 4] = 6.0
    outside[0, 0, 10, 55] = 6.0
    hm, ignore = item["hm_a"][None], item["hm_ignore_a"][None]
    l_base, l_in, l_out = (float(focal_loss(x, hm, ignore)) for x in (base, inside, outside))
    assert l_in == pytest.approx(l_base, rel=1e-4)
    assert l_out > l_base + 0.1


def test_an_ambiguous_link_ends_the_tracklet_instead_of_guessing():
    # one person for 5 frames, then two equally likely continuations (a second person steps out behind)
    seq = {f: [(box(100, 100), 0.9)] for f in range(1, 6)}
    for f in range(6, 12):
        seq[f] = [(box(97, 100), 0.9), (box(103, 100), 0.9)]
    rows, stats = make_labels(frames_of(seq), LinkConfig())
    first_id = {r.track_id for r in rows if r.frame <= 5}
    later_ids = {r.track_id for r in rows if r.frame >= 6}
    assert len(first_id) == 1 and first_id.isdisjoint(later_ids)


def test_a_weak_near_duplicate_of_a_person_does_not_end_its_tracklet():
    # fusion leaves a weak box a few px off the person in some frames; it is not a second person
    rng = np.random.default_rng(0)
    seq = {}
    for f in range(1, 31):
        x = 50 + 3 * f + rng.uniform(-1.5, 1.5)
        seq[f] = [(box(x, 100), 0.85)]
        if f % 3 == 0:
            seq[f].append((box(x + 3, 103), 0.3))
    rows, stats = make_labels(frames_of(seq), LinkConfig())
    assert stats["confirmed_tracklets"] == 1
    assert {r.track_id for r in rows if r.flag == 1} == {1} and len([r for r in rows if r.flag == 1]) == 30


def test_a_person_whose_boxes_jitter_stays_one_identity():
    # teacher boxes of a small walking person: edges jitter by a few px every frame
    rng = np.random.default_rng(3)
    seq = {}
    for f in range(1, 61):
        cx, cy = 100 + 2 * f, 200
        x1, x2 = cx - 8 + rng.uniform(-3, 3), cx + 8 + rng.uniform(-3, 3)
        y1, y2 = cy - 25 + rng.uniform(-5, 5), cy + 25 + rng.uniform(-5, 5)
        seq[f] = [(np.array([x1, y1, x2, y2], np.float32), 0.8)]
    rows, stats = make_labels(frames_of(seq), LinkConfig())
    assert stats["confirmed_tracklets"] == 1, stats


@pytest.mark.parametrize("bad", [{"nms_iou": 0.0}, {"nms_iou": 1.5}, {"velocity_frames": 1}])
def test_link_settings_out_of_range_are_refused_with_their_names(bad):
    with pytest.raises(ValueError, match=next(iter(bad))):
        LinkConfig(**bad)


def test_label_identities_are_scored_against_annotations():
    from sotmot_ros.data.mot import FrameAnnotations
    from sotmot_ros.pseudo.labeller import identity_quality
    from sotmot_ros.pseudo.linking import LabelRow

    gt = {f: FrameAnnotations(np.stack([box(100 + 2 * f, 100), box(300, 100)]), np.array([1, 2]),
                              np.zeros(2, bool)) for f in range(1, 21)}
    # each person is labelled as two identities (frames 1-10 and 11-20): fragments, no swap
    rows = []
    for f in range(1, 21):
        rows.append(LabelRow(f, 1 if f <= 10 else 2, box(100 + 2 * f, 100), 0.9, 1))
        rows.append(LabelRow(f, 3 if f <= 10 else 4, box(300, 100), 0.9, 1))
    q = identity_quality(rows, gt)
    assert q["identities_per_person"] == 2.0 and q["swapped_identities"] == 0 and q["label_identities_matched"] == 4
    # identity 3 (person 2 so far) carries on over person 1 in frames 11-12: a swap
    swapped = [r for r in rows if not (r.track_id == 2 and r.frame in (11, 12))]
    swapped += [LabelRow(f, 3, box(100 + 2 * f, 100), 0.9, 1) for f in (11, 12)]
    q = identity_quality(swapped, gt)
    assert q["swapped_identities"] == 1


def test_a_box_around_a_group_does_not_become_an_ignore_region():
    seq = {f: [(box(100 + 2 * f, 100), 0.9), (box(160 + 2 * f, 100), 0.9)] for f in range(1, 8)}
    seq[4] = seq[4] + [(np.array([60, 40, 220, 160], np.float32), 0.6)]  # one frame, around both people
    seq[5] = seq[5] + [(box(400, 100), 0.6)]  # a lone uncertain box stays an ignore region
    rows, stats = make_labels(frames_of(seq), LinkConfig())
    ignored = [r for r in rows if r.flag == 0]
    assert stats["group_boxes_dropped"] == 1
    assert [r.frame for r in ignored] == [5]


def test_relabel_rederives_labels_from_fused_boxes_and_keeps_the_teachers(tmp_path, capsys):
    import json

    from label_helpers import blank_clip
    from sotmot_ros import cli
    from sotmot_ros.pseudo.labeller import write_seqinfo

    frames, out = blank_clip(tmp_path, 6, 160, 120)
    write_fused(str(out / "fused.txt"), frames_of({f: [(box(40 + 2 * f, 60), 0.6)] for f in range(1, 7)}))
    write_seqinfo(str(out / "seqinfo.ini"), "clip", str(frames), 10.0, 6, (160, 120))
    (out / "report.json").write_text(json.dumps({"teachers": 2, "teacher_files": ["a.onnx", "b.onnx"]}))
    assert cli.main(["pseudo-label", str(frames), "--relabel", "--out", str(tmp_path / "labels"),
                     "--target-score", "0.55"]) == 0
    anns = read_mot_file(str(out / "gt" / "gt.txt"), fmt="mot15")
    assert sorted(anns) == list(range(1, 7)) and not any(a.ignore.any() for a in anns.values())
    report = json.loads((out / "report.json").read_text())
    assert report["teachers"] == 2 and report["teacher_files"] == ["a.onnx", "b.onnx"]
    assert cli.main(["pseudo-label", str(frames), "--relabel", "--out", str(tmp_path / "labels"),
                     "--target-score", "0.65"]) == 0  # now no box is confident enough: all ignore regions
    anns = read_mot_file(str(out / "gt" / "gt.txt"), fmt="mot15")
    assert all(a.ignore.all() for a in anns.values())
    # a moving camera's relabel needs the motion measured with the teachers: refused with the reason, then used
    args = ["pseudo-label", str(frames), "--relabel", "--out", str(tmp_path / "labels"), "--camera-motion", "affine"]
    assert cli.main(args) == 1
    assert "camera_motion.txt" in capsys.readouterr().err
    from sotmot_ros.pseudo.labeller import write_camera_motion

    write_camera_motion(str(out / "camera_motion.txt"), {f: np.array([[1.0, 0, 0], [0, 1.0, 0]]) for f in range(2, 7)})
    assert cli.main(args) == 0
    assert json.loads((out / "report.json").read_text())["camera_motion"] == "affine"


def test_a_moving_cameras_recording_links_people_once_its_motion_is_given(tmp_path):
    """Two people walking while the camera jerks sideways by +-30 px every frame (a robot's recording): without
    the camera's motion the linker loses them at every jerk; with it each stays one identity, every observed label
    keeps its frame's own pixels and a gap is filled where the person was in that frame."""
    from sotmot_ros.pseudo.labeller import read_camera_motion, write_camera_motion

    offsets = {f: 30.0 * (1 if f % 2 else -1) for f in range(1, 31)}
    seq = {f: [(box(100 + 2 * f + offsets[f], 100), 0.9), (box(300 - 2 * f + offsets[f], 200), 0.9)]
           for f in range(1, 31)}
    seq[15] = seq[15][:1]  # the second person missed once: filled
    warps = {f: np.array([[1.0, 0.0, offsets[f] - offsets[f - 1]], [0.0, 1.0, 0.0]]) for f in range(2, 31)}
    path = tmp_path / "camera_motion.txt"
    write_camera_motion(str(path), warps)
    warps = read_camera_motion(str(path))  # what --relabel reads
    assert set(warps) == set(range(2, 31))

    rows, stats = make_labels(frames_of(seq), LinkConfig(max_gap=3), warps)
    targets = [r for r in rows if r.flag == 1]
    assert stats["confirmed_tracklets"] == 2 and {r.track_id for r in targets} == {1, 2}
    for r in targets:
        if not r.filled:
            # exactly the fused box of its frame (float32, as fusion gives it)
            assert any(np.array_equal(r.box, np.float32(b)) for b, _ in seq[r.frame]), r.box
    (gap,) = [r for r in targets if r.filled]
    np.testing.assert_allclose(gap.box, box(300 - 2 * 15 + offsets[15], 200), atol=1e-3)

    unaware, stats_unaware = make_labels(frames_of(seq), LinkConfig(max_gap=3))
    # without it each person splits into two identities (odd and even frames, linked across the jerks' gaps),
    # and the "filled" boxes between them sit 60 px off the person
    assert stats_unaware["confirmed_tracklets"] >= 4
    assert stats_unaware["filled_boxes"] > 20
