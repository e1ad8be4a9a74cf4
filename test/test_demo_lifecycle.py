"""The demo survives lifecycle changes and tells the truth about dropped frames.

The demo (video_publisher -> sotmot_node with the bundled model -> result_recorder) plays a short synthetic
video while the test drives the tracker deactivate -> activate twice; the demo must finish normally (exit 0)
with every published frame either in results.txt or counted (and marked) as dropped. Process mode always;
under `ros2 launch` where launch_ros and ros2 exist (launch_ros is not on PyPI: skipped in pip mode).
Also: a bad input fails before anything starts, with one line; the demo's own ROS domain.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import time

import numpy as np
import pytest

import ros_helpers as h

ok, why = h.ros_messages_available()
if not ok:
    pytest.skip(why, allow_module_level=True)

from sotmot_ros.demo import demo_runner  # noqa: E402

FRAMES, RATE = 100, 10.0


def _video(path, n=FRAMES, size=(320, 240)):
    import cv2

    w = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), RATE, size)
    assert w.isOpened()
    for i in range(n):
        w.write(h.people_frame(i, *size))
    w.release()
    return path


@pytest.fixture(scope="module")
def client():
    c = h.RosClient("sotmot_demo_test_client")
    yield c
    c.close()


def _launch_reason() -> str:
    if importlib.util.find_spec("launch_ros") is None or shutil.which("ros2") is None:
        return "launch_ros / ros2 not installed (not on PyPI; a ROS 2 installation has them)"
    return ""


def _model_reason() -> str:
    return "" if h.BUNDLED_MODEL.is_file() else f"bundled model {h.BUNDLED_MODEL} missing"


@pytest.mark.skipif(bool(_model_reason()), reason=_model_reason() or "n/a")
@pytest.mark.parametrize("mode", [
    "processes",
    pytest.param("launch", marks=pytest.mark.skipif(bool(_launch_reason()), reason=_launch_reason() or "n/a")),
])
def test_demo_survives_deactivate_activate_twice(client, tmp_path, mode):
    video = _video(tmp_path / "people.avi")
    out = tmp_path / "out"
    argv = [sys.executable, "-m", "sotmot_ros.demo.demo_runner", "--video", str(video), "--output", str(out),
            "--idle-timeout", "4", "--rate", str(RATE), "--mode", mode]
    demo = h.NodeProcess(argv, f"demo_{mode}")  # child_env: the tests' ROS domain (the user's choice wins)
    try:
        demo.wait_log(r"sotmot active; starting the video|tracker: activate done", 240)
        demo.wait_log(r"\[video_publisher[^\]]*\].*publishing", 60)
        time.sleep(1.5)
        for _ in range(2):
            assert client.change_state("sotmot", "deactivate")
            assert client.get_state("sotmot") == "inactive"
            time.sleep(1.0)
            assert client.change_state("sotmot", "activate")
            assert client.get_state("sotmot") == "active"
            time.sleep(1.0)
        assert demo.proc.wait(120) == 0, demo.tail()
    finally:
        if demo.alive():
            demo.stop(20)
    log = demo.log()
    assert "executed more than once" not in log
    summary = json.loads((out / "summary.json").read_text())
    assert summary["frames_published"] == FRAMES
    assert summary["frames_dropped"] >= 5  # ~2 s inactive at 10 Hz
    assert summary["frames_with_results"] + summary["frames_dropped"] == FRAMES
    rows = np.loadtxt(out / "results.txt", delimiter=",", ndmin=2)
    dropped = _expand(summary["dropped_frame_ranges"])
    assert len(dropped) == summary["frames_dropped"]
    assert not set(rows[:, 0].astype(int)) & dropped if rows.size else True
    _check_marked(out / "annotated.mp4", dropped)


def _expand(ranges):
    out = set()
    for r in ranges:
        a, _, b = r.partition("-")
        out.update(range(int(a), int(b or a) + 1))
    return out


def _check_marked(path, dropped):
    """Dropped frames carry the red border of recorder.mark_dropped; the others do not."""
    import cv2

    cap = cv2.VideoCapture(str(path))
    frame, marked = 0, {}
    while True:
        ok, img = cap.read()
        if not ok:
            break
        frame += 1
        border = img[:3, :, :].reshape(-1, 3).mean(axis=0)
        marked[frame] = border[2] > 150 and border[0] < 100 and border[1] < 100
    cap.release()
    assert frame == FRAMES
    assert {f for f, m in marked.items() if m} == dropped


def test_mark_dropped_draws_a_red_border():
    from sotmot_ros.demo.recorder import _ranges, mark_dropped

    img = mark_dropped(np.zeros((240, 320, 3), np.uint8), 7)
    assert tuple(img[0, 160]) == (0, 0, 255)
    assert _ranges([1, 2, 3, 7, 9, 10]) == ["1-3", "7", "9-10"]


@pytest.mark.parametrize("kind", ["missing", "not-a-video", "bad-params"])
def test_bad_input_fails_before_anything_starts(tmp_path, kind):
    video = tmp_path / "input.avi"
    extra = []
    if kind == "not-a-video":
        video.write_text("this is not a video\n")
    elif kind == "bad-params":
        _video(video, n=3)
        bad = tmp_path / "p.yaml"
        bad.write_text("sotmot: [unclosed\n")
        extra = ["--params-file", str(bad)]
    res = subprocess.run([sys.executable, "-m", "sotmot_ros.demo.demo_runner", "--video", str(video),
                          "--output", str(tmp_path / "out"), *extra], env=h.child_env(), capture_output=True,
                         text=True, timeout=60)
    out = (res.stdout + res.stderr).strip()
    assert res.returncode == 2, out
    assert len(out.splitlines()) == 1 and out.startswith("sotmot demo: "), out
    assert "Traceback" not in out and "starting" not in out
    assert not (tmp_path / "out").exists()


def test_rviz_without_rviz2_fails_before_anything_starts(tmp_path):
    try:
        demo_runner.executable_path("rviz2", "rviz2")
        pytest.skip("rviz2 is installed here")
    except FileNotFoundError:
        pass
    video = _video(tmp_path / "v.avi", n=2)
    res = subprocess.run([sys.executable, "-m", "sotmot_ros.demo.demo_runner", "--video", str(video),
                          "--output", str(tmp_path / "out"), "--rviz"], env=h.child_env(), capture_output=True,
                         text=True, timeout=60)
    out = (res.stdout + res.stderr).strip()
    assert res.returncode == 2 and len(out.splitlines()) == 1 and "--rviz needs rviz2" in out, out


def test_demo_uses_its_own_domain_unless_one_is_set(monkeypatch, tmp_path):
    assert 150 <= demo_runner.demo_domain_id(12345) < 200
    seen = {}

    def fake_run(cfg):
        seen["domain"] = os.environ.get("ROS_DOMAIN_ID")
        return 0

    monkeypatch.setattr(demo_runner, "run_processes", fake_run)
    video = str(_video(tmp_path / "v.avi", n=2))
    argv = ["--video", video, "--output", str(tmp_path / "out"), "--mode", "processes"]
    monkeypatch.delenv("ROS_DOMAIN_ID", raising=False)
    assert demo_runner.main(argv) == 0
    assert seen["domain"] == str(demo_runner.demo_domain_id())
    monkeypatch.setenv("ROS_DOMAIN_ID", "42")
    assert demo_runner.main(argv) == 0
    assert seen["domain"] == "42"
