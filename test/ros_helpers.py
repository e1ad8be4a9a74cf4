"""Helpers of the ROS tests: the sourced environment, node subprocesses, an in-process rclpy client,
synthetic frames and a fake detector for the plumbing tests.

``python test/ros_helpers.py fake_node --ros-args ...`` runs the real SotmotNode with the fake detector
(bright blobs -> person boxes), so ROS plumbing can be tested without model weights and in milliseconds.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np

REPO = Path(__file__).resolve().parents[1]
VIDEO = REPO / "data_cache" / "vtest.avi"
BUNDLED_MODEL = REPO / "sotmot_ros" / "weights" / "default.pt"


# ----------------------------------------------------------------------------- environment


def ros_messages_available() -> tuple[bool, str]:
    """Whether this process can import the built interfaces (vision_msgs; sotmot_ros.msg is optional)."""
    try:
        import vision_msgs.msg  # noqa: F401
    except ImportError as exc:
        return False, f"vision_msgs not importable ({exc}): run scripts/setup_env.sh and source scripts/env.sh"
    return True, ""


def child_env(**extra) -> dict:
    """The environment of node subprocesses: ours (already sourced), an isolated ROS domain, unbuffered."""
    env = dict(os.environ)
    env.setdefault("ROS_DOMAIN_ID", str(_domain_id()))
    env["PYTHONUNBUFFERED"] = "1"
    env["RCUTILS_COLORIZED_OUTPUT"] = "0"
    env["RCUTILS_CONSOLE_OUTPUT_FORMAT"] = "[{severity}] [{name}]: {message}"
    env.update({k: str(v) for k, v in extra.items()})
    return env


def _domain_id() -> int:
    # one domain per test session so that parallel CI jobs on one host do not see each other
    if "SOTMOT_TEST_DOMAIN" not in os.environ:
        os.environ["SOTMOT_TEST_DOMAIN"] = str(100 + os.getpid() % 100)
    return int(os.environ["SOTMOT_TEST_DOMAIN"])


def isolate_domain() -> None:
    """Put this process in the tests' ROS domain (call before rclpy.init)."""
    os.environ["ROS_DOMAIN_ID"] = str(_domain_id())
    os.environ.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")


# ----------------------------------------------------------------------------- node processes


class NodeProcess:
    """A node in its own process; its log (stdout+stderr) goes to a file that tests can search."""

    def __init__(self, argv: list[str], name: str = "node", env: dict | None = None):
        self.logfile = tempfile.NamedTemporaryFile("w+b", prefix=f"{name}_", suffix=".log", delete=False)
        self.argv = argv
        self.proc = subprocess.Popen(
            argv, stdout=self.logfile, stderr=subprocess.STDOUT, env=env or child_env(), cwd=tempfile.gettempdir(),  # not the repo: it would shadow sotmot_ros.msg
            start_new_session=True,
        )

    def log(self) -> str:
        with open(self.logfile.name, "rb") as fh:
            return fh.read().decode("utf-8", "replace")

    def wait_log(self, pattern: str, timeout: float = 30.0, start: int = 0) -> re.Match:
        deadline = time.monotonic() + timeout
        rx = re.compile(pattern)
        while time.monotonic() < deadline:
            m = rx.search(self.log(), start)
            if m:
                return m
            if self.proc.poll() is not None:
                m = rx.search(self.log(), start)
                if m:
                    return m
                raise AssertionError(f"process exited ({self.proc.returncode}) before /{pattern}/:\n{self.tail()}")
            time.sleep(0.05)
        raise AssertionError(f"/{pattern}/ not in the log after {timeout} s:\n{self.tail()}")

    def tail(self, n: int = 4000) -> str:
        return self.log()[-n:]

    def alive(self) -> bool:
        return self.proc.poll() is None

    def rss_mb(self) -> float:
        with open(f"/proc/{self.proc.pid}/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024.0
        return float("nan")

    def stop(self, timeout: float = 10.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        self.logfile.close()
        return self.proc.returncode


def node_argv(kind: str, name: str, params: dict | None = None, params_file=None,
              remaps: dict | None = None) -> list[str]:
    """argv of one of our nodes: kind = fake_node | fake_node_humble_api (rclpy's post-Humble parameter
    callback APIs removed first) | sotmot_node | video_publisher | result_recorder."""
    modules = {
        "sotmot_node": "sotmot_ros.ros.node",
        "video_publisher": "sotmot_ros.demo.video_publisher",
        "result_recorder": "sotmot_ros.demo.recorder",
    }
    if kind in ("fake_node", "fake_node_humble_api"):
        argv = [sys.executable, str(Path(__file__).resolve()), kind]
    else:
        argv = [sys.executable, "-m", modules[kind]]
    argv += ["--ros-args", "-r", f"__node:={name}"]
    for pf in ([params_file] if isinstance(params_file, (str, Path)) else params_file or []):
        argv += ["--params-file", str(pf)]
    for k, v in (params or {}).items():
        argv += ["-p", f"{k}:={_yaml_value(v)}"]
    for k, v in (remaps or {}).items():
        argv += ["-r", f"{k}:={v}"]
    return argv


def _yaml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (list, tuple)):
        return "[" + ",".join(_yaml_value(x) for x in v) + "]"
    if isinstance(v, str):
        return f"'{v}'" if v else "''"
    return repr(v)


# ----------------------------------------------------------------------------- in-process client


class RosClient:
    """An rclpy node spinning in a background thread, with helpers to publish, collect and call services."""

    def __init__(self, name: str = "sotmot_test_client"):
        import rclpy
        from rclpy.executors import MultiThreadedExecutor

        isolate_domain()
        self.rclpy = rclpy
        self.context = rclpy.Context()
        rclpy.init(context=self.context)
        self.node = rclpy.create_node(name, context=self.context)
        self.executor = MultiThreadedExecutor(num_threads=2, context=self.context)
        self.executor.add_node(self.node)
        self._thread = threading.Thread(target=self._spin, daemon=True)
        self._thread.start()

    def _spin(self):
        try:
            self.executor.spin()
        except Exception:  # noqa: BLE001 - shutdown races
            pass

    def close(self):
        self.executor.shutdown()
        self.node.destroy_node()
        self.rclpy.try_shutdown(context=self.context)

    # --- topics
    def publisher(self, msg_type, topic: str, reliable: bool = True, depth: int = 10, latched: bool = False):
        from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy

        qos = QoSProfile(depth=depth, reliability=ReliabilityPolicy.RELIABLE if reliable else ReliabilityPolicy.BEST_EFFORT,
                         durability=DurabilityPolicy.TRANSIENT_LOCAL if latched else DurabilityPolicy.VOLATILE)
        return self.node.create_publisher(msg_type, topic, qos)

    def collect(self, msg_type, topic: str, latched: bool = False, depth: int = 1000) -> "Collector":
        from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy

        qos = QoSProfile(depth=depth, reliability=ReliabilityPolicy.RELIABLE,
                         durability=DurabilityPolicy.TRANSIENT_LOCAL if latched else DurabilityPolicy.VOLATILE)
        c = Collector()
        c.sub = self.node.create_subscription(msg_type, topic, c.add, qos)
        return c

    def wait_subscribers(self, pub, n: int = 1, timeout: float = 20.0):
        wait_for(lambda: pub.get_subscription_count() >= n, timeout, f"{n} subscriber(s) on {pub.topic_name}")

    def wait_publishers(self, collector: "Collector", n: int = 1, timeout: float = 20.0):
        wait_for(lambda: collector.sub.get_publisher_count() >= n, timeout,
                 f"{n} publisher(s) on {collector.sub.topic_name}")

    # --- services
    def call(self, srv_type, name: str, request, timeout: float = 30.0, resend_after: float | None = None):
        """Call a service and wait for its reply. ``resend_after``: for a query that may be repeated, send it
        again after that many seconds without a reply (DDS can drop a request sent while the reply path is
        still being matched, right after ``wait_for_service`` returns)."""
        client = self.node.create_client(srv_type, name)
        try:
            if not client.wait_for_service(timeout_sec=timeout):
                raise AssertionError(f"service {name} not available")
            deadline = time.monotonic() + timeout
            futures, sent = [client.call_async(request)], time.monotonic()
            while not any(f.done() for f in futures):
                if time.monotonic() > deadline:
                    raise AssertionError(f"timed out after {timeout} s waiting for reply of {name}")
                if resend_after and time.monotonic() - sent > resend_after:
                    futures.append(client.call_async(request))
                    sent = time.monotonic()
                time.sleep(0.02)
            return next(f for f in futures if f.done()).result()
        finally:
            self.node.destroy_client(client)

    def change_state(self, node: str, transition: str, timeout: float = 120.0) -> bool:
        from lifecycle_msgs.msg import Transition
        from lifecycle_msgs.srv import ChangeState

        req = ChangeState.Request()
        req.transition = Transition(id=getattr(Transition, f"TRANSITION_{transition.upper()}"))
        return bool(self.call(ChangeState, f"/{node}/change_state", req, timeout).success)

    def get_state(self, node: str) -> str:
        from lifecycle_msgs.srv import GetState

        return self.call(GetState, f"/{node}/get_state", GetState.Request(), resend_after=5.0).current_state.label

    def set_params(self, node: str, **values):
        from rcl_interfaces.srv import SetParameters
        from rclpy.parameter import Parameter

        req = SetParameters.Request()
        req.parameters = [Parameter(k, value=v).to_parameter_msg() for k, v in values.items()]
        return list(self.call(SetParameters, f"/{node}/set_parameters", req).results)

    def get_params(self, node: str, *names):
        from rcl_interfaces.srv import GetParameters
        from rclpy.parameter import parameter_value_to_python

        req = GetParameters.Request(names=list(names))
        res = self.call(GetParameters, f"/{node}/get_parameters", req, resend_after=5.0)
        return {n: parameter_value_to_python(v) for n, v in zip(names, res.values)}


class Collector:
    def __init__(self):
        self.msgs: list = []
        self._lock = threading.Lock()
        self.sub = None

    def add(self, msg):
        with self._lock:
            self.msgs.append(msg)

    def snapshot(self) -> list:
        with self._lock:
            return list(self.msgs)

    def clear(self):
        with self._lock:
            self.msgs.clear()

    def wait(self, pred, timeout: float = 20.0, what: str = "a matching message", since: int = 0):
        """Wait for a message satisfying pred(msg) among those received from index ``since`` on (``len(snapshot())``
        before a request: only its reply counts, never an older message that happens to match); returns it."""
        found = []

        def check():
            for m in self.snapshot()[since:]:
                if pred(m):
                    found.append(m)
                    return True
            return False

        wait_for(check, timeout, what)
        return found[0]


def wait_for(pred, timeout: float, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return
        time.sleep(0.02)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


# ----------------------------------------------------------------------------- synthetic data


def people_frame(i: int, w: int = 320, h: int = 240, offset: int = 0) -> np.ndarray:
    """A dark frame with two white 'people' (30x60 px) moving right/left by 3 px per frame."""
    img = np.full((h, w, 3), 30, np.uint8)
    for x0, y0, vx in ((20 + offset, 40, 3), (260 - offset, 130, -3)):
        x = int(np.clip(x0 + vx * i, 0, w - 31))
        img[y0 : y0 + 60, x : x + 30] = 255
    return img


def stamp_msg(seconds: float):
    from builtin_interfaces.msg import Time

    sec = int(np.floor(seconds))
    return Time(sec=sec, nanosec=int(round((seconds - sec) * 1e9)) % 1_000_000_000)


def stamp_seconds(stamp) -> float:
    return stamp.sec + stamp.nanosec * 1e-9


def image_msg(img: np.ndarray, seconds: float, frame_id: str = "cam"):
    from std_msgs.msg import Header

    from sotmot_ros.ros.image_conversion import bgr_to_image_msg

    return bgr_to_image_msg(img, Header(stamp=stamp_msg(seconds), frame_id=frame_id))


def video_frames(n: int, start: int = 0):
    import cv2

    cap = cv2.VideoCapture(str(VIDEO))
    cap.set(cv2.CAP_PROP_POS_FRAMES, start)
    out = []
    for _ in range(n):
        ok, img = cap.read()
        if not ok:
            break
        out.append(img)
    cap.release()
    return out


# ----------------------------------------------------------------------------- fake detector


class FakeDetector:
    """White blobs (all channels >= 240, area >= 100 px) -> 'person' detections with score 0.9, no features.

    Only for the tests of ROS plumbing: same interface as sotmot_ros.detector.Detector.
    """

    def __init__(self, **kwargs):
        import torch

        self.kwargs = kwargs
        self.device = torch.device("cpu")
        self.config = SimpleNamespace(class_names=["person"])
        self.score_threshold = kwargs.get("score_threshold", 0.1)
        self.max_detections = kwargs.get("max_detections", 500)
        self.min_box_area = kwargs.get("min_box_area", 0.0)
        self.delay = float(os.environ.get("SOTMOT_FAKE_DELAY", "0"))

    def warmup(self):
        self.detect_batch([np.zeros((64, 64, 3), np.uint8)])

    def __call__(self, image):
        return self.detect_batch([image])[0]

    def detect_batch(self, images):
        import cv2

        from sotmot_ros.types import Detections

        if self.delay:
            time.sleep(self.delay)
        out = []
        for img in images:
            mask = (img.min(axis=2) >= 240).astype(np.uint8)
            n, _, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
            boxes = [[x, y, x + w, y + h] for x, y, w, h, a in stats[1:] if a >= 100 and a >= self.min_box_area]
            boxes = boxes[: self.max_detections]
            out.append(Detections(np.asarray(boxes, np.float32).reshape(-1, 4), np.full(len(boxes), 0.9)))
        return out


POST_HUMBLE_NODE_APIS = ("add_pre_set_parameters_callback", "add_post_set_parameters_callback",
                         "remove_pre_set_parameters_callback", "remove_post_set_parameters_callback")


def hide_post_humble_apis() -> list[str]:
    """Remove from rclpy's Node the parameter-callback APIs that Humble's rclpy (3.3.x) lacks."""
    from rclpy.node import Node

    hidden = []
    for name in POST_HUMBLE_NODE_APIS:
        for cls in Node.__mro__:
            if name in vars(cls):
                delattr(cls, name)
                hidden.append(f"{cls.__name__}.{name}")
    return hidden


def run_fake_node():
    from sotmot_ros.ros.node import main

    args = sys.argv[:1] + sys.argv[2:]
    return main(args=args, detector_factory=lambda **kw: FakeDetector(**kw))


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "fake_node":
        sys.exit(run_fake_node())
    if len(sys.argv) > 1 and sys.argv[1] == "fake_node_humble_api":
        print(f"hidden rclpy APIs: {hide_post_humble_apis()}", flush=True)
        sys.exit(run_fake_node())
    print(__doc__)
