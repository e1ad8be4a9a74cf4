"""Start the SOTMOT tracker node (a lifecycle node).

    ros2 launch sotmot_ros sotmot.launch.py
    ros2 launch sotmot_ros sotmot.launch.py image_topic:=/camera/image_raw autostart:=true
    ros2 launch sotmot_ros sotmot.launch.py params_file:=/path/my.yaml namespace:=front log_level:=debug

Arguments:
    params_file      node parameters (default: the installed config/sotmot.yaml)
    namespace        namespace of the node and of its relative topics (default: none)
    image_topic      input image topic (sets the node's ``image_topics`` to this one topic; default image_raw)
    use_sim_time     use /clock (default false)
    autostart        configure and activate at start-up (default true); with false the node waits in
                     'unconfigured' for `ros2 lifecycle set /sotmot configure` and `... activate`
    log_level        debug, info, warn, error or fatal (default info)
    fastdds_profile  Fast DDS XML profile for the node (default: $FASTDDS_DEFAULT_PROFILES_FILE if set, else
                     the installed config/fastdds_shm.xml with a 16 MiB shared-memory segment; '' = none)

Outputs (relative to the namespace): sotmot/detections (vision_msgs/Detection2DArray), sotmot/tracks
(sotmot_ros/TrackArray), sotmot/debug_image, sotmot/label_info, and /diagnostics.
"""

from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, SetEnvironmentVariable
from launch.conditions import IfCondition
from launch.substitutions import EnvironmentVariable, LaunchConfiguration, PathJoinSubstitution, PythonExpression
from launch_ros.actions import LifecycleNode
from launch_ros.substitutions import FindPackageShare

NODE_NAME = "sotmot"


def generate_launch_description() -> LaunchDescription:
    share = FindPackageShare("sotmot_ros")
    params_file = LaunchConfiguration("params_file")
    namespace = LaunchConfiguration("namespace")
    image_topic = LaunchConfiguration("image_topic")
    use_sim_time = LaunchConfiguration("use_sim_time")
    autostart = LaunchConfiguration("autostart")
    log_level = LaunchConfiguration("log_level")
    fastdds_profile = LaunchConfiguration("fastdds_profile")

    return LaunchDescription([
        DeclareLaunchArgument("params_file", default_value=PathJoinSubstitution([share, "config", "sotmot.yaml"]),
                              description="YAML file with the node's parameters"),
        DeclareLaunchArgument("namespace", default_value="", description="namespace of the node"),
        DeclareLaunchArgument("image_topic", default_value="image_raw", description="input image topic"),
        DeclareLaunchArgument("use_sim_time", default_value="false", choices=["true", "false"],
                              description="use simulated time (/clock)"),
        DeclareLaunchArgument("autostart", default_value="true", choices=["true", "false"],
                              description="configure and activate the lifecycle node at start-up"),
        DeclareLaunchArgument("log_level", default_value="info",
                              choices=["debug", "info", "warn", "error", "fatal"], description="logger level"),
        DeclareLaunchArgument(
            "fastdds_profile",
            default_value=EnvironmentVariable("FASTDDS_DEFAULT_PROFILES_FILE",
                                              default_value=PathJoinSubstitution([share, "config", "fastdds_shm.xml"])),
            description="Fast DDS XML profile ('' = Fast DDS defaults)"),
        SetEnvironmentVariable("FASTDDS_DEFAULT_PROFILES_FILE", fastdds_profile,
                               condition=IfCondition(PythonExpression(["'", fastdds_profile, "' != ''"]))),
        LifecycleNode(
            package="sotmot_ros",
            executable="sotmot_node",
            name=NODE_NAME,
            namespace=namespace,
            output="screen",
            emulate_tty=True,
            parameters=[
                params_file,
                # [[...]]: a one-element string array built from a substitution
                {"image_topics": [[image_topic]], "use_sim_time": use_sim_time, "autostart": autostart},
            ],
            arguments=["--ros-args", "--log-level", log_level],
        ),
    ])
