"""The SOTMOT lifecycle node: camera images in, tracked people out.

Lifecycle:
    configure  load the model (errors -> FAILURE, the node stays unconfigured and says why), warm it up,
               create the trackers and the (lifecycle) publishers.
    activate   subscribe to the cameras, start the worker thread, publish ~/label_info (transient local).
    deactivate unsubscribe, stop the worker: no output while inactive.
    cleanup    drop the trackers, publishers and the model (and the CUDA cache).
    shutdown   all of the above from any state.

Data flow: the subscription callback only stores the newest message per camera (replacing an unprocessed
one counts a drop). The worker thread takes all pending messages, decodes them, runs one batched
inference over the cameras, updates each camera's tracker with the image stamp (seconds of the message
clock, so use_sim_time works) and publishes. Bad input is logged (throttled per kind of problem),
counted in /diagnostics and skipped; the next good frame is processed normally.
"""

from __future__ import annotations

import re
import sys
import threading
import time
import traceback
from dataclasses import dataclass, field
from functools import partial

from diagnostic_msgs.msg import DiagnosticArray
from rcl_interfaces.msg import SetParametersResult
from rclpy.executors import SingleThreadedExecutor
from rclpy.parameter import Parameter
from rclpy.lifecycle import LifecycleNode, LifecycleState, TransitionCallbackReturn
from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy
from rclpy.time import Time
from sensor_msgs.msg import CompressedImage, Image
from vision_msgs.msg import Detection2DArray, LabelInfo

from ..tracking.camera_motion import moving_camera_hint
from ..tracking.config import MODEL_META_KEY
from ..tracking.tracker import tracks_to_publish
from ..types import TrackState
from . import compat, entry, messages, parameters
from .diagnostics import NodeDiagnostics
from .image_conversion import ImageDecodeError, bgr_to_image_msg, decode_any

SUCCESS = TransitionCallbackReturn.SUCCESS
FAILURE = TransitionCallbackReturn.FAILURE


def _default_detector_factory(**kwargs):
    from ..detector import Detector

    path = kwargs.pop("path", None)
    return Detector.from_checkpoint(path, **kwargs)


def _stamp_seconds(stamp) -> float:
    return Time.from_msg(stamp).nanoseconds * 1e-9


@dataclass
class Camera:
    name: str
    topic: str
    prefix: str  # output namespace and ID prefix ('' with a single camera)
    tracker: object = None
    sub: object = None
    pub_detections: object = None
    pub_tracks: object = None
    pub_debug: object = None
    pub_labels: object = None
    next_id: int = 1  # survives cleanup -> configure, so IDs on the same topics are never reused
    extra: dict = field(default_factory=dict)

    def out_topic(self, leaf: str) -> str:
        return f"~/{self.prefix}/{leaf}" if self.prefix else f"~/{leaf}"


class _Throttle:
    """At most one log line per (camera, kind of problem) per ``period`` seconds; counts the rest."""

    def __init__(self, period: float = 2.0):
        self.period = period
        self._last: dict = {}
        self._suppressed: dict = {}
        self._lock = threading.Lock()

    def __call__(self, key) -> tuple[bool, int]:
        now = time.monotonic()
        with self._lock:
            last = self._last.get(key)
            if last is not None and now - last < self.period:
                self._suppressed[key] = self._suppressed.get(key, 0) + 1
                return False, 0
            self._last[key] = now
            return True, self._suppressed.pop(key, 0)


def _kind(reason: str) -> str:
    """A problem's kind: its text without the numbers (sizes differ, the problem is the same)."""
    return re.sub(r"[0-9.]+", "#", reason)[:200]


class SotmotNode(LifecycleNode):
    """Lifecycle node running the SOTMOT detector + tracker on one or several cameras."""

    def __init__(self, node_name: str = "sotmot", *, detector_factory=None, **kwargs):
        super().__init__(node_name, **kwargs)
        log = self.get_logger()
        # Invalid start-up values (name -> problem): declared with their defaults so that the node and
        # `ros2 param` work, but configure fails until each is fixed (no silent run on a default).
        self._invalid = parameters.declare_all(self)
        for name, problem in self._invalid.items():
            log.error(f"invalid parameter {problem}; the node will not configure until it is fixed "
                      f"({parameters.how_to_fix(name)})")
        unknown = parameters.unknown_overrides(self)
        if unknown:
            log.warning(f"unknown parameter(s) ignored (not parameters of this node): "
                        f"{parameters.describe_unknown(unknown)}")
        self._configured = False  # CONFIGURE parameters can change only while unconfigured
        self._values = parameters.current_values(self)
        # parameters the user set (params file / command line, later set_parameters): the model's tuned
        # tracker settings never replace these
        self._explicit = {n for n in getattr(self, "_parameter_overrides", {}) if n in parameters.SPEC_BY_NAME}
        self._model_meta: dict = {}
        self._applying_model = False
        self._detector_factory = detector_factory or _default_detector_factory
        how = compat.add_parameter_callbacks(self, self._validate_parameters, self._apply_parameters)
        if how != compat.POST_SET:
            self.get_logger().info(f"parameter changes: validated and applied in the {how}")

        topics = self._values["image_topics"]
        try:
            names = parameters.camera_names(topics, self._values["camera_names"])
        except ValueError as exc:
            names = parameters.camera_names(topics)  # placeholders: the node does not configure like this
            self._invalid["camera_names"] = f"camera_names={self._values['camera_names']!r}: {exc}"
            log.error(f"invalid parameter {self._invalid['camera_names']}; the node will not configure until "
                      f"it is fixed ({parameters.how_to_fix('camera_names')})")
        multi = len(topics) > 1
        self._cameras = [Camera(n, t, n if multi else "") for n, t in zip(names, topics)]
        self._multi = multi

        self._detector = None
        self._class_names: list[str] = []
        self._cond = threading.Condition()
        self._pending: dict[str, object] = {}
        self._stop = threading.Event()
        self._worker: threading.Thread | None = None
        self._throttle = _Throttle()
        self._render_warned = False

        self.diagnostics = NodeDiagnostics(self.get_fully_qualified_name(), names)
        self._diag_pub = self.create_publisher(DiagnosticArray, "/diagnostics", 10)
        self._diag_timer = self.create_timer(self._values["diagnostics_period"], self._publish_diagnostics)
        self.get_logger().info(
            f"created: cameras {[(c.name, c.topic) for c in self._cameras]}, "
            f"transport {self._values['image_transport_type']}; waiting for configure"
        )

    # ------------------------------------------------------------------ parameters
    def _validate_parameters(self, params) -> SetParametersResult:
        changes = {p.name: p.value for p in params}
        reason = parameters.validate_changes(self._values, changes, configured=self._configured)
        if reason:
            self.get_logger().warning(f"rejected parameter change: {reason}")
            return SetParametersResult(successful=False, reason=reason)
        return SetParametersResult(successful=True)

    def _apply_parameters(self, params) -> None:
        changed = {p.name: p.value for p in params if p.name in parameters.SPEC_BY_NAME}
        if not changed:
            return
        if not self._applying_model:
            self._explicit.update(changed)
        for name, value in changed.items():
            spec = parameters.SPEC_BY_NAME[name]
            self._values[name] = list(value) if spec.ptype is list else value
            if self._invalid.pop(name, None) is not None:
                self.get_logger().info(f"{name} fixed: {value!r}")
        det = self._detector
        if det is not None:
            for name, cast in parameters.RUNTIME_DETECTOR_ATTRS.items():
                if name in changed:
                    setattr(det, name, cast(changed[name]))
            det.score_threshold = parameters.decode_threshold(self._values)
        if any(parameters.SPEC_BY_NAME[n].target == parameters.TRACKER for n in changed):
            cfg = parameters.tracker_config(self._values, self._model_meta)
            for cam in self._cameras:  # an immutable config, taken whole by each tracker's next update
                if cam.tracker is not None:
                    cam.tracker.config = cfg

        self.get_logger().info(f"parameters updated: {changed}")

    # ------------------------------------------------------------------ lifecycle
    def on_configure(self, state: LifecycleState) -> TransitionCallbackReturn:
        log = self.get_logger()
        if self._invalid:
            log.error("configure failed: invalid parameter(s): " + "; ".join(
                f"{problem} ({parameters.how_to_fix(name)})" for name, problem in self._invalid.items()))
            return FAILURE
        try:
            from ..tracking import Tracker

            det_kwargs = parameters.detector_kwargs(self._values)
            parameters.tracker_config(self._values)  # fail before loading the model when already invalid
        except Exception as exc:  # noqa: BLE001
            log.error(f"configure failed: invalid parameters: {exc}")
            return FAILURE
        requested = det_kwargs["device"]
        t0 = time.perf_counter()
        try:
            detector = self._detector_factory(**det_kwargs)
        except Exception as exc:  # noqa: BLE001 - CheckpointError, OSError, RuntimeError (CUDA), ValueError
            where = det_kwargs["path"] or "the bundled model"
            log.error(f"configure failed: could not load the model ({where}): {type(exc).__name__}: {exc}")
            return FAILURE
        device = str(getattr(detector, "device", "cpu"))
        if requested.startswith("cuda") and not device.startswith("cuda"):
            log.warning(f"device {requested!r} requested but CUDA is not available: running on CPU")
        try:
            if hasattr(detector, "warmup"):
                detector.warmup()
        except Exception as exc:  # noqa: BLE001
            log.error(f"configure failed: model warm-up failed on {device}: {type(exc).__name__}: {exc}")
            return FAILURE
        # the model's tuned tracker settings, for every tracker parameter the user did not set; the
        # parameters are updated so that `ros2 param get` shows what runs
        self._model_meta = dict(getattr(detector, "meta", None) or {})
        from_model = parameters.model_tracker_values(self._model_meta, self._explicit)
        if from_model:
            self._applying_model = True
            try:  # atomically: coupled thresholds (low <= high <= new track) are checked together
                result = self.set_parameters_atomically([Parameter(k, value=v) for k, v in from_model.items()])
            finally:
                self._applying_model = False
            if not result.successful:
                log.error(f"configure failed: the model's tuned tracker settings {from_model} do not fit the "
                          f"parameters you set: {result.reason}")
                return FAILURE
        try:
            tracker_cfg = parameters.tracker_config(self._values, self._model_meta)
        except ValueError as exc:
            log.error(f"configure failed: invalid tracker settings: {exc}")
            return FAILURE
        mine = sorted(self._explicit & set(parameters.TRACKER_PARAMS))
        tuned = bool(self._model_meta.get(MODEL_META_KEY))  # also when the user set every exposed value
        log.info("tracker: " + ("settings tuned for this model" if tuned else "library defaults")
                 + (f"; set by you: {mine}" if mine else ""))
        # the tracker's lowest threshold bounds what the detector returns (its second stage needs those)
        detector.score_threshold = parameters.decode_threshold(self._values)
        self._detector = detector
        config = getattr(detector, "config", None)
        self._class_names = list(getattr(config, "class_names", None) or ["person"])

        out_qos = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE, history=HistoryPolicy.KEEP_LAST)
        latched = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE,
                             durability=DurabilityPolicy.TRANSIENT_LOCAL, history=HistoryPolicy.KEEP_LAST)
        for cam in self._cameras:
            cam.tracker = Tracker(tracker_cfg, first_id=cam.next_id, on_reset=partial(self._on_tracker_reset, cam.name))
            cam.pub_detections = self.create_lifecycle_publisher(Detection2DArray, cam.out_topic("detections"), out_qos)
            if messages.TrackArray is not None:
                cam.pub_tracks = self.create_lifecycle_publisher(messages.TrackArray, cam.out_topic("tracks"), out_qos)
            cam.pub_debug = self.create_lifecycle_publisher(Image, cam.out_topic("debug_image"), out_qos)
            cam.pub_labels = self.create_lifecycle_publisher(LabelInfo, cam.out_topic("label_info"), latched)
        if messages.TrackArray is None:
            log.warning("sotmot_ros.msg not built: ~/tracks is not published (source the colcon install)")
        self.diagnostics.device = device
        self.diagnostics.backend = getattr(detector, "backend", "torch")
        self.diagnostics.model = det_kwargs["path"] or "bundled"
        self.diagnostics.state = "inactive"
        self._configured = True
        log.info(f"configured: model {self.diagnostics.model} on {device} ({self.diagnostics.backend}) "
                 f"({time.perf_counter() - t0:.1f} s incl. warm-up), classes {self._class_names}")
        return super().on_configure(state)

    def on_activate(self, state: LifecycleState) -> TransitionCallbackReturn:
        rel = (ReliabilityPolicy.RELIABLE if self._values["qos_reliability"] == "reliable"
               else ReliabilityPolicy.BEST_EFFORT)
        qos = QoSProfile(depth=int(self._values["qos_depth"]), reliability=rel, history=HistoryPolicy.KEEP_LAST)
        compressed = self._values["image_transport_type"] == "compressed"
        for cam in self._cameras:
            topic = cam.topic.rstrip("/") + "/compressed" if compressed else cam.topic
            cam.sub = self.create_subscription(CompressedImage if compressed else Image, topic,
                                               partial(self._on_image, cam.name), qos)
            cam.extra["input_topic"] = topic
        # A fresh event per worker: a previous worker that outlived its join keeps its own (set) event and
        # exits after its current batch instead of running on beside the new one.
        self._stop = threading.Event()
        self._worker = threading.Thread(target=self._work, args=(self._stop,), name="sotmot_worker", daemon=True)
        self._worker.start()
        ret = super().on_activate(state)  # enables the lifecycle publishers
        header = self._header_now()
        threshold = float(self._values["score_threshold"])
        for cam in self._cameras:
            cam.pub_labels.publish(messages.to_label_info(self._class_names, threshold, header))
        self.diagnostics.state = "active"
        self.get_logger().info(f"active: subscribed to {[c.extra['input_topic'] for c in self._cameras]} "
                               f"({self._values['qos_reliability']}, depth {self._values['qos_depth']})")
        return ret

    def on_deactivate(self, state: LifecycleState) -> TransitionCallbackReturn:
        self._stop_work()
        self.diagnostics.state = "inactive"
        self.get_logger().info("inactive: input unsubscribed, no output")
        return super().on_deactivate(state)

    def on_cleanup(self, state: LifecycleState) -> TransitionCallbackReturn:
        self._release()
        self.get_logger().info("cleaned up: model released")
        return super().on_cleanup(state)

    def on_shutdown(self, state: LifecycleState) -> TransitionCallbackReturn:
        self._stop_work()
        self._release()
        self.diagnostics.state = "finalized"
        return SUCCESS

    def on_error(self, state: LifecycleState) -> TransitionCallbackReturn:
        self.get_logger().error(f"error while in {state.label}: releasing everything (back to unconfigured)")
        self._stop_work()
        self._release()
        return SUCCESS

    def _stop_work(self) -> None:
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
        if self._worker is not None:
            self._worker.join(timeout=30.0)
            if self._worker.is_alive():
                self.get_logger().error("worker thread did not stop within 30 s")
            self._worker = None
        for cam in self._cameras:
            if cam.sub is not None:
                self.destroy_subscription(cam.sub)
                cam.sub = None
        with self._cond:
            self._pending.clear()

    def _release(self) -> None:
        for cam in self._cameras:
            for attr in ("pub_detections", "pub_tracks", "pub_debug", "pub_labels"):
                pub = getattr(cam, attr)
                if pub is not None:
                    self.destroy_lifecycle_publisher(pub)
                    setattr(cam, attr, None)
            if cam.tracker is not None:
                cam.next_id = cam.tracker.next_id
            cam.tracker = None
        had_model = self._detector is not None
        self._detector = None
        if had_model:
            try:
                import torch

                if torch.cuda.is_available():
                    torch.cuda.empty_cache()
            except Exception:  # noqa: BLE001
                pass
        self.diagnostics.state = "unconfigured"
        self._configured = False

    # ------------------------------------------------------------------ data path
    def _on_image(self, camera: str, msg) -> None:
        self.diagnostics.camera(camera).on_received()
        with self._cond:
            if camera in self._pending:
                self.diagnostics.camera(camera).on_dropped()
            self._pending[camera] = msg
            self._cond.notify()

    def _work(self, stop: threading.Event) -> None:
        while not stop.is_set():
            with self._cond:
                while not self._pending and not stop.is_set():
                    self._cond.wait(timeout=0.5)
                if stop.is_set():
                    return
                batch, self._pending = self._pending, {}
            try:
                self._process(batch)
            except Exception as exc:  # noqa: BLE001 - the worker must survive anything
                for name in batch:
                    self.diagnostics.camera(name).on_processing_error(str(exc))
                self._log_problem("*", f"unexpected error while processing a frame: {type(exc).__name__}: {exc}\n"
                                  + traceback.format_exc(limit=4))

    def _log_problem(self, camera: str, reason: str, warn: bool = False, key: str | None = None) -> None:
        ok, suppressed = self._throttle((camera, _kind(key or reason)))
        if not ok:
            return
        text = f"[{camera}] {reason}" + (f" ({suppressed} similar messages suppressed)" if suppressed else "")
        if warn:  # (rclpy forbids changing the severity of one logging call site)
            self.get_logger().warning(text)
        else:
            self.get_logger().error(text)

    def _process(self, batch: dict) -> None:
        cams = {c.name: c for c in self._cameras}
        max_pixels = int(self._values["max_image_pixels"])
        items = []
        for name, msg in batch.items():
            stats = self.diagnostics.camera(name)
            t_decode = time.perf_counter()
            try:
                image = decode_any(msg, max_pixels=max_pixels)
            except ImageDecodeError as exc:
                stats.on_decode_error(str(exc))
                self._log_problem(name, f"skipping frame (stamp {_stamp_seconds(msg.header.stamp):.3f}): {exc}",
                                  key=str(exc))
                continue
            items.append((cams[name], msg, image, time.perf_counter() - t_decode))
        if not items:
            return
        detector = self._detector
        if detector is None:
            return
        t0 = time.perf_counter()
        try:
            dets = detector.detect_batch([item[2] for item in items])
        except Exception as exc:  # noqa: BLE001
            for cam, *_ in items:
                self.diagnostics.camera(cam.name).on_processing_error(str(exc))
            self._log_problem("*", f"inference failed: {type(exc).__name__}: {exc}")
            return
        inference_s = time.perf_counter() - t0
        for (cam, msg, image, decode_s), det in zip(items, dets):
            self._track_and_publish(cam, msg, image, det, inference_s, decode_s)

    def _on_tracker_reset(self, camera: str, reason: str) -> None:
        """The tracker's time policy reset it (stamp backwards / forward jump): count it and say so once."""
        self.diagnostics.camera(camera).on_time_reset()
        self._log_problem(camera, f"image {reason}", warn=True)

    def _track_and_publish(self, cam: Camera, msg, image, det, inference_s: float, decode_s: float = 0.0) -> None:
        stats = self.diagnostics.camera(cam.name)
        stamp = _stamp_seconds(msg.header.stamp)
        try:
            with self._cond:
                tracker = cam.tracker
            if tracker is None or self._stop.is_set():
                return
            t_track = time.perf_counter()
            outputs = tracker.update(det, stamp, frame=image)
            tracking_s = time.perf_counter() - t_track
            stats.on_camera_motion(tracker.motion_estimator.failures, tracker.camera_speed,
                                   tracker.last_camera_motion is not None, tracker.config.camera_motion)
            hint = moving_camera_hint(tracker.motion_monitor, tracker.config.camera_motion)
            if hint and not cam.extra.get("moving_camera_hint"):
                cam.extra["moving_camera_hint"] = True  # once per camera: a hint, not an alarm
                self._log_problem(cam.name, hint, warn=True)
        except Exception as exc:  # noqa: BLE001
            stats.on_processing_error(str(exc))
            self._log_problem(cam.name, f"tracker update failed: {type(exc).__name__}: {exc}")
            return
        shown = tracks_to_publish(outputs, self._values["publish_states"])
        header = msg.header
        pubs = (cam.pub_detections, cam.pub_tracks, cam.pub_debug)
        if self._stop.is_set() or pubs[0] is None:
            return
        prefix = cam.name if self._multi else ""
        t_publish = time.perf_counter()
        pubs[0].publish(messages.to_detection_array(shown, header, self._class_names, prefix))
        if pubs[1] is not None:
            pubs[1].publish(messages.to_track_array(shown, header, self._class_names, cam.name if self._multi else ""))
        if self._values["publish_debug_image"] and pubs[2] is not None and pubs[2].get_subscription_count() > 0:
            self._publish_debug(cam, image, shown, header)
        publish_s = time.perf_counter() - t_publish
        latency = (self.get_clock().now().nanoseconds * 1e-9) - stamp
        active = sum(1 for t in outputs if t.state == TrackState.CONFIRMED)
        stats.on_processed(latency, inference_s, active,
                           {"decode": decode_s, "tracking": tracking_s, "publish": publish_s})

    def _publish_debug(self, cam: Camera, image, tracks, header) -> None:
        try:
            from ..render import draw_tracks
        except ImportError as exc:
            if not self._render_warned:
                self.get_logger().warning(f"~/debug_image unavailable: sotmot_ros.render missing ({exc})")
                self._render_warned = True
            return
        try:
            cam.pub_debug.publish(bgr_to_image_msg(draw_tracks(image, tracks), header))
        except Exception as exc:  # noqa: BLE001
            self._log_problem(cam.name, f"debug image failed: {type(exc).__name__}: {exc}", warn=True)

    # ------------------------------------------------------------------ helpers
    def _header_now(self):
        from std_msgs.msg import Header

        return Header(stamp=self.get_clock().now().to_msg(), frame_id="")

    def _publish_diagnostics(self) -> None:
        self._diag_pub.publish(self.diagnostics.to_msg(self.get_clock().now().to_msg()))

    @property
    def cameras(self) -> list[Camera]:
        return list(self._cameras)


def main(args=None, detector_factory=None) -> int:
    """``ros2 run sotmot_ros sotmot_node [--ros-args ...]``; exit codes as every node program
    (:func:`sotmot_ros.ros.entry.run_node`): 2 for a missing or malformed params file or ROS arguments rcl
    refuses (one line on stderr, no traceback), 0 after a shutdown (Ctrl-C), 1 after an error.

    With ``autostart`` the node configures and activates itself before spinning; a configure that fails
    leaves it unconfigured (it keeps running and says why).
    """

    def run(node: SotmotNode) -> None:
        # The executor exists before the node can say it is active: a Ctrl-C that arrived while rclpy was still
        # building one left it half made, and its __del__ printed a traceback at exit.
        executor = SingleThreadedExecutor()
        executor.add_node(node)
        if node.get_parameter("autostart").value:
            if node.trigger_configure() == SUCCESS:
                node.trigger_activate()
            else:
                node.get_logger().error("autostart: configure failed; the node stays unconfigured "
                                        "(fix the parameters and call the configure transition)")
        executor.spin()

    def close(node: SotmotNode) -> None:
        try:  # the process is ending: a failure here must not turn a clean shutdown into an error
            node._stop_work()
            node._release()
        except Exception as exc:  # noqa: BLE001
            node.get_logger().warning(f"clean-up at exit: {type(exc).__name__}: {exc}")

    return entry.run_node("sotmot_node", lambda: SotmotNode(detector_factory=detector_factory), args=args,
                          run=run, close=close)


if __name__ == "__main__":
    sys.exit(main())
