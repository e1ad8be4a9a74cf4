"""The box-sampling SOT head (``sot_sampling: box``): it reads the body where the box is, the decoder gives it the
kept detections' own boxes with either engine, training gives it the targets' boxes, and a run can start from a
centre-sampling model file (everything but the SOT head carried over)."""

import numpy as np
import pytest
import torch
from torch import nn

from sotmot_ros.decode import centre_boxes, decode_outputs
from sotmot_ros.model.box_sot import BoxSOTHead
from sotmot_ros.model.checkpoint import load_model, save_model
from sotmot_ros.model.config import ModelConfig
from sotmot_ros.model.network import SOTMOTNet
from sotmot_ros.train.trainer import at_targets, load_init_weights


def _coordinate_body(h=12, w=16):
    """A body map whose channel 0 holds each cell's centre x and channel 1 its centre y (cell i covers [i, i + 1))."""
    ys, xs = torch.meshgrid(torch.arange(h, dtype=torch.float32), torch.arange(w, dtype=torch.float32), indexing="ij")
    return torch.stack([xs + 0.5, ys + 0.5, torch.ones(h, w)])


def test_the_head_reads_the_body_at_a_lattice_spread_over_the_box():
    head = BoxSOTHead(3, 8, grid=3, hidden=4)
    body = _coordinate_body()
    boxes = torch.tensor([[2.0, 3.0, 8.0, 9.0], [5.5, 1.0, 11.5, 4.0]])
    s = head.samples(body, boxes).view(2, 3, 3, 3)  # (K, C, rows, cols)
    for k, (x1, y1, x2, y2) in enumerate(boxes.tolist()):
        want_x = [x1 + (j + 0.5) / 3 * (x2 - x1) for j in range(3)]
        want_y = [y1 + (i + 0.5) / 3 * (y2 - y1) for i in range(3)]
        # bilinear sampling reproduces a linear map exactly: the points sit where the box says, row-major
        np.testing.assert_allclose(s[k, 0].numpy(), np.tile(want_x, (3, 1)), atol=1e-5)
        np.testing.assert_allclose(s[k, 1].numpy(), np.tile(np.array(want_y)[:, None], (1, 3)), atol=1e-5)
    # points beyond the map read zeros (the padding a conv sees), points inside read the map
    outside = head.samples(body, torch.tensor([[-30.0, 2.0, -3.0, 5.0]])).view(3, 3, 3)
    assert float(outside.abs().max()) == 0.0
    # the feature follows the box: another box over other content gives another feature
    feats = head(torch.randn(3, 12, 16), boxes)
    assert feats.shape == (2, 8) and not torch.allclose(feats[0], feats[1])
    assert head(body, boxes[:0]).shape == (0, 8)


def _spread_heads(model):
    """Heatmap and box heads away from their near-zero init, so peaks and boxes differ."""
    for name in ("hm", "wh"):
        for m in getattr(model, name).modules():
            if isinstance(m, nn.Conv2d):
                nn.init.normal_(m.weight, std=0.3)
    return model


def _box_model(seed=0):
    torch.manual_seed(seed)
    cfg = ModelConfig(backbone="yolox_nano", head_conv=16, sot_dim=16, input_width=256, input_height=192,
                      sot_sampling="box")
    return _spread_heads(SOTMOTNet(cfg).eval())


def test_the_decoder_gives_the_head_each_kept_detections_own_box():
    model = _box_model()
    x = torch.rand(2, 3, 192, 256)
    with torch.inference_mode():
        dense = model(x)
        assert "id" not in dense and dense["body"].shape == (2, 64, 48, 64)  # no dense SOT map: it needs boxes
        at_peaks = decode_outputs(model.forward_heatmap(x), 30, 0.0, nms_iou=0.7, heads=model)
        from_maps = decode_outputs(dense, 30, 0.0, nms_iou=0.7, heads=model)
        for i, det in enumerate(at_peaks):
            assert len(det.boxes) > 5 and det.features.shape == (len(det.boxes), 16)
            want = torch.nn.functional.normalize(model.id(dense["body"][i], det.boxes / 4), dim=-1)
            torch.testing.assert_close(det.features, want, atol=1e-5, rtol=0)
            torch.testing.assert_close(det.boxes, from_maps[i].boxes, atol=1e-4, rtol=0)
            torch.testing.assert_close(det.features, from_maps[i].features, atol=1e-5, rtol=0)
            norms = det.features.norm(dim=1)
            torch.testing.assert_close(norms, torch.ones_like(norms))
    with pytest.raises(ValueError, match="pass the boxes"):
        model.sot_at(dense["body"][0], torch.tensor([3, 4]))


def test_training_reads_the_targets_boxes_and_the_geometry_is_the_decoders():
    model = _box_model(1)
    w = 64
    t = {"ind": torch.tensor([[w * 10 + 20, w * 30 + 40, 0]]), "reg": torch.tensor([[[0.25, 0.5], [0.75, 0.1], [0, 0]]]),
         "wh": torch.tensor([[[3.0, 6.0, 4.0, 7.0], [2.0, 5.0, 2.0, 5.0], [0, 0, 0, 0]]])}
    imgs = torch.rand(2, 3, 192, 256)
    kw = at_targets(imgs, t, t, down_ratio=4)
    # the first target: centre cell (20, 10) + offset (0.25, 0.5) = (20.25, 10.5); ltrb 3, 6, 4, 7
    torch.testing.assert_close(kw["boxes"][0, 0], torch.tensor([17.25, 4.5, 24.25, 17.5]))
    torch.testing.assert_close(kw["boxes"], centre_boxes(kw["centres"], w, torch.cat([t["reg"]] * 2),
                                                         torch.cat([t["wh"]] * 2)))
    out = model(imgs, **kw)
    body = model.body(imgs)
    torch.testing.assert_close(out["id"][1], model.id(body[1], kw["boxes"][1]), atol=1e-5, rtol=0)
    # the SOT loss reaches the head's weights through the sampled features
    out["id"][:, :2].sum().backward()
    assert float(model.id.mlp[0].weight.grad.abs().sum()) > 0
    with pytest.raises(ValueError, match="pass the boxes"):
        model(imgs, centres=kw["centres"])


def test_a_run_can_start_from_a_centre_model_and_the_box_model_round_trips(tmp_path):
    torch.manual_seed(0)
    base = dict(backbone="yolox_nano", head_conv=16, sot_dim=16, input_width=256, input_height=192)
    centre = SOTMOTNet(ModelConfig(**base))
    box = SOTMOTNet(ModelConfig(**base, sot_sampling="box"))
    fresh = load_init_weights(box, centre, "centre.pt")
    assert fresh and all(k.startswith("id.") for k in fresh)
    own, init = box.state_dict(), centre.state_dict()
    assert all(torch.equal(own[k], init[k]) for k in own if not k.startswith("id."))
    # the same sampling loads strictly, the SOT head included
    other = SOTMOTNet(ModelConfig(**base, sot_sampling="box"))
    assert load_init_weights(other, box, "box.pt") == []
    assert all(torch.equal(other.state_dict()[k], v) for k, v in box.state_dict().items())
    # the model file keeps the sampling: it rebuilds the same head with the same weights
    path = tmp_path / "box.pt"
    save_model(path, box, {})
    loaded, _ = load_model(path, "cpu")
    assert loaded.config.sot_sampling == "box" and isinstance(loaded.id, BoxSOTHead)
    x = torch.rand(1, 3, 192, 256)
    with torch.inference_mode():
        a = decode_outputs(box.eval().forward_heatmap(x), 10, 0.0, heads=box)[0]
        b = decode_outputs(loaded.forward_heatmap(x), 10, 0.0, heads=loaded)[0]
    torch.testing.assert_close(a.features, b.features)
    with pytest.raises(ValueError, match="unknown sot_sampling 'boxes'"):
        ModelConfig(**base, sot_sampling="boxes")


def test_the_onnxruntime_engine_gives_a_box_model_the_same_features():
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    from sotmot_ros.model.onnxruntime_network import OnnxRuntimeNetwork

    model = _box_model(2)
    x = torch.rand(1, 3, 192, 256)
    ort = OnnxRuntimeNetwork(model, 256, 192, threads=1)
    with torch.inference_mode():
        ref = decode_outputs(model.forward_heatmap(x), 20, 0.0, heads=model)[0]
        got = decode_outputs(ort(x), 20, 0.0, heads=model)[0]
    assert len(ref.boxes) == len(got.boxes) > 5
    torch.testing.assert_close(got.boxes, ref.boxes, atol=1e-3, rtol=0)
    torch.testing.assert_close(got.features, ref.features, atol=1e-4, rtol=0)


def test_both_features_side_by_side_and_a_run_takes_each_head_from_a_file_that_has_its_kind():
    """``sot_sampling: both``: the centre head's feature and the box head's, each unit length, side by side; a run
    started from a centre file keeps its centre head and a box file's head becomes the box half."""
    torch.manual_seed(3)
    base = dict(backbone="yolox_nano", head_conv=16, sot_dim=16, input_width=256, input_height=192)
    centre, box = SOTMOTNet(ModelConfig(**base)), SOTMOTNet(ModelConfig(**base, sot_sampling="box"))
    both = SOTMOTNet(ModelConfig(**base, sot_sampling="both"))
    assert both.config.feature_dim == 32 and centre.config.feature_dim == 16
    fresh = load_init_weights(both, centre, "centre.pt")
    assert fresh and all(k.startswith("id_box.") for k in fresh)
    assert all(torch.equal(both.state_dict()[k], v) for k, v in centre.state_dict().items())
    assert load_init_weights(both, box, "box.pt") == [k for k in both.state_dict() if k.startswith("id.")]
    assert all(torch.equal(both.state_dict()["id_box." + k[3:]], v) for k, v in box.state_dict().items()
               if k.startswith("id."))
    load_init_weights(both, centre, "centre.pt")  # centre head back from the centre file, box half stays
    _spread_heads(both)
    centre.load_state_dict({k: v for k, v in both.state_dict().items() if not k.startswith("id_box.")})
    x = torch.rand(1, 3, 192, 256)
    with torch.inference_mode():
        out = both.eval().forward_heatmap(x)
        det = decode_outputs(out, 20, 0.0, heads=both)[0]
        alone = decode_outputs(centre.eval().forward_heatmap(x), 20, 0.0, heads=centre)[0]
        want_box = torch.nn.functional.normalize(box.eval().id(out["body"][0], det.boxes / 4), dim=-1)
    assert det.features.shape == (len(det.boxes), 32) and len(det.boxes) > 5
    torch.testing.assert_close(det.boxes, alone.boxes)
    torch.testing.assert_close(det.features[:, :16] * 2 ** 0.5, alone.features, atol=1e-5, rtol=0)
    torch.testing.assert_close(det.features[:, 16:] * 2 ** 0.5, want_box, atol=1e-5, rtol=0)
