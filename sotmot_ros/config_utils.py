"""Strict construction of configuration dataclasses from plain dicts (YAML, checkpoints)."""

from __future__ import annotations

from dataclasses import fields


def from_dict_strict(cls, data: dict, what: str):
    """``cls(**data)``, but an unknown key is an error that names it (a typo must not be silently ignored)."""
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ValueError(f"unknown {what} keys: {unknown}")
    return cls(**data)
