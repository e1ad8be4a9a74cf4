"""Data pipeline: MOT readers, video range decoding, pair sampling, augmentation geometry, targets."""

import cv2
import numpy as np
import pytest

from sotmot_ros.data.augment import AugmentConfig, augment_pair
from sotmot_ros.data.mot import MOTSequence, read_mot_file, write_mot_results
from sotmot_ros.data.pairs import PairSampler, sample_pairs
from sotmot_ros.data.targets import encode_targets


def test_read_mot15_flag_zero_is_ignore(tmp_path):
    p = tmp_path / "gt.txt"
    p.write_text("1,9,499,158,31,75,1,-4.1,-7.3,0\n1,12,648,115,20,59,0,3.7,-8.0,0\n2,9,497,158,31,75,1,-4.2,-7.3,0\n")
    anns = read_mot_file(str(p), fmt="mot15")
    assert sorted(anns) == [1, 2]
    np.testing.assert_allclose(anns[1].boxes[0], [499, 158, 530, 233])
    assert anns[1].ignore.tolist() == [False, True]
    assert list(read_mot_file(str(p), fmt="mot15", frame_range=(2, 2))) == [2]


def test_read_mot17_class_and_visibility(tmp_path):
    p = tmp_path / "gt.txt"
    p.write_text("1,1,10,10,5,10,1,1,0.9\n1,2,20,10,5,10,1,7,1.0\n1,3,30,10,5,10,1,1,0.1\n")
    ann = read_mot_file(str(p), fmt="mot17", min_visibility=0.2)[1]
    assert ann.ignore.tolist() == [False, True, True]
    with pytest.raises(ValueError):
        read_mot_file(str(p), fmt="mot99")


def test_write_mot_results(tmp_path):
    p = tmp_path / "out" / "res.txt"
    write_mot_results(str(p), [(3, 7, 10.0, 20.0, 40.0, 80.0, 0.9)])
    assert p.read_text().strip() == "3,7,10.00,20.00,30.00,60.00,0.9000,-1,-1,-1"


def _write_video(path, n, w=64, h=48):
    vw = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, (w, h))
    for i in range(n):
        vw.write(np.full((h, w, 3), 20 * i, np.uint8))
    vw.release()


def test_video_sequence_decodes_only_the_range(tmp_path):
    _write_video(tmp_path / "v.avi", 10)
    (tmp_path / "gt.txt").write_text("".join(f"{f},1,5,5,10,20,1,-1,-1,-1\n" for f in range(1, 11)))
    seq = MOTSequence(str(tmp_path / "v.avi"), gt=str(tmp_path / "gt.txt"), frame_range=(3, 6), fmt="mot15")
    assert seq.frames == [3, 4, 5, 6] and sorted(seq._frames) == [3, 4, 5, 6]
    assert sorted(seq.annotations) == [3, 4, 5, 6]
    for f in seq.frames:  # frame f (1-based) has brightness 20 * (f - 1)
        assert abs(float(seq.image(f).mean()) - 20 * (f - 1)) < 4
    with pytest.raises(IndexError):
        seq.image(7)
    with pytest.raises(ValueError):
        MOTSequence(str(tmp_path / "v.avi"), gt=str(tmp_path / "gt.txt"), frame_range=(3, 12), fmt="mot15")


def test_pair_sampler_gaps_sequences_and_determinism():
    frames = [list(range(1, 41)), list(range(100, 131)), [5, 9]]
    pairs = sample_pairs(frames, 2, 5, seed=3, epoch=0)
    assert len(pairs) > 50
    for p in pairs:
        assert 2 <= p.frame_b - p.frame_a <= 5
        assert p.frame_a in frames[p.seq] and p.frame_b in frames[p.seq]
    assert pairs == sample_pairs(frames, 2, 5, seed=3, epoch=0)
    assert pairs != sample_pairs(frames, 2, 5, seed=3, epoch=1)
    assert pairs != sample_pairs(frames, 2, 5, seed=4, epoch=0)
    shards = [list(PairSampler(frames, 2, 5, 3, batch_size=4, rank=r, world_size=2)) for r in range(2)]
    assert len(shards[0]) == len(shards[1]) and len(shards[0]) % 4 == 0
    assert not set(shards[0]) & set(shards[1])
    s = PairSampler(frames, 2, 5, 3, batch_size=4)
    full = list(s)
    s.set_epoch(0, start_batch=2)
    assert list(s) == full[8:]


def test_augment_moves_image_and_boxes_together():
    img = np.zeros((120, 160, 3), np.uint8)
    box = np.array([[40, 30, 80, 90]], np.float32)
    img[30:90, 40:80] = 255
    cfg = AugmentConfig(scale=0.3, translate=0.1, flip=True, hsv=0.0)
    for seed in range(6):
        (out_a, out_b), (ba, bb) = augment_pair([img, img], [box, box], np.random.default_rng(seed), cfg, 128, 96)
        np.testing.assert_allclose(ba, bb)
        ys, xs = np.nonzero(out_a[..., 0] > 200)
        np.testing.assert_allclose([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1], ba[0], atol=1.5)


def test_targets_encode_decode_within_one_pixel():
    rng = np.random.default_rng(0)
    out_w, out_h = 40, 30
    x1 = rng.uniform(0, 30, 12)
    y1 = rng.uniform(0, 20, 12)
    boxes = np.stack([x1, y1, x1 + rng.uniform(2, 9, 12), y1 + rng.uniform(2, 9, 12)], 1).astype(np.float32)
    t = encode_targets(boxes, np.zeros(12, int), np.arange(12) + 5, out_w, out_h, 1, 32)
    k = int(t["mask"].sum())
    assert k == 12 and t["ids"][:k].tolist() == list(range(5, 17)) and (t["ids"][k:] == -1).all()
    for i in range(k):
        iy, ix = divmod(int(t["ind"][i]), out_w)
        assert t["hm"][0, iy, ix] == 1.0
        cx, cy = ix + t["reg"][i, 0], iy + t["reg"][i, 1]
        dec = np.array([cx - t["wh"][i, 0], cy - t["wh"][i, 1], cx + t["wh"][i, 2], cy + t["wh"][i, 3]]) * 4
        np.testing.assert_allclose(dec, boxes[i] * 4, atol=1.0)


def test_targets_clip_drop_and_ignore_regions():
    boxes = np.array([[-5, 2, 8, 10], [50, 2, 60, 10], [3, 3, 3.5, 3.5]], np.float32)
    ignore = np.array([[20, 5, 30, 15]], np.float32)
    t = encode_targets(boxes, np.zeros(3, int), np.arange(3), 40, 30, 1, 8, ignore_boxes_out=ignore)
    assert int(t["mask"].sum()) == 1  # outside and sub-cell boxes dropped
    np.testing.assert_allclose(t["wh"][0] + [0, 0, 0, 0], [4, 4, 4, 4])  # clipped to [0, 2, 8, 10]
    assert t["hm_ignore"][0, 5:15, 20:30].all() and t["hm_ignore"].sum() == 100
    assert (t["hm"][0, 5:15, 20:30] == 0).all()  # an ignore region never produces a positive
