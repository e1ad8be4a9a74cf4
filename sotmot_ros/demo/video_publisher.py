"""Publish a video file as ``sensor_msgs/Image`` (bgr8) - the demo's and the tests' camera.

Parameters: ``video_path``, ``topic`` (default ``image_raw``), ``rate`` (Hz, 0 = the file's FPS),
``loop``, ``frame_id``, ``start_frame``/``end_frame`` (1-based, inclusive; 0 = the end), ``qos_reliability``
(``reliable`` default | ``best_effort``), ``qos_depth``, ``wait_for_subscribers`` (start publishing only
once this many subscribers of the images are matched; 0 = at once), ``wait_for_index_subscribers`` (the same
for ``<topic>/frame_index``: a recorder that matches after the last frame would map no result to a frame).

Stamps come from the node clock (simulated time with ``use_sim_time``). Each published image is preceded
by a ``std_msgs/Header`` on ``<topic>/frame_index`` with the same stamp and ``frame_id`` = the 1-based frame
number in the file: the recorder uses it to map its results back to video frames (MOTChallenge rows),
whatever frames the tracker dropped. The node exits when the video ends unless ``loop`` is set.
"""

from __future__ import annotations

import os
import sys

import cv2
import rclpy
from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import Image
from std_msgs.msg import Header

from ..ros.entry import run_node, spin_until_done
from ..ros.image_conversion import bgr_to_image_msg

FRAME_INDEX_SUFFIX = "frame_index"


def frame_index_topic(image_topic: str) -> str:
    return image_topic.rstrip("/") + "/" + FRAME_INDEX_SUFFIX


class VideoPublisher(Node):
    def __init__(self, node_name: str = "video_publisher", **kwargs):
        super().__init__(node_name, **kwargs)
        p = self.declare_parameter
        self.video_path = p("video_path", "").value
        topic = p("topic", "image_raw").value
        rate = float(p("rate", 0.0).value)
        self.loop = bool(p("loop", False).value)
        self.frame_id = p("frame_id", "camera").value
        self.start_frame = max(int(p("start_frame", 1).value), 1)
        self.end_frame = int(p("end_frame", 0).value)
        reliability = p("qos_reliability", "reliable").value
        depth = int(p("qos_depth", 10).value)
        self.wait_for_subscribers = int(p("wait_for_subscribers", 0).value)
        self.wait_for_index_subscribers = int(p("wait_for_index_subscribers", 0).value)
        self.done = False
        self.published = 0

        if not self.video_path or not os.path.isfile(self.video_path):
            raise FileNotFoundError(f"video_path {self.video_path!r} is not a file")
        self.cap = cv2.VideoCapture(self.video_path)
        if not self.cap.isOpened():
            raise RuntimeError(f"OpenCV cannot open the video {self.video_path!r}")
        fps = self.cap.get(cv2.CAP_PROP_FPS) or 0.0
        self.fps = rate if rate > 0 else (fps if fps > 0 else 25.0)
        rel = ReliabilityPolicy.BEST_EFFORT if reliability == "best_effort" else ReliabilityPolicy.RELIABLE
        qos = QoSProfile(depth=depth, reliability=rel, history=HistoryPolicy.KEEP_LAST)
        index_qos = QoSProfile(depth=1000, reliability=ReliabilityPolicy.RELIABLE,
                               durability=DurabilityPolicy.TRANSIENT_LOCAL, history=HistoryPolicy.KEEP_LAST)
        self.pub = self.create_publisher(Image, topic, qos)
        self.index_pub = self.create_publisher(Header, frame_index_topic(topic), index_qos)
        self._seek(self.start_frame)
        self.timer = self.create_timer(1.0 / self.fps, self._tick)
        self.get_logger().info(
            f"publishing {self.video_path} on {self.pub.topic_name} at {self.fps:.2f} Hz "
            f"(frames {self.start_frame}..{self.end_frame or 'end'}, loop={self.loop}, {reliability})"
        )

    def _seek(self, frame: int) -> None:
        self.cap.set(cv2.CAP_PROP_POS_FRAMES, frame - 1)
        self.next_frame = frame

    def _tick(self) -> None:
        if self.done:
            return
        if self.published == 0 and (self.pub.get_subscription_count() < self.wait_for_subscribers
                                    or self.index_pub.get_subscription_count() < self.wait_for_index_subscribers):
            return  # the first frames would be lost before discovery completes
        past_end = self.end_frame > 0 and self.next_frame > self.end_frame
        ok, image = (False, None) if past_end else self.cap.read()
        if not ok:
            if self.loop and self.published:
                self._seek(self.start_frame)
                ok, image = self.cap.read()
            if not ok:
                self.get_logger().info(f"video finished after {self.published} published frames")
                self.done = True
                self.timer.cancel()
                return
        header = Header(stamp=self.get_clock().now().to_msg(), frame_id=self.frame_id)
        self.index_pub.publish(Header(stamp=header.stamp, frame_id=str(self.next_frame)))
        self.pub.publish(bgr_to_image_msg(image, header))
        self.published += 1
        self.next_frame += 1


def _play(node: VideoPublisher) -> None:
    spin_until_done(node)
    for _ in range(5):  # give subscribers a moment to take the last reliable messages
        rclpy.spin_once(node, timeout_sec=0.1)


def main(args=None) -> int:
    """``ros2 run sotmot_ros video_publisher --ros-args -p video_path:=...``: publishes the video, then exits
    (unless ``loop``). Exit codes as every node program (:func:`sotmot_ros.ros.entry.run_node`); a video
    that is missing or OpenCV cannot open gives 1 with one line."""
    return run_node("video_publisher", VideoPublisher, args=args, run=_play, close=lambda node: node.cap.release(),
                    expected=(FileNotFoundError, RuntimeError))


if __name__ == "__main__":
    sys.exit(main())
