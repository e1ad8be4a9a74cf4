"""Letterbox pre-processing (FairMOT-identical) and CenterNet decoding back to image pixels."""

import numpy as np
import torch

from sotmot_ros.data.targets import encode_targets
from sotmot_ros.decode import decode_outputs
from sotmot_ros.model.heads import head_at, make_head
from sotmot_ros.preprocess import letterbox, letterbox_params, to_network_input


def test_letterbox_matches_fairmot_geometry():
    img = np.random.default_rng(0).integers(0, 255, (576, 768, 3), dtype=np.uint8)
    padded, lb = letterbox(img, 1088, 608)
    assert padded.shape == (608, 1088, 3)
    # FairMOT: ratio = min(608/576, 1088/768); new 811x608; dw = 138.5 -> left = round(138.4) = 138.
    assert lb.scale == min(608 / 576, 1088 / 768)
    assert (lb.pad_x, lb.pad_y) == (138.0, 0.0)
    assert np.all(padded[:, :138] == 128) and np.all(padded[:, 138 + 811 :] == 128)  # 127.5 rounds to 128


def test_letterbox_averages_when_shrinking_and_interpolates_bilinearly_when_enlarging():
    """Enlarging as training does (bilinear): area resampling would hand the network blocky small-camera frames."""
    import cv2

    rng = np.random.default_rng(1)
    small = rng.integers(0, 255, (120, 160, 3), dtype=np.uint8)  # enlarged 3x into 480x360 of 480x384
    padded, lb = letterbox(small, 480, 384)
    assert lb.scale == 3.0
    np.testing.assert_array_equal(padded[12:372], cv2.resize(small, (480, 360), interpolation=cv2.INTER_LINEAR))
    assert not np.array_equal(padded[12:372], cv2.resize(small, (480, 360), interpolation=cv2.INTER_AREA))
    big = rng.integers(0, 255, (768, 1024, 3), dtype=np.uint8)  # shrunk to 512x384
    padded, _ = letterbox(big, 512, 384)
    np.testing.assert_array_equal(padded, cv2.resize(big, (512, 384), interpolation=cv2.INTER_AREA))


def test_trimmed_input_keeps_the_letterbox_scale_and_drops_the_padding():
    from sotmot_ros.preprocess import trimmed_input_size

    assert trimmed_input_size(1280, 720, 640, 480) == (640, 384)  # 16:9: 640x360 of content
    assert trimmed_input_size(768, 576, 640, 480) == (640, 480)  # 4:3 fills the input
    assert trimmed_input_size(426, 240, 640, 480) == (640, 384)  # enlarged 1.5x to 639x360
    assert trimmed_input_size(480, 640, 640, 480) == (384, 480)  # portrait
    assert trimmed_input_size(100, 10000, 512, 384) == (32, 384)  # never below one multiple
    for w, h in ((1280, 720), (1920, 1080), (426, 240), (480, 640), (1000, 999)):
        tw, th = trimmed_input_size(w, h, 640, 480)
        assert tw % 32 == th % 32 == 0 and tw <= 640 and th <= 480
        full, trimmed = letterbox_params(w, h, 640, 480)[0], letterbox_params(w, h, tw, th)[0]
        assert abs(trimmed.scale / full.scale - 1) < 0.005  # people keep their size at the input


def test_network_input_is_rgb_in_unit_range():
    img = np.zeros((64, 64, 3), np.uint8)
    img[..., 0] = 255  # pure blue in BGR
    chw, _ = to_network_input(img, 64, 64)
    assert chw.shape == (3, 64, 64) and chw.dtype == np.float32
    assert np.allclose(chw[2], 1.0) and np.allclose(chw[0], 0.0)  # blue is channel 2 in RGB


def test_letterbox_inverse_round_trip():
    lb, *_ = letterbox_params(768, 576, 576, 448)
    boxes = np.array([[10, 20, 110, 320], [700, 500, 760, 570]], np.float32)
    np.testing.assert_allclose(lb.to_image(lb.to_network(boxes)), boxes, atol=1e-3)


def _outputs_from_targets(t, feature_dim=8, seed=0):
    h, w = t["hm"].shape[1:]
    hm = torch.from_numpy(t["hm"]).clamp(1e-6, 1 - 1e-6)
    logits = torch.log(hm / (1 - hm)).unsqueeze(0)
    wh = torch.zeros(1, 4, h * w)
    reg = torch.zeros(1, 2, h * w)
    feats = torch.randn(1, feature_dim, h * w, generator=torch.Generator().manual_seed(seed))
    n = int(t["mask"].sum())
    ind = torch.from_numpy(t["ind"][:n])
    wh[0, :, ind] = torch.from_numpy(t["wh"][:n]).T
    reg[0, :, ind] = torch.from_numpy(t["reg"][:n]).T
    return {"hm": logits, "wh": wh.view(1, 4, h, w), "reg": reg.view(1, 2, h, w), "id": feats.view(1, -1, h, w)}


def test_encode_then_decode_gives_boxes_back_within_one_pixel():
    lb, *_ = letterbox_params(768, 576, 576, 448)
    boxes_img = np.array([[100, 120, 150, 260], [300.5, 80.2, 341.7, 190.9], [600, 300, 700, 560]], np.float32)
    boxes_net = lb.to_network(boxes_img)
    t = encode_targets(boxes_net / 4, np.zeros(3), np.arange(3), 576 // 4, 448 // 4, 1, 16)
    out = decode_outputs(_outputs_from_targets(t), max_detections=50, score_threshold=0.5)
    assert len(out) == 1 and len(out[0].boxes) == 3
    got = lb.to_image(out[0].boxes.numpy())
    order = np.argsort(got[:, 0])
    np.testing.assert_allclose(got[order], boxes_img, atol=1.0)
    assert np.allclose(out[0].scores.numpy(), 1.0, atol=1e-4)
    np.testing.assert_allclose(np.linalg.norm(out[0].features.numpy(), axis=1), 1.0, atol=1e-5)


def test_max_pool_suppression_keeps_one_peak_per_object_and_threshold_applies():
    t = encode_targets(np.array([[10, 10, 20, 40]], np.float32), [0], [0], 32, 32, 1, 4)
    outs = _outputs_from_targets(t)
    dets = decode_outputs(outs, max_detections=100, score_threshold=0.3)[0]
    assert len(dets.boxes) == 1  # the Gaussian's neighbours are suppressed
    assert len(decode_outputs(outs, max_detections=100, score_threshold=1.1)[0].boxes) == 0


def test_batch_decoding_keeps_images_apart():
    t1 = encode_targets(np.array([[2, 2, 8, 20]], np.float32), [0], [0], 32, 32, 1, 4)
    t2 = encode_targets(np.array([[2, 2, 8, 20], [20, 5, 28, 30]], np.float32), [0, 0], [0, 1], 32, 32, 1, 4)
    o1, o2 = _outputs_from_targets(t1), _outputs_from_targets(t2)
    batch = {k: torch.cat([o1[k], o2[k]]) for k in o1}
    d = decode_outputs(batch, 10, 0.5)
    assert [len(x.boxes) for x in d] == [1, 2]


def test_extreme_aspect_ratio_still_letterboxes():
    padded, lb = letterbox(np.zeros((1, 10000, 3), np.uint8), 512, 384)  # 1 px tall: resizes to >= 1 row
    assert padded.shape == (384, 512, 3)
    np.testing.assert_allclose(lb.to_image(lb.to_network(np.array([[0, 0, 10000, 1]], np.float32))),
                               [[0, 0, 10000, 1]], atol=1e-2)


def test_a_head_computed_at_some_cells_equals_its_dense_map_there_border_cells_included():
    torch.manual_seed(0)
    head = make_head(16, 5, 8)
    for m in head.modules():  # trained-like scale (make_head starts near zero)
        if isinstance(m, torch.nn.Conv2d):
            m.reset_parameters()
    body = torch.randn(16, 12, 20)
    dense = head(body.unsqueeze(0))[0]  # (5, 12, 20)
    ys = torch.tensor([0, 0, 11, 11, 5, 6, 0])
    xs = torch.tensor([0, 19, 0, 19, 7, 13, 10])  # the four corners, two inner cells, an edge
    got = head_at(head, body, ys, xs)
    assert got.shape == (7, 5)
    torch.testing.assert_close(got, dense[:, ys, xs].t(), atol=1e-5, rtol=1e-5)
    assert head_at(head, body, ys[:0], xs[:0]).shape == (0, 5)
    # channels-last body maps (the detector's layout on the CPU) give the same numbers
    cl = body.unsqueeze(0).contiguous(memory_format=torch.channels_last)[0]
    torch.testing.assert_close(head_at(head, cl, ys, xs), got)


def test_decoding_from_body_features_and_heads_equals_decoding_the_dense_maps():
    torch.manual_seed(1)
    heads = torch.nn.Module()
    for name, out in (("hm", 1), ("wh", 4), ("reg", 2), ("id", 6)):
        head = make_head(8, out, 8)
        for m in head.modules():
            if isinstance(m, torch.nn.Conv2d):
                m.reset_parameters()
        setattr(heads, name, head)
    body = torch.randn(2, 8, 24, 32)
    dense = {name: getattr(heads, name)(body) for name in ("hm", "wh", "reg", "id")}
    for nms in (1.0, 0.5):
        a = decode_outputs(dense, 50, 0.3, nms_iou=nms)
        b = decode_outputs({"hm": dense["hm"], "body": body}, 50, 0.3, nms_iou=nms, heads=heads)
        assert [len(x.boxes) for x in a] == [len(x.boxes) for x in b] and sum(len(x.boxes) for x in a) > 4
        for x, y in zip(a, b):
            torch.testing.assert_close(x.boxes, y.boxes, atol=1e-4, rtol=1e-5)
            torch.testing.assert_close(x.features, y.features, atol=1e-5, rtol=1e-5)
            assert torch.equal(x.scores, y.scores)


def test_box_nms_compares_the_parts_of_the_boxes_inside_the_image():
    """Two boxes of one person that differ only beyond the image edge are one box where the user sees them (the
    detector returns boxes clipped to the image): with the image's window the weaker goes; the bench's NMS on
    clipped image boxes (``cache_detections.apply_nms``) then equals the detector's."""
    h = w = 32
    logits = torch.full((1, 1, h, w), -10.0)
    logits[0, 0, 4, 10], logits[0, 0, 6, 10] = 3.0, 2.0
    wh = torch.zeros(1, 4, h, w)
    wh[0, :, 4, 10] = torch.tensor([3.0, 14.0, 3.0, 10.0])  # cells x 7-13, y -10-14: reaches past the top edge
    wh[0, :, 6, 10] = torch.tensor([3.0, 6.0, 3.0, 8.0])  # cells x 7-13, y 0-14: the same box inside the image
    out = {"hm": logits, "wh": wh, "reg": torch.zeros(1, 2, h, w), "id": torch.randn(1, 8, h, w)}
    both = decode_outputs(out, 10, 0.1, nms_iou=0.8)[0]
    assert len(both.boxes) == 2  # unclipped IoU 0.58: both survive
    window = (0.0, 0.0, w * 4.0, h * 4.0)
    one = decode_outputs(out, 10, 0.1, nms_iou=0.8, windows=[window])[0]
    assert len(one.boxes) == 1 and float(one.scores[0]) == float(both.scores[0])
    torch.testing.assert_close(one.boxes[0], torch.tensor([28.0, -40.0, 52.0, 56.0]))  # returned unclipped
    # a window that leaves both boxes whole changes nothing
    wide = decode_outputs(out, 10, 0.1, nms_iou=0.8, windows=[(0.0, -64.0, 128.0, 128.0)])[0]
    assert len(wide.boxes) == 2
