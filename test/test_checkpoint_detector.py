"""Model files (round trip, clear failures) and the Detector API on CPU."""

import numpy as np
import pytest
import torch

from sotmot_ros.detector import Detector, resolve_device
from sotmot_ros.model import ModelConfig, build_model
from sotmot_ros.model.checkpoint import CheckpointError, load_model, save_model

SMALL = dict(backbone="efficientnet_lite0", input_width=128, input_height=96, head_conv=32, sot_dim=16)


@pytest.fixture(scope="module")
def small_model():
    torch.manual_seed(0)
    return build_model(ModelConfig(**SMALL)).eval()


def test_round_trip_is_bit_exact_and_rebuilds_from_file_alone(tmp_path, small_model):
    path = save_model(tmp_path / "m.pt", small_model, meta={"note": "unit test", "epoch": 3})
    loaded, meta = load_model(path)
    assert meta == {"note": "unit test", "epoch": 3}
    assert loaded.config == small_model.config
    a, b = small_model.state_dict(), loaded.state_dict()
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    x = torch.rand(1, 3, 96, 128)
    with torch.no_grad():
        assert all(torch.equal(small_model(x)[k], loaded(x)[k]) for k in ("hm", "wh", "id", "reg"))


def test_missing_file_names_the_file(tmp_path):
    with pytest.raises(CheckpointError, match="not found.*nope.pt"):
        load_model(tmp_path / "nope.pt")


def test_truncated_file_fails_clearly(tmp_path, small_model):
    path = save_model(tmp_path / "m.pt", small_model)
    data = path.read_bytes()
    bad = tmp_path / "truncated.pt"
    bad.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="truncated.pt.*truncated or corrupt"):
        load_model(bad)
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a model at all")
    with pytest.raises(CheckpointError, match="junk.pt"):
        load_model(junk)


def test_mismatched_weights_name_the_first_offending_keys(tmp_path, small_model):
    path = save_model(tmp_path / "m.pt", small_model)
    data = torch.load(path, weights_only=True)
    data["config"]["sot_dim"] = 32  # the file's weights have 16 channels
    torch.save(data, tmp_path / "mismatch.pt")
    with pytest.raises(CheckpointError, match=r"mismatch.pt.*shape mismatch: id\.0\.weight|id\.2\.weight"):
        load_model(tmp_path / "mismatch.pt")
    del data["state_dict"]["hm.2.bias"]
    data["config"]["sot_dim"] = 16
    torch.save(data, tmp_path / "missing_key.pt")
    with pytest.raises(CheckpointError, match=r"missing keys: hm\.2\.bias"):
        load_model(tmp_path / "missing_key.pt")


def test_foreign_file_is_rejected(tmp_path):
    torch.save({"weights": torch.zeros(3)}, tmp_path / "other.pt")
    with pytest.raises(CheckpointError, match="neither a sotmot_ros model file"):
        load_model(tmp_path / "other.pt")


def test_detector_returns_detections_in_image_pixels(small_model):
    model = build_model(ModelConfig(**SMALL)).eval()
    model.load_state_dict(small_model.state_dict())
    with torch.no_grad():
        model.wh[2].bias.fill_(3.0)  # an untrained wh head gives zero-area boxes, which are dropped
    det = Detector(model, device="cpu", score_threshold=0.0, max_detections=7)
    img = np.random.default_rng(0).integers(0, 255, (60, 200, 3), dtype=np.uint8)
    d = det(img)
    assert 1 <= len(d) <= 7 and d.features.shape == (len(d), 16)  # top-7 local maxima at most
    assert d.boxes.min() >= 0 and d.boxes[:, [0, 2]].max() <= 200 and d.boxes[:, [1, 3]].max() <= 60
    np.testing.assert_allclose(np.linalg.norm(d.features, axis=1), 1.0, atol=1e-5)
    batch = det.detect_batch([img, img[:, :100].copy()])
    np.testing.assert_allclose(batch[0].boxes, d.boxes, atol=1e-4)
    assert batch[1].boxes[:, [0, 2]].max() <= 100


def test_detector_rejects_bad_arguments(small_model):
    with pytest.raises(ValueError, match="multiples of 32"):
        Detector(small_model, device="cpu", input_size=(100, 64))
    with pytest.raises(ValueError, match="score_threshold"):
        Detector(small_model, device="cpu", score_threshold=float("nan"))
    det = Detector(small_model, device="cpu")
    with pytest.raises(ValueError, match="uint8"):
        det(np.zeros((10, 10), np.float32))


def test_device_resolution_falls_back_to_cpu():
    assert resolve_device("cpu").type == "cpu"
    if not torch.cuda.is_available():
        assert resolve_device("auto").type == "cpu"
        assert resolve_device("cuda:3").type == "cpu"
    with pytest.raises(ValueError, match="invalid device"):
        resolve_device("tpu")


def test_fairmot_style_file_loads_with_module_prefix_and_classifier(tmp_path):
    from sotmot_ros.model.fairmot import to_fairmot_state_dict

    torch.manual_seed(1)
    ours = build_model(ModelConfig(backbone="dla34", head_conv=256, sot_dim=128))
    fair = {f"module.{k}": v for k, v in to_fairmot_state_dict(ours.state_dict()).items()}
    fair["module.base.fc.weight"] = torch.zeros(1000, 512, 1, 1)
    fair["module.base.fc.bias"] = torch.zeros(1000)
    torch.save({"epoch": 30, "state_dict": fair}, tmp_path / "fairmot_dla34.pth")
    loaded, meta = load_model(tmp_path / "fairmot_dla34.pth")
    assert loaded.config.backbone == "dla34" and loaded.config.sot_dim == 128
    assert meta["source"] == "fairmot" and sorted(meta["dropped_keys"]) == ["module.base.fc.bias", "module.base.fc.weight"]
    assert all(torch.equal(v, loaded.state_dict()[k]) for k, v in ours.state_dict().items())
