"""No machine-specific paths in the repository: every tracked text file is free of absolute paths into
home folders or this project's machines. The shared development data is referred to as ``../shared`` (next
to the repository, documented) or through ``$SOTMOT_SHARED_DIR``; tests skip where it is absent.

Allowed: lines of tests that only check for such a folder to skip (``skipif`` / ``is_dir`` / ``exists`` on
the same line), which no user ever runs into.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# built from pieces so that this file does not match itself
MACHINE_PATH = re.compile("(?<![\\w.])/(" + "|".join(["wo" + "rk", "ro" + "ot", "ho" + "me"]) + ")/")
SKIP_CHECK = re.compile(r"skip|is_dir|isdir|exists|is_file|isfile")
SKIP_FOLDERS = {"build", "install", "log", ".venv", "data_cache", "runs", "out"}


def _files() -> list[Path]:
    res = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True)
    if res.returncode == 0 and res.stdout:
        names = [n for n in res.stdout.decode().split("\0") if n]
    else:
        names = [str(p.relative_to(REPO)) for p in REPO.rglob("*") if p.is_file()]
    return [REPO / n for n in names if not SKIP_FOLDERS & set(Path(n).parts[:1])]


def test_no_machine_paths():
    found = []
    for path in _files():
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue  # binary (model weights, images)
        is_test = path.relative_to(REPO).parts[0] == "test"
        for no, line in enumerate(text.splitlines(), 1):
            if MACHINE_PATH.search(line) and not (is_test and SKIP_CHECK.search(line)):
                found.append(f"{path.relative_to(REPO)}:{no}: {line.strip()[:120]}")
    assert not found, "machine-specific paths (use paths relative to the repository, ../shared, or " \
                      "$SOTMOT_SHARED_DIR):\n" + "\n".join(found)


def test_the_pattern_finds_what_it_must():
    assert MACHINE_PATH.search("gt: " + "/wo" + "rk/shared/x.txt")
    assert MACHINE_PATH.search("cd " + "/ho" + "me/user/sotmot")
    assert not MACHINE_PATH.search("gt: ../shared/data/PETS09-S2L1/gt.txt")
    assert not MACHINE_PATH.search("https://example.org/home/page")
