"""Front-ends derive the tracker settings from the one definition (TrackerConfig + Setting): the ``sotmot
track`` flags, the ROS node's tracker parameters and the shipped params file."""

from __future__ import annotations

import argparse

import pytest

from sotmot_ros.commands.track import add_tracker_flags, tracker_overrides
from sotmot_ros.tracking import TrackerConfig


def parse(*argv):
    p = argparse.ArgumentParser()
    add_tracker_flags(p)
    return p.parse_args(list(argv))


def test_every_setting_is_a_flag_that_defaults_to_unset():
    args = parse()
    for name, *_ in TrackerConfig.settings():
        assert getattr(args, name) is None, name
    assert tracker_overrides(args) == {}


def test_flags_parse_to_typed_overrides_including_ones_added_after_the_first_release():
    args = parse("--kf-std-measurement", "0.2", "--no-confirm-on-first-update", "--gate", "centre",
                 "--max-tracks", "7", "--low-thresh", "0.05")  # --low-thresh: the earlier short name
    assert tracker_overrides(args) == {"kf_std_measurement": 0.2, "confirm_on_first_update": False, "gate": "centre",
                                       "max_tracks": 7, "low_score_threshold": 0.05}
    cfg = TrackerConfig(**tracker_overrides(args))
    assert cfg.kalman_settings()[0] == 0.2 and cfg.max_tracks == 7
    with pytest.raises(SystemExit):
        parse("--gate", "nearest")  # not a choice of the Setting
    with pytest.raises(SystemExit):
        parse("--max-tracks", "1.5")  # an int setting


def test_sotmot_track_refuses_an_out_of_range_flag_with_one_line_naming_it(capsys, tmp_path):
    from sotmot_ros import cli

    assert cli.main(["track", str(tmp_path / "missing.mp4"), "--min-hits", "0"]) == 1
    err = capsys.readouterr().err
    assert "min_hits must be >= 1, got 0" in err and "Traceback" not in err


def _grey_frames(tmp_path):
    """An image folder of two grey 128x96 frames: a source `sotmot track` reads in a moment."""
    import cv2
    import numpy as np

    folder = tmp_path / "frames"
    folder.mkdir()
    for k in range(2):
        cv2.imwrite(str(folder / f"{k + 1:06d}.jpg"), np.full((96, 128, 3), 120, np.uint8))
    return folder


def test_sotmot_track_input_size_flag_is_checked_and_used(capsys, caplog, tmp_path):
    """--input-size WxH runs the model at another network input (the ROS node's input_width/height)."""
    from sotmot_ros import cli

    with pytest.raises(SystemExit) as exc:  # not WxH: argparse, before anything loads
        cli.main(["track", str(tmp_path / "missing.mp4"), "--input-size", "512"])
    assert exc.value.code == 2 and "expected WIDTHxHEIGHT such as 512x384, got '512'" in capsys.readouterr().err
    folder = _grey_frames(tmp_path)
    assert cli.main(["track", str(folder), "--input-size", "100x64", "--no-progress"]) == 1
    assert "input_size must be multiples of 32, got (100, 64)" in capsys.readouterr().err
    out = tmp_path / "res.txt"
    with caplog.at_level("INFO", logger="sotmot.track"):
        assert cli.main(["track", str(folder), "--input-size", "128x96", "--no-progress", "--out", str(out)]) == 0
    assert out.is_file() and "model: default (128x96 input, onnxruntime on cpu)" in caplog.text


def test_sotmot_track_backend_flag_picks_the_engine(capsys, caplog, tmp_path):
    """--backend (the ROS node's `backend`): auto runs ONNX Runtime on the CPU, torch forces PyTorch."""
    from sotmot_ros import cli

    pytest.importorskip("onnxruntime")
    with pytest.raises(SystemExit) as exc:
        cli.main(["track", str(tmp_path / "missing.mp4"), "--backend", "tensorrt"])
    assert exc.value.code == 2 and "invalid choice: 'tensorrt'" in capsys.readouterr().err
    folder = _grey_frames(tmp_path)
    with caplog.at_level("INFO", logger="sotmot.track"):
        assert cli.main(["track", str(folder), "--input-size", "128x96", "--backend", "torch", "--no-progress"]) == 0
    assert "model: default (128x96 input, torch on cpu)" in caplog.text
    with caplog.at_level("INFO", logger="sotmot.track"):
        assert cli.main(["track", str(folder), "--input-size", "128x96", "--backend", "torch", "--no-progress",
                         "--trim-padding"]) == 0
    assert "model: default (128x96 input, padding trimmed, torch on cpu)" in caplog.text


rcl = pytest.importorskip("rcl_interfaces", reason="ROS 2 (rclpy) not importable: run scripts/setup_env.sh")


def test_every_setting_is_a_runtime_ros_parameter_with_its_description_and_bounds():
    from sotmot_ros.ros import parameters as P

    settings = TrackerConfig.settings()
    assert P.TRACKER_PARAMS == tuple(name for name, *_ in settings)
    for name, typ, default, setting in settings:
        spec = P.SPEC_BY_NAME[name]
        assert spec.default == default and spec.ptype is typ and spec.change == P.RUNTIME, name
        d = spec.descriptor()
        assert d.description == setting.help and tuple(spec.choices) == setting.choices, name
        if setting.low is not None and typ is float:
            assert d.floating_point_range[0].from_value == setting.low, name
        if setting.rule:
            assert setting.rule in d.additional_constraints, name
    kf = P.SPEC_BY_NAME["kf_std_measurement"]
    assert "> 0" in kf.descriptor().additional_constraints


def test_ros_validation_uses_the_librarys_rules_for_every_setting():
    from sotmot_ros.ros import parameters as P

    current = {s.name: s.default for s in P.SPECS}
    assert P.validate_changes(current, {"kf_std_measurement": 0.2}) is None
    assert P.tracker_config({**current, "kf_std_measurement": 0.2}).kf_std_measurement == 0.2
    assert "sot_lambda must be > 0" in P.validate_changes(current, {"sot_lambda": 0.0})
    assert "template_momentum must be in [0, 1)" in P.validate_changes(current, {"template_momentum": 1.0})
    assert "gate must be one of" in P.validate_changes(current, {"gate": "nearest"})


def test_the_shipped_params_file_is_the_generated_one():
    from sotmot_ros.ros.parameters import params_yaml

    from pathlib import Path

    shipped = (Path(__file__).resolve().parent.parent / "config" / "sotmot.yaml").read_text()
    assert shipped == params_yaml(), "regenerate: python -m sotmot_ros.ros.parameters > config/sotmot.yaml"
