"""The ROS 2 build: generated interfaces, vision_msgs definitions, executables, launch files, Fast DDS profile.

Run in the built environment (``make test``, or ``source scripts/env.sh && pytest test/``). Tests that need
the build skip outside it (no ``SOTMOT_ROOT`` from scripts/env.sh) and fail inside it when something is
missing. The comparison with upstream vision_msgs 4.1.1 reads ``../shared/reference/vision_msgs-4.1.1``
(or ``$SOTMOT_SHARED_DIR/reference/...``) and skips when that folder is absent.
"""

from __future__ import annotations

import ast
import dataclasses
import importlib
import importlib.util
import os
import py_compile
import random
import re
import subprocess
import sys
import textwrap
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
OUR_VISION_MSGS = REPO / "ros_deps" / "vision_msgs" / "msg"
OUR_MSGS = REPO / "msg"
LAUNCH_DIR = REPO / "launch"
FASTDDS_PROFILE = REPO / "config" / "fastdds_shm.xml"
SEGMENT_BYTES = 16 * 1024 * 1024
EXECUTABLES = {
    "sotmot_node": "sotmot_ros.ros.node",
    "video_publisher": "sotmot_ros.demo.video_publisher",
    "result_recorder": "sotmot_ros.demo.recorder",
}
VISION_MSGS_NAMES = sorted([
    "BoundingBox2D", "BoundingBox2DArray", "BoundingBox3D", "BoundingBox3DArray", "Classification",
    "Detection2D", "Detection2DArray", "Detection3D", "Detection3DArray", "LabelInfo", "ObjectHypothesis",
    "ObjectHypothesisWithPose", "Point2D", "Pose2D", "VisionClass", "VisionInfo",
])


def reference_dir() -> Path | None:
    bases = [Path(os.environ["SOTMOT_SHARED_DIR"])] if os.environ.get("SOTMOT_SHARED_DIR") else []
    bases.append(REPO.parent / "shared")
    for base in bases:
        ref = base / "reference" / "vision_msgs-4.1.1"
        if ref.is_dir():
            return ref
    return None


def in_built_env() -> bool:
    return bool(os.environ.get("SOTMOT_ROOT"))


needs_build = pytest.mark.skipif(not in_built_env(),
                                 reason="not in the built environment (scripts/setup_env.sh; source scripts/env.sh)")


# ----------------------------------------------------------------------------- .msg parsing

PRIMITIVES = {"bool", "byte", "char", "float32", "float64", "int8", "uint8", "int16", "uint16", "int32",
              "uint32", "int64", "uint64", "string", "wstring"}
# rosidl's names in get_fields_and_field_types()
IDL_NAMES = {"float32": "float", "float64": "double", "byte": "octet", "char": "uint8"}


def _base_type(type_: str, package: str) -> str:
    """Package-qualified element type: Header -> std_msgs/Header, Pose2D -> vision_msgs/Pose2D."""
    base = re.sub(r"\[.*\]$", "", type_)
    if base in PRIMITIVES or re.match(r"^w?string<=\d+$", base):
        return base
    if "/" in base:
        pkg, name = base.split("/", 1)
        return f"{pkg}/{name.split('/')[-1]}"
    if base == "Header":
        return "std_msgs/Header"
    return f"{package}/{base}"


def parse_msg(path: Path, package: str) -> tuple[list, list]:
    """(fields, constants) of a .msg file: fields as (type, name, default), constants as (type, name, value)."""
    fields, constants = [], []
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        type_, rest = line.split(None, 1)
        if "=" in rest.split("#", 1)[0] and not rest.lstrip().startswith("#"):
            name, value = rest.split("=", 1)
            if type_ != "string":
                value = value.split("#", 1)[0]
            constants.append((type_, name.strip(), value.strip()))
            continue
        rest = rest.split("#", 1)[0].strip()
        parts = rest.split(None, 1)
        array = re.search(r"\[.*\]$", type_)
        type_q = _base_type(type_, package) + (array.group(0) if array else "")
        fields.append((type_q, parts[0], parts[1].strip() if len(parts) > 1 else None))
    return fields, constants


def idl_type(type_q: str) -> str:
    """The get_fields_and_field_types() spelling of a package-qualified .msg type."""
    m = re.match(r"^(.*?)\[(<=)?(\d*)\]$", type_q)
    base = m.group(1) if m else type_q
    base = IDL_NAMES.get(base, base)
    if not m:
        return base
    if m.group(3) and not m.group(2):
        return f"{base}[{m.group(3)}]"
    if m.group(3):
        return f"sequence<{base}, {m.group(3)}>"
    return f"sequence<{base}>"


# ----------------------------------------------------------------------------- definitions


def test_our_vision_msgs_set_is_complete():
    assert sorted(p.stem for p in OUR_VISION_MSGS.glob("*.msg")) == VISION_MSGS_NAMES


def test_vision_msgs_definitions_match_upstream_4_1_1():
    ref = reference_dir()
    if ref is None:
        pytest.skip("reference definitions absent (../shared/reference/vision_msgs-4.1.1)")
    assert sorted(p.stem for p in ref.glob("*.msg")) == VISION_MSGS_NAMES
    for name in VISION_MSGS_NAMES:
        ours = parse_msg(OUR_VISION_MSGS / f"{name}.msg", "vision_msgs")
        theirs = parse_msg(ref / f"{name}.msg", "vision_msgs")
        assert ours == theirs, f"{name}.msg differs from vision_msgs 4.1.1"


def test_track_definitions():
    fields, constants = parse_msg(OUR_MSGS / "Track.msg", "sotmot_ros")
    assert [(t, n) for t, n, _ in fields] == [
        ("std_msgs/Header", "header"), ("uint64", "track_id"), ("string", "camera"), ("string", "class_id"),
        ("float32", "score"), ("float32", "sot_response"), ("vision_msgs/BoundingBox2D", "bbox"),
        ("float32", "velocity_x"), ("float32", "velocity_y"), ("uint8", "state"), ("uint32", "hits"),
        ("float64", "age"), ("float64", "time_since_update"),
    ]
    assert constants == [("uint8", "TENTATIVE", "0"), ("uint8", "CONFIRMED", "1"), ("uint8", "LOST", "2")]
    fields, constants = parse_msg(OUR_MSGS / "TrackArray.msg", "sotmot_ros")
    assert [(t, n) for t, n, _ in fields] == [("std_msgs/Header", "header"), ("sotmot_ros/Track[]", "tracks")]
    assert constants == []


@needs_build  # catkin_pkg comes with colcon-ros, which the set-up installs
@pytest.mark.parametrize("folder", [".", "ros_deps/vision_msgs"])
def test_package_xml_valid(folder):
    from catkin_pkg.package import parse_package

    pkg = parse_package(str(REPO / folder))
    pkg.validate()
    assert pkg.package_format == 3 and pkg.get_build_type() == "ament_cmake"
    assert [g.name for g in pkg.member_of_groups] == ["rosidl_interface_packages"]
    assert "rosidl_default_generators" in [d.name for d in pkg.buildtool_depends]
    if folder == ".":
        assert pkg.name == "sotmot_ros" and pkg.licenses == ["Apache-2.0"]
        run = {d.name for d in pkg.exec_depends}
        assert run >= {"rclpy", "std_msgs", "sensor_msgs", "vision_msgs", "diagnostic_msgs", "lifecycle_msgs",
                       "builtin_interfaces", "cv_bridge", "launch", "launch_ros", "rviz2"}
    else:
        assert pkg.name == "vision_msgs" and pkg.version == "4.1.1"


# ----------------------------------------------------------------------------- the build


def _import_msgs(module: str):
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        import sotmot_ros

        hint = ""
        if module.startswith("sotmot_ros.") and str(REPO / "sotmot_ros") in list(sotmot_ros.__path__)[:1]:
            hint = (" -- the source tree's sotmot_ros/ shadows the installed one (repository root first on "
                    "sys.path?); see docs/BUILD_NOTES.md")
        pytest.fail(f"cannot import {module}: {exc}{hint}")


@needs_build
def test_generated_track_messages():
    msg = _import_msgs("sotmot_ros.msg")
    expected = {t: idl_type(ty) for ty, t, _ in parse_msg(OUR_MSGS / "Track.msg", "sotmot_ros")[0]}
    assert msg.Track.get_fields_and_field_types() == expected
    assert (msg.Track.TENTATIVE, msg.Track.CONFIRMED, msg.Track.LOST) == (0, 1, 2)
    assert msg.TrackArray.get_fields_and_field_types() == {"header": "std_msgs/Header",
                                                           "tracks": "sequence<sotmot_ros/Track>"}
    track = msg.Track(track_id=7, class_id="person", state=msg.Track.CONFIRMED)
    track.bbox.center.position.x = 10.5
    track.bbox.size_x = 4.0
    array = msg.TrackArray(tracks=[track])
    assert array.tracks[0].track_id == 7 and array.tracks[0].bbox.center.position.x == 10.5


@needs_build
def test_vision_msgs_importable_and_matches_definitions():
    vm = _import_msgs("vision_msgs.msg")
    assert hasattr(vm, "Detection2DArray")
    ref = reference_dir()
    for name in VISION_MSGS_NAMES:
        cls = getattr(vm, name)
        defs = [parse_msg(OUR_VISION_MSGS / f"{name}.msg", "vision_msgs")]
        if ref is not None:
            defs.append(parse_msg(ref / f"{name}.msg", "vision_msgs"))
        for fields, constants in defs:
            assert cls.get_fields_and_field_types() == {n: idl_type(t) for t, n, _ in fields}, name
            for _, cname, value in constants:
                assert str(getattr(cls, cname)) == value
    det = vm.Detection2D(id="3")
    det.bbox.center.position.x = 1.0
    det.results.append(vm.ObjectHypothesisWithPose())
    det.results[0].hypothesis.class_id = "person"
    assert vm.Detection2DArray(detections=[det]).detections[0].results[0].hypothesis.class_id == "person"


@needs_build
def test_installed_executables():
    from ament_index_python.packages import get_package_prefix, get_package_share_directory

    prefix = get_package_prefix("sotmot_ros")
    for exe, module in EXECUTABLES.items():
        path = Path(prefix) / "lib" / "sotmot_ros" / exe
        assert os.access(path, os.X_OK), f"{path} missing or not executable"
        text = path.read_text()
        interpreter = text.splitlines()[0][2:].strip().split()
        assert os.access(interpreter[0], os.X_OK), f"{path}: interpreter {interpreter} not executable"
        assert f"from {module} import main" in text
    share = Path(get_package_share_directory("sotmot_ros"))
    for rel in ("launch/sotmot.launch.py", "launch/demo.launch.py", "rviz/sotmot.rviz", "config/fastdds_shm.xml"):
        assert (share / rel).is_file(), f"{rel} not installed"


@needs_build
def test_entry_point_runs():
    """An installed executable starts with its shebang's python and reaches the module's main()."""
    from ament_index_python.packages import get_package_prefix

    exe = Path(get_package_prefix("sotmot_ros")) / "lib" / "sotmot_ros" / "video_publisher"
    env = dict(os.environ, ROS_DOMAIN_ID=str(random.randint(150, 200)))
    proc = subprocess.run([str(exe), "--ros-args", "-p", "video_path:=/nonexistent/video.avi"], env=env,
                          cwd="/", capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "is not a file" in proc.stdout + proc.stderr


PUBLISHER = textwrap.dedent("""
    import sys, time
    import rclpy
    from sotmot_ros.msg import Track, TrackArray
    from vision_msgs.msg import Detection2D, Detection2DArray
    rclpy.init()
    node = rclpy.create_node("build_test_pub")
    pub = node.create_publisher(TrackArray, "build_test_tracks", 10)
    pub2 = node.create_publisher(Detection2DArray, "build_test_dets", 10)
    end = time.time() + 30
    i = 0
    while time.time() < end:
        i += 1
        t = Track(track_id=i, class_id="person", state=Track.CONFIRMED)
        t.bbox.size_x = 2.5
        pub.publish(TrackArray(tracks=[t]))
        pub2.publish(Detection2DArray(detections=[Detection2D(id=str(i))]))
        rclpy.spin_once(node, timeout_sec=0.05)
""")


@needs_build
def test_pub_sub_between_processes():
    """Our generated types and vision_msgs travel between two processes over Fast DDS."""
    import rclpy
    from rclpy.context import Context

    from sotmot_ros.msg import TrackArray
    from vision_msgs.msg import Detection2DArray

    domain = random.randint(150, 200)
    env = dict(os.environ, ROS_DOMAIN_ID=str(domain))
    proc = subprocess.Popen([sys.executable, "-c", PUBLISHER], env=env, cwd="/",
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    ctx = Context()
    rclpy.init(context=ctx, domain_id=domain)
    try:
        node = rclpy.create_node("build_test_sub", context=ctx)
        tracks, dets = [], []
        node.create_subscription(TrackArray, "build_test_tracks", tracks.append, 10)
        node.create_subscription(Detection2DArray, "build_test_dets", dets.append, 10)
        from rclpy.executors import SingleThreadedExecutor

        ex = SingleThreadedExecutor(context=ctx)
        ex.add_node(node)
        end = time.time() + 25
        while time.time() < end and (len(tracks) < 3 or len(dets) < 3) and proc.poll() is None:
            ex.spin_once(timeout_sec=0.1)
        ex.shutdown()
        node.destroy_node()
    finally:
        rclpy.try_shutdown(context=ctx)
        proc.kill()
        out = proc.communicate()[0]
    assert len(tracks) >= 3 and len(dets) >= 3, f"received {len(tracks)} tracks, {len(dets)} detections\n{out}"
    assert tracks[-1].tracks[0].class_id == "person" and tracks[-1].tracks[0].bbox.size_x == 2.5
    assert dets[-1].detections[0].id.isdigit()


# ----------------------------------------------------------------------------- launch files


@pytest.mark.parametrize("name", ["sotmot.launch.py", "demo.launch.py"])
def test_launch_files_compile(name, tmp_path):
    py_compile.compile(str(LAUNCH_DIR / name), cfile=str(tmp_path / f"{name}c"), doraise=True)


# Without `launch` / `launch_ros` (not on PyPI) a launch file cannot even be imported: the checks below read
# its syntax tree, for what holds it together with the rest of the package; the launch descriptions
# themselves are built and checked further down where launch_ros exists.


def _calls(tree: ast.AST, *names: str) -> list[ast.Call]:
    """The calls of functions or classes called ``names`` (plain or attribute names)."""
    def name(func):
        return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None

    return [n for n in ast.walk(tree) if isinstance(n, ast.Call) and name(n.func) in names]


def _first_strings(calls: list[ast.Call]) -> set[str]:
    return {c.args[0].value for c in calls if c.args and isinstance(c.args[0], ast.Constant)}


def _launch_tree(name: str) -> ast.Module:
    return ast.parse((LAUNCH_DIR / name).read_text(), name)


@pytest.mark.parametrize("name", ["sotmot.launch.py", "demo.launch.py"])
def test_launch_files_use_only_declared_arguments(name):
    tree = _launch_tree(name)
    declared = _first_strings(_calls(tree, "DeclareLaunchArgument"))
    used = _first_strings(_calls(tree, "LaunchConfiguration", "cfg_value"))
    assert used and declared, name
    assert used <= declared, f"{name} uses undeclared launch arguments {sorted(used - declared)}"


def test_demo_launch_file_takes_every_argument_of_the_demo_runner():
    """`make demo` in launch mode runs launch_command(): ros2 launch would silently ignore an argument the
    launch file does not declare, and the launch file must fill in every DemoConfig field."""
    from sotmot_ros.demo import demo_runner

    tree = _launch_tree("demo.launch.py")
    declared = _first_strings(_calls(tree, "DeclareLaunchArgument"))
    cfg = demo_runner.DemoConfig(video_path="v.avi", output_dir="o", params_file="p.yaml", namespace="ns",
                                 rviz=True, rviz_config="r.rviz")
    cmd = demo_runner.launch_command(cfg)
    assert cmd[:4] == ["ros2", "launch", demo_runner.PACKAGE, "demo.launch.py"]
    passed = {arg.split(":=", 1)[0] for arg in cmd[4:]}
    assert passed <= declared, f"demo.launch.py does not declare {sorted(passed - declared)}"
    (config_call,) = _calls(tree, "DemoConfig")
    fields = {f.name for f in dataclasses.fields(demo_runner.DemoConfig)}
    assert {k.arg for k in config_call.keywords} == fields


@needs_build
def test_sotmot_launch_file_starts_the_node_with_its_own_parameters():
    from sotmot_ros.ros import parameters

    tree = _launch_tree("sotmot.launch.py")
    (node,) = _calls(tree, "LifecycleNode")
    kw = {k.arg: k.value for k in node.keywords}
    assert ast.literal_eval(kw["package"]) == "sotmot_ros"
    assert EXECUTABLES[ast.literal_eval(kw["executable"])] == "sotmot_ros.ros.node"
    given = {key.value for d in ast.walk(kw["parameters"]) if isinstance(d, ast.Dict) for key in d.keys}
    assert "image_topics" in given
    assert given <= set(parameters.SPEC_BY_NAME) | {"use_sim_time"}, given


def _load_launch(name: str):
    spec = importlib.util.spec_from_file_location(name.replace(".", "_"), LAUNCH_DIR / name)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _launch_context(args: dict):
    from launch import LaunchContext
    from launch.actions import DeclareLaunchArgument

    context = LaunchContext()
    for key, value in args.items():
        context.launch_configurations[key] = value
    return context, DeclareLaunchArgument


def _text(context, value) -> str:
    from launch.utilities import perform_substitutions

    return value if isinstance(value, str) else perform_substitutions(context, value)


needs_launch = pytest.mark.skipif(importlib.util.find_spec("launch_ros") is None,
                                  reason="launch_ros not installed (not on PyPI; real ROS 2 installs have it)")


@needs_build
@needs_launch
def test_sotmot_launch_description():
    from launch import LaunchDescription
    from launch.actions import DeclareLaunchArgument
    from launch_ros.actions import LifecycleNode

    ld = _load_launch("sotmot.launch.py").generate_launch_description()
    assert isinstance(ld, LaunchDescription)
    args = {e.name: e for e in ld.entities if isinstance(e, DeclareLaunchArgument)}
    assert set(args) >= {"params_file", "namespace", "image_topic", "use_sim_time", "autostart", "log_level"}
    nodes = [e for e in ld.entities if isinstance(e, LifecycleNode)]
    assert len(nodes) == 1
    context, _ = _launch_context({})
    for arg in args.values():
        arg.execute(context)
    assert _text(context, nodes[0].node_package) == "sotmot_ros"
    assert _text(context, nodes[0].node_executable) == "sotmot_node"
    assert context.launch_configurations["params_file"].endswith("config/sotmot.yaml")
    assert context.launch_configurations["fastdds_profile"]


@needs_build
@needs_launch
def test_demo_launch_description(tmp_path):
    from launch import LaunchDescription
    from launch.actions import DeclareLaunchArgument, OpaqueFunction, RegisterEventHandler
    from launch_ros.actions import LifecycleNode, Node

    ld = _load_launch("demo.launch.py").generate_launch_description()
    assert isinstance(ld, LaunchDescription)
    args = {e.name: e for e in ld.entities if isinstance(e, DeclareLaunchArgument)}
    assert set(args) >= {"video_path", "output_dir", "params_file", "image_topic", "rviz", "rviz_config"}
    context, _ = _launch_context({"video_path": str(tmp_path / "v.avi"), "output_dir": str(tmp_path / "out"),
                                  "rviz": "true"})
    for arg in args.values():
        arg.execute(context)
    (opaque,) = [e for e in ld.entities if isinstance(e, OpaqueFunction)]
    entities = opaque.execute(context)
    nodes = [e for e in entities if isinstance(e, Node)]
    for handler in (e for e in entities if isinstance(e, RegisterEventHandler)):
        nodes += [e for e in (getattr(handler.event_handler, "entities", None) or []) if isinstance(e, Node)]
    found = {_text(context, n.node_executable): n for n in nodes}
    assert set(found) == {"sotmot_node", "result_recorder", "video_publisher", "rviz2"}
    assert isinstance(found["sotmot_node"], LifecycleNode)


@needs_build
def test_demo_nodes_take_the_demos_parameters_and_connect(tmp_path):
    """Each node of the demo, made with the command line the demo runs it with, declares every parameter
    the demo gives it and holds the demo's value (ROS would silently ignore a name the node does not
    declare); the tracker configures with them; and the topics connect: video -> tracker and recorder,
    tracker -> recorder."""
    import cv2
    import numpy as np
    import rclpy

    import ros_helpers as h
    from sotmot_ros.demo import demo_runner
    from sotmot_ros.demo.recorder import ResultRecorder
    from sotmot_ros.demo.video_publisher import VideoPublisher
    from sotmot_ros.ros import parameters
    from sotmot_ros.ros.node import SUCCESS, SotmotNode

    video = tmp_path / "v.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (64, 48))
    for _ in range(3):
        writer.write(np.zeros((48, 64, 3), np.uint8))
    writer.release()
    cfg = demo_runner.DemoConfig(video_path=str(video), output_dir=str(tmp_path / "out"),
                                 image_topic="camera/image_raw")  # params_file: the installed config/sotmot.yaml
    make = {
        "tracker": lambda ctx: SotmotNode(context=ctx, detector_factory=lambda **kw: h.FakeDetector(**kw)),
        "recorder": lambda ctx: ResultRecorder(context=ctx),
        "video": lambda ctx: VideoPublisher(context=ctx),
    }
    h.isolate_domain()
    nodes, contexts = {}, []
    try:
        for spec in demo_runner.demo_nodes(cfg):
            cmd = demo_runner.process_command(spec, cfg, str(tmp_path))
            ctx = rclpy.Context()
            rclpy.init(context=ctx, args=cmd)  # rcl parses the demo's arguments, params files included
            contexts.append(ctx)
            node = nodes[spec.key] = make[spec.key](ctx)
            # the node made here is the one the demo's executable runs
            assert (spec.package, type(node).__module__) == ("sotmot_ros", EXECUTABLES[spec.executable])
            assert node.get_name() == spec.name
            for name, value in spec.parameters.items():
                assert node.has_parameter(name), f"{spec.executable} declares no parameter {name!r}"
                assert node.get_parameter(name).value == value, (spec.key, name)
        assert set(nodes) == {"tracker", "recorder", "video"}
        tracker, recorder, video_pub = nodes["tracker"], nodes["recorder"], nodes["video"]
        assert parameters.unknown_overrides(tracker) == []  # neither the demo's values nor the params file's
        assert tracker.trigger_configure() == SUCCESS  # every value valid

        (cam,) = tracker.cameras
        assert video_pub.pub.topic_name == tracker.resolve_topic_name(cam.topic) == "/camera/image_raw"
        recorder_topics = {sub.topic_name for sub in recorder.subscriptions}
        assert video_pub.index_pub.topic_name in recorder_topics
        assert cam.pub_detections.topic_name in recorder_topics and cam.pub_tracks.topic_name in recorder_topics
        assert tracker.trigger_cleanup() == SUCCESS
    finally:
        for node in nodes.values():
            node.destroy_node()
        for ctx in contexts:
            rclpy.try_shutdown(context=ctx)


# ----------------------------------------------------------------------------- Fast DDS profile

NS = {"dds": "http://www.eprosima.com"}


def test_fastdds_profile_xml():
    root = ET.parse(FASTDDS_PROFILE).getroot()
    assert root.tag == "{http://www.eprosima.com}dds"
    transports = {d.findtext("dds:transport_id", namespaces=NS): d
                  for d in root.iterfind("dds:profiles/dds:transport_descriptors/dds:transport_descriptor", NS)}
    shm = [d for d in transports.values() if d.findtext("dds:type", namespaces=NS) == "SHM"]
    assert len(shm) == 1 and int(shm[0].findtext("dds:segment_size", namespaces=NS)) == SEGMENT_BYTES
    (participant,) = root.iterfind("dds:profiles/dds:participant", NS)
    assert participant.get("is_default_profile") == "true"
    used = [t.text for t in participant.iterfind("dds:rtps/dds:userTransports/dds:transport_id", NS)]
    assert shm[0].findtext("dds:transport_id", namespaces=NS) in used
    assert any(transports[t].findtext("dds:type", namespaces=NS) == "UDPv4" for t in used), "no UDP for other hosts"
    assert participant.findtext("dds:rtps/dds:useBuiltinTransports", namespaces=NS) == "false"


SEGMENT_PROBE = textwrap.dedent("""
    import glob, os, time
    before = set(glob.glob("/dev/shm/fast*"))
    import rclpy
    rclpy.init()
    node = rclpy.create_node("build_test_shm_probe")
    time.sleep(0.5)
    sizes = [os.path.getsize(f) for f in set(glob.glob("/dev/shm/fast*")) - before]
    print("SIZES", max(sizes) if sizes else 0)
    rclpy.shutdown()
""")


@needs_build
@pytest.mark.skipif(not os.path.isdir("/dev/shm"), reason="no /dev/shm")
def test_fastdds_loads_profile_with_16mib_segment():
    """Fast DDS parses the profile without errors and creates its shared-memory segment with 16 MiB."""
    env = dict(os.environ, FASTDDS_DEFAULT_PROFILES_FILE=str(FASTDDS_PROFILE), RMW_IMPLEMENTATION="rmw_fastrtps_cpp",
               ROS_DOMAIN_ID=str(random.randint(150, 200)))
    proc = subprocess.run([sys.executable, "-c", SEGMENT_PROBE], env=env, cwd="/", capture_output=True, text=True,
                          timeout=120)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    assert "XMLPARSER" not in out and "Error" not in out, out
    size = int(re.search(r"SIZES (\d+)", out).group(1))
    assert size >= SEGMENT_BYTES, f"largest new shared-memory segment {size} bytes\n{out}"
