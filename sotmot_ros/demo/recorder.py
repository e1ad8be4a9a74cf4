"""Record the tracker's output into a folder: MOTChallenge results, an annotated video, ``summary.json``.

Subscribes to the node's ``Detection2DArray`` (and, when built, its ``TrackArray``) and to the video
publisher's ``<image topic>/frame_index`` (``std_msgs/Header``: image stamp -> 1-based frame number), so
each result row gets the frame number of the video, whatever frames the tracker skipped.

Parameters: ``output_dir`` (required), ``detections_topic`` (``/sotmot/detections``), ``tracks_topic``
(``/sotmot/tracks``; '' = not recorded), ``frame_index_topic`` (``/image_raw/frame_index``), ``video_path``
('' = no annotated video), ``idle_timeout`` (s without new results *and* without new frames after the first
result before finishing, so a tracker deactivated while the video plays does not end the recording;
0 = run until shut down), ``expected_frames`` (finish once results for this many frames arrived; 0 = off).

Outputs (written when finishing, also on Ctrl-C):
    results.txt     MOTChallenge rows ``frame,id,x,y,w,h,score,-1,-1,-1`` (no rows for dropped frames)
    annotated.mp4   the source video with the tracks drawn by ``sotmot_ros.render`` (when video_path is set);
                    frames the tracker dropped (published, no result) are marked "DROPPED" in red
    summary.json    frames published / with results / dropped, FPS, latency statistics (image stamp ->
                    reception, ms), number of IDs, ...

Dropped frames: the node keeps only the newest image (a slow tracker skips frames instead of lagging), and
an inactive tracker produces nothing; those frames have no results, so metrics computed from results.txt
count their people as misses. For a lossless run publish slower than the tracker (demo ``--rate``).
"""

from __future__ import annotations

import json
import os
import sys
import time

import numpy as np
from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy
from rclpy.time import Time
from diagnostic_msgs.msg import DiagnosticArray
from std_msgs.msg import Header
from vision_msgs.msg import Detection2DArray

from ..data.mot import write_mot_results
from ..types import TrackOutput, TrackState
from ..ros import messages
from ..ros.entry import run_node, spin_until_done


class ResultRecorder(Node):
    def __init__(self, node_name: str = "result_recorder", **kwargs):
        super().__init__(node_name, **kwargs)
        p = self.declare_parameter
        self.output_dir = p("output_dir", "").value
        det_topic = p("detections_topic", "/sotmot/detections").value
        tracks_topic = p("tracks_topic", "/sotmot/tracks").value
        index_topic = p("frame_index_topic", "/image_raw/frame_index").value
        self.video_path = p("video_path", "").value
        self.idle_timeout = float(p("idle_timeout", 5.0).value)
        self.expected_frames = int(p("expected_frames", 0).value)
        if not self.output_dir:
            raise ValueError("parameter output_dir is required")
        os.makedirs(self.output_dir, exist_ok=True)

        self.frame_of_stamp: dict[int, int] = {}
        self.results: dict[int, list] = {}  # stamp ns -> rows (see messages.detections_to_rows)
        self.latencies: list[float] = []
        self.receive_times: list[float] = []
        self.track_messages = 0
        self.track_states: dict[str, int] = {}
        self.done = False
        self._last_result = None
        self._last_index = None  # monotonic time of the last frame index (the video is still playing)
        self.node_diagnostics: dict[str, dict[str, str]] = {}  # status name -> latest key/values

        reliable = QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE, history=HistoryPolicy.KEEP_LAST)
        index_qos = QoSProfile(depth=1000, reliability=ReliabilityPolicy.RELIABLE,
                               durability=DurabilityPolicy.TRANSIENT_LOCAL, history=HistoryPolicy.KEEP_LAST)
        self.create_subscription(Detection2DArray, det_topic, self._on_detections, reliable)
        self.create_subscription(Header, index_topic, self._on_index, index_qos)
        if tracks_topic and messages.TrackArray is not None:
            self.create_subscription(messages.TrackArray, tracks_topic, self._on_tracks, reliable)
        self.create_subscription(DiagnosticArray, "/diagnostics", self._on_diagnostics, 10)
        self.create_timer(0.2, self._check_done)
        self.get_logger().info(f"recording {det_topic} (frames from {index_topic}) into {self.output_dir}")

    # ------------------------------------------------------------------ callbacks
    def _on_index(self, msg: Header) -> None:
        self._last_index = time.monotonic()
        try:
            self.frame_of_stamp[Time.from_msg(msg.stamp).nanoseconds] = int(msg.frame_id)
        except ValueError:
            self.get_logger().warning(f"frame index message with a non-numeric frame_id {msg.frame_id!r}")

    def _on_detections(self, msg: Detection2DArray) -> None:
        stamp = Time.from_msg(msg.header.stamp).nanoseconds
        now = self.get_clock().now().nanoseconds
        self.latencies.append((now - stamp) * 1e-9)
        self.receive_times.append(time.monotonic())
        self.results[stamp] = messages.detections_to_rows(msg)
        self._last_result = time.monotonic()

    def _on_diagnostics(self, msg: DiagnosticArray) -> None:
        # The tracker's own per-stage timings (decode, inference, tracking, publish) go into the summary.
        for status in msg.status:
            self.node_diagnostics[status.name] = {kv.key: kv.value for kv in status.values}

    def _on_tracks(self, msg) -> None:
        self.track_messages += 1
        for t in msg.tracks:
            self.track_states[str(t.state)] = self.track_states.get(str(t.state), 0) + 1

    def _check_done(self) -> None:
        if self.expected_frames and len(self.results) >= self.expected_frames:
            self.done = True
        if self.idle_timeout > 0 and self._last_result is not None:
            last_activity = max(self._last_result, self._last_index or 0.0)
            if time.monotonic() - last_activity > self.idle_timeout:
                self.done = True

    # ------------------------------------------------------------------ output
    def rows_by_frame(self) -> tuple[dict[int, list], int]:
        out: dict[int, list] = {}
        unmapped = 0
        for stamp, rows in self.results.items():
            frame = self.frame_of_stamp.get(stamp)
            if frame is None:
                unmapped += 1
                continue
            out[frame] = rows
        return out, unmapped

    def write_outputs(self) -> dict:
        by_frame, unmapped = self.rows_by_frame()
        mot_rows = [(f, tid, x1, y1, x2, y2, s) for f in sorted(by_frame) for tid, x1, y1, x2, y2, s, _ in by_frame[f]]
        write_mot_results(os.path.join(self.output_dir, "results.txt"), mot_rows)
        lat = np.asarray(self.latencies, dtype=np.float64) * 1e3
        span = (self.receive_times[-1] - self.receive_times[0]) if len(self.receive_times) > 1 else 0.0
        dropped = sorted(set(self.frame_of_stamp.values()) - set(by_frame))
        summary = {
            "frames_published": len(self.frame_of_stamp),
            "frames_with_results": len(by_frame),
            "frames_dropped": len(dropped),  # published, no result (tracker busy or inactive)
            "dropped_frame_ranges": _ranges(dropped),
            "results_without_frame_number": unmapped,
            "fps": (len(self.receive_times) - 1) / span if span > 0 else 0.0,
            "latency_ms": {
                "mean": float(lat.mean()) if lat.size else None,
                "p50": float(np.percentile(lat, 50)) if lat.size else None,
                "p95": float(np.percentile(lat, 95)) if lat.size else None,
                "max": float(lat.max()) if lat.size else None,
            },
            "num_ids": len({r[1] for r in mot_rows}),
            "num_boxes": len(mot_rows),
            "track_messages": self.track_messages,
            "results_file": "results.txt",
            "node_diagnostics": self.node_diagnostics,
        }
        if self.video_path:
            try:
                summary["annotated_video"] = self._write_video(by_frame, set(dropped))
            except Exception as exc:  # noqa: BLE001 - the results are still worth keeping
                self.get_logger().error(f"annotated video failed: {type(exc).__name__}: {exc}")
                summary["annotated_video"] = None
        with open(os.path.join(self.output_dir, "summary.json"), "w") as fh:
            json.dump(summary, fh, indent=2)
        self.get_logger().info(f"wrote {self.output_dir}: {summary['frames_with_results']} of "
                               f"{summary['frames_published']} published frames with results "
                               f"({summary['frames_dropped']} dropped), {summary['num_ids']} IDs, "
                               f"{summary['fps']:.1f} FPS")
        return summary

    def _write_video(self, by_frame: dict[int, list], dropped: set[int] = frozenset()) -> str | None:
        import cv2

        from ..render import draw_tracks
        from ..sources import open_source

        if not by_frame:
            return None
        first, last = min(by_frame), max(by_frame)
        if dropped:
            first, last = min(first, min(dropped)), max(last, max(dropped))
        source = open_source(self.video_path)  # the library's frame loop: sequential, no seeking
        path = os.path.join(self.output_dir, "annotated.mp4")
        writer = None
        try:
            for frame, image, _ in source.frames(first, last):
                tracks = [
                    TrackOutput(track_id=tid, box=np.array([x1, y1, x2, y2], np.float32), score=s, class_id=0,
                                state=TrackState.CONFIRMED, hits=1, age=0.0, time_since_update=0.0, matched=True)
                    for tid, x1, y1, x2, y2, s, _ in by_frame.get(frame, [])
                ]
                if writer is None:
                    h, w = image.shape[:2]
                    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*"mp4v"), source.fps, (w, h))
                drawn = draw_tracks(image, tracks)
                if frame in dropped:
                    mark_dropped(drawn, frame)
                writer.write(drawn)
        finally:
            if writer is not None:
                writer.release()
        return "annotated.mp4"


def _ranges(frames: list[int]) -> list[str]:
    """[1, 2, 3, 7] -> ["1-3", "7"]."""
    out: list[list[int]] = []
    for f in frames:
        if out and f == out[-1][1] + 1:
            out[-1][1] = f
        else:
            out.append([f, f])
    return [f"{a}-{b}" if a != b else str(a) for a, b in out]


def mark_dropped(image: np.ndarray, frame: int) -> np.ndarray:
    """Mark (in place) a frame of the annotated video that the tracker dropped: red border and label."""
    import cv2

    h, w = image.shape[:2]
    red = (0, 0, 255)
    cv2.rectangle(image, (0, 0), (w - 1, h - 1), red, max(4, w // 100))
    text = f"DROPPED: frame {frame} has no tracker result"
    scale = max(0.5, w / 1200)
    (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 2)
    cv2.rectangle(image, (8, 8), (16 + tw, 16 + th + base), (0, 0, 0), -1)
    cv2.putText(image, text, (12, 12 + th), cv2.FONT_HERSHEY_SIMPLEX, scale, red, 2, cv2.LINE_AA)
    return image


def main(args=None) -> int:
    """``ros2 run sotmot_ros result_recorder --ros-args -p output_dir:=...``: records until the results stop
    coming (``idle_timeout``) or ROS shuts down, then writes its outputs (also after Ctrl-C). Exit codes as
    every node program (:func:`sotmot_ros.ros.entry.run_node`); a missing ``output_dir`` gives 1."""
    return run_node("result_recorder", ResultRecorder, args=args, run=spin_until_done,
                    close=ResultRecorder.write_outputs, expected=(ValueError,))


if __name__ == "__main__":
    sys.exit(main())
