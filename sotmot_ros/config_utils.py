"""Strict construction of configuration from plain values: dataclasses from dicts (YAML, checkpoints), named
levels from command-line text (``noise:2``, ``robot:3``)."""

from __future__ import annotations

from dataclasses import fields


def from_dict_strict(cls, data: dict, what: str):
    """``cls(**data)``, but an unknown key is an error that names it (a typo must not be silently ignored)."""
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ValueError(f"unknown {what} keys: {unknown}")
    return cls(**data)


def parse_name_level(text: str, names, what: str, levels=(1, 2, 3), default: int = 2) -> tuple[str, int]:
    """``"NAME:LEVEL"`` (or ``"NAME"``: ``default``) -> (name, level), NAME one of ``names``; a ValueError that says
    which part is wrong otherwise (``what``: e.g. "camera fault")."""
    name, _, level = text.partition(":")
    if name not in names:
        raise ValueError(f"unknown {what} {name!r}; choose one of {', '.join(names)}")
    choices = ", ".join(map(str, levels[:-1])) + f" or {levels[-1]}"
    try:
        lvl = int(level) if level else default
    except ValueError:
        raise ValueError(f"{what} level must be {choices}, got {level!r}") from None
    if lvl not in levels:
        raise ValueError(f"{what} level must be {choices}, got {lvl}")
    return name, lvl
