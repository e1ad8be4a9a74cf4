"""The YOLOX-Nano body and its weight import from an ONNX export (``sotmot init-from-onnx``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from sotmot_ros.model.checkpoint import load_model
from sotmot_ros.model.config import ModelConfig
from sotmot_ros.model.network import build_model
from sotmot_ros.model.yolox_nano import YoloxNanoBody, YoloxNanoEncoder, encoder_convs, space_to_depth

REPO = Path(__file__).resolve().parents[1]
TEACHER = REPO.parent / "shared" / "teachers" / "yolox_nano_coco.onnx"
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # the legacy ONNX exporter


def test_body_gives_stride4_features_for_any_multiple_of_32():
    body = YoloxNanoBody().eval()
    for w, h in ((512, 384), (320, 640)):
        with torch.no_grad():
            y = body(torch.rand(2, 3, h, w))
        assert y.shape == (2, 64, h // 4, w // 4)


def test_space_to_depth_order_is_yolox_focus():
    x = torch.arange(16.0).reshape(1, 1, 4, 4)
    y = space_to_depth(x)
    # top-left, bottom-left, top-right, bottom-right pixels of the first 2x2 cell
    assert y[0, :, 0, 0].tolist() == [0.0, 4.0, 1.0, 5.0]


def test_network_with_yolox_body_and_pretrained_request_is_refused_clearly():
    net = build_model(ModelConfig(backbone="yolox_nano", head_conv=64, input_width=512, input_height=384))
    with torch.no_grad():
        out = net(torch.rand(1, 3, 384, 512))
    assert out["hm"].shape == (1, 1, 96, 128) and out["id"].shape == (1, 128, 96, 128)
    with pytest.raises(ValueError, match="init-from-onnx"):
        build_model(ModelConfig(backbone="yolox_nano"), pretrained_backbone=True)


def _export(encoder: YoloxNanoEncoder, path: Path) -> None:
    pytest.importorskip("onnx")
    pytest.importorskip("onnxruntime")

    class Last(torch.nn.Module):  # the graph's outputs do not matter to the importer: its Conv nodes do
        def __init__(self, enc):
            super().__init__()
            self.enc = enc

        def forward(self, x):
            return self.enc(x)[-1]

    torch.onnx.export(Last(encoder).eval(), torch.rand(1, 3, 128, 160), str(path), dynamo=False,
                      input_names=["images"], output_names=["s32"])


def test_weights_round_trip_through_an_onnx_export(tmp_path):
    """Weights exported to ONNX come back conv for conv: the copy matches the graph's own output."""
    from sotmot_ros.model.onnx_import import check_against_onnx, load_encoder_from_onnx

    torch.manual_seed(1)
    source = YoloxNanoEncoder()
    for conv in encoder_convs(source):
        torch.nn.init.normal_(conv.weight, std=0.2)
        torch.nn.init.normal_(conv.bias, std=0.2)
    path = tmp_path / "yolox.onnx"
    _export(source, path)
    target = YoloxNanoEncoder()
    assert check_against_onnx(target, str(path)) > 1e-2  # untouched weights differ from the graph
    load_encoder_from_onnx(target, str(path))
    assert check_against_onnx(target, str(path)) < 1e-5
    for a, b in zip(encoder_convs(source), encoder_convs(target)):
        assert torch.equal(a.weight, b.weight) and torch.equal(a.bias, b.bias)


def test_a_graph_of_another_architecture_is_refused(tmp_path):
    from sotmot_ros.model.onnx_import import OnnxImportError, load_encoder_from_onnx

    pytest.importorskip("onnx")
    path = tmp_path / "other.onnx"
    torch.onnx.export(torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3, padding=1), torch.nn.SiLU()),
                      torch.rand(1, 3, 32, 32), str(path), dynamo=False)
    with pytest.raises(OnnxImportError, match="Conv nodes"):
        load_encoder_from_onnx(YoloxNanoEncoder(), str(path))
    (tmp_path / "junk.onnx").write_bytes(b"not a protobuf")
    with pytest.raises(OnnxImportError, match="cannot read"):
        load_encoder_from_onnx(YoloxNanoEncoder(), str(tmp_path / "junk.onnx"))


def test_init_from_onnx_command_writes_a_trainable_model(tmp_path):
    """`sotmot init-from-onnx` on the COCO teacher: the body reproduces the teacher's stride-32 tensor and the
    file rebuilds a yolox_nano network whose detector runs."""
    pytest.importorskip("onnx")
    pytest.importorskip("onnxruntime")
    if not TEACHER.is_file():
        pytest.skip(f"{TEACHER} is absent (development data)")
    from sotmot_ros.cli import main
    from sotmot_ros.detector import Detector

    out = tmp_path / "init.pt"
    assert main(["init-from-onnx", str(TEACHER), "--out", str(out), "--input-size", "320x256"]) == 0
    model, meta = load_model(out)
    assert model.config.backbone == "yolox_nano" and (model.config.input_width, model.config.input_height) == (320, 256)
    assert meta["init_from_onnx"]["max_relative_diff"] < 1e-4
    dets = Detector(model, device="cpu")(np.full((240, 320, 3), 127, np.uint8))
    assert dets.features.shape[1] == 128
    assert main(["init-from-onnx", str(TEACHER), "--out", str(tmp_path / "x.pt"), "--input-size", "320"]) == 1
