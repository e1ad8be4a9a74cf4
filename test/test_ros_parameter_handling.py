"""Parameters that never mislead: unknown keys, bad params files, invalid start-up values and parameters
that only change while the node is unconfigured. The real node with the fake detector (test/ros_helpers.py).
"""

from __future__ import annotations

import re
import subprocess

import pytest

import ros_helpers as h

ok, why = h.ros_messages_available()
if not ok:
    pytest.skip(why, allow_module_level=True)

from sotmot_ros.ros import parameters  # noqa: E402


@pytest.fixture(scope="module")
def client():
    c = h.RosClient("sotmot_params_client")
    yield c
    c.close()


def _write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return path


# ----------------------------------------------------------------------------- params files


@pytest.mark.parametrize("content, fragment", [
    (None, "no such file"),
    ("sotmot_pf:\n  ros__parameters:\n    min_hits: [1\n", r"not valid YAML at line \d+, column \d+"),
    ("- a\n- b\n", "not a ROS 2 parameter file.*got list"),
    ("sotmot_pf:\n  min_hits: 2\n", r"'sotmot_pf/min_hits' must map to 'ros__parameters:'"),
    ("sotmot_pf:\n  ros__parameters: [1, 2]\n", "ros__parameters' must be a mapping"),
], ids=["missing", "yaml-syntax", "not-a-mapping", "no-ros__parameters", "parameters-not-a-mapping"])
def test_bad_params_file_one_line_and_exit_code(tmp_path, content, fragment):
    path = tmp_path / "params.yaml"
    if content is not None:
        path.write_text(content)
    argv = h.node_argv("fake_node", "sotmot_pf", params_file=path)
    res = subprocess.run(argv, env=h.child_env(), capture_output=True, text=True, timeout=60, cwd=tmp_path)
    out = (res.stdout + res.stderr).strip()
    assert res.returncode == 2, out
    assert "Traceback" not in out, out
    assert len(out.splitlines()) == 1, out
    assert str(path) in out and re.search(fragment, out), out


@pytest.mark.parametrize("kind", ["result_recorder", "video_publisher"])
def test_other_nodes_bad_params_file_one_line(tmp_path, kind):
    argv = h.node_argv(kind, f"{kind}_pf", params_file=tmp_path / "missing.yaml")
    res = subprocess.run(argv, env=h.child_env(), capture_output=True, text=True, timeout=60, cwd=tmp_path)
    out = (res.stdout + res.stderr).strip()
    assert res.returncode == 2 and len(out.splitlines()) == 1 and "Traceback" not in out, out
    assert out.startswith(f"{kind}: params file") and "no such file" in out, out


def test_params_file_checks_are_unit_testable(tmp_path):
    good = _write(tmp_path, "good.yaml", "/**:\n  ros__parameters:\n    min_hits: 2\n"
                                         "ns:\n  node:\n    ros__parameters: {a: 1}\n")
    assert parameters.params_file_problem(str(good)) is None
    assert parameters.params_files(["x", "--ros-args", "-p", "a:=1", "--params-file", "f.yaml", "--",
                                    "--params-file", "not_ros.yaml"]) == ["f.yaml"]


# ----------------------------------------------------------------------------- unknown keys

UNKNOWN = """
sotmot_unknown:
  ros__parameters:
    min_hit: 2
    asociation: "iou"
    completely_unrelated_thing: 1
    min_hits: 1
other_node:
  ros__parameters:
    not_for_us: 1
"""


def test_unknown_keys_are_named_with_the_closest_valid_name(tmp_path):
    path = _write(tmp_path, "unknown.yaml", UNKNOWN)
    proc = h.NodeProcess(h.node_argv("fake_node", "sotmot_unknown", params_file=path,
                                     params={"max_detection": 10}), "sotmot_unknown")
    try:
        m = proc.wait_log(r"unknown parameter\(s\) ignored.*", 60)
        line = m.group(0)
        assert "'min_hit' (did you mean 'min_hits'?)" in line
        assert "'asociation' (did you mean 'association'?)" in line
        assert "'max_detection' (did you mean 'max_detections'?)" in line  # -p too
        assert "'completely_unrelated_thing'" in line and "completely_unrelated_thing' (did" not in line
        assert "not_for_us" not in line  # another node's section
        assert "use_sim_time" not in line
    finally:
        proc.stop()


# ----------------------------------------------------------------------------- invalid start-up values


def test_invalid_start_value_fails_configure_until_fixed(client, tmp_path):
    name = "sotmot_invalid"
    path = _write(tmp_path, "invalid.yaml", f"{name}:\n  ros__parameters:\n    score_threshold: 1.5\n"
                                            "    autostart: true\n")
    proc = h.NodeProcess(h.node_argv("fake_node", name, params_file=path,
                                     remaps={"image_raw": "/invalid/image_raw"}), name)
    try:
        proc.wait_log(r"invalid parameter score_threshold=1\.5: .*will not configure", 60)
        proc.wait_log(r"configure failed: invalid parameter\(s\): score_threshold=1\.5", 30)
        assert client.get_state(name) == "unconfigured"
        assert client.get_params(name, "score_threshold")["score_threshold"] == 0.1  # declared, not used
        assert not client.change_state(name, "configure")
        assert "configured: model" not in proc.log()
        # fixed at runtime -> configure works
        assert all(r.successful for r in client.set_params(name, score_threshold=0.3))
        assert client.change_state(name, "configure")
        assert client.get_state(name) == "inactive"
    finally:
        proc.stop()


def test_invalid_startup_only_value_says_restart(client, tmp_path):
    name = "sotmot_badnames"
    proc = h.NodeProcess(h.node_argv("fake_node", name, params={
        "image_topics": ["/a/image_raw", "/b/image_raw"], "camera_names": ["x", "x"]}), name)
    try:
        proc.wait_log(r"invalid parameter camera_names=.*duplicates.*restart the node", 60)
        assert not client.change_state(name, "configure")
        proc.wait_log(r"configure failed: invalid parameter\(s\): camera_names", 10)
    finally:
        proc.stop()


# ----------------------------------------------------------------------------- configure-time parameters


def test_configure_time_parameters_change_while_unconfigured(client):
    name = "sotmot_cfgtime"
    proc = h.NodeProcess(h.node_argv("fake_node", name, params={"autostart": True},
                                     remaps={"image_raw": "/cfgtime/image_raw"}), name)
    try:
        proc.wait_log(r"active: subscribed to \['image_raw'\] \(best_effort, depth 1\)", 60)
        # configured: refused with the way to change it
        for values in ({"qos_reliability": "reliable"}, {"model_path": "/tmp/x.pt"}):
            res = client.set_params(name, **values)
            assert not res[0].successful
            assert re.search("read-only while the node is configured.*cleanup", res[0].reason), res[0].reason
        # start-up only: refused in any state
        assert client.change_state(name, "deactivate") and client.change_state(name, "cleanup")
        res = client.set_params(name, image_topics=["/other"])
        assert not res[0].successful and re.search("read-only", res[0].reason), res[0].reason
        # unconfigured: accepted, applied at the next configure
        assert all(r.successful for r in client.set_params(name, qos_reliability="reliable", qos_depth=3))
        start = len(proc.log())
        assert client.change_state(name, "configure") and client.change_state(name, "activate")
        proc.wait_log(r"active: subscribed to \['image_raw'\] \(reliable, depth 3\)", 10, start)
    finally:
        proc.stop()


def test_descriptors_say_when_a_parameter_can_change():
    by = parameters.SPEC_BY_NAME
    assert by["model_path"].change == parameters.CONFIGURE and not by["model_path"].descriptor().read_only
    assert "unconfigured" in by["model_path"].descriptor().additional_constraints
    assert by["image_topics"].descriptor().read_only
    assert "restart" in by["image_topics"].descriptor().additional_constraints
    assert by["min_hits"].change == parameters.RUNTIME
