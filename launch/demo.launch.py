"""The demo: a video file played as a camera -> SOTMOT tracker -> result recorder (+ RViz 2 optionally).

    ros2 launch sotmot_ros demo.launch.py video_path:=/abs/vtest.avi output_dir:=/abs/out/demo [rviz:=true]

The nodes and their parameters come from sotmot_ros.demo.demo_runner.demo_nodes(), which also runs the same
demo without launch_ros (``python -m sotmot_ros.demo.demo_runner``; ``make demo`` picks either).

Sequence: the tracker (lifecycle node) and the recorder start; the tracker is configured and activated;
once it is active the video publisher starts. The publisher exits at the end of the video; the recorder
writes results.txt (MOTChallenge), annotated.mp4 and summary.json into output_dir once no result came for
idle_timeout seconds and exits, which shuts the launch down (the tracker gets SIGINT).

Lifecycle: once started, the tracker can be driven by hand (`ros2 lifecycle set /sotmot deactivate`,
`activate`, `cleanup`, `configure`, in any order): the launch only configures and activates it the first
time and starts the video once. Frames published while it is inactive have no results: the recorder counts
them as dropped (summary.json) and marks them in annotated.mp4; it finishes only after idle_timeout seconds
without results and without frames.

`ros2 launch` runs in your ROS_DOMAIN_ID (launch's own lifecycle client must share it with the nodes);
`python -m sotmot_ros.demo.demo_runner` / `make demo` pick a domain of their own when ROS_DOMAIN_ID is unset.

Arguments: video_path (required), output_dir (default ./sotmot_demo), params_file (default the installed
config/sotmot.yaml), image_topic (image_raw), namespace (''), rate (0 = the video's frame rate),
idle_timeout (10 s), log_level (info), rviz (false), rviz_config (default the installed rviz/sotmot.rviz),
fastdds_profile (default $FASTDDS_DEFAULT_PROFILES_FILE, else the installed config/fastdds_shm.xml; '' = none).
"""

import os

from launch import LaunchDescription
from launch.actions import (DeclareLaunchArgument, EmitEvent, LogInfo, OpaqueFunction, RegisterEventHandler,
                            SetEnvironmentVariable)
from launch.conditions import IfCondition
from launch.event_handlers import OnProcessExit
from launch.events import Shutdown, matches_action
from launch.substitutions import EnvironmentVariable, LaunchConfiguration, PathJoinSubstitution, PythonExpression
from launch_ros.actions import LifecycleNode, Node
from launch_ros.event_handlers import OnStateTransition
from launch_ros.events.lifecycle import ChangeState
from launch_ros.substitutions import FindPackageShare
from lifecycle_msgs.msg import Transition

from sotmot_ros.demo.demo_runner import DemoConfig, demo_nodes


def _truthy(value: str) -> bool:
    return value.strip().lower() in ("1", "true", "yes", "on")


def _shutdown(reason: str):
    """An on_exit callback that shuts the launch down once (a second Shutdown event raises in launch_ros)."""

    def on_exit(_event, context):
        if context.is_shutdown:
            return None
        return [EmitEvent(event=Shutdown(reason=reason))]

    return on_exit


def _launch_setup(context, *args, **kwargs):
    cfg_value = lambda name: LaunchConfiguration(name).perform(context)  # noqa: E731
    if not cfg_value("video_path"):
        raise RuntimeError("demo.launch.py needs video_path:=/path/to/video (scripts/fetch_demo_video.sh)")
    cfg = DemoConfig(
        video_path=cfg_value("video_path"),
        output_dir=cfg_value("output_dir"),
        params_file=cfg_value("params_file"),
        image_topic=cfg_value("image_topic"),
        namespace=cfg_value("namespace"),
        rate=float(cfg_value("rate")),
        log_level=cfg_value("log_level"),
        idle_timeout=float(cfg_value("idle_timeout")),
        rviz=_truthy(cfg_value("rviz")),
        rviz_config=cfg_value("rviz_config"),
    )
    os.makedirs(os.path.abspath(cfg.output_dir), exist_ok=True)
    ros_args = ["--ros-args", "--log-level", cfg.log_level]
    actions = {}
    for spec in demo_nodes(cfg):
        kind = LifecycleNode if spec.lifecycle else Node
        actions[spec.key] = kind(
            package=spec.package,
            executable=spec.executable,
            name=spec.name,
            namespace=cfg.namespace,
            output="screen",
            emulate_tty=True,
            parameters=[*spec.params_files, spec.parameters] if (spec.params_files or spec.parameters) else None,
            arguments=[*spec.arguments, *ros_args],
        )
    tracker, recorder, video = actions["tracker"], actions["recorder"], actions["video"]

    def change_state(transition_id):
        return EmitEvent(event=ChangeState(lifecycle_node_matcher=matches_action(tracker),
                                           transition_id=transition_id))

    entities = [
        tracker,
        recorder,
        # configure -> (inactive) activate -> (active) start the video. Only the first time (handle_once):
        # a later `ros2 lifecycle set` deactivate/activate or cleanup/configure by the user must neither
        # re-run the video action (launch refuses an action "executed more than once" and the demo would
        # shut down) nor activate the node behind the user's back. Humble, Jazzy, Kilted: EventHandler
        # takes handle_once and OnStateTransition passes it on.
        RegisterEventHandler(OnStateTransition(
            target_lifecycle_node=tracker, start_state="configuring", goal_state="inactive", handle_once=True,
            entities=[LogInfo(msg="sotmot configured; activating"), change_state(Transition.TRANSITION_ACTIVATE)])),
        RegisterEventHandler(OnStateTransition(
            target_lifecycle_node=tracker, start_state="activating", goal_state="active", handle_once=True,
            entities=[LogInfo(msg="sotmot active; starting the video"), video])),
        RegisterEventHandler(OnProcessExit(
            target_action=video, on_exit=[LogInfo(msg="video finished; waiting for the recorder")])),
        RegisterEventHandler(OnProcessExit(target_action=recorder, on_exit=_shutdown("the recorder finished"))),
        RegisterEventHandler(OnProcessExit(target_action=tracker, on_exit=_shutdown("the tracker exited"))),
        change_state(Transition.TRANSITION_CONFIGURE),
    ]
    if "rviz" in actions:
        entities.insert(2, actions["rviz"])
    return entities


def generate_launch_description() -> LaunchDescription:
    share = FindPackageShare("sotmot_ros")
    fastdds_profile = LaunchConfiguration("fastdds_profile")
    return LaunchDescription([
        DeclareLaunchArgument("video_path", default_value="", description="video file to publish (required)"),
        DeclareLaunchArgument("output_dir", default_value="sotmot_demo", description="recorder output folder"),
        DeclareLaunchArgument("params_file", default_value=PathJoinSubstitution([share, "config", "sotmot.yaml"]),
                              description="tracker parameters"),
        DeclareLaunchArgument("image_topic", default_value="image_raw", description="image topic"),
        DeclareLaunchArgument("namespace", default_value="", description="namespace of all demo nodes"),
        DeclareLaunchArgument("rate", default_value="0.0", description="publishing rate, Hz (0 = the video's)"),
        DeclareLaunchArgument("idle_timeout", default_value="10.0",
                              description="the recorder finishes after this many seconds without results"),
        DeclareLaunchArgument("log_level", default_value="info",
                              choices=["debug", "info", "warn", "error", "fatal"], description="logger level"),
        DeclareLaunchArgument("rviz", default_value="false", choices=["true", "false"],
                              description="start RViz 2 showing /sotmot/debug_image"),
        DeclareLaunchArgument("rviz_config", default_value=PathJoinSubstitution([share, "rviz", "sotmot.rviz"]),
                              description="RViz 2 configuration"),
        DeclareLaunchArgument(
            "fastdds_profile",
            default_value=EnvironmentVariable("FASTDDS_DEFAULT_PROFILES_FILE",
                                              default_value=PathJoinSubstitution([share, "config", "fastdds_shm.xml"])),
            description="Fast DDS XML profile ('' = Fast DDS defaults)"),
        SetEnvironmentVariable("FASTDDS_DEFAULT_PROFILES_FILE", fastdds_profile,
                               condition=IfCondition(PythonExpression(["'", fastdds_profile, "' != ''"]))),
        OpaqueFunction(function=_launch_setup),
    ])
