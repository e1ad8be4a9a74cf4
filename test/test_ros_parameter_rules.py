"""The node's parameter rules as plain functions, without a ROS node: ``validate_value`` (types, ranges,
NaN/inf, choices, parameter-specific formats), ``validate_changes`` (when a parameter may change,
cross-parameter rules) and ``tracker_config`` (parameter values -> TrackerConfig over the model's tuning).

Tracker parameters are looked up by name in ``SPEC_BY_NAME`` and their bounds read from their specs, so
these tests hold however the spec table is produced. test_ros_node.py / test_ros_parameter_handling.py
check that a running node applies these rules to ``ros2 param set`` and params files.
"""

from __future__ import annotations

import math

import pytest

pytest.importorskip("rcl_interfaces", reason="ROS 2 (rclpy) not importable: run scripts/setup_env.sh")

from sotmot_ros.ros import parameters as P  # noqa: E402
from sotmot_ros.ros.parameters import SPEC_BY_NAME as SPEC  # noqa: E402
from sotmot_ros.tracking.config import MODEL_META_KEY, TrackerConfig  # noqa: E402


def defaults() -> dict:
    """Every parameter at its default, as the node holds them after start-up."""
    return {s.name: (list(s.default) if isinstance(s.default, list) else s.default) for s in P.SPECS}


def ok(name, value):
    assert P.validate_value(SPEC[name], value) is None, (name, value, P.validate_value(SPEC[name], value))


def refused(name, value, fragment):
    reason = P.validate_value(SPEC[name], value)
    assert reason is not None and fragment in reason, (name, value, reason)
    return reason


# ----------------------------------------------------------------------------- validate_value


def test_numeric_ranges_are_inclusive_and_enforced():
    ok("score_threshold", 0.0)
    ok("score_threshold", 1.0)
    refused("score_threshold", 1.5, "must be in [0.0, 1.0]")
    refused("score_threshold", -0.1, "must not be negative")
    ok("max_detections", 1)
    ok("max_detections", 10000)
    refused("max_detections", 0, "must be in [1, 10000]")
    refused("max_detections", 10001, "must be in")
    refused("max_image_pixels", -5, "must not be negative")
    for name in ("low_score_threshold", "high_score_threshold", "max_lost_seconds", "min_hits", "sot_lambda"):
        spec = SPEC[name]
        ok(name, spec.low)
        ok(name, spec.high)
        above = spec.high + (1 if spec.ptype is int else 0.5)
        refused(name, above, "must be in")


def test_nan_and_infinity_are_refused_for_every_float_parameter():
    floats = [s.name for s in P.SPECS if s.ptype is float]
    assert {"score_threshold", "min_box_area", "diagnostics_period", "sot_lambda"} <= set(floats)
    for name in floats:
        refused(name, float("nan"), "must not be NaN")
        refused(name, math.inf, "must be finite")
        refused(name, -math.inf, "must be finite")


def test_bool_is_not_a_number_and_a_number_is_not_a_bool():
    refused("max_detections", True, "must be an integer")  # bool is an int subclass in Python
    refused("score_threshold", False, "must be a number")
    refused("min_hits", True, "must be an integer")
    refused("half", 1, "must be a bool")
    refused("autostart", "true", "must be a bool")
    ok("half", True)


def test_integers_are_accepted_for_floats_but_not_floats_for_integers():
    ok("min_box_area", 2)  # "2" in YAML for a double parameter
    ok("max_lost_seconds", int(SPEC["max_lost_seconds"].low))
    refused("max_detections", 2.0, "must be an integer")
    refused("min_hits", "three", "must be an integer")
    refused("score_threshold", "0.5", "must be a number")


def test_choices_of_strings_and_string_lists():
    ok("association", SPEC["association"].choices[0])
    refused("association", "hungarian", "association must be one of")
    ok("image_transport_type", "compressed")
    refused("image_transport_type", "theora", "must be one of ['raw', 'compressed']")
    ok("publish_states", ["tentative", "confirmed", "lost"])
    ok("publish_states", [])
    refused("publish_states", ["confirmed", "zombie"], "unknown value(s) ['zombie']")
    refused("publish_states", "confirmed", "must be a list of strings")
    refused("image_topics", ["/a", 3], "must be a list of strings")


def test_parameter_specific_formats():
    for device in ("auto", "cpu", "cuda", "cuda:1", " CUDA:0 "):
        ok("device", device)
    for device in ("gpu", "cuda:", "cuda:x", "cpu0", ""):
        refused("device", device, "device must be auto, cpu or cuda:N")
    for size in (0, 32, 64, 4096):
        ok("input_width", size)
    refused("input_width", 16, "multiple of 32 >= 32")
    refused("input_height", 100, "multiple of 32 >= 32")
    refused("input_height", 4128, "must be in [0, 4096]")
    ok("image_topics", ["/a/image_raw", "/b/image_raw"])
    refused("image_topics", [], "at least one topic")
    refused("image_topics", ["/a", "/a"], "duplicates")
    refused("image_topics", ["/a", " "], "empty names")


# ----------------------------------------------------------------------------- validate_changes


def test_runtime_parameters_change_in_any_state():
    for configured in (False, True):
        assert P.validate_changes(defaults(), {"min_hits": 3, "score_threshold": 0.2}, configured) is None


def test_configure_parameters_are_refused_while_configured_only():
    current = defaults()
    for name, value in (("model_path", "/tmp/other.pt"), ("device", "cpu"), ("qos_reliability", "reliable"),
                        ("input_width", 64), ("image_transport_type", "compressed")):
        assert SPEC[name].change == P.CONFIGURE, name
        reason = P.validate_changes(current, {name: value}, configured=True)
        assert reason and f"{name} is read-only while the node is configured" in reason, reason
        assert "cleanup" in reason
        assert P.validate_changes(current, {name: value}, configured=False) is None
        # re-setting the current value is no change: accepted while configured
        assert P.validate_changes(current, {name: current[name]}, configured=True) is None


def test_configure_parameters_are_still_validated_while_unconfigured():
    reason = P.validate_changes(defaults(), {"device": "gpu"}, configured=False)
    assert reason and "device must be auto, cpu or cuda:N" in reason


def test_startup_parameters_are_read_only_in_every_state():
    current = defaults()
    for name, value in (("image_topics", ["/other"]), ("camera_names", ["x"]), ("autostart", True),
                        ("diagnostics_period", 2.0)):
        assert SPEC[name].change == P.STARTUP and SPEC[name].read_only, name
        for configured in (False, True):
            reason = P.validate_changes(current, {name: value}, configured)
            assert reason and f"{name} is read-only: set it at start-up" in reason and "restart" in reason, reason
        assert P.validate_changes(current, {name: current[name]}) is None


def test_parameters_of_others_are_left_to_rclpy():
    assert P.validate_changes(defaults(), {"use_sim_time": True, "qos_overrides./x.depth": "anything"}) is None


def test_first_invalid_value_is_the_reason_for_a_batch():
    reason = P.validate_changes(defaults(), {"min_hits": 2, "association": "hungarian"})
    assert reason and "association must be one of" in reason


def test_low_threshold_must_not_exceed_high_threshold():
    current = defaults()
    high = current["high_score_threshold"]
    reason = P.validate_changes(current, {"low_score_threshold": min(1.0, high + 0.1)})
    assert reason and "low_score_threshold" in reason and "must be <= high_score_threshold" in reason, reason
    # checked against the merged values: raising high with low in one batch is fine
    assert P.validate_changes(current, {"high_score_threshold": 0.9, "new_track_score_threshold": 0.95,
                                        "low_score_threshold": 0.85}) is None
    reason = P.validate_changes(current, {"new_track_score_threshold": high - 0.05})
    assert reason and "new_track_score_threshold" in reason and "must be >= high_score_threshold" in reason


def test_camera_names_must_match_the_image_topics():
    current = dict(defaults(), image_topics=["/a/image_raw", "/b/image_raw"], camera_names=["a"])
    reason = P.validate_changes(current, {"min_hits": 2})
    assert reason == "camera_names (1) must be empty or match image_topics (2)"
    current["camera_names"] = ["a", "a"]
    assert "camera_names has duplicates" in P.validate_changes(current, {"min_hits": 2})
    current["camera_names"] = ["a", "b"]
    assert P.validate_changes(current, {"min_hits": 2}) is None
    current["camera_names"] = []
    assert P.validate_changes(current, {"min_hits": 2}) is None


# ----------------------------------------------------------------------------- tracker_config


def test_tracker_config_from_defaults_is_the_library_default():
    assert P.tracker_config(defaults()) == TrackerConfig()
    assert P.tracker_config({}) == TrackerConfig()


def test_tracker_config_takes_the_parameter_values():
    values = dict(defaults(), min_hits=4, association="iou", max_lost_seconds=3)
    cfg = P.tracker_config(values)
    assert cfg.min_hits == 4
    assert cfg.association == "iou"
    lost = cfg.max_lost_seconds
    assert lost == 3.0 and isinstance(lost, float)  # an integer for a double parameter becomes a float


def test_tracker_config_ignores_detector_and_node_parameters():
    values = dict(defaults(), score_threshold=0.9, model_path="x.pt", publish_states=["lost"])
    assert P.tracker_config(values) == TrackerConfig()


def test_tracker_config_keeps_the_models_tuning_where_no_parameter_says_otherwise():
    tuned = TrackerConfig().to_dict()
    tuned.update({"high_score_threshold": 0.45, "new_track_score_threshold": 0.5,
                  "min_iou_stage2": 0.6})  # min_iou_stage2: tuned, and no parameter value given
    meta = {MODEL_META_KEY: tuned}
    values = {"high_score_threshold": 0.45, "new_track_score_threshold": 0.5, "min_hits": 5}
    cfg = P.tracker_config(values, meta)
    assert (cfg.min_iou_stage2, cfg.min_hits) == (0.6, 5)
    assert cfg.high_score_threshold == 0.45


def test_tracker_config_raises_on_invalid_combinations():
    with pytest.raises(ValueError, match="must be <= high_score_threshold"):
        P.tracker_config(dict(defaults(), low_score_threshold=0.9, high_score_threshold=0.5))


# ----------------------------------------------------------------------------- detector values


def test_detector_kwargs_need_both_input_sizes_or_neither():
    assert P.detector_kwargs(defaults())["input_size"] is None
    assert P.detector_kwargs(dict(defaults(), input_width=64, input_height=32))["input_size"] == (64, 32)
    with pytest.raises(ValueError, match="both be 0 or both set"):
        P.detector_kwargs(dict(defaults(), input_width=64))
    assert P.detector_kwargs(dict(defaults(), model_path=""))["path"] is None
    assert P.detector_kwargs(defaults())["trim_padding"] is False
    assert P.detector_kwargs(dict(defaults(), trim_padding=True))["trim_padding"] is True


def test_backend_is_a_checked_choice_passed_to_the_detector():
    assert SPEC["backend"].default == "auto" and SPEC["backend"].change == P.CONFIGURE
    for name in ("auto", "torch", "onnxruntime"):
        ok("backend", name)
        assert P.detector_kwargs(dict(defaults(), backend=name))["backend"] == name
    refused("backend", "tensorrt", "must be one of ['auto', 'torch', 'onnxruntime']")


def test_decode_threshold_never_above_the_trackers_low_threshold():
    values = dict(defaults(), score_threshold=0.3, low_score_threshold=0.1)
    assert P.decode_threshold(values) == 0.1
    values.update(score_threshold=0.05)
    assert P.decode_threshold(values) == 0.05


def test_descriptors_carry_the_ranges_and_types():
    from rcl_interfaces.msg import ParameterType

    d = SPEC["score_threshold"].descriptor()
    assert d.type == ParameterType.PARAMETER_DOUBLE and not d.dynamic_typing
    assert (d.floating_point_range[0].from_value, d.floating_point_range[0].to_value) == (0.0, 1.0)
    d = SPEC["max_detections"].descriptor()
    assert d.type == ParameterType.PARAMETER_INTEGER
    assert (d.integer_range[0].from_value, d.integer_range[0].to_value) == (1, 10000)
    assert SPEC["publish_states"].descriptor().type == ParameterType.PARAMETER_STRING_ARRAY
    assert "one of: raw, compressed" in SPEC["image_transport_type"].descriptor().additional_constraints
    assert SPEC["autostart"].descriptor().read_only and not SPEC["min_hits"].descriptor().read_only
