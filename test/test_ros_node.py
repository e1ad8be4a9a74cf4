"""The SOTMOT node with real rclpy, each node in its own process (see test/ros_helpers.py).

Processes (shared by many checks to keep CI short on 2 cores):
    A  fake detector, one camera, raw images, YAML parameters: outputs/headers/IDs, YAML effect, parameter
       validation, 12+ bad inputs, stamp going backwards, lifecycle transitions.
    B  fake detector, two cameras, CompressedImage input, use_sim_time: separate IDs per camera, corrupt
       JPEG, sim-time stamps, a 200 frames/s burst for 10 s (drops counted, latency bounded, RSS growth).
    C  the real Detector factory with a missing model file: configure fails clearly, the node stays alive.
    D  the real bundled model on frames of data_cache/vtest.avi (skipped without the model or the video),
       plus video_publisher -> node -> recorder.
The fake detector (white blobs -> person boxes) is used only where the check is about ROS plumbing.

Needs the built interfaces: `source scripts/env.sh` before pytest.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
import time

import cv2
import numpy as np
import pytest

import ros_helpers as h

ok, why = h.ros_messages_available()
if not ok:
    pytest.skip(why, allow_module_level=True)

from rosgraph_msgs.msg import Clock  # noqa: E402
from sensor_msgs.msg import CompressedImage, Image  # noqa: E402
from std_msgs.msg import Header  # noqa: E402
from diagnostic_msgs.msg import DiagnosticArray  # noqa: E402
from vision_msgs.msg import Detection2DArray, LabelInfo  # noqa: E402

from sotmot_ros.ros.image_conversion import bgr_to_compressed_msg  # noqa: E402

NODE_A = "sotmot_a"
YAML_A = """
/**:
  ros__parameters:
    min_hits: 1
    max_lost_seconds: 2          # an integer for a double parameter is accepted
    association: "iou"
    publish_states: ["tentative", "confirmed"]
    qos_reliability: "reliable"
    qos_depth: 1
    max_image_pixels: 200000
    diagnostics_period: 0.2
    autostart: true
"""


@pytest.fixture(scope="module")
def client():
    c = h.RosClient()
    yield c
    c.close()


def _diag_values(diag: "h.Collector", camera_fragment: str) -> dict:
    for arr in reversed(diag.snapshot()):
        for st in arr.status:
            if camera_fragment in st.name:
                return {kv.key: kv.value for kv in st.values}
    return {}


def _wait_diag(diag, camera_fragment, pred, timeout=10.0):
    found = {}

    def check():
        v = _diag_values(diag, camera_fragment)
        if v and pred(v):
            found.update(v)
            return True
        return False

    h.wait_for(check, timeout, f"diagnostics of {camera_fragment} satisfying the condition")
    return found


# ============================================================================ process A


@pytest.fixture(scope="module")
def node_a(client):
    fd, yaml_path = tempfile.mkstemp(suffix=".yaml")
    with os.fdopen(fd, "w") as fh:
        fh.write(YAML_A)
    shipped = h.REPO / "config" / "sotmot.yaml"  # the shipped file first, the test's overrides on top
    proc = h.NodeProcess(h.node_argv("fake_node", NODE_A, params_file=[shipped, yaml_path]), NODE_A)
    proc.wait_log("active: subscribed", 60)
    ns = type("A", (), {})()
    ns.proc = proc
    ns.pub = client.publisher(Image, "/image_raw", reliable=True)
    ns.out = client.collect(Detection2DArray, f"/{NODE_A}/detections")
    ns.diag = client.collect(DiagnosticArray, "/diagnostics", depth=100)
    client.wait_subscribers(ns.pub)
    client.wait_publishers(ns.out)
    ns.t = 1000.0
    yield ns
    proc.stop()
    os.unlink(yaml_path)


def _frame_index(t: float) -> int:
    """The synthetic frame shown at stamp ``t`` (the people move 3 px per 0.1 s; see _send_good)."""
    return int(round((t - 1000.0) * 10))


def _send_good(client, a, i=None, timeout=10.0):
    """Publish a good synthetic frame with a new stamp and wait for its Detection2DArray."""
    a.t += 0.1
    idx = _frame_index(a.t) if i is None else i
    stamp = a.t
    since = len(a.out.snapshot())  # a stamp may repeat one of long ago (a test stepping back in time)
    a.pub.publish(h.image_msg(h.people_frame(idx % 60), stamp, "cam_a"))
    return a.out.wait(lambda m: abs(h.stamp_seconds(m.header.stamp) - stamp) < 1e-6, timeout, f"output of {stamp}",
                      since=since)


def test_outputs_headers_and_persistent_ids(client, node_a):
    msgs = [_send_good(client, node_a) for _ in range(8)]
    for m in msgs:
        assert m.header.frame_id == "cam_a"
        assert len(m.detections) == 2
        for d in m.detections:  # the image header on every detection, pixels of the input image
            assert d.header.stamp == m.header.stamp and d.header.frame_id == "cam_a"
            assert d.results[0].hypothesis.class_id == "person"
            assert math.isclose(d.results[0].hypothesis.score, 0.9, rel_tol=1e-6)
            assert np.allclose((d.bbox.size_x, d.bbox.size_y), (30.0, 60.0), atol=0.5)
    ids = [sorted(d.id for d in m.detections) for m in msgs]
    assert all(x == ids[0] for x in ids), ids  # same IDs on every frame of the moving people
    # the left person moves right: its centre x increases by 3 px per frame
    xs = [min(d.bbox.center.position.x for d in m.detections) for m in msgs]
    assert np.allclose(np.diff(xs), 3.0, atol=0.5)


def test_shipped_yaml_is_complete_and_accepted(node_a):
    import yaml

    from sotmot_ros.ros.parameters import SPECS

    shipped = yaml.safe_load((h.REPO / "config" / "sotmot.yaml").read_text())["/**"]["ros__parameters"]
    text = (h.REPO / "config" / "sotmot.yaml").read_text()
    for spec in SPECS:  # every parameter is in the file (camera_names only as a comment: [] is not valid there)
        assert spec.name in shipped or f"# {spec.name}:" in text, spec.name
        if spec.name in shipped:
            assert shipped[spec.name] == spec.default, spec.name
    # the tracker's values are left unset, so the model file's tuned settings apply (a value set in the
    # params file counts as the user's own and would override them)
    from sotmot_ros.ros.parameters import TRACKER_PARAMS

    assert not set(TRACKER_PARAMS) & set(shipped), sorted(set(TRACKER_PARAMS) & set(shipped))
    assert "rejected" not in node_a.proc.log()


def _send_moving(client, a, n: int):
    """Publish frames until the two people have moved steadily for ``n`` frames in a row (whatever frames
    earlier tests sent: the synthetic motion restarts every 60 frames); returns the last output."""
    steady = 0
    while steady < n:
        steady = 1 if _frame_index(a.t + 0.1) % 60 == 0 else steady + 1
        det = _send_good(client, a)
    return det


def test_track_array(client, node_a):
    from sotmot_ros.msg import Track, TrackArray

    tracks = client.collect(TrackArray, f"/{NODE_A}/tracks")
    client.wait_publishers(tracks)
    det = _send_moving(client, node_a, 10)  # self-contained: the velocities need a few frames of motion
    msg = tracks.wait(lambda m: m.header.stamp == det.header.stamp, 10, "TrackArray of the same frame")
    assert sorted(str(t.track_id) for t in msg.tracks) == sorted(d.id for d in det.detections)
    for t in msg.tracks:
        assert t.header == det.header and t.class_id == "person" and t.camera == ""
        assert t.state in (Track.TENTATIVE, Track.CONFIRMED) and t.hits >= 1 and t.time_since_update == 0.0
        assert abs(t.velocity_x) == pytest.approx(30.0, abs=8.0)  # 3 px per 0.1 s


def test_debug_image_published_to_a_subscriber(client, node_a):
    """A subscriber gets the drawn frame (test_debug_image_only_with_subscribers: and nobody else)."""
    # A client of its own, closed afterwards: destroying a subscription while another thread spins its
    # node can kill that executor (rclpy: InvalidHandle of the subscription's QoS event handler).
    viewer = h.RosClient("sotmot_debug_viewer")
    try:
        dbg = viewer.collect(Image, f"/{NODE_A}/debug_image", depth=10)
        viewer.wait_publishers(dbg)
        det = _send_good(client, node_a)
        img = dbg.wait(lambda m: m.header.stamp == det.header.stamp, 10, "debug image")
        assert (img.encoding, img.width, img.height) == ("bgr8", 320, 240)
    finally:
        viewer.close()


def test_debug_image_only_with_subscribers(monkeypatch):
    """~/debug_image is drawn and published only while it has a subscriber: the real node (fake detector,
    in this process) processes frames without one, with one, and after it left."""
    import rclpy
    from rclpy.executors import SingleThreadedExecutor
    from rclpy.parameter import Parameter

    import sotmot_ros.render as render
    from sotmot_ros.ros.node import SUCCESS, SotmotNode

    drawn = []
    draw_tracks = render.draw_tracks
    monkeypatch.setattr(render, "draw_tracks", lambda image, tracks, *a, **kw: (
        drawn.append(len(tracks)), draw_tracks(image, tracks, *a, **kw))[1])
    ctx = rclpy.Context()
    rclpy.init(context=ctx)
    try:
        node = SotmotNode("sotmot_dbg", context=ctx, detector_factory=lambda **kw: h.FakeDetector(**kw),
                          parameter_overrides=[Parameter("min_hits", value=1),
                                               Parameter("image_topics", value=["/dbg/image_raw"])])
        assert node.get_parameter("publish_debug_image").value
        assert node.trigger_configure() == SUCCESS and node.trigger_activate() == SUCCESS
        cam = node.cameras[0]
        published = []
        publish = cam.pub_debug.publish
        cam.pub_debug.publish = lambda msg: (published.append(msg), publish(msg))[1]
        stamps = iter(10.0 + 0.1 * i for i in range(100))

        def process(n):
            for _ in range(n):
                t = next(stamps)
                node._process({cam.name: h.image_msg(h.people_frame(int(round((t - 10.0) * 10))), t)})

        def processed():
            return node.diagnostics.camera(cam.name).snapshot()["processed"]

        process(3)  # nobody listens
        assert processed() == 3
        assert drawn == [] and published == [], "a debug image was drawn/published without a subscriber"

        listener = rclpy.create_node("sotmot_dbg_listener", context=ctx)
        received = []
        sub = listener.create_subscription(Image, "/sotmot_dbg/debug_image", received.append, 10)
        h.wait_for(lambda: cam.pub_debug.get_subscription_count() > 0, 20, "the debug image subscriber")
        process(2)
        assert processed() == 5 and drawn == [2, 2] and len(published) == 2  # both people, every frame
        executor = SingleThreadedExecutor(context=ctx)
        executor.add_node(listener)
        deadline = time.monotonic() + 10
        while len(received) < 2 and time.monotonic() < deadline:
            executor.spin_once(timeout_sec=0.1)
        assert [m.header.stamp for m in received] == [m.header.stamp for m in published]
        assert (received[0].encoding, received[0].width, received[0].height) == ("bgr8", 320, 240)

        listener.destroy_subscription(sub)
        h.wait_for(lambda: cam.pub_debug.get_subscription_count() == 0, 20, "the subscriber to leave")
        process(2)
        assert processed() == 7 and len(drawn) == 2 and len(published) == 2  # not drawn again
        executor.shutdown()
        listener.destroy_node()
        assert node.trigger_deactivate() == SUCCESS and node.trigger_cleanup() == SUCCESS
        node.destroy_node()
    finally:
        rclpy.try_shutdown(context=ctx)


def test_label_info_latched(client, node_a):
    labels = client.collect(LabelInfo, f"/{NODE_A}/label_info", latched=True)
    msg = labels.wait(lambda m: True, 10, "latched label_info")
    assert [c.class_name for c in msg.class_map] == ["person"]


def test_yaml_parameters_took_effect(client, node_a):
    got = client.get_params(NODE_A, "min_hits", "max_lost_seconds", "association", "publish_states",
                            "qos_reliability", "max_image_pixels", "score_threshold")
    assert got == {"min_hits": 1, "max_lost_seconds": 2.0, "association": "iou",
                   "publish_states": ["tentative", "confirmed"], "qos_reliability": "reliable",
                   "max_image_pixels": 200000, "score_threshold": 0.1}


@pytest.mark.parametrize(
    "values,fragment",
    [
        ({"sot_lambda": float("nan")}, "NaN"),
        ({"max_lost_seconds": -1.0}, "negative|out of range"),
        ({"score_threshold": 1.5}, "out of range|must be in"),
        ({"min_hits": 0}, "out of range|must be in"),
        ({"min_hits": "three"}, "type"),
        ({"association": "hungarian"}, "association must be one of"),
        ({"publish_states": ["confirmed", "zombie"]}, "unknown value"),
        ({"low_score_threshold": 0.9}, "low_score_threshold .* must be <= high_score_threshold"),
        ({"model_path": "/tmp/other.pt"}, "read-only|read only"),
        ({"max_image_pixels": -5}, "negative|out of range"),
    ],
    ids=["nan", "negative", "above-range", "zero-min-hits", "wrong-type", "unknown-mode", "unknown-state",
         "cross-field", "read-only", "negative-int"],
)
def test_invalid_parameters_rejected_with_reason(client, node_a, values, fragment):
    import re

    results = client.set_params(NODE_A, **values)
    assert len(results) == 1 and not results[0].successful
    assert re.search(fragment, results[0].reason, re.I), results[0].reason


def test_valid_runtime_parameter_applies(client, node_a):
    assert all(r.successful for r in client.set_params(NODE_A, publish_states=["lost"]))
    try:
        m = _send_good(client, node_a)
        assert len(m.detections) == 0  # only lost tracks are published now
    finally:
        assert all(r.successful for r in client.set_params(NODE_A, publish_states=["tentative", "confirmed"]))
    assert len(_send_good(client, node_a).detections) == 2


def test_camera_motion_compensation_switched_on_at_runtime_keeps_serving_and_reports(client, node_a):
    """camera_motion: affine on a camera whose frames have no background texture (the synthetic blobs): the motion
    cannot be measured, the frames are tracked without it, and /diagnostics counts them."""
    failures0 = int(_wait_diag(node_a.diag, "image_raw", lambda v: True).get("camera_motion_failures", 0))
    assert all(r.successful for r in client.set_params(NODE_A, camera_motion="affine"))
    try:
        for _ in range(3):
            assert len(_send_good(client, node_a).detections) == 2
        values = _wait_diag(node_a.diag, "image_raw", lambda v: int(v["camera_motion_failures"]) >= failures0 + 2)
        assert values["camera_speed_pct_per_s"] == "nan"  # no texture: never measured, and so never a moving-camera hint
        assert values["camera_compensated"] == "False"
        # auto: measured at every frame too, and applied only once the camera is seen moving (never here)
        assert all(r.successful for r in client.set_params(NODE_A, camera_motion="auto"))
        assert len(_send_good(client, node_a).detections) == 2
        values = _wait_diag(node_a.diag, "image_raw", lambda v: int(v["camera_motion_failures"]) >= failures0 + 3)
        assert values["camera_compensated"] == "False"
    finally:
        assert all(r.successful for r in client.set_params(NODE_A, camera_motion="auto"))  # the default again
    assert not any(r.successful for r in client.set_params(NODE_A, camera_motion="gyro"))
    assert len(_send_good(client, node_a).detections) == 2


def _raw(width, height, encoding, step, data, stamp):
    m = Image(height=height, width=width, encoding=encoding, is_bigendian=0, step=step)
    m.data = bytes(data)
    m.header = Header(stamp=h.stamp_msg(stamp), frame_id="cam_a")
    return m


BAD_RAW = [
    ("unsupported encoding", lambda s: _raw(4, 4, "32FC1", 16, b"\0" * 64, s), "unsupported image encoding '32FC1'"),
    ("empty encoding", lambda s: _raw(4, 4, "", 12, b"\0" * 48, s), "unsupported image encoding ''"),
    ("step too small", lambda s: _raw(10, 4, "bgr8", 20, b"\0" * 80, s), "step 20 is smaller than"),
    ("data longer than step*height", lambda s: _raw(4, 4, "bgr8", 12, b"\0" * 60, s), "does not match step"),
    ("truncated data", lambda s: _raw(64, 48, "rgb8", 192, b"\0" * 5000, s), "truncated"),
    ("zero size", lambda s: _raw(0, 0, "bgr8", 0, b"", s), "empty image"),
    ("huge dimensions", lambda s: _raw(100000, 100000, "mono8", 100000, b"\0" * 10, s), "exceeds the maximum side"),
    ("above max_image_pixels", lambda s: _raw(640, 480, "mono8", 640, b"\0" * 640 * 480, s), "above the maximum of 200000"),
    ("odd width yuv422", lambda s: _raw(5, 2, "yuv422", 10, b"\0" * 20, s), "even width"),
    ("mono16 step mismatch", lambda s: _raw(5, 2, "mono16", 8, b"\0" * 16, s), "step 8 is smaller"),
    ("bayer", lambda s: _raw(4, 4, "bayer_rggb8", 4, b"\0" * 16, s), "unsupported image encoding 'bayer_rggb8'"),
    ("no data", lambda s: _raw(8, 8, "bgr8", 24, b"", s), "image has no data"),
]


def test_bad_inputs_logged_counted_and_next_frame_processed(client, node_a):
    before = _wait_diag(node_a.diag, "image_raw", lambda v: True)
    errors0 = int(before["decode_errors"])
    start = len(node_a.proc.log())
    for name, make, fragment in BAD_RAW:
        node_a.t += 0.1
        node_a.pub.publish(make(node_a.t))
        node_a.proc.wait_log(f"skipping frame.*{__import__('re').escape(fragment)}", 10, start)
        start = len(node_a.proc.log())
        m = _send_good(client, node_a)  # the next good frame is processed normally
        assert len(m.detections) == 2, name
        assert node_a.proc.alive()
    _wait_diag(node_a.diag, "image_raw", lambda v: int(v["decode_errors"]) >= errors0 + len(BAD_RAW))


def test_stamp_going_backwards(client, node_a):
    ids_before = {d.id for d in _send_good(client, node_a).detections}
    resets0 = int(_wait_diag(node_a.diag, "image_raw", lambda v: True)["time_resets"])
    start = len(node_a.proc.log())
    node_a.t -= 5.0  # 5 s into the past
    try:
        m = _send_good(client, node_a)
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{node_a.proc.tail(2500)}") from None
    node_a.proc.wait_log(r"stamp went backwards", 10, start)
    _wait_diag(node_a.diag, "image_raw", lambda v: int(v["time_resets"]) == resets0 + 1)
    # tracker restarted: new IDs, never reused
    assert {d.id for d in m.detections}.isdisjoint(ids_before)
    assert len(_send_good(client, node_a).detections) == 2


def test_stamp_jumping_forward_is_reported(client, node_a):
    ids_before = {d.id for d in _send_good(client, node_a).detections}
    resets0 = int(_wait_diag(node_a.diag, "image_raw", lambda v: True)["time_resets"])
    start = len(node_a.proc.log())
    node_a.t += 60.0  # beyond max_time_jump_seconds: the tracker resets, and the node says so
    m = _send_good(client, node_a)
    node_a.proc.wait_log(r"stamp jumped .* forward", 10, start)
    _wait_diag(node_a.diag, "image_raw", lambda v: int(v["time_resets"]) == resets0 + 1)
    assert {d.id for d in m.detections}.isdisjoint(ids_before)


def test_lifecycle_transitions_and_no_output_while_inactive(client, node_a):
    assert client.get_state(NODE_A) == "active"
    assert client.change_state(NODE_A, "deactivate")
    assert client.get_state(NODE_A) == "inactive"
    n = len(node_a.out.snapshot())
    for _ in range(3):
        node_a.t += 0.1
        node_a.pub.publish(h.image_msg(h.people_frame(1), node_a.t, "cam_a"))
    time.sleep(1.0)
    assert len(node_a.out.snapshot()) == n  # nothing while inactive
    seen = {d.id for msg in node_a.out.snapshot() for d in msg.detections}
    assert client.change_state(NODE_A, "cleanup")
    assert client.get_state(NODE_A) == "unconfigured"
    node_a.proc.wait_log("cleaned up: model released", 5)
    assert client.change_state(NODE_A, "configure")
    assert client.change_state(NODE_A, "activate")
    client.wait_subscribers(node_a.pub)
    m = _send_good(client, node_a)
    ids = {d.id for d in m.detections}
    # new trackers after cleanup/configure, continuing the ID sequence: no ID is reused on the same topic
    assert len(ids) == 2 and ids.isdisjoint(seen), (ids, seen)


# ============================================================================ process B

NODE_B = "sotmot_b"


@pytest.fixture(scope="module")
def node_b(client):
    params = {
        "image_topics": ["/cam1/image_raw", "/cam2/image_raw"],
        "image_transport_type": "compressed",
        "use_sim_time": True,
        "min_hits": 1,
        # IDs are asserted across resends of lost best-effort frames: on a loaded machine one frame can take
        # seconds of (sim = wall) time, which must not end a track and give its person a new ID
        "max_lost_seconds": 60.0,
        "qos_reliability": "best_effort",
        "diagnostics_period": 0.5,
        "autostart": True,
    }
    ns = type("B", (), {})()
    ns.clock_pub = client.publisher(Clock, "/clock", reliable=False, depth=1)
    ns.t0_wall = time.monotonic()
    ns.sim0 = 5000.0
    ns.clock_timer = client.node.create_timer(0.01, lambda: ns.clock_pub.publish(Clock(clock=h.stamp_msg(_sim(ns)))))
    ns.proc = h.NodeProcess(h.node_argv("fake_node", NODE_B, params), NODE_B,
                            env=h.child_env(SOTMOT_FAKE_DELAY="0.02"))
    ns.proc.wait_log("active: subscribed", 60)
    ns.pubs = {c: client.publisher(CompressedImage, f"/{c}/image_raw/compressed", reliable=False, depth=5)
               for c in ("cam1", "cam2")}
    ns.outs = {c: client.collect(Detection2DArray, f"/{NODE_B}/{c}/detections") for c in ("cam1", "cam2")}
    ns.diag = client.collect(DiagnosticArray, "/diagnostics", depth=100)
    for c in ("cam1", "cam2"):
        client.wait_subscribers(ns.pubs[c])
        client.wait_publishers(ns.outs[c])
    yield ns
    ns.proc.stop()
    client.node.destroy_timer(ns.clock_timer)


def _sim(ns) -> float:
    return ns.sim0 + (time.monotonic() - ns.t0_wall)


def _frame_b(i, cam):
    img = h.people_frame(i)
    if cam == "cam2":  # only one person in camera 2
        img[:, 160:] = 30
    return img


def _send_b(ns, cam, i, payload=None, timeout=10.0):
    stamp = _sim(ns)
    msg = bgr_to_compressed_msg(_frame_b(i, cam), Header(stamp=h.stamp_msg(stamp), frame_id=cam), fmt="png")
    if payload is not None:
        msg.data = payload
    deadline = time.monotonic() + timeout
    while True:  # best effort: resend (same stamp) until the output arrives
        ns.pubs[cam].publish(msg)
        try:
            return ns.outs[cam].wait(lambda m: abs(h.stamp_seconds(m.header.stamp) - stamp) < 1e-6, 1.0)
        except AssertionError:
            if time.monotonic() > deadline or payload is not None:
                raise


def test_two_cameras_compressed_keep_separate_ids(node_b):
    got = {"cam1": [], "cam2": []}
    for i in range(6):
        for cam in ("cam1", "cam2"):
            got[cam].append(_send_b(node_b, cam, i))
    ids1 = {d.id for m in got["cam1"] for d in m.detections}
    ids2 = {d.id for m in got["cam2"] for d in m.detections}
    assert ids1 == {"cam1/1", "cam1/2"}, ids1
    assert ids2 == {"cam2/1"}, ids2
    assert all(m.header.frame_id == "cam1" for m in got["cam1"])


def test_use_sim_time_stamps_and_diagnostics(node_b):
    m = _send_b(node_b, "cam1", 7)
    assert abs(h.stamp_seconds(m.header.stamp) - _sim(node_b)) < 5.0  # the input (sim) stamp is kept
    # the node's clock is the simulated one: its diagnostics are stamped near sim time, not wall time
    h.wait_for(lambda: any(abs(h.stamp_seconds(a.header.stamp) - _sim(node_b)) < 5.0
                           for a in node_b.diag.snapshot()), 10, "sim-time stamped diagnostics")
    v = _wait_diag(node_b.diag, "cam1", lambda v: int(v["processed"]) > 0)
    assert float(v["latency_max_ms"]) < 5000.0  # measured on the sim clock, which follows wall time here


def test_corrupt_jpeg_and_unsupported_compressed(node_b):
    start = len(node_b.proc.log())
    ok_, buf = cv2.imencode(".jpg", _frame_b(0, "cam1"))
    corrupt = buf.tobytes()[:2] + b"\x13" * 200
    for payload, fragment in ((corrupt, "neither a valid JPEG nor PNG"),
                              (buf.tobytes()[:300], "corrupt compressed image")):
        stamp = _sim(node_b)
        msg = CompressedImage(header=Header(stamp=h.stamp_msg(stamp), frame_id="cam1"), format="jpeg")
        msg.data = payload
        node_b.pubs["cam1"].publish(msg)
        node_b.proc.wait_log(fragment, 10, start)
        assert len(_send_b(node_b, "cam1", 8).detections) == 2
    _wait_diag(node_b.diag, "cam1", lambda v: int(v["decode_errors"]) >= 2)


def test_burst_200_fps_for_10_s(node_b):
    """200 frames/s per camera for 10 s against a 50 frames/s detector: alive, drops counted, bounded."""
    payload = {c: bgr_to_compressed_msg(_frame_b(3, c), fmt="jpeg").data for c in ("cam1", "cam2")}
    rss0 = node_b.proc.rss_mb()
    v0 = _wait_diag(node_b.diag, "cam1", lambda v: True)
    t0 = time.monotonic()
    sent = 0
    while (elapsed := time.monotonic() - t0) < 10.0:
        # Pace by the schedule, not by sleep(): sleeps in this process can overshoot by tens of ms while
        # the client's executor thread holds the GIL, so catch up to 200 frames/s by the clock.
        while sent < int(elapsed * 200) + 1:
            for c in ("cam1", "cam2"):
                msg = CompressedImage(header=Header(stamp=h.stamp_msg(_sim(node_b)), frame_id=c), format="jpeg")
                msg.data = payload[c]
                node_b.pubs[c].publish(msg)
            sent += 1
        time.sleep(0.002)
    assert sent > 1000, f"the test could only publish {sent} frames in 10 s"
    time.sleep(1.0)
    assert node_b.proc.alive()
    v = _wait_diag(node_b.diag, "cam1", lambda v: int(v["received"]) > int(v0["received"]) + 200)
    received = int(v["received"]) - int(v0["received"])
    dropped = int(v["dropped"]) - int(v0["dropped"])
    processed = int(v["processed"]) - int(v0["processed"])
    assert dropped > 0 and processed > 0, v
    assert processed + dropped <= received + 2
    assert float(v["latency_p95_ms"]) < 1000.0, v  # newest-frame policy: no queue builds up
    growth = node_b.proc.rss_mb() - rss0
    assert growth < 50.0, f"RSS grew by {growth:.1f} MB"
    assert len(_send_b(node_b, "cam1", 9).detections) == 2  # still tracking normally afterwards


# ============================================================================ process C


def test_missing_model_file_fails_configure_clearly(client):
    name = "sotmot_c"
    proc = h.NodeProcess(h.node_argv("sotmot_node", name, {"model_path": "/nonexistent/model.pt",
                                                            "autostart": True, "score_threshold": float("nan")}), name)
    try:
        # an invalid start-up value is not replaced by the default: configure fails and says why
        proc.wait_log(r"invalid parameter score_threshold=nan: score_threshold must not be NaN", 60)
        proc.wait_log(r"configure failed: invalid parameter\(s\): score_threshold=nan", 60)
        assert client.get_state(name) == "unconfigured"
        assert all(r.successful for r in client.set_params(name, score_threshold=0.2))
        start = len(proc.log())
        assert not client.change_state(name, "configure")
        proc.wait_log(r"configure failed: could not load the model \(/nonexistent/model.pt\)", 60, start)
        assert client.get_state(name) == "unconfigured"  # alive, waiting for a fixed configuration
        # model_path can change while unconfigured; the next configure uses it
        assert all(r.successful for r in client.set_params(name, model_path="/nonexistent/other.pt"))
        start = len(proc.log())
        assert not client.change_state(name, "configure")
        proc.wait_log(r"configure failed: could not load the model \(/nonexistent/other.pt\)", 60, start)
        assert proc.alive()
    finally:
        proc.stop()


# ============================================================================ process D (real model)


def _real_model_reason():
    if not h.BUNDLED_MODEL.is_file():
        return f"bundled model {h.BUNDLED_MODEL} not present yet"
    if not h.VIDEO.is_file():
        return f"{h.VIDEO} missing: run scripts/fetch_demo_video.sh"
    return ""


@pytest.mark.skipif(bool(_real_model_reason()), reason=_real_model_reason() or "n/a")
def test_real_model_ids_persist_on_vtest(client, tmp_path):
    name = "sotmot_d"
    proc = h.NodeProcess(h.node_argv("sotmot_node", name, {
        "autostart": True, "device": "cpu", "input_width": 576, "input_height": 320,
        "qos_reliability": "reliable", "image_topics": ["/vtest/image_raw"]}), name)
    try:
        proc.wait_log("active: subscribed", 180)
        pub = client.publisher(Image, "/vtest/image_raw")
        out = client.collect(Detection2DArray, f"/{name}/detections")
        client.wait_subscribers(pub)
        client.wait_publishers(out)
        frames = h.video_frames(12, start=0)
        msgs = []
        for i, img in enumerate(frames):
            stamp = 2000.0 + i / 10.0
            pub.publish(h.image_msg(img, stamp, "vtest"))
            msgs.append(out.wait(lambda m, s=stamp: abs(h.stamp_seconds(m.header.stamp) - s) < 1e-6, 60))
        assert all(m.header.frame_id == "vtest" for m in msgs)
        ids = [{d.id for d in m.detections} for m in msgs]
        assert sum(len(s) for s in ids[-4:]) > 0, "no confirmed people in the last frames"
        persistent = set.intersection(*ids[-6:]) if all(ids[-6:]) else set()
        assert persistent, f"no ID persisted over the last 6 frames: {ids}"
    finally:
        proc.stop()


# ============================================================================ video publisher -> node -> recorder


def test_video_publisher_node_recorder_pipeline(client, tmp_path):
    """A synthetic video through video_publisher, the node (fake detector) and the recorder."""
    video = tmp_path / "people.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (320, 240))
    for i in range(30):
        writer.write(h.people_frame(i))
    writer.release()
    out_dir = tmp_path / "rec"
    node = h.NodeProcess(h.node_argv("fake_node", "sotmot_e", {
        "autostart": True, "min_hits": 1, "qos_reliability": "reliable", "qos_depth": 5,
        "image_topics": ["/video/image_raw"]}), "sotmot_e")
    rec = h.NodeProcess(h.node_argv("result_recorder", "recorder_e", {
        "output_dir": str(out_dir), "detections_topic": "/sotmot_e/detections", "tracks_topic": "/sotmot_e/tracks",
        "frame_index_topic": "/video/image_raw/frame_index", "video_path": str(video), "idle_timeout": 2.0}),
        "recorder_e")
    pub = None
    try:
        node.wait_log("active: subscribed", 60)
        rec.wait_log("recording", 30)
        pub = h.NodeProcess(h.node_argv("video_publisher", "video_e", {
            "video_path": str(video), "topic": "/video/image_raw", "rate": 15.0, "frame_id": "video",
            "start_frame": 3, "end_frame": 22, "wait_for_subscribers": 1, "wait_for_index_subscribers": 1}),
            "video_e")
        assert pub.proc.wait(60) == 0, pub.tail()
        assert "video finished after 20 published frames" in pub.log()
        try:
            assert rec.proc.wait(30) == 0, rec.tail()
        except Exception as exc:
            raise AssertionError(f"recorder did not finish: {exc}\n{rec.tail()}\n--- node:\n{node.tail()}") from None
    finally:
        for p in (pub, rec, node):
            if p is not None:
                p.stop()
    summary = json.loads((out_dir / "summary.json").read_text())
    assert summary["frames_published"] == 20
    assert summary["results_without_frame_number"] == 0
    assert summary["frames_with_results"] >= 15, summary  # reliable end to end; allow a few start-up losses
    assert summary["num_ids"] == 2 and summary["latency_ms"]["max"] is not None
    rows = np.loadtxt(out_dir / "results.txt", delimiter=",", ndmin=2)
    assert rows.shape[1] == 10 and set(rows[:, 0].astype(int)) <= set(range(3, 23))
    # MOTChallenge frame numbers are the video's: the person moving right is at x = 20 + 3 * (frame - 1)
    for f in np.unique(rows[:, 0]):
        assert abs(rows[rows[:, 0] == f, 2].min() - (20 + 3 * (f - 1))) <= 2.0, f
    assert summary["annotated_video"] == "annotated.mp4" and (out_dir / "annotated.mp4").stat().st_size > 0


def test_video_publisher_waits_for_a_frame_index_subscriber(client, tmp_path):
    """wait_for_index_subscribers: no image goes out while nobody listens to <topic>/frame_index (a recorder
    matched after the last frame would map none of its results to a video frame); once one listens, every
    frame goes out, each announced with its frame number."""
    video = tmp_path / "short.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (160, 120))
    for i in range(8):
        writer.write(cv2.resize(h.people_frame(i), (160, 120)))
    writer.release()
    images = client.collect(Image, "/wait/image_raw")
    pub = h.NodeProcess(h.node_argv("video_publisher", "video_w", {
        "video_path": str(video), "topic": "/wait/image_raw", "rate": 20.0, "wait_for_subscribers": 1,
        "wait_for_index_subscribers": 1}), "video_w")
    try:
        pub.wait_log("publishing", 60)
        client.wait_publishers(images)
        time.sleep(2.0)  # 40 timer ticks at 20 Hz: without the index subscriber none may publish
        assert images.snapshot() == [] and pub.alive(), pub.tail()
        index = client.collect(Header, "/wait/image_raw/frame_index", latched=True)
        assert pub.proc.wait(60) == 0, pub.tail()
        assert "video finished after 8 published frames" in pub.log()
        index.wait(lambda m: m.frame_id == "8", 20, "frame 8's index")
        assert [m.frame_id for m in index.snapshot()] == [str(f) for f in range(1, 9)]
    finally:
        pub.stop()


def test_real_detector_and_tracker_in_process_random_weights():
    """The real Detector (randomly initialised network, small input) and Tracker through the node's data path."""
    import rclpy
    import torch
    from rclpy.parameter import Parameter

    from sotmot_ros.detector import Detector
    from sotmot_ros.model.config import ModelConfig
    from sotmot_ros.model.network import SOTMOTNet
    from sotmot_ros.model.onnxruntime_network import onnxruntime_missing
    from sotmot_ros.ros.node import SUCCESS, SotmotNode

    torch.manual_seed(0)

    def factory(path=None, **kw):
        kw.update(score_threshold=0.0, input_size=(320, 192))
        return Detector(SOTMOTNet(ModelConfig(input_width=320, input_height=192, head_conv=64, sot_dim=32)), **kw)

    ctx = rclpy.Context()
    rclpy.init(context=ctx)
    try:
        node = SotmotNode("sotmot_inproc", context=ctx, detector_factory=factory, parameter_overrides=[
            Parameter("publish_states", value=["tentative", "confirmed", "lost"]),
            Parameter("low_score_threshold", value=0.0), Parameter("device", value="cpu")])
        assert node.trigger_configure() == SUCCESS and node.trigger_activate() == SUCCESS
        cam = node.cameras[0].name
        frames = h.video_frames(2) or [h.people_frame(i) for i in range(2)]
        for i, f in enumerate(frames):
            node._process({cam: h.image_msg(f, 10 + i * 0.1)})
        snap = node.diagnostics.camera(cam).snapshot()
        assert snap["processed"] == len(frames) and snap["processing_errors"] == 0, snap
        # the engine the `backend` parameter (default auto) chose is reported with the device
        engine = "onnxruntime" if onnxruntime_missing() is None else "torch"
        values = {kv.key: kv.value for kv in node.diagnostics.to_msg().status[0].values}
        assert (values["device"], values["backend"]) == ("cpu", engine)
        assert node.trigger_deactivate() == SUCCESS and node.trigger_cleanup() == SUCCESS
        node.set_parameters([Parameter("backend", value="torch")])  # [configure]: set while unconfigured
        assert node.trigger_configure() == SUCCESS and node.diagnostics.backend == "torch"
        assert node.trigger_cleanup() == SUCCESS
        node.destroy_node()
    finally:
        rclpy.try_shutdown(context=ctx)


def test_model_tuned_tracker_settings_apply_unless_set_by_the_user():
    """The node uses the model file's tuned tracker settings for every parameter the user did not set."""
    import rclpy
    import torch
    from rclpy.parameter import Parameter

    from sotmot_ros.detector import Detector
    from sotmot_ros.model.config import ModelConfig
    from sotmot_ros.model.network import SOTMOTNet
    from sotmot_ros.ros.node import SUCCESS, SotmotNode

    torch.manual_seed(0)
    tuned = {"high_score_threshold": 0.45, "low_score_threshold": 0.05, "new_track_score_threshold": 0.5,
             "sot_lambda": 3.0, "min_iou_stage2": 0.6}

    made = []

    def factory(path=None, **kw):
        det = Detector(SOTMOTNet(ModelConfig(input_width=64, input_height=64, head_conv=16, sot_dim=16)), **kw)
        det.meta = {"tracker": tuned}
        made.append(det)
        return det

    ctx = rclpy.Context()
    rclpy.init(context=ctx)
    try:
        node = SotmotNode("sotmot_tuned", context=ctx, detector_factory=factory, parameter_overrides=[
            Parameter("sot_lambda", value=1.5), Parameter("device", value="cpu")])
        assert node.get_parameter("high_score_threshold").value != 0.45  # library default before configure
        assert node.trigger_configure() == SUCCESS
        assert node.get_parameter("high_score_threshold").value == 0.45
        assert node.get_parameter("sot_lambda").value == 1.5  # set by the user: kept
        cfg = node.cameras[0].tracker.config
        assert (cfg.high_score_threshold, cfg.sot_lambda, cfg.min_iou_stage2) == (0.45, 1.5, 0.6)
        assert made[-1].score_threshold == 0.05  # decode threshold follows the tracker's low threshold
        # a runtime change of one parameter keeps the model's tuning of the others (also those without a parameter)
        assert node.set_parameters([Parameter("high_score_threshold", value=0.5)])[0].successful
        cfg = node.cameras[0].tracker.config
        assert (cfg.high_score_threshold, cfg.min_iou_stage2, cfg.new_track_score_threshold) == (0.5, 0.6, 0.5)
        # after cleanup + configure the user's runtime value stays, the model's others come back
        assert node.trigger_cleanup() == SUCCESS and node.trigger_configure() == SUCCESS
        assert node.get_parameter("high_score_threshold").value == 0.5
        assert node.cameras[0].tracker.config.min_iou_stage2 == 0.6
        node.trigger_cleanup()
        node.destroy_node()
    finally:
        rclpy.try_shutdown(context=ctx)
