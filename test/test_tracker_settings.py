"""Tracker settings: one definition (TrackerConfig + its Settings), immutable, swapped in whole between updates."""

from __future__ import annotations

import dataclasses
import threading

import numpy as np
import pytest

from sotmot_ros.tracking import Tracker, TrackerConfig
from sotmot_ros.tracking import tracker as tracker_module
from sotmot_ros.tracking.config import Setting
from sotmot_ros.types import Detections


def people(n: int, t: float, d: int = 8) -> Detections:
    """n well separated people moving right at 20 px/s, with distinct features."""
    boxes = np.array([[100.0 * k + 20 * t, 50, 100.0 * k + 20 * t + 40, 150] for k in range(n)])
    feats = np.eye(n, d)
    return Detections(boxes, np.full(n, 0.9), None, feats)


def test_config_is_immutable_so_it_cannot_change_under_a_running_update():
    cfg = TrackerConfig()
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.max_tracks = 1


def test_a_settings_swap_during_an_update_applies_from_the_next_update(monkeypatch):
    tracker = Tracker(TrackerConfig(min_hits=1))
    tracker.update(people(3, 0.0), 0.0)
    real_assign = tracker_module.assoc.assign
    swapped = []

    def assign_and_swap(*args, **kwargs):  # another thread (the ROS parameter callback) swaps mid-update
        if not swapped:
            tracker.config = dataclasses.replace(tracker.config, max_tracks=1)
            swapped.append(True)
        return real_assign(*args, **kwargs)

    monkeypatch.setattr(tracker_module.assoc, "assign", assign_and_swap)
    assert len(tracker.update(people(3, 0.1), 0.1)) == 3  # this update keeps the settings it started with
    assert swapped and tracker.config.max_tracks == 1
    monkeypatch.setattr(tracker_module.assoc, "assign", real_assign)
    assert len(tracker.update(people(3, 0.2), 0.2)) == 1  # the next one uses the new settings whole


def test_changing_the_motion_model_settings_rebuilds_the_kalman_filter():
    wide = dict(kf_init_velocity_std=5.0, kf_std_measurement=0.2)
    swapped, built = Tracker(TrackerConfig()), Tracker(TrackerConfig(**wide))
    for tr in (swapped, built):
        tr.update(people(1, 0.0), 0.0)
    swapped.config = TrackerConfig(**wide)
    for tr in (swapped, built):
        tr.update(people(2, 0.1), 0.1)  # the second person is born after the swap
    newest = [max(tr.tracks, key=lambda t: t.track_id) for tr in (swapped, built)]
    np.testing.assert_allclose(newest[0].cov, newest[1].cov)
    assert not np.allclose(newest[0].cov, Tracker(TrackerConfig()).kf.initiate(people(1, 0.1).boxes)[1][0])


def test_swaps_from_another_thread_never_break_updates():
    tracker = Tracker(TrackerConfig(min_hits=1))
    configs = [TrackerConfig(min_hits=1, max_tracks=m, kf_std_measurement=s) for m in (1, 50) for s in (0.05, 0.3)]
    stop = threading.Event()

    def swapper():
        i = 0
        while not stop.is_set():
            tracker.config = configs[i % len(configs)]
            i += 1

    thread = threading.Thread(target=swapper)
    thread.start()
    try:
        for k in range(200):
            outs = tracker.update(people(3, k * 0.05), k * 0.05)
            assert 1 <= len(outs) <= 3
    finally:
        stop.set()
        thread.join()


def test_every_setting_has_a_description_and_its_bounds_are_enforced():
    for name, typ, default, setting in TrackerConfig.settings():
        assert isinstance(setting, Setting) and len(setting.help) > 15, name
        assert setting.violation(name, default) is None, name
        if setting.low is not None and typ in (int, float):
            below = setting.low if setting.low_open else setting.low - 1
            with pytest.raises(ValueError, match=name):
                TrackerConfig(**{name: typ(below)} if name != "min_hits" else {name: 0})
        if setting.choices:
            with pytest.raises(ValueError, match=f"{name} must be one of"):
                TrackerConfig(**{name: "nonsense"})


def test_cross_setting_rules_are_checked():
    with pytest.raises(ValueError, match="low_score_threshold .* must be <= high_score_threshold"):
        TrackerConfig(low_score_threshold=0.5, high_score_threshold=0.4, new_track_score_threshold=0.6)
    with pytest.raises(ValueError, match="new_track_score_threshold"):
        TrackerConfig(new_track_score_threshold=0.1)
    with pytest.raises(ValueError, match="weight_sot \\+ weight_iou must be > 0"):
        TrackerConfig(weight_sot=0.0, weight_iou=0.0)
    with pytest.raises(ValueError, match="min_hits must be an integer"):
        TrackerConfig(min_hits=2.5)


def test_detections_decoded_above_the_low_threshold_get_one_warning_naming_both(caplog):
    tracker = Tracker(TrackerConfig(low_score_threshold=0.1))
    dets = people(2, 0.0)
    with caplog.at_level("WARNING", logger="sotmot_ros.tracking.tracker"):
        tracker.update(dataclasses.replace(dets, score_floor=0.1), 0.0)
        assert not caplog.records  # decoded down to the low threshold: fine
        for k in range(3):
            tracker.update(dataclasses.replace(people(2, 0.1 * (k + 1)), score_floor=0.3), 0.1 * (k + 1))
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 1 and "decoded at score >= 0.3 but low_score_threshold is 0.1" in warnings[0]
    assert dets.select([0]).score_floor is None and dataclasses.replace(dets, score_floor=0.3).select([0]).score_floor == 0.3
