"""The one main() of the node programs (sotmot_ros.ros.entry.run_node): exit codes 2 / 0 / 1, clean-up in
every case; in this process with a small rclpy node, then the real programs as processes (Ctrl-C)."""

from __future__ import annotations

import json
import re
import signal

import pytest

import ros_helpers as h

ok, why = h.ros_messages_available()
if not ok:
    pytest.skip(why, allow_module_level=True)

import rclpy  # noqa: E402
from rclpy.node import Node  # noqa: E402

from sotmot_ros.ros import entry  # noqa: E402


class Probe(Node):
    """A node that records what run_node did with it."""

    def __init__(self, events: list):
        super().__init__("entry_probe")
        self.events = events
        self.done = False

    def destroy_node(self):
        self.events.append(("destroyed", rclpy.ok()))  # destroyed while ROS still runs
        return super().destroy_node()


def _run(tmp_path, run, *, close=None, expected=(), make=None, args=None):
    h.isolate_domain()
    events = []

    def make_node():
        events.append("made")
        return (make or Probe)(events)

    def close_node(node):
        events.append("closed")
        if close is not None:
            close(node)

    code = entry.run_node("probe_prog", make_node, args=args or ["probe_prog"], run=run, close=close_node,
                          expected=expected)
    assert not rclpy.ok(), "ROS still initialised after run_node"
    return code, events


def test_bad_params_file_exit_code_2_one_line_nothing_made(tmp_path, capfd):
    missing = tmp_path / "missing.yaml"
    code, events = _run(tmp_path, rclpy.spin, args=["probe_prog", "--ros-args", "--params-file", str(missing)])
    assert code == entry.BAD_ARGUMENTS == 2
    assert events == []  # neither made nor closed
    err = capfd.readouterr().err.strip()
    assert err == f"probe_prog: params file {str(missing)!r}: no such file"


def test_ros_arguments_rcl_refuses_exit_code_2(tmp_path, capfd):
    code, events = _run(tmp_path, rclpy.spin, args=["probe_prog", "--ros-args", "-r", "not a remap"])
    assert code == 2 and events == []
    err = capfd.readouterr().err
    ours = [line for line in err.splitlines() if line.startswith("probe_prog:")]
    assert len(ours) == 1 and ours[0].startswith("probe_prog: cannot start ROS 2:"), err
    assert "remap" in ours[0] and "Traceback" not in err, err  # (rcl logs a line of its own before it)


def test_finished_run_exit_code_0_and_clean_up_in_order(tmp_path):
    code, events = _run(tmp_path, lambda node: node.events.append("ran"))
    assert code == entry.OK == 0
    assert events == ["made", "ran", "closed", ("destroyed", True)]


def test_shutdown_while_spinning_exit_code_0(tmp_path):
    def run(node):
        node.create_timer(0.05, lambda: rclpy.shutdown())  # what Ctrl-C does through rclpy's signal handler
        rclpy.spin(node)  # ends with ExternalShutdownException (or returns, depending on the distribution)
        node.events.append("spun")

    code, events = _run(tmp_path, run)
    assert code == 0
    assert events[0] == "made" and events[-2:] == ["closed", ("destroyed", False)]


def test_keyboard_interrupt_exit_code_0(tmp_path):
    def run(node):
        raise KeyboardInterrupt

    code, events = _run(tmp_path, run)
    assert code == 0 and events == ["made", "closed", ("destroyed", True)]


def test_spin_until_done(tmp_path):
    def finish(node):
        node.done = True

    def run(node):
        node.create_timer(0.05, lambda: finish(node))
        entry.spin_until_done(node)
        node.events.append("done")

    code, events = _run(tmp_path, run)
    assert code == 0 and events == ["made", "done", "closed", ("destroyed", True)]


def test_exception_in_the_body_exit_code_1_with_traceback_and_clean_up(tmp_path, capfd):
    def run(node):
        raise ZeroDivisionError("boom in the body")

    code, events = _run(tmp_path, run)
    assert code == entry.FAILED == 1
    assert events == ["made", "closed", ("destroyed", True)]
    err = capfd.readouterr().err
    assert "Traceback" in err and "ZeroDivisionError: boom in the body" in err


def test_expected_exception_exit_code_1_one_line(tmp_path, capfd):
    def run(node):
        raise FileNotFoundError("video_path '/x.avi' is not a file")

    code, events = _run(tmp_path, run, expected=(FileNotFoundError,))
    assert code == 1 and events == ["made", "closed", ("destroyed", True)]
    err = capfd.readouterr().err
    assert "Traceback" not in err
    assert re.search(r"\[entry_probe\]: video_path '/x.avi' is not a file", err), err  # the node's logger


def test_expected_exception_while_making_the_node_logged_under_the_program_name(tmp_path, capfd):
    def make(events):
        raise ValueError("parameter output_dir is required")

    code, events = _run(tmp_path, rclpy.spin, expected=(ValueError,), make=make)
    assert code == 1 and events == ["made"]  # no node: nothing to close or destroy
    err = capfd.readouterr().err
    assert "Traceback" not in err and re.search(r"\[probe_prog\]: parameter output_dir is required", err), err


def test_failing_close_exit_code_1_node_still_destroyed(tmp_path, capfd):
    def close(node):
        raise OSError("disk full")

    code, events = _run(tmp_path, lambda node: None, close=close)
    assert code == 1 and events == ["made", "closed", ("destroyed", True)]
    assert "OSError: disk full" in capfd.readouterr().err


# ----------------------------------------------------------------------------- the programs


def test_sotmot_node_exits_0_on_ctrl_c():
    proc = h.NodeProcess(h.node_argv("fake_node", "sotmot_entry", {"autostart": True},
                                     remaps={"image_raw": "/entry/image_raw"}), "sotmot_entry")
    proc.wait_log("active: subscribed", 60)
    proc.proc.send_signal(signal.SIGINT)
    assert proc.proc.wait(30) == 0, proc.tail()
    assert "Traceback" not in proc.log() and "clean-up at exit" not in proc.log(), proc.tail()
    proc.stop()


def test_result_recorder_writes_its_outputs_on_ctrl_c(tmp_path):
    out = tmp_path / "rec"
    proc = h.NodeProcess(h.node_argv("result_recorder", "recorder_entry", {
        "output_dir": str(out), "detections_topic": "/entry/detections", "idle_timeout": 0.0}), "recorder_entry")
    proc.wait_log("recording", 60)
    # its parameter service answers only once it spins: Ctrl-C then hits the recording, not the start-up
    # (an interrupt while the node is still being made leaves nothing to write)
    client = h.RosClient("recorder_entry_client")
    try:
        assert client.get_params("recorder_entry", "output_dir") == {"output_dir": str(out)}
    finally:
        client.close()
    proc.proc.send_signal(signal.SIGINT)
    assert proc.proc.wait(30) == 0, proc.tail()
    proc.stop()
    summary = json.loads((out / "summary.json").read_text())
    assert summary["frames_published"] == 0 and (out / "results.txt").is_file()


def test_result_recorder_without_output_dir_exits_1_one_line():
    proc = h.NodeProcess(h.node_argv("result_recorder", "recorder_entry_bad", {}), "recorder_entry_bad")
    assert proc.proc.wait(60) == 1
    log = proc.log()
    proc.stop()
    assert "Traceback" not in log and "parameter output_dir is required" in log, log
