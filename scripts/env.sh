# Source this file (bash or zsh) after scripts/setup_env.sh:   source scripts/env.sh
#
# It activates the virtual environment and the colcon install/ of sotmot_ros (and of ros_deps/vision_msgs
# where it was built), on top of the ROS 2 installation the set-up used (its setup.bash is sourced here if
# no ROS 2 is sourced yet), or, in pip mode, of the ROS 2 wheels in the venv. Plain exports, no colcon
# setup scripts: AMENT_PREFIX_PATH, CMAKE_PREFIX_PATH, LD_LIBRARY_PATH, PYTHONPATH, PATH, VIRTUAL_ENV
# (pip mode also: RMW_IMPLEMENTATION, _ROS_WHEELS_BOOTSTRAP_COMPLETE). Then `python -c "import rclpy, sotmot_ros.msg,
# vision_msgs.msg"` works, and install/lib/sotmot_ros/<executable> (or `ros2 run sotmot_ros <executable>` where
# ros2cli exists) runs the nodes.
#
# DDS transport: Fast DDS gets config/fastdds_shm.xml (shared memory with a 16 MiB segment, needed for
# 30 Hz 640x480 images) through FASTDDS_DEFAULT_PROFILES_FILE unless that is already set. Override with
# SOTMOT_FASTDDS_PROFILE=/path/to/profile.xml, or SOTMOT_FASTDDS_PROFILE= (empty) for Fast DDS's defaults.
# RMW_IMPLEMENTATION defaults to rmw_fastrtps_cpp in pip mode (the only RMW the wheels provide).

if [ -n "${BASH_SOURCE:-}" ]; then
  _sotmot_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
elif [ -n "${ZSH_VERSION:-}" ]; then
  # shellcheck disable=SC2296
  _sotmot_root="$(cd "$(dirname "${(%):-%x}")/.." && pwd)"
else
  _sotmot_root="$(pwd)"
fi
_sotmot_venv="${SOTMOT_VENV:-$_sotmot_root/.venv}"

if [ ! -f "$_sotmot_venv/sotmot_ros_env" ]; then
  echo "sotmot_ros: no built environment in $_sotmot_venv; run scripts/setup_env.sh first" >&2
  unset _sotmot_root _sotmot_venv
  return 1 2>/dev/null || exit 1
fi
# SOTMOT_MODE, SOTMOT_ROS_SETUP, SOTMOT_PY_VERSION, SOTMOT_INSTALL
# shellcheck disable=SC1090,SC1091
. "$_sotmot_venv/sotmot_ros_env"
# this checkout's own build wins (one venv can serve several checkouts, e.g. git worktrees)
[ -d "$_sotmot_root/install/share/sotmot_ros" ] && SOTMOT_INSTALL="$_sotmot_root/install"

_sotmot_prepend() {  # _sotmot_prepend VAR DIR: put DIR first in the :-list VAR (once)
  eval "_sotmot_cur=\"\${$1:-}\""
  case ":$_sotmot_cur:" in
    *":$2:"*) ;;
    *) eval "export $1=\"$2\${_sotmot_cur:+:\$_sotmot_cur}\"" ;;
  esac
  unset _sotmot_cur
}

if [ "$SOTMOT_MODE" = ros ] && [ -z "${ROS_DISTRO:-}" ] && [ -n "$SOTMOT_ROS_SETUP" ]; then
  # shellcheck disable=SC1090
  . "$SOTMOT_ROS_SETUP"
fi
_sotmot_prepend PATH "$_sotmot_venv/bin"
export VIRTUAL_ENV="$_sotmot_venv"
if [ "$SOTMOT_MODE" != ros ]; then
  # pip mode: the ROS 2 wheels live in the venv prefix (lib/, share/ with the ament index), which has no
  # setup.bash of its own.
  _sotmot_prepend AMENT_PREFIX_PATH "$_sotmot_venv"
  _sotmot_prepend CMAKE_PREFIX_PATH "$_sotmot_venv"
  # shared libraries of the wheels (the ros-wheels-bootstrapper would also set these at each python start,
  # by re-executing python; having them here lets it skip that)
  for _sotmot_d in "$_sotmot_venv/lib/python$SOTMOT_PY_VERSION/site-packages"/ros_*.libs; do
    [ -d "$_sotmot_d" ] && _sotmot_prepend LD_LIBRARY_PATH "$_sotmot_d"
  done
  unset _sotmot_d
  _sotmot_prepend LD_LIBRARY_PATH "$_sotmot_venv/lib"
  export _ROS_WHEELS_BOOTSTRAP_COMPLETE=1
  export RMW_IMPLEMENTATION="${RMW_IMPLEMENTATION:-rmw_fastrtps_cpp}"
fi
# Our colcon install/ (sotmot_ros, and vision_msgs where it was built). The exports below are what colcon's
# install/local_setup.bash would set for it (that file needs colcon-bash, which the pip set-up lacks).
_sotmot_prepend AMENT_PREFIX_PATH "$SOTMOT_INSTALL"
_sotmot_prepend CMAKE_PREFIX_PATH "$SOTMOT_INSTALL"
_sotmot_prepend LD_LIBRARY_PATH "$SOTMOT_INSTALL/lib"
# generated message modules, and our package merged with them (ahead of the editable source install)
for _sotmot_d in "$SOTMOT_INSTALL/lib/python$SOTMOT_PY_VERSION/site-packages" \
                 "$SOTMOT_INSTALL/local/lib/python$SOTMOT_PY_VERSION/dist-packages"; do
  [ -d "$_sotmot_d" ] && _sotmot_prepend PYTHONPATH "$_sotmot_d"
done
unset _sotmot_d

if [ -z "${SOTMOT_FASTDDS_PROFILE+x}" ]; then
  SOTMOT_FASTDDS_PROFILE="$_sotmot_root/config/fastdds_shm.xml"
fi
if [ -n "$SOTMOT_FASTDDS_PROFILE" ] && [ -z "${FASTDDS_DEFAULT_PROFILES_FILE:-}" ]; then
  export FASTDDS_DEFAULT_PROFILES_FILE="$SOTMOT_FASTDDS_PROFILE"
fi
export SOTMOT_ROOT="$_sotmot_root"
unset _sotmot_root _sotmot_venv
unset -f _sotmot_prepend
