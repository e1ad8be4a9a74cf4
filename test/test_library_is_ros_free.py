"""The algorithm is a plain Python library: importing any of it (all but ``sotmot_ros.ros``) loads no ROS."""

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

SCRIPT = r"""
import importlib, pkgutil, sys
import sotmot_ros
names = [m.name for m in pkgutil.walk_packages(sotmot_ros.__path__, "sotmot_ros.")
         if not m.name.startswith(("sotmot_ros.ros", "sotmot_ros.msg"))]
for name in names:
    importlib.import_module(name)
ros = sorted(m for m in sys.modules if m.split(".")[0] in ("rclpy", "rosidl_runtime_py", "sensor_msgs",
             "std_msgs", "vision_msgs", "diagnostic_msgs", "builtin_interfaces", "cv_bridge")
             or m.startswith("sotmot_ros.msg"))
print(len(names), "modules;", "ROS modules loaded:", ros)
sys.exit(1 if ros or len(names) < 20 else 0)
"""


def test_library_imports_without_ros():
    out = subprocess.run([sys.executable, "-c", SCRIPT], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
