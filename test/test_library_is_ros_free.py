"""The algorithm is a plain Python library: importing any of it (all but ``sotmot_ros.ros`` and ``sotmot_ros.demo``)
loads no ROS."""

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

SCRIPT = r"""
import importlib, pkgutil, sys
import sotmot_ros
names = []
def visit(package):  # pkgutil.walk_packages would import the excluded packages while walking
    for m in pkgutil.iter_modules(package.__path__, package.__name__ + "."):
        if m.name in ("sotmot_ros.ros", "sotmot_ros.demo", "sotmot_ros.msg", "sotmot_ros.srv", "sotmot_ros.action"):
            continue
        module = importlib.import_module(m.name)
        names.append(m.name)
        if m.ispkg:
            visit(module)
visit(sotmot_ros)
ros = sorted(m for m in sys.modules if m.split(".")[0] in ("rclpy", "rosidl_runtime_py", "sensor_msgs",
             "std_msgs", "vision_msgs", "diagnostic_msgs", "builtin_interfaces", "cv_bridge")
             or m.startswith("sotmot_ros.msg"))
print(len(names), "modules;", "ROS modules loaded:", ros)
sys.exit(1 if ros or len(names) < 20 else 0)
"""


def test_library_imports_without_ros():
    out = subprocess.run([sys.executable, "-c", SCRIPT], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
