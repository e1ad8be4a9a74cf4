"""Humble runs Python 3.10, Jazzy 3.12: every Python file of the repository must at least compile there.

Uses the interpreters that exist on this machine (``python3.10``, ``python3.12``); skips the missing ones.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

CHECK = """
import sys
bad = []
for path in sys.argv[1:]:
    try:
        compile(open(path, encoding="utf-8").read(), path, "exec")
    except SyntaxError as exc:
        bad.append(f"{path}: {exc}")
print("\\n".join(bad))
sys.exit(1 if bad else 0)
"""


def _python_files() -> list[str]:
    out = subprocess.run(["git", "ls-files", "*.py"], cwd=REPO, capture_output=True, text=True)
    files = out.stdout.split() if out.returncode == 0 else []
    return files or [str(p.relative_to(REPO)) for p in REPO.rglob("*.py")
                     if not {"build", "install", "log", ".venv"} & set(p.relative_to(REPO).parts)]


def _interpreters(version: str) -> list[str]:
    """python<version> on PATH, then pyenv's installed versions (its shims need PYENV_VERSION)."""
    found = [shutil.which(f"python{version}")]
    pyenv = shutil.which("pyenv")
    if pyenv:
        root = subprocess.run([pyenv, "root"], capture_output=True, text=True).stdout.strip()
        if root:
            found += sorted(str(p) for p in Path(root).glob(f"versions/{version}.*/bin/python{version}"))
    return [exe for exe in found if exe]


def _runs(exe: str, version: str) -> bool:
    probe = subprocess.run([exe, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                           capture_output=True, text=True)
    return probe.returncode == 0 and probe.stdout.strip() == version


@pytest.mark.parametrize("version", ["3.10", "3.12"])
def test_every_file_compiles(version):
    exe = next((e for e in _interpreters(version) if _runs(e, version)), None)
    if exe is None:
        pytest.skip(f"no working python{version} on this machine")
    res = subprocess.run([exe, "-c", CHECK, *_python_files()], cwd=REPO, capture_output=True, text=True)
    assert res.returncode == 0, res.stdout + res.stderr
