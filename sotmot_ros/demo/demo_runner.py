"""The demo: video file -> SOTMOT node -> result recorder (MOTChallenge results, annotated video, summary).

This module is the one definition of the demo's nodes and parameters (:func:`demo_nodes`): the launch file
``launch/demo.launch.py`` builds its actions from it, and :func:`run_processes` starts the same nodes as
plain processes where ``launch_ros`` is not available (the pip-based ROS 2 environment has no launch,
launch_ros or ros2cli)::

    source scripts/env.sh
    python -m sotmot_ros.demo.demo_runner --video data_cache/vtest.avi --output out/demo
    python -m sotmot_ros.demo.demo_runner --mode processes ...   # never use ros2 launch

Sequence (both ways): start the tracker node (lifecycle, not autostarted) and the recorder; configure
and activate the tracker through its lifecycle services; once the tracker subscribes to the image topic
and the recorder to the detections, start the video publisher. The publisher exits at the end of the
video, the recorder once no result came for ``idle_timeout`` seconds (it then writes its output folder),
and the tracker (and RViz) are stopped with SIGINT.

The tracker's and the recorder's logs are forwarded with a ``[name]`` prefix. Fast DDS gets
``config/fastdds_shm.xml`` (16 MiB shared memory) unless ``FASTDDS_DEFAULT_PROFILES_FILE`` is set;
``SOTMOT_FASTDDS_PROFILE=`` (empty) disables that.

Isolation: unless ``ROS_DOMAIN_ID`` is set, the demo runs in a ROS domain of its own (printed at start), so
two demos on one host, or a demo beside a robot's nodes, do not see each other. Set ``ROS_DOMAIN_ID`` to
watch it from another shell (``ROS_DOMAIN_ID=<id> ros2 topic hz /sotmot/detections``).

Dropped frames: the node keeps only the newest image, so on a loaded machine it skips frames rather than
lag; the recorder counts them (``summary.json``: ``frames_dropped``, ``dropped_frame_ranges``) and marks
them in ``annotated.mp4``. For a lossless run publish slower than the tracker runs: ``--rate`` (Hz) below
the FPS that summary.json reports. (Reliable QoS, ``qos_reliability: reliable`` in the params file, only
avoids losses in transport: the node still keeps the newest frame only.)

A bad input (no such file, not a video OpenCV can decode, a malformed params file) ends the demo before
anything starts, with one line on stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field

import yaml

PACKAGE = "sotmot_ros"
TRACKER_NAME = "sotmot"
FASTDDS_PROFILE = os.path.join("config", "fastdds_shm.xml")
PARAMS_FILE = os.path.join("config", "sotmot.yaml")
RVIZ_CONFIG = os.path.join("rviz", "sotmot.rviz")

_OUTPUT_LOCK = threading.Lock()


def _say(text: str, err: bool = False) -> None:
    """One line of the runner's own output (not interleaved with the forwarded node logs)."""
    stream = sys.stderr if err else sys.stdout
    with _OUTPUT_LOCK:
        stream.write(text + "\n")
        stream.flush()


@dataclass
class DemoConfig:
    video_path: str
    output_dir: str
    params_file: str = ""  # '' = the installed config/sotmot.yaml
    image_topic: str = "image_raw"
    namespace: str = ""
    rate: float = 0.0  # Hz, 0 = the video's frame rate
    log_level: str = "info"
    idle_timeout: float = 10.0  # recorder: s without new results before it finishes
    rviz: bool = False
    rviz_config: str = ""  # '' = the installed rviz/sotmot.rviz


@dataclass
class NodeSpec:
    """One node of the demo, in terms that both launch_ros and a plain subprocess understand."""

    key: str  # tracker | recorder | video | rviz
    package: str
    executable: str
    name: str
    parameters: dict = field(default_factory=dict)
    params_files: list = field(default_factory=list)
    arguments: list = field(default_factory=list)  # non-ROS command-line arguments
    lifecycle: bool = False


def share_dir(package: str = PACKAGE) -> str:
    from ament_index_python.packages import get_package_share_directory

    return get_package_share_directory(package)


def executable_path(package: str, executable: str) -> str:
    """Where ``ros2 run <package> <executable>`` finds the executable (lib/<package>/ of its prefix)."""
    from ament_index_python.packages import PackageNotFoundError, get_package_prefix

    try:
        prefix = get_package_prefix(package)
    except PackageNotFoundError:
        raise FileNotFoundError(f"package {package} not found (AMENT_PREFIX_PATH); is it installed and sourced?")
    path = os.path.join(prefix, "lib", package, executable)
    if not os.access(path, os.X_OK):
        raise FileNotFoundError(f"no executable {path} (build with scripts/setup_env.sh)")
    return path


def demo_nodes(cfg: DemoConfig) -> list[NodeSpec]:
    """The demo's nodes in start order. Relative topic names resolve in ``cfg.namespace``."""
    from .video_publisher import frame_index_topic  # (imports rclpy and cv2: only where the demo runs)

    params_file = cfg.params_file or os.path.join(share_dir(), PARAMS_FILE)
    output_dir = os.path.abspath(cfg.output_dir)
    video_path = os.path.abspath(cfg.video_path)
    nodes = [
        NodeSpec(
            key="tracker", package=PACKAGE, executable="sotmot_node", name=TRACKER_NAME, lifecycle=True,
            params_files=[params_file],
            # Brought up through its lifecycle services once the recorder runs, so no frame is missed.
            parameters={"autostart": False, "image_topics": [cfg.image_topic]},
        ),
        NodeSpec(
            key="recorder", package=PACKAGE, executable="result_recorder", name="result_recorder",
            parameters={
                "output_dir": output_dir,
                "detections_topic": f"{TRACKER_NAME}/detections",
                "tracks_topic": f"{TRACKER_NAME}/tracks",
                "frame_index_topic": frame_index_topic(cfg.image_topic),
                "video_path": video_path,
                "idle_timeout": float(cfg.idle_timeout),
            },
        ),
        NodeSpec(
            key="video", package=PACKAGE, executable="video_publisher", name="video_publisher",
            # wait for the tracker and the recorder: frames published before discovery matches would be lost
            parameters={"video_path": video_path, "topic": cfg.image_topic, "rate": float(cfg.rate),
                        "wait_for_subscribers": 1, "wait_for_index_subscribers": 1},
        ),
    ]
    if cfg.rviz:
        nodes.append(NodeSpec(
            key="rviz", package="rviz2", executable="rviz2", name="rviz2",
            arguments=["-d", cfg.rviz_config or os.path.join(share_dir(), RVIZ_CONFIG)],
        ))
    return nodes


def demo_domain_id(pid: int | None = None) -> int:
    """The demo's own ROS domain when the user set none: 150-199 (not 0, the default everyone shares)."""
    return 150 + (os.getpid() if pid is None else pid) % 50


def video_problem(path: str) -> str | None:
    """None when ``path`` is a video OpenCV decodes (its first frame), else one line saying why not."""
    if not os.path.isfile(path):
        return f"no video {path!r} (scripts/fetch_demo_video.sh fetches the demo video)"
    import cv2

    cap = cv2.VideoCapture(path)
    try:
        ok, image = cap.read() if cap.isOpened() else (False, None)
    finally:
        cap.release()
    if not ok or image is None or image.size == 0:
        return f"{path!r} is not a video OpenCV can decode (no frame could be read)"
    return None


def fastdds_profile_env(env: dict) -> dict:
    """``env`` with FASTDDS_DEFAULT_PROFILES_FILE set to our profile unless set or disabled."""
    env = dict(env)
    if env.get("FASTDDS_DEFAULT_PROFILES_FILE"):
        return env
    profile = env.get("SOTMOT_FASTDDS_PROFILE")
    if profile is None:
        profile = os.path.join(share_dir(), FASTDDS_PROFILE)
    if profile:
        env["FASTDDS_DEFAULT_PROFILES_FILE"] = profile
    return env


def _resolve(namespace: str, name: str) -> str:
    if name.startswith("/"):
        return name
    ns = "/" + namespace.strip("/") if namespace.strip("/") else ""
    return f"{ns}/{name}"


# ----------------------------------------------------------------------------- processes


def process_command(spec: NodeSpec, cfg: DemoConfig, tmpdir: str) -> list[str]:
    """The command line that runs ``spec`` as a process: its executable, name, namespace, params files and
    its own parameters (written to a params file in ``tmpdir``)."""
    cmd = [executable_path(spec.package, spec.executable), *spec.arguments, "--ros-args",
           "-r", f"__node:={spec.name}"]
    if cfg.namespace.strip("/"):
        cmd += ["-r", f"__ns:=/{cfg.namespace.strip('/')}"]
    for path in spec.params_files:
        cmd += ["--params-file", path]
    if spec.parameters:
        path = os.path.join(tmpdir, f"{spec.key}.yaml")
        with open(path, "w") as f:
            yaml.safe_dump({"/**": {"ros__parameters": spec.parameters}}, f)
        cmd += ["--params-file", path]
    return cmd + ["--log-level", cfg.log_level]


class _Process:
    """A node subprocess whose output is forwarded line by line with a ``[name]`` prefix."""

    def __init__(self, spec: NodeSpec, cfg: DemoConfig, env: dict, tmpdir: str):
        self.spec = spec
        self.cmd = cmd = process_command(spec, cfg, tmpdir)
        _say(f"[demo] starting {spec.name}: {' '.join(cmd)}")
        # Own process group: a Ctrl-C of the terminal reaches the runner only, which stops the nodes in order.
        self.proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, start_new_session=True)
        self._thread = threading.Thread(target=self._forward, daemon=True)
        self._thread.start()

    def _forward(self) -> None:
        assert self.proc.stdout is not None
        for raw in iter(self.proc.stdout.readline, b""):
            line = raw.decode(errors="replace")
            with _OUTPUT_LOCK:
                sys.stdout.write(f"[{self.spec.name}] {line}")
                sys.stdout.flush()

    @property
    def running(self) -> bool:
        return self.proc.poll() is None

    def wait(self, timeout: float | None = None) -> int | None:
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self, timeout: float = 20.0) -> int:
        """SIGINT (like Ctrl-C / launch), then SIGTERM, then SIGKILL."""
        for sig, wait in ((signal.SIGINT, timeout), (signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
            if not self.running:
                break
            if sig != signal.SIGINT:
                _say(f"[demo] {self.spec.name} did not stop; sending {sig.name}")
            self.proc.send_signal(sig)
            self.wait(wait)
        self._thread.join(timeout=2.0)
        return self.proc.returncode


class DemoError(RuntimeError):
    pass


class _Lifecycle:
    """Drives the tracker's lifecycle (lifecycle_msgs/srv/ChangeState) and watches the graph."""

    def __init__(self, namespace: str):
        import rclpy
        from lifecycle_msgs.srv import ChangeState, GetState

        self.rclpy = rclpy
        self.context = rclpy.Context()
        rclpy.init(context=self.context, args=["--ros-args", "--log-level", "warn"])
        self.node = rclpy.create_node("sotmot_demo_runner", context=self.context)
        base = _resolve(namespace, TRACKER_NAME)
        self.change = self.node.create_client(ChangeState, f"{base}/change_state")
        self.get = self.node.create_client(GetState, f"{base}/get_state")
        self.ChangeState = ChangeState

    def _call(self, client, request, timeout: float, alive) -> object:
        future = client.call_async(request)
        end = time.monotonic() + timeout
        while not future.done():
            if time.monotonic() > end:
                raise DemoError(f"{client.srv_name}: no answer in {timeout:.0f} s")
            if not alive():
                raise DemoError("the tracker node exited")
            self._spin(0.1)
        return future.result()

    def _spin(self, seconds: float) -> None:
        from rclpy.executors import SingleThreadedExecutor

        if not hasattr(self, "_executor"):
            self._executor = SingleThreadedExecutor(context=self.context)
            self._executor.add_node(self.node)
        self._executor.spin_once(timeout_sec=seconds)

    def wait_for_services(self, timeout: float, alive) -> None:
        end = time.monotonic() + timeout
        while not self.change.service_is_ready():
            if not alive():
                raise DemoError("the tracker node exited before offering its lifecycle services")
            if time.monotonic() > end:
                raise DemoError(f"no {self.change.srv_name} in {timeout:.0f} s")
            self._spin(0.2)

    def transition(self, transition_id: int, label: str, timeout: float, alive) -> None:
        from lifecycle_msgs.msg import Transition

        request = self.ChangeState.Request(transition=Transition(id=transition_id))
        t0 = time.monotonic()
        response = self._call(self.change, request, timeout, alive)
        if not response.success:
            raise DemoError(f"the tracker refused to {label} (see its log above)")
        _say(f"[demo] tracker: {label} done in {time.monotonic() - t0:.1f} s")

    def wait_for_subscribers(self, topics: list[str], timeout: float, alive) -> None:
        end = time.monotonic() + timeout
        while True:
            missing = [t for t in topics if self.node.count_subscribers(t) < 1]
            if not missing:
                return
            if not alive():
                raise DemoError("a node exited while the demo was starting")
            if time.monotonic() > end:
                raise DemoError(f"no subscriber on {missing} after {timeout:.0f} s")
            self._spin(0.1)

    def close(self) -> None:
        try:
            if hasattr(self, "_executor"):
                self._executor.shutdown()
            self.node.destroy_node()
        finally:
            self.rclpy.try_shutdown(context=self.context)


def run_processes(cfg: DemoConfig, startup_timeout: float = 300.0, finish_timeout: float = 300.0) -> int:
    """Run the demo with one subprocess per node. Returns 0 when every node ended cleanly."""
    from lifecycle_msgs.msg import Transition

    os.makedirs(cfg.output_dir, exist_ok=True)
    env = fastdds_profile_env(os.environ)
    env.setdefault("PYTHONUNBUFFERED", "1")
    env.setdefault("RCUTILS_COLORIZED_OUTPUT", "0")
    specs = {s.key: s for s in demo_nodes(cfg)}
    procs: dict[str, _Process] = {}
    interrupted = []

    def on_signal(signum, _frame):
        interrupted.append(signum)
        raise KeyboardInterrupt

    old_handlers = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    lifecycle = None
    failed = ""
    t0 = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="sotmot_demo_") as tmpdir:
        try:
            for spec in specs.values():  # all executables exist before anything starts
                executable_path(spec.package, spec.executable)
            procs["tracker"] = _Process(specs["tracker"], cfg, env, tmpdir)
            procs["recorder"] = _Process(specs["recorder"], cfg, env, tmpdir)
            if "rviz" in specs:
                procs["rviz"] = _Process(specs["rviz"], cfg, env, tmpdir)

            def alive() -> bool:
                return procs["tracker"].running and procs["recorder"].running

            lifecycle = _Lifecycle(cfg.namespace)
            lifecycle.wait_for_services(startup_timeout, alive)
            lifecycle.transition(Transition.TRANSITION_CONFIGURE, "configure", startup_timeout, alive)
            lifecycle.transition(Transition.TRANSITION_ACTIVATE, "activate", 60.0, alive)
            lifecycle.wait_for_subscribers(
                [_resolve(cfg.namespace, cfg.image_topic), _resolve(cfg.namespace, f"{TRACKER_NAME}/detections")],
                60.0, alive)
            lifecycle.close()
            lifecycle = None

            procs["video"] = _Process(specs["video"], cfg, env, tmpdir)
            while procs["video"].running:
                if not alive():
                    raise DemoError("the tracker or the recorder exited while the video was playing")
                procs["video"].wait(0.5)
            if procs["video"].proc.returncode != 0:
                raise DemoError(f"video_publisher exited with {procs['video'].proc.returncode}")
            _say(f"[demo] video finished after {time.monotonic() - t0:.1f} s; waiting for the recorder "
                 f"(finishes {cfg.idle_timeout:g} s after the last result)")
            end = time.monotonic() + finish_timeout
            while procs["recorder"].running and time.monotonic() < end:
                if not procs["tracker"].running:
                    break
                procs["recorder"].wait(0.5)
            if procs["recorder"].running:
                _say("[demo] the recorder is still running; stopping it (it writes its outputs)")
        except KeyboardInterrupt:
            failed = "interrupted"
            _say("\n[demo] interrupted: stopping the nodes")
        except (DemoError, FileNotFoundError) as exc:
            failed = str(exc)
            _say(f"[demo] ERROR: {exc}", err=True)
        finally:
            for s, h in old_handlers.items():
                signal.signal(s, h)
            if lifecycle is not None:
                lifecycle.close()
            # Reverse start order: the publisher, then the recorder (writes the outputs), then the tracker.
            codes = {}
            for key in ("video", "rviz", "recorder", "tracker"):
                if key in procs:
                    codes[key] = procs[key].stop()
    _say(f"[demo] exit codes: {codes}")
    summary_path = os.path.join(cfg.output_dir, "summary.json")
    if os.path.isfile(summary_path):
        with open(summary_path) as f:
            summary = json.load(f)
        _say("[demo] summary.json:\n" + json.dumps(summary, indent=2))
        dropped = summary.get("frames_dropped") or 0
        if dropped:
            _say(f"[demo] {dropped} of {summary.get('frames_published')} frames dropped (no tracker result; "
                 "marked in annotated.mp4): the tracker was slower than the video or inactive. For a lossless "
                 f"run use --rate below {summary.get('fps', 0.0):.1f} Hz.")
    if os.path.isdir(cfg.output_dir):
        _say(f"[demo] output folder {os.path.abspath(cfg.output_dir)}: {sorted(os.listdir(cfg.output_dir))}")
    bad = {k: c for k, c in codes.items() if k != "rviz" and c != 0}
    if failed or bad:
        if bad:
            _say(f"[demo] FAILED: non-zero exit codes {bad}", err=True)
        return 130 if failed == "interrupted" else 1
    return 0


# ----------------------------------------------------------------------------- command line


def launch_available() -> bool:
    return importlib.util.find_spec("launch_ros") is not None and shutil.which("ros2") is not None


def launch_command(cfg: DemoConfig) -> list[str]:
    cmd = ["ros2", "launch", PACKAGE, "demo.launch.py",
           f"video_path:={os.path.abspath(cfg.video_path)}", f"output_dir:={os.path.abspath(cfg.output_dir)}",
           f"image_topic:={cfg.image_topic}", f"rate:={cfg.rate}", f"log_level:={cfg.log_level}",
           f"idle_timeout:={cfg.idle_timeout}", f"rviz:={'true' if cfg.rviz else 'false'}"]
    if cfg.params_file:
        cmd.append(f"params_file:={os.path.abspath(cfg.params_file)}")
    if cfg.namespace:
        cmd.append(f"namespace:={cfg.namespace}")
    if cfg.rviz_config:
        cmd.append(f"rviz_config:={os.path.abspath(cfg.rviz_config)}")
    return cmd


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--video", required=True, help="video file to publish")
    p.add_argument("--output", required=True, help="output folder of the recorder")
    p.add_argument("--params-file", default="", help="tracker parameters (default: installed config/sotmot.yaml)")
    p.add_argument("--image-topic", default="image_raw")
    p.add_argument("--namespace", default="")
    p.add_argument("--rate", type=float, default=0.0,
                   help="publishing rate in Hz (0 = the video's); below the tracker's FPS for a run without "
                        "dropped frames")
    p.add_argument("--log-level", default="info")
    p.add_argument("--idle-timeout", type=float, default=10.0,
                   help="the recorder finishes after this many seconds without results")
    p.add_argument("--rviz", action="store_true", help="also start RViz 2 showing /sotmot/debug_image")
    p.add_argument("--rviz-config", default="")
    p.add_argument("--mode", choices=["auto", "launch", "processes"], default="auto",
                   help="auto: `ros2 launch` when launch_ros and ros2 exist, else processes")
    args = p.parse_args(argv)
    cfg = DemoConfig(video_path=args.video, output_dir=args.output, params_file=args.params_file,
                     image_topic=args.image_topic, namespace=args.namespace, rate=args.rate,
                     log_level=args.log_level, idle_timeout=args.idle_timeout, rviz=args.rviz,
                     rviz_config=args.rviz_config)
    problem = video_problem(cfg.video_path)
    if problem is None and cfg.params_file:
        from ..ros.parameters import params_file_problem

        reason = params_file_problem(cfg.params_file)
        problem = f"params file {cfg.params_file!r}: {reason}" if reason else None
    if problem is None and cfg.rviz:
        try:
            executable_path("rviz2", "rviz2")
        except FileNotFoundError:
            problem = ("--rviz needs rviz2 from a ROS 2 installation (the pip set-up has none): run without "
                       "--rviz and watch annotated.mp4 afterwards, or run rviz2 on a ROS 2 machine in the "
                       "same ROS_DOMAIN_ID")
    if problem is not None:
        _say(f"sotmot demo: {problem}", err=True)
        return 2
    if not os.environ.get("ROS_DOMAIN_ID"):
        os.environ["ROS_DOMAIN_ID"] = str(demo_domain_id())
        _say(f"[demo] ROS_DOMAIN_ID={os.environ['ROS_DOMAIN_ID']} (the demo's own domain; set ROS_DOMAIN_ID "
             "to choose one, e.g. to watch the demo from another shell)")
    mode = args.mode
    if mode == "auto":
        mode = "launch" if launch_available() else "processes"
    if mode == "launch":
        cmd = launch_command(cfg)
        _say(f"[demo] {' '.join(cmd)}")
        os.makedirs(cfg.output_dir, exist_ok=True)
        env = fastdds_profile_env(os.environ)
        os.execvpe(cmd[0], cmd, env)
    _say("[demo] launch_ros/ros2 not available: starting the nodes as processes")
    return run_processes(cfg)


if __name__ == "__main__":
    sys.exit(main())
