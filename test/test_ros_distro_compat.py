"""The node on Humble's rclpy API: the real node (fake detector) runs with the post-Humble parameter
callback APIs (add_post_set_parameters_callback & co., not in rclpy 3.3.x) removed from rclpy's Node, and
its parameters are still validated and applied. The same checks run against the node with the full API
in test_ros_node.py.
"""

from __future__ import annotations

import os
import re
import tempfile

import pytest

import ros_helpers as h

ok, why = h.ros_messages_available()
if not ok:
    pytest.skip(why, allow_module_level=True)

from sensor_msgs.msg import Image  # noqa: E402
from vision_msgs.msg import Detection2DArray  # noqa: E402

NODE = "sotmot_humble_api"
YAML = f"""
{NODE}:
  ros__parameters:
    min_hits: 1
    association: "iou"
    publish_states: ["tentative", "confirmed"]
    qos_reliability: "reliable"
    autostart: true
"""


@pytest.fixture(scope="module")
def client():
    c = h.RosClient("sotmot_compat_client")
    yield c
    c.close()


@pytest.fixture(scope="module")
def node(client):
    fd, path = tempfile.mkstemp(suffix=".yaml")
    with os.fdopen(fd, "w") as fh:
        fh.write(YAML)
    proc = h.NodeProcess(h.node_argv("fake_node_humble_api", NODE, params_file=path,
                                     remaps={"image_raw": "/compat/image_raw"}), NODE)
    try:
        proc.wait_log(r"hidden rclpy APIs: \[.*add_post_set_parameters_callback", 30)
        proc.wait_log("active: subscribed", 60)
        ns = type("N", (), {})()
        ns.proc = proc
        ns.pub = client.publisher(Image, "/compat/image_raw", reliable=True)
        ns.out = client.collect(Detection2DArray, f"/{NODE}/detections")
        client.wait_subscribers(ns.pub)
        client.wait_publishers(ns.out)
        ns.t = 2000.0
        yield ns
    finally:
        proc.stop()
        os.unlink(path)


def _send(client, n):
    n.t += 0.1
    stamp = n.t
    n.pub.publish(h.image_msg(h.people_frame(int(round((stamp - 2000.0) * 10)) % 60), stamp))
    return n.out.wait(lambda m: abs(h.stamp_seconds(m.header.stamp) - stamp) < 1e-6, 10, f"output of {stamp}")


def test_node_uses_the_humble_fallback(node):
    node.proc.wait_log("parameter changes: validated and applied in the on-set callback", 5)


def test_invalid_changes_rejected_and_not_applied(client, node):
    for values, fragment in (({"min_hits": 0}, "out of range|must be in"),
                             ({"sot_lambda": float("nan")}, "NaN"),  # our validation, not the descriptor's
                             ({"low_score_threshold": 0.9}, "low_score_threshold .* must be <= high"),
                             ({"publish_states": ["zombie"]}, "unknown value"),
                             ({"model_path": "/tmp/x.pt"}, "read-only|read only")):
        results = client.set_params(NODE, **values)
        assert len(results) == 1 and not results[0].successful, values
        assert re.search(fragment, results[0].reason, re.I), results[0].reason
    got = client.get_params(NODE, "min_hits", "low_score_threshold", "publish_states", "model_path")
    assert got["min_hits"] == 1 and got["publish_states"] == ["tentative", "confirmed"] and got["model_path"] == ""
    assert got["low_score_threshold"] < 0.9
    assert len(_send(client, node).detections) == 2  # still running on the accepted values


def test_valid_changes_applied(client, node):
    start = len(node.proc.log())
    assert all(r.successful for r in client.set_params(NODE, publish_states=["lost"]))
    node.proc.wait_log(r"parameters updated: \{'publish_states': \['lost'\]\}", 5, start)
    try:
        assert len(_send(client, node).detections) == 0  # only lost tracks are published now
    finally:
        assert all(r.successful for r in client.set_params(NODE, publish_states=["tentative", "confirmed"]))
    assert len(_send(client, node).detections) == 2
    # a tracker parameter reaches the running tracker
    start = len(node.proc.log())
    assert all(r.successful for r in client.set_params(NODE, min_hits=3))
    node.proc.wait_log(r"parameters updated: \{'min_hits': 3\}", 5, start)
