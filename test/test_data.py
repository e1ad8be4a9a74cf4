"""Data pipeline: MOT readers, video range decoding, pair sampling, augmentation geometry, targets."""

import os

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


def _person_frame(w=768, h=576, box=(300, 200, 325, 260)):
    """A dark frame with one bright person-sized rectangle (60 px tall by default)."""
    img = np.full((h, w, 3), 20, np.uint8)
    x1, y1, x2, y2 = box
    img[y1:y2, x1:x2] = 255
    return img, np.array([box], np.float32)


def test_person_scale_mode_spans_heights_keeps_boxes_on_pixels_and_person_in_view():
    img, box = _person_frame()
    cfg = AugmentConfig(flip=True, scale_mode="person")  # heights 20..320, zoom 0.25..6 (default)
    net_w, net_h = 512, 384  # letterbox scale 2/3: the person is 40 px in the plain letterbox
    heights = []
    for seed in range(120):
        (out_a, out_b), (ba, bb) = augment_pair([img, img], [box, box], np.random.default_rng(seed), cfg, net_w, net_h)
        np.testing.assert_allclose(ba, bb)  # one geometric warp per pair
        x1, y1, x2, y2 = ba[0]
        h = y2 - y1
        heights.append(h)
        assert 20 - 1e-3 <= h <= 40 * 6 + 1e-3  # target range, clamped by zoom_max
        assert abs((x2 - x1) / h - 25 / 60) < 1e-4  # aspect preserved
        # the chosen person is fully visible (it fits at every drawn size) ...
        assert x1 >= -1e-3 and y1 >= -1e-3 and x2 <= net_w + 1e-3 and y2 <= net_h + 1e-3
        # ... and the bright pixels sit inside its transformed box
        ys, xs = np.nonzero(out_a[..., 0] > 200)
        assert len(xs) and xs.min() >= x1 - 1.5 and ys.min() >= y1 - 1.5
        assert xs.max() + 1 <= x2 + 1.5 and ys.max() + 1 <= y2 + 1.5
        z = h / 40.0
        if z <= 1.0:  # zoomed out: the whole shrunken image inside the input, grey elsewhere
            content = int(((out_a[..., 0] < 60) | (out_a[..., 0] > 200)).sum())
            assert abs(content / (512 * z * 384 * z) - 1) < 0.05
        else:  # zoomed in: a crop of the image covers the whole input
            assert (np.abs(out_a.astype(int) - 127).max(2) < 20).mean() < 0.01  # only the person's edges
    heights = np.array(heights)
    assert (heights < 40).sum() >= 10 and (heights > 200).sum() >= 10


def test_person_scale_mode_picks_counted_boxes_and_falls_back_without_any():
    img, box = _person_frame()
    boxes = np.concatenate([box, [[600, 100, 700, 500]]]).astype(np.float32)  # the second one is ignored
    counted = np.array([True, False])
    cfg = AugmentConfig(scale_mode="person", person_height_min=150, person_height_max=300)
    for seed in range(30):
        _, (b, _) = augment_pair([img, img], [boxes, boxes], np.random.default_rng(seed), cfg, 512, 384,
                                 counted=[counted, counted])
        assert 150 - 1e-3 <= b[0, 3] - b[0, 1] <= 240 + 1e-3  # the counted person got the target height
        assert b[0, 0] >= -1e-3 and b[0, 2] <= 512 + 1e-3 and b[0, 1] >= -1e-3 and b[0, 3] <= 384 + 1e-3
    # a person partly outside the image: its visible part is kept in view
    part = np.array([[-20, 500, 30, 620]], np.float32)
    for seed in range(10):
        _, (b, _) = augment_pair([img, img], [part, part], np.random.default_rng(seed), cfg, 512, 384)
        assert b[0, 2] > 0 and b[0, 1] < 384
    # no counted box: the "range" behaviour (here: no zoom at all, the plain letterbox)
    _, (b, _) = augment_pair([img, img], [box, box], np.random.default_rng(0), cfg, 512, 384,
                             counted=[np.array([False]), np.array([False])])
    np.testing.assert_allclose(b[0], box[0] * 2 / 3, atol=1e-3)


def test_grey_applies_to_both_frames_and_blur_changes_the_image():
    rng = np.random.default_rng(0)
    imgs = [rng.integers(0, 256, (96, 128, 3)).astype(np.uint8) for _ in range(2)]
    boxes = [np.array([[10, 10, 30, 50]], np.float32)] * 2
    (a, b), _ = augment_pair(imgs, boxes, np.random.default_rng(1), AugmentConfig(gray=1.0, hsv=0.3), 128, 96)
    for out in (a, b):
        assert (out[..., 0] == out[..., 1]).all() and (out[..., 1] == out[..., 2]).all()
    (a, b), _ = augment_pair(imgs, boxes, np.random.default_rng(1), AugmentConfig(), 128, 96)
    assert (a[..., 0] != a[..., 1]).any()  # off by default
    greys = [augment_pair(imgs, boxes, np.random.default_rng(s), AugmentConfig(gray=0.5), 128, 96)[0] for s in range(40)]
    decisions = {(bool((x[..., 0] == x[..., 2]).all()), bool((y[..., 0] == y[..., 2]).all())) for x, y in greys}
    assert decisions == {(True, True), (False, False)}  # one decision per pair
    (sharp, _), _ = augment_pair(imgs, boxes, np.random.default_rng(1), AugmentConfig(), 128, 96)
    (blurred, _), _ = augment_pair(imgs, boxes, np.random.default_rng(1), AugmentConfig(blur=1.0), 128, 96)
    def detail(x):
        return np.abs(cv2.Laplacian(x.astype(np.float32), cv2.CV_32F)).mean()
    assert detail(blurred) < 0.7 * detail(sharp)


def test_low_resolution_camera_augmentation_blurs_both_frames_keeps_boxes_and_respects_the_upscale_cap():
    rng = np.random.default_rng(0)
    imgs = [rng.integers(0, 256, (96, 128, 3)).astype(np.uint8) for _ in range(2)]
    boxes = [np.array([[10, 10, 30, 50]], np.float32)] * 2
    def detail(x):
        return np.abs(cv2.Laplacian(x.astype(np.float32), cv2.CV_32F)).mean()
    sharp, sharp_boxes = augment_pair(imgs, boxes, np.random.default_rng(1), AugmentConfig(), 128, 96)
    low = AugmentConfig(lowres=1.0, lowres_rows_min=24, lowres_rows_max=24, lowres_max_upscale=8.0)
    soft, soft_boxes = augment_pair(imgs, boxes, np.random.default_rng(1), low, 128, 96)
    for s_img, l_img in zip(sharp, soft):
        assert l_img.shape == s_img.shape and detail(l_img) < 0.5 * detail(s_img)
        assert abs(float(l_img.mean()) - float(s_img.mean())) < 3.0  # the same picture, less sharp
    for a, b in zip(sharp_boxes, soft_boxes):
        np.testing.assert_allclose(a, b)  # labels untouched: only the pixels lose detail
    # the cap: the network input is the frame's own size here, so no enlargement is allowed and nothing shrinks
    capped = AugmentConfig(lowres=1.0, lowres_rows_min=24, lowres_rows_max=24, lowres_max_upscale=1.0)
    same, _ = augment_pair(imgs, boxes, np.random.default_rng(1), capped, 128, 96)
    assert all(np.array_equal(a, b) for a, b in zip(same, sharp))
    # one decision per pair, some pairs of each kind
    half = AugmentConfig(lowres=0.5, lowres_rows_min=24, lowres_rows_max=24, lowres_max_upscale=8.0)
    plain_detail = detail(sharp[0])
    kinds = set()
    for seed in range(30):
        a, b = augment_pair(imgs, boxes, np.random.default_rng(seed), half, 128, 96)[0]
        kinds.add((detail(a) < 0.5 * plain_detail, detail(b) < 0.5 * plain_detail))
    assert kinds == {(True, True), (False, False)}
    for bad in (dict(lowres=1.5), dict(lowres_rows_min=0), dict(lowres_rows_min=300, lowres_rows_max=200),
                dict(lowres_max_upscale=0.5)):
        with pytest.raises(ValueError, match="lowres"):
            AugmentConfig(**bad)


def test_camera_fault_augmentation_degrades_both_frames_of_a_pair_alike_and_keeps_the_boxes():
    """``faults``: one faulty camera per pair (same fault for both frames, noise drawn per frame); the labels
    are untouched; off by default; a probability."""
    from sotmot_ros.data.camera_faults import FAULTS

    base = cv2.GaussianBlur(np.random.default_rng(0).integers(0, 256, (96, 128, 3)).astype(np.uint8), (0, 0), 1.0)
    imgs = [base, base.copy()]
    boxes = [np.array([[10, 10, 30, 50]], np.float32)] * 2
    clean, clean_boxes = augment_pair(imgs, boxes, np.random.default_rng(1), AugmentConfig(), 128, 96)
    changed, seen_noise = set(), False
    for seed in range(40):
        (a, b), out_boxes = augment_pair(imgs, boxes, np.random.default_rng(seed), AugmentConfig(faults=1.0), 128, 96)
        for x, y in zip(out_boxes, clean_boxes):
            np.testing.assert_allclose(x, y)
        da, db = cv2.PSNR(a, clean[0]), cv2.PSNR(b, clean[1])
        assert da < 45 and db < 45  # every pair is degraded, both frames
        changed.add(abs(da - db) < 6)  # alike: same fault and strength
        seen_noise |= not np.array_equal(a, b)  # identical frames differ only by per-frame noise
    assert changed == {True} and seen_noise
    kinds = set()
    for seed in range(40):
        (a, b), _ = augment_pair(imgs, boxes, np.random.default_rng(seed), AugmentConfig(faults=0.5), 128, 96)
        kinds.add((np.array_equal(a, clean[0]), np.array_equal(b, clean[1])))
    assert kinds == {(True, True), (False, False)}  # one decision per pair
    assert len(FAULTS) == 4
    with pytest.raises(ValueError, match="faults"):
        AugmentConfig(faults=1.5)


def test_low_resolution_keeps_the_frame_size_and_loses_detail():
    """What a camera of N rows gives, at the frame's own size (so labels stay valid); bench --low-res."""
    from sotmot_ros.data.augment import low_resolution

    img = np.random.default_rng(0).integers(0, 256, (240, 320, 3)).astype(np.uint8)
    def detail(x):
        return np.abs(cv2.Laplacian(x.astype(np.float32), cv2.CV_32F)).mean()
    out = low_resolution(img, 60)
    assert out.shape == img.shape and out.dtype == np.uint8
    assert detail(out) < 0.3 * detail(img)
    assert abs(float(out.mean()) - float(img.mean())) < 2.0  # same picture, only less sharp
    assert low_resolution(img, 240) is img and low_resolution(img, 480) is img  # not a low-res camera
    with pytest.raises(ValueError, match="height"):
        low_resolution(img, 0)


def test_pairs_per_sequence_cap_is_balanced_deterministic_and_varies_by_epoch():
    frames = [list(range(1, 501)), list(range(1000, 1011)), [5, 9], [3]]
    pairs = sample_pairs(frames, 2, 5, seed=3, epoch=0, max_per_sequence=20)
    counts = np.bincount([p.seq for p in pairs], minlength=4)
    assert counts.tolist() == [20, 9, 1, 0]  # capped; short sequences give all their usable anchors
    for p in pairs:
        assert 2 <= p.frame_b - p.frame_a <= 5 and p.frame_a in frames[p.seq] and p.frame_b in frames[p.seq]
    assert len({(p.seq, p.frame_a) for p in pairs}) == len(pairs)  # anchors without replacement
    assert pairs == sample_pairs(frames, 2, 5, seed=3, epoch=0, max_per_sequence=20)
    anchors = [{p.frame_a for p in sample_pairs(frames, 2, 5, 3, e, max_per_sequence=20) if p.seq == 0} for e in range(5)]
    assert anchors[0] != anchors[1] and len(set().union(*anchors)) > 60
    assert sample_pairs(frames, 2, 5, 3, 0, max_per_sequence=0) == sample_pairs(frames, 2, 5, 3, 0)
    shards = [list(PairSampler(frames, 2, 5, 3, batch_size=2, rank=r, world_size=2, max_pairs_per_sequence=20))
              for r in range(2)]
    assert len(shards[0]) == len(shards[1]) == 14 and not set(shards[0]) & set(shards[1])
    s = PairSampler(frames, 2, 5, 3, batch_size=2, max_pairs_per_sequence=20)
    s.set_epoch(1)
    assert list(s) == sample_pairs(frames, 2, 5, 3, 1, max_per_sequence=20)[:30]


def _write_gt(path, n):
    path.write_text("".join(f"{f},1,{f},5,10,20,1,-1,-1,-1\n" for f in range(1, n + 1)))


def test_image_folder_sequence_reads_frames_in_sorted_order(tmp_path):
    folder = tmp_path / "shots"
    folder.mkdir()
    names = ["cam_10.png", "cam_02.jpg", "cam_07.bmp", "Cam_99.JPEG"]  # sorted: Cam_99, cam_02, cam_07, cam_10
    for name, value in zip(names, (40, 80, 120, 160)):
        cv2.imwrite(str(folder / name), np.full((30, 40, 3), value, np.uint8))
    (folder / "notes.txt").write_text("not an image")
    _write_gt(tmp_path / "gt.txt", 4)
    with pytest.raises(ValueError, match="gt"):
        MOTSequence(str(folder), fmt="mot15")
    seq = MOTSequence(str(folder), gt=str(tmp_path / "gt.txt"), fmt="mot15")
    assert seq.frames == [1, 2, 3, 4] and seq.name == "shots"
    for f, value in zip(seq.frames, (160, 80, 120, 40)):
        assert abs(float(seq.image(f).mean()) - value) < 3
        assert seq.annotation(f).boxes[0, 0] == f
    assert MOTSequence(str(folder), gt=str(tmp_path / "gt.txt"), frame_range=(2, 3), fmt="mot15").frames == [2, 3]
    with pytest.raises(ValueError):
        MOTSequence(str(folder), gt=str(tmp_path / "gt.txt"), frame_range=(1, 5), fmt="mot15")


def test_motchallenge_folder_lists_images_sorted_not_by_number_pattern(tmp_path):
    root = tmp_path / "seq"
    (root / "img1").mkdir(parents=True)
    (root / "gt").mkdir()
    for i, value in enumerate((30, 90, 150)):
        cv2.imwrite(str(root / "img1" / f"frame_{i:04d}.jpg"), np.full((30, 40, 3), value, np.uint8))
    _write_gt(root / "gt" / "gt.txt", 3)
    (root / "seqinfo.ini").write_text("[Sequence]\nname=s\nimDir=img1\nseqLength=3\nimExt=.jpg\n")
    seq = MOTSequence(str(root), fmt="mot15")
    assert seq.frames == [1, 2, 3] and seq.name == "s"
    assert [round(float(seq.image(f).mean()) / 30) for f in seq.frames] == [1, 3, 5]


def test_gif_is_a_video_source(tmp_path):
    from PIL import Image  # Pillow: a dependency of matplotlib and torchvision
    values = (10, 70, 130, 190, 250)
    frames = [Image.fromarray(np.full((48, 64, 3), v, np.uint8)) for v in values]
    frames[0].save(tmp_path / "clip.gif", save_all=True, append_images=frames[1:], duration=100, loop=0)
    _write_gt(tmp_path / "gt.txt", 5)
    seq = MOTSequence(str(tmp_path / "clip.gif"), gt=str(tmp_path / "gt.txt"), fmt="mot15")
    assert seq.frames == [1, 2, 3, 4, 5]
    for f, v in zip(seq.frames, values):
        assert seq.image(f).shape == (48, 64, 3) and abs(float(seq.image(f).mean()) - v) < 3
    sample = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data", "footage", "intel-sample-videos",
                          "preview", "store-aisle-detection.gif")
    if os.path.isfile(sample):  # a real animated GIF, where available
        cap = cv2.VideoCapture(sample)
        ok, img = cap.read()
        cap.release()
        assert ok and img.shape == (270, 480, 3)


def test_pairs_per_sequence_weights_a_scene_up_or_down_exactly():
    frames = [list(range(1, 501)), list(range(1000, 1011)), [3]]
    pairs = sample_pairs(frames, 2, 5, seed=3, epoch=0, max_per_sequence=20, pairs_per_sequence=[0, 25, 4])
    counts = np.bincount([p.seq for p in pairs], minlength=3)
    assert counts.tolist() == [20, 25, 0]  # 0 = the cap; 25 > 9 usable anchors: every anchor, some twice
    anchors = [p.frame_a for p in pairs if p.seq == 1]
    assert set(anchors) == set(range(1000, 1009)) and max(np.unique(anchors, return_counts=True)[1]) <= 3
    for p in pairs:
        assert 2 <= p.frame_b - p.frame_a <= 5 and p.frame_b in frames[p.seq]
    assert pairs == sample_pairs(frames, 2, 5, seed=3, epoch=0, max_per_sequence=20, pairs_per_sequence=[0, 25, 4])
    with pytest.raises(ValueError, match="pairs_per_sequence"):
        sample_pairs(frames, 2, 5, seed=3, pairs_per_sequence=[1, 2])


def test_training_config_reads_a_sequence_pair_count_and_rejects_a_bad_one():
    from sotmot_ros.train.config import TrainConfig

    cfg = TrainConfig(train_sequences=[{"source": "a.mp4", "pairs": 192}, {"source": "b.mp4"}])
    assert cfg.pairs_per_sequence() == [192, 0]
    for bad in (-1, 1.5, "many"):
        with pytest.raises(ValueError, match="'pairs' must be an integer"):
            TrainConfig(train_sequences=[{"source": "a.mp4", "pairs": bad}])


def test_training_config_is_the_model_config_plus_training_settings():
    from sotmot_ros.model.config import ModelConfig
    from sotmot_ros.train.config import TrainConfig

    cfg = TrainConfig.load(os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "config",
                                        "train_people.yaml"))
    model = cfg.model_config()
    assert isinstance(model, ModelConfig) and (model.input_width, model.input_height, model.head_conv) == (512, 384, 64)
    with pytest.raises(ValueError, match="input_width must be a positive multiple of 32"):
        TrainConfig(input_width=500)  # caught when the config is read, not when the network is built
    with pytest.raises(ValueError, match="class_names has 2 entries"):
        TrainConfig(num_classes=1, class_names=["a", "b"])
