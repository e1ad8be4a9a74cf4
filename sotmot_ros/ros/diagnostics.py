"""Rolling statistics of the node (per camera) and their ``diagnostic_msgs/DiagnosticArray`` form.

The counters are updated from the subscription callbacks and the worker thread, hence the lock.
Rates and latency statistics cover a sliding window; counters are totals since the node configured.
"""

from __future__ import annotations

import threading
import time
from collections import deque

import numpy as np
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue


STAGES = ("decode", "tracking", "publish")


class CameraStats:
    """Counters and sliding windows of one camera (thread-safe)."""

    def __init__(self, name: str, window_seconds: float = 5.0, max_samples: int = 500):
        self.name = name
        self.window = float(window_seconds)
        self._lock = threading.Lock()
        self._received = deque(maxlen=10_000)  # monotonic times of received messages
        self._processed = deque(maxlen=10_000)
        self._latency = deque(maxlen=max_samples)  # seconds, image stamp -> publish
        self._inference = deque(maxlen=max_samples)  # seconds, per batch the camera took part in
        # seconds per frame of the other pipeline stages: image decoding, tracker update, publishing
        self._stages = {stage: deque(maxlen=max_samples) for stage in STAGES}
        self.received = 0
        self.processed = 0
        self.dropped = 0
        self.decode_errors = 0
        self.processing_errors = 0
        self.time_resets = 0
        self.camera_motion_failures = 0  # frames whose camera motion could not be measured (affine / auto)
        self.camera_speed = float("nan")  # how fast the image moves, fraction of its width per second (tracker)
        self.camera_compensated = False  # whether the last frame's predictions were moved by the camera's motion
        self.camera_motion = "none"  # the tracker's camera_motion setting
        self.active_tracks = 0
        self.last_error = ""

    # --- updates
    def on_received(self):
        with self._lock:
            self.received += 1
            self._received.append(time.monotonic())

    def on_dropped(self, n: int = 1):
        with self._lock:
            self.dropped += n

    def on_decode_error(self, reason: str):
        with self._lock:
            self.decode_errors += 1
            self.last_error = reason

    def on_processing_error(self, reason: str):
        with self._lock:
            self.processing_errors += 1
            self.last_error = reason

    def on_time_reset(self):
        with self._lock:
            self.time_resets += 1

    def on_camera_motion(self, failures: int, speed: float | None = None, compensated: bool = False,
                         mode: str = "none"):
        """The tracker's count of frames whose camera motion could not be measured (no compensation there), its
        measure of how fast the image moves (None: not measured yet), whether it compensated this frame, and its
        ``camera_motion`` setting."""
        with self._lock:
            self.camera_motion_failures = int(failures)
            self.camera_speed = float("nan") if speed is None else float(speed)
            self.camera_compensated = bool(compensated)
            self.camera_motion = str(mode)

    def on_processed(self, latency_s: float, inference_s: float, active_tracks: int, stages: dict | None = None):
        """One published frame; ``stages`` maps names of STAGES to seconds spent on this frame."""
        with self._lock:
            self.processed += 1
            self._processed.append(time.monotonic())
            self._latency.append(float(latency_s))
            self._inference.append(float(inference_s))
            self.active_tracks = int(active_tracks)
            for stage, seconds in (stages or {}).items():
                self._stages[stage].append(float(seconds))

    # --- reading
    def _rate(self, times: deque, now: float) -> float:
        recent = [t for t in times if now - t <= self.window]
        if len(recent) < 2:
            return 0.0
        span = max(now - recent[0], 1e-6)
        return (len(recent) - 1) / span if span > 0 else 0.0

    def snapshot(self) -> dict:
        now = time.monotonic()
        with self._lock:
            series = {"latency": np.asarray(self._latency, dtype=np.float64),
                      "inference": np.asarray(self._inference, dtype=np.float64)}
            series.update({s: np.asarray(v, dtype=np.float64) for s, v in self._stages.items()})
            snap = {
                "received": self.received,
                "processed": self.processed,
                "dropped": self.dropped,
                "decode_errors": self.decode_errors,
                "processing_errors": self.processing_errors,
                "time_resets": self.time_resets,
                "camera_motion_failures": self.camera_motion_failures,
                "camera_speed_pct_per_s": 100.0 * self.camera_speed,
                "camera_compensated": self.camera_compensated,
                "camera_motion": self.camera_motion,
                "active_tracks": self.active_tracks,
                "input_rate_hz": self._rate(self._received, now),
                "output_rate_hz": self._rate(self._processed, now),
                "last_error": self.last_error,
            }
        for key, arr in series.items():
            if arr.size:
                snap[f"{key}_mean_ms"] = float(arr.mean() * 1e3)
                snap[f"{key}_p95_ms"] = float(np.percentile(arr, 95) * 1e3)
                snap[f"{key}_max_ms"] = float(arr.max() * 1e3)
            else:
                snap[f"{key}_mean_ms"] = snap[f"{key}_p95_ms"] = snap[f"{key}_max_ms"] = float("nan")
        return snap


class NodeDiagnostics:
    """All cameras' stats plus node-wide facts, rendered as one DiagnosticArray."""

    def __init__(self, node_name: str, camera_names, window_seconds: float = 5.0):
        self.node_name = node_name
        self.cameras = {n: CameraStats(n, window_seconds) for n in camera_names}
        self.device = "none"
        self.backend = ""  # the engine running the network (Detector.backend): onnxruntime | torch
        self.model = ""
        self.state = "unconfigured"

    def camera(self, name: str) -> CameraStats:
        return self.cameras[name]

    def to_msg(self, stamp=None) -> DiagnosticArray:
        arr = DiagnosticArray()
        if stamp is not None:
            arr.header.stamp = stamp
        for name, cam in self.cameras.items():
            s = cam.snapshot()
            st = DiagnosticStatus()
            st.name = f"{self.node_name}: {name}"
            st.hardware_id = self.device
            level, msg = _level(s, self.state)
            st.level, st.message = level, msg
            values = {"state": self.state, "device": self.device, "backend": self.backend, "model": self.model}
            values.update(s)
            st.values = [KeyValue(key=k, value=_fmt(v)) for k, v in values.items()]
            arr.status.append(st)
        return arr


def _fmt(v) -> str:
    if isinstance(v, float):
        return "nan" if v != v else f"{v:.3f}"
    return str(v)


def _level(s: dict, state: str):
    if state != "active":
        return DiagnosticStatus.OK, f"{state}"
    if s["received"] == 0:
        return DiagnosticStatus.WARN, "active, no images received yet"
    problems = []
    if s["decode_errors"]:
        problems.append(f"{s['decode_errors']} decode errors")
    if s["processing_errors"]:
        problems.append(f"{s['processing_errors']} processing errors")
    # only where compensation was asked for: auto on a blank fixed scene has nothing to compensate
    if s["camera_motion"] == "affine" and s["processed"] >= 10 and s["camera_motion_failures"] > 0.5 * s["processed"]:
        problems.append(f"camera motion not measurable in {s['camera_motion_failures']}/{s['processed']} frames "
                        "(too little background texture; camera_motion: none for a fixed camera)")
    if s["dropped"] and s["received"] and s["dropped"] > 0.5 * s["received"]:
        problems.append(f"{s['dropped']}/{s['received']} frames dropped")
    if problems:
        return DiagnosticStatus.WARN, "; ".join(problems)
    return DiagnosticStatus.OK, f"tracking, {s['output_rate_hz']:.1f} Hz, {s['active_tracks']} tracks"
