"""Tracker settings travel with the model file: tuned values apply unless the user overrides them."""

import logging

import cv2
import numpy as np
import pytest
import torch

from sotmot_ros.detector import Detector
from sotmot_ros.model.checkpoint import CheckpointError, load_model, save_model, update_meta
from sotmot_ros.model.config import ModelConfig
from sotmot_ros.model.network import SOTMOTNet
from sotmot_ros.tracking import TrackerConfig, config_for_model

TUNED = {"high_score_threshold": 0.45, "new_track_score_threshold": 0.5, "sot_lambda": 3.0, "min_iou_stage2": 0.6}


def small_model():
    torch.manual_seed(0)
    return SOTMOTNet(ModelConfig(input_width=64, input_height=64, head_conv=16, sot_dim=16))


def test_model_settings_apply_and_explicit_values_win():
    cfg, origin = config_for_model({"tracker": TUNED})
    assert cfg.high_score_threshold == 0.45 and cfg.sot_lambda == 3.0 and cfg.min_iou_stage2 == 0.6
    assert "tuned" in origin
    cfg, origin = config_for_model({"tracker": TUNED}, {"sot_lambda": 1.5, "min_hits": None})
    assert cfg.sot_lambda == 1.5 and cfg.high_score_threshold == 0.45 and cfg.min_hits == TrackerConfig().min_hits
    assert "sot_lambda" in origin


def test_a_model_without_tuned_settings_gets_the_library_defaults_not_another_models():
    config_for_model({"tracker": TUNED})  # another model's tuning, used before
    cfg, origin = config_for_model({"epoch": 3})
    assert cfg == TrackerConfig() and "library defaults" in origin


def test_unknown_or_invalid_model_settings_are_errors():
    with pytest.raises(ValueError, match="sot_lamda"):
        config_for_model({"tracker": {"sot_lamda": 2.0}})
    with pytest.raises(ValueError, match="high_score_threshold"):
        config_for_model({"tracker": {"high_score_threshold": 1.5}})


def test_settings_are_written_into_and_read_from_the_model_file(tmp_path):
    path = tmp_path / "m.pt"
    save_model(path, small_model(), meta={"epoch": 1})
    update_meta(path, tracker=TUNED)
    _, meta = load_model(path)
    assert meta["tracker"] == TUNED and meta["epoch"] == 1
    det = Detector.from_checkpoint(path, device="cpu")
    assert det.meta["tracker"] == TUNED
    bad = tmp_path / "raw.pt"
    torch.save({"x": torch.zeros(1)}, bad)
    with pytest.raises(CheckpointError):
        update_meta(bad, tracker=TUNED)


def test_sotmot_track_uses_the_models_settings_unless_a_flag_is_given(tmp_path, caplog):
    from sotmot_ros import cli

    path = tmp_path / "m.pt"
    save_model(path, small_model())
    update_meta(path, tracker={**TUNED, "low_score_threshold": 0.25})
    video = tmp_path / "v.avi"
    vw = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 10, (64, 48))
    for i in range(3):
        vw.write(np.full((48, 64, 3), 40 * i, np.uint8))
    vw.release()
    seen = []
    orig = Detector.detect_batch

    def spy(self, images):
        seen.append(self.score_threshold)
        return orig(self, images)

    with caplog.at_level(logging.INFO, logger="sotmot.track"), pytest.MonkeyPatch.context() as mp:
        mp.setattr(Detector, "detect_batch", spy)
        assert cli.main(["track", str(video), "--checkpoint", str(path), "--device", "cpu", "--no-progress"]) == 0
        assert seen and set(seen) == {0.25}  # the decode threshold is the tracker's (model-tuned) low threshold
        assert any("tuned for this model" in r.message for r in caplog.records)
        caplog.clear()
        seen.clear()
        assert cli.main(["track", str(video), "--checkpoint", str(path), "--device", "cpu", "--no-progress",
                         "--low-thresh", "0.05"]) == 0
        assert set(seen) == {0.05}
        assert any("overridden: ['low_score_threshold']" in r.message for r in caplog.records)


def test_box_nms_removes_a_second_peak_on_the_same_person_and_comes_from_the_model_file(tmp_path):
    from sotmot_ros.decode import decode_outputs

    h, w = 32, 32
    hm = torch.full((1, 1, h, w), -10.0)
    hm[0, 0, 10, 10], hm[0, 0, 10, 13] = 3.0, 2.0  # two separate maxima, 3 cells apart
    hm[0, 0, 25, 25] = 2.5  # a second person elsewhere
    wh = torch.full((1, 4, h, w), 4.0)  # 8x8-cell boxes: the first two overlap with IoU 5/11 ~ 0.45
    out = {"hm": hm, "wh": wh, "reg": torch.zeros(1, 2, h, w)}
    assert len(decode_outputs(out, score_threshold=0.5)[0].boxes) == 3
    assert len(decode_outputs(out, score_threshold=0.5, nms_iou=0.4)[0].boxes) == 2
    assert len(decode_outputs(out, score_threshold=0.5, nms_iou=0.5)[0].boxes) == 3  # IoU 0.45 < 0.5: kept
    path = tmp_path / "m.pt"
    save_model(path, small_model())
    update_meta(path, detector={"nms_iou": 0.6})
    assert Detector.from_checkpoint(path, device="cpu").nms_iou == 0.6
    assert Detector.from_checkpoint(path, device="cpu", nms_iou=1.0).nms_iou == 1.0  # explicit wins
    with pytest.raises(ValueError):
        Detector(small_model(), device="cpu", nms_iou=0.0)


def test_the_detector_decodes_down_to_the_trackers_low_threshold_by_default(tmp_path):
    """Library defaults must not silently disable the tracker's second stage (low-score detections)."""
    from sotmot_ros.tracking import Tracker

    path = tmp_path / "m.pt"
    save_model(path, small_model())
    plain = Detector.from_checkpoint(path, device="cpu")  # no tuned settings: the library tracker's low threshold
    assert plain.score_threshold == TrackerConfig().low_score_threshold == Tracker().config.low_score_threshold
    assert Detector(small_model(), device="cpu").score_threshold == TrackerConfig().low_score_threshold
    update_meta(path, tracker={**TUNED, "low_score_threshold": 0.25})
    tuned = Detector.from_checkpoint(path, device="cpu")
    assert tuned.score_threshold == config_for_model(tuned.meta)[0].low_score_threshold == 0.25
    assert Detector.from_checkpoint(path, device="cpu", score_threshold=0.05).score_threshold == 0.05  # explicit wins
    image = np.full((64, 64, 3), 90, np.uint8)
    assert tuned(image).score_floor == 0.25  # the detections say what they were decoded with
