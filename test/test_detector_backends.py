"""The Detector's inference engines: ONNX Runtime on the CPU gives PyTorch's detections; 'auto' picks it only where
it can run, an explicit choice that cannot run fails with a reason, and every front-end passes the choice on."""

import logging
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from sotmot_ros import detector as detector_module
from sotmot_ros.decode import decode_outputs
from sotmot_ros.detector import Detector, resolve_backend
from sotmot_ros.model import onnxruntime_network
from sotmot_ros.model.checkpoint import load_model
from sotmot_ros.model.config import ModelConfig
from sotmot_ros.model.network import HEATMAP_OUTPUTS, SOTMOTNet

pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")

VIDEO = Path(__file__).resolve().parents[1] / "data_cache" / "vtest.avi"
CPU, CUDA = torch.device("cpu"), torch.device("cuda", 0)


def _scene(h=480, w=640, seed=0):
    """A smooth random picture (noise alone puts every head map near a constant)."""
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, (h // 16, w // 16, 3)).astype(np.uint8)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)


def test_onnxruntime_network_reproduces_the_torch_heatmap_and_body_maps_for_any_batch_and_input_size():
    model, _ = load_model(None)  # the bundled default model
    w, h = 640, 480
    ort_net = onnxruntime_network.OnnxRuntimeNetwork(model, w, h, threads=2)
    batch = torch.from_numpy(np.stack([_scene(seed=s) for s in (0, 1)]).transpose(0, 3, 1, 2).astype(np.float32) / 255)
    with torch.inference_mode():
        ref = model.eval().forward_heatmap(batch)
    for n in (1, 2):
        out = ort_net(batch[:n])
        assert set(out) == set(HEATMAP_OUTPUTS)
        for name in HEATMAP_OUTPUTS:
            assert out[name].shape == ref[name][:n].shape, name
            scale = float(ref[name].abs().max()) + 1e-6
            assert float((out[name] - ref[name][:n]).abs().max()) < 1e-4 * max(scale, 1.0), name
    # one graph for every input size: a trimmed 16:9 input (640x384) gives PyTorch's maps at that size
    trimmed = batch[:, :, :384]
    with torch.inference_mode():
        ref = model.forward_heatmap(trimmed)
    out = ort_net(trimmed)
    for name in HEATMAP_OUTPUTS:
        assert out[name].shape == ref[name].shape == (2, ref[name].shape[1], 96, 160), name
        assert float((out[name] - ref[name]).abs().max()) < 1e-4 * max(float(ref[name].abs().max()), 1.0), name


@pytest.mark.skipif(not VIDEO.is_file(), reason=f"demo video absent ({VIDEO}); run scripts/fetch_demo_video.sh")
@pytest.mark.parametrize("backend", ["torch", "onnxruntime"])
def test_heads_computed_at_the_peaks_give_the_detections_of_the_dense_head_maps(backend):
    """The detector runs only the heatmap densely and the box, offset and SOT heads at the peaks: on PETS frames
    (people at the image border included) it finds what decoding the full head maps finds."""
    cap = cv2.VideoCapture(str(VIDEO))
    frames = [cap.read()[1] for _ in range(301)][100::100]  # frames 101, 201, 301 (training range)
    cap.release()
    det = Detector.from_checkpoint(None, device="cpu", backend=backend)
    for image in frames:
        sparse = det(image)
        batch, letterboxes = det.prepare([image])
        with torch.inference_mode():
            dense = decode_outputs(det.model(batch), det.max_detections, det.score_threshold,
                                   det.config.down_ratio, det.nms_iou)[0]
        assert len(sparse) == len(dense.boxes) > 3
        np.testing.assert_allclose(sparse.boxes, letterboxes[0].to_image(dense.boxes.numpy()), atol=0.01)
        np.testing.assert_allclose(sparse.scores, dense.scores.numpy(), atol=1e-5)
        np.testing.assert_allclose(sparse.features, dense.features.numpy(), atol=1e-5)


@pytest.mark.skipif(not VIDEO.is_file(), reason=f"demo video absent ({VIDEO}); run scripts/fetch_demo_video.sh")
def test_both_engines_detect_the_same_people_on_pets_frames():
    cap = cv2.VideoCapture(str(VIDEO))
    frames = [cap.read()[1] for _ in range(201)][100::100]  # frames 101 and 201 (training range)
    cap.release()
    engines = {b: Detector.from_checkpoint(None, device="cpu", backend=b) for b in ("torch", "onnxruntime")}
    assert {b: d.backend for b, d in engines.items()} == {"torch": "torch", "onnxruntime": "onnxruntime"}
    for image in frames:
        a, b = engines["torch"](image), engines["onnxruntime"](image)
        assert len(a) == len(b) > 3
        np.testing.assert_allclose(a.boxes, b.boxes, atol=0.05)
        np.testing.assert_allclose(a.scores, b.scores, atol=1e-4)
        np.testing.assert_allclose(a.features, b.features, atol=1e-3)


def test_auto_picks_onnxruntime_only_where_it_runs_and_explicit_choices_are_checked(monkeypatch):
    assert resolve_backend("auto", CPU) == "onnxruntime"
    assert resolve_backend("", CPU) == "onnxruntime"  # unset = auto
    assert resolve_backend("auto", CUDA) == "torch"
    assert resolve_backend("auto", CPU, half=True) == "torch"
    assert resolve_backend(" Torch ", CPU) == "torch"
    with pytest.raises(ValueError, match="backend must be one of"):
        resolve_backend("tensorrt", CPU)
    with pytest.raises(ValueError, match="runs float32 on the CPU"):
        resolve_backend("onnxruntime", CUDA)
    monkeypatch.setattr(onnxruntime_network, "onnxruntime_missing", lambda: "onnxruntime")
    assert resolve_backend("auto", CPU) == "torch"  # tracking never needs the optional package
    with pytest.raises(ValueError, match="pip install onnxruntime"):
        resolve_backend("onnxruntime", CPU)


def test_a_model_onnx_cannot_take_falls_back_to_torch_under_auto_and_fails_when_asked_for(monkeypatch, caplog):
    def refuse(*args, **kwargs):  # the exporter's way: the whole graph first, the reason last
        raise RuntimeError("Torch IR graph at exception: graph(%input.1 : Float(*, 3, 96, 128),\n"
                           + "  %x : Float(1) = aten::relu(%input.1)\n" * 500 + "deformable convolution has no ONNX form")

    monkeypatch.setattr(onnxruntime_network, "OnnxRuntimeNetwork", refuse)
    model = SOTMOTNet(ModelConfig(backbone="efficientnet_lite0", input_width=128, input_height=96), False)
    with caplog.at_level(logging.WARNING, logger=detector_module.__name__):
        det = Detector(model, device="cpu")
    assert det.backend == "torch" and det.network == det.model.forward_heatmap
    assert "deformable convolution" in caplog.text and "aten::relu" not in caplog.text  # one readable line
    assert len(det(_scene(96, 128))) >= 0  # it runs
    with pytest.raises(ValueError, match="cannot run this model: deformable") as err:
        Detector(model, device="cpu", backend="onnxruntime")
    assert len(str(err.value)) < 400


def test_the_onnxruntime_engine_follows_the_input_size_given_to_the_detector():
    det = Detector.from_checkpoint(None, device="cpu", backend="onnxruntime", input_size=(320, 256), trim_padding=True)
    assert det.backend == "onnxruntime" and det.input_size == (320, 256)
    wide, square = _scene(360, 640), _scene(480, 640, seed=3)
    # the padding of a 16:9 frame is trimmed; a batch runs at the size its largest frame needs
    assert det.batch_input_size([wide]) == (320, 192)
    assert det.batch_input_size([wide, square]) == (320, 256)
    assert det.prepare([wide])[0].shape == (1, 3, 192, 320)
    out = det.detect_batch([_scene(240, 320), square])  # frames of any size, one batch
    assert len(out) == 2
    det.trim_padding = False
    assert det.batch_input_size([wide]) == (320, 256)


@pytest.mark.skipif(not VIDEO.is_file(), reason=f"demo video absent ({VIDEO}); run scripts/fetch_demo_video.sh")
@pytest.mark.parametrize("backend", ["torch", "onnxruntime"])
def test_trimming_the_padding_finds_the_same_people_on_a_wide_camera(backend):
    """A 16:9 view (PETS frame 101 cropped to 768x432) runs at 640x384 instead of 640x480 and finds the same
    people at the same places."""
    cap = cv2.VideoCapture(str(VIDEO))
    image = [cap.read()[1] for _ in range(101)][-1][72:504]
    cap.release()
    trimmed = Detector.from_checkpoint(None, device="cpu", backend=backend, trim_padding=True)
    full = Detector.from_checkpoint(None, device="cpu", backend=backend)
    assert trimmed.batch_input_size([image]) == (640, 384) and full.batch_input_size([image]) == (640, 480)
    a, b = trimmed(image), full(image)
    high = 0.3
    a_boxes, b_boxes = a.boxes[a.scores >= high], b.boxes[b.scores >= high]
    assert len(b_boxes) > 3 and abs(len(a_boxes) - len(b_boxes)) <= 1
    from sotmot_ros.evaluation import iou_matrix

    assert (iou_matrix(b_boxes, a_boxes).max(axis=1) >= 0.8).mean() >= 0.9


BEDROOM = Path(__file__).resolve().parents[2] / "shared" / "data" / "footage" / "sam2" / "bedroom.mp4"


@pytest.mark.skipif(not BEDROOM.is_file(), reason=f"tune clip absent ({BEDROOM}): ../shared not present")
def test_box_nms_at_the_image_edge_is_what_the_bench_measures():
    """The bench caches raw peaks and suppresses them afterwards on the image boxes (clipped to the image); the
    detector must keep the same boxes, also where a large person's boxes reach past the image edge (the bedroom
    tune clip, frames 128-129: the detector once kept a box there that the bench suppressed)."""
    from sotmot_ros.boxes import nms

    det = Detector.from_checkpoint(None, device="cpu")
    raw = Detector.from_checkpoint(None, device="cpu", nms_iou=1.0, score_threshold=det.score_threshold)
    assert det.nms_iou < 1.0
    cap = cv2.VideoCapture(str(BEDROOM))
    frames = [cap.read()[1] for _ in range(129)][127:]
    cap.release()
    for image in frames:
        got, peaks = det(image), raw(image)
        keep = np.sort(nms(peaks.boxes, peaks.scores, det.nms_iou, classes=peaks.classes))
        assert len(got) == len(keep) > 1
        np.testing.assert_allclose(got.boxes, peaks.boxes[keep], atol=1e-3)
        np.testing.assert_allclose(got.features, peaks.features[keep], atol=1e-6)
