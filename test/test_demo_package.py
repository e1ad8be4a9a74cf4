"""The node a robot runs never depends on the demo tooling (``sotmot_ros.demo``).

Two checks: importing the node (and every other module outside ``sotmot_ros.demo``) in a fresh
interpreter loads no ``sotmot_ros.demo`` module; and no module outside ``sotmot_ros/demo/`` has an import
statement naming it, also inside a function (a lazy import would escape the first check).
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

import ros_helpers as h

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "sotmot_ros"

IMPORT_NODE = r"""
import importlib, json, pkgutil, sys
import sotmot_ros.ros.node
node_file = sotmot_ros.ros.node.__file__
import sotmot_ros
def visit(package):  # every module but the demo package and the generated messages
    for m in pkgutil.iter_modules(package.__path__, package.__name__ + "."):
        if m.name in ("sotmot_ros.demo", "sotmot_ros.msg"):
            continue
        module = importlib.import_module(m.name)
        if m.ispkg:
            visit(module)
after_node = [m for m in sys.modules if m == "sotmot_ros.demo" or m.startswith("sotmot_ros.demo.")]
visit(sotmot_ros)
after_all = [m for m in sys.modules if m == "sotmot_ros.demo" or m.startswith("sotmot_ros.demo.")]
print(json.dumps({"node_file": node_file, "after_node": after_node, "after_all": after_all}))
"""


def test_node_and_its_imports_load_no_demo_module():
    ok, why = h.ros_messages_available()
    if not ok:
        pytest.skip(why)
    res = subprocess.run([sys.executable, "-c", IMPORT_NODE], cwd=REPO, env=h.child_env(), capture_output=True,
                         text=True, timeout=300)
    assert res.returncode == 0, res.stdout + res.stderr
    got = json.loads(res.stdout.strip().splitlines()[-1])
    # this checkout's node (the source tree or its symlinked install), not another checkout's
    assert Path(got["node_file"]).resolve() == PACKAGE / "ros" / "node.py", got["node_file"]
    assert got["after_node"] == [], f"importing sotmot_ros.ros.node loaded {got['after_node']}"
    assert got["after_all"] == [], f"importing the modules outside sotmot_ros.demo loaded {got['after_all']}"


def _imported_modules(source: str, module: str) -> list[str]:
    """Absolute names of the modules that ``source`` (the text of module ``module``, a dotted name; a
    package's ``__init__`` is named by the package) imports anywhere in it, relative imports resolved."""
    package = module.split(".")[:-1]
    names = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - (node.level - 1)] if node.level else []
            imported = ".".join(base + ([node.module] if node.module else []))
            names.append(imported)
            names += [f"{imported}.{a.name}" for a in node.names]  # from sotmot_ros import demo
    return names


def _module_name(path: Path) -> str:
    """sotmot_ros/ros/node.py -> sotmot_ros.ros.node; a package's __init__.py -> sotmot_ros.ros.__init__."""
    return ".".join(path.relative_to(REPO).with_suffix("").parts)


def _is_demo(name: str) -> bool:
    return name == "sotmot_ros.demo" or name.startswith("sotmot_ros.demo.")


def test_no_module_outside_the_demo_package_imports_it():
    offenders = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        if (PACKAGE / "demo") in path.parents:
            continue
        bad = [n for n in _imported_modules(path.read_text(), _module_name(path)) if _is_demo(n)]
        if bad:
            offenders[str(path.relative_to(REPO))] = bad
    assert not offenders, f"modules outside sotmot_ros/demo/ import it: {offenders}"


def test_import_scan_sees_every_form_of_importing_the_demo():
    """The scan above resolves relative imports and sees imports inside functions."""
    node_names = _imported_modules((PACKAGE / "ros" / "node.py").read_text(), "sotmot_ros.ros.node")
    assert {"sotmot_ros.ros.parameters", "sotmot_ros.tracking.config", "sotmot_ros.detector"} <= set(node_names)
    forms = {
        "def f():\n    from ..demo import recorder\n": "sotmot_ros.demo",
        "from ..demo.video_publisher import main\n": "sotmot_ros.demo.video_publisher",
        "from .. import demo\n": "sotmot_ros.demo",
        "import sotmot_ros.demo.demo_runner as runner\n": "sotmot_ros.demo.demo_runner",
        "from sotmot_ros import demo\n": "sotmot_ros.demo",
    }
    for source, expected in forms.items():
        assert expected in _imported_modules(source, "sotmot_ros.ros.node"), source
    assert not any(_is_demo(n) for n in _imported_modules("from . import parameters\n", "sotmot_ros.ros.node"))
    # in a package's __init__, "." is the package itself
    assert "sotmot_ros.demo" in _imported_modules("from .demo import x\n", _module_name(PACKAGE / "__init__.py"))
