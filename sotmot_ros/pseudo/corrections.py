"""Hand corrections of pseudo-labels: a small YAML file of edits applied after linking.

Why: the linker prefers a missing link to a wrong one, so a person hidden for a while comes back as a new
identity, and a person the teachers barely see is no label at all. Scoring association against such labels
rewards the tracker that breaks where the labeller broke. A few lines of corrections, written after looking
at the labels (``sotmot review-labels`` draws what to look at), turn them into checked identities, and
``sotmot pseudo-label --corrections FILE`` (``--relabel`` too) applies them every time the labels are made,
so they survive a re-run.

The file (identities are those of the labels it was written for; boxes ``[left, top, width, height]`` in
pixels, frames 1-based as in ``gt.txt``)::

    merge:                      # identities that are one person: each group takes its first identity
      - [2, 3]
    split:                      # an identity that follows two people: from `frame` on it is a new identity
      - {id: 5, frame: 40}      # (optional `new_id`; default: the next free identity)
    delete:                     # boxes that are not that person: an identity's boxes over a frame range
      - {id: 7, first: 10, last: 20}            # first / last default to the identity's whole span
      - {id: 8, ignore: true}                   # keep them as ignore regions instead of deleting
    boxes:                      # boxes the teachers missed: key frames, linearly interpolated in between
      - {id: 2, keys: {19: [178, 128, 153, 278], 30: [150, 120, 150, 280]}}   # replaces the identity's own
      - {id: 60, new: true, keys: {5: [10, 20, 30, 80], 9: [14, 20, 30, 80]}} # a person the labels lack
      - {ignore: true, keys: {40: [100, 200, 80, 160]}}                       # an ignore region

Edits apply in that order: ``delete``, ``split`` and ``merge`` name the linker's identities; ``boxes`` names
identities as they are after the merges and splits. Every entry is checked against the labels (an identity
that is not there, a merge that would give one identity two boxes in a frame, a split outside the identity's
frames): labels re-made with other linker settings renumber their identities, and a stale file must fail
loudly rather than edit the wrong people.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field

import numpy as np
import yaml

from .linking import LabelRow

SECTIONS = ("merge", "split", "delete", "boxes")


@dataclass
class Corrections:
    """Parsed edits (see the module docstring); ``source`` names the file in error messages and reports."""

    merge: list[list[int]] = field(default_factory=list)
    split: list[dict] = field(default_factory=list)
    delete: list[dict] = field(default_factory=list)
    boxes: list[dict] = field(default_factory=list)
    source: str = "corrections"
    sha256: str = ""


def _int(value, what: str, minimum: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{what} must be an integer, got {value!r}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{what} must be >= {minimum}, got {value}")
    return int(value)


def _only_keys(entry, allowed: set[str], what: str) -> dict:
    if not isinstance(entry, dict):
        raise ValueError(f"{what} must be a mapping with keys {sorted(allowed)}, got {entry!r}")
    unknown = set(entry) - allowed
    if unknown:
        raise ValueError(f"{what}: unknown key(s) {sorted(unknown)}; allowed: {sorted(allowed)}")
    return entry


def _box(value, what: str) -> np.ndarray:
    """``[left, top, width, height]`` -> ltrb float64."""
    if not isinstance(value, (list, tuple)) or len(value) != 4:
        raise ValueError(f"{what} must be [left, top, width, height], got {value!r}")
    try:
        x, y, w, h = (float(v) for v in value)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{what} must be four numbers, got {value!r}") from exc
    if not all(np.isfinite([x, y, w, h])) or w <= 0 or h <= 0:
        raise ValueError(f"{what} needs finite numbers and a positive width and height, got {value!r}")
    return np.array([x, y, x + w, y + h], np.float64)


def parse_corrections(data, source: str = "corrections") -> Corrections:
    """Check the layout of a loaded YAML document (``None`` = no edits); errors name the entry."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ValueError(f"{source}: expected a mapping with sections {list(SECTIONS)}, got {type(data).__name__}")
    unknown = set(data) - set(SECTIONS)
    if unknown:
        raise ValueError(f"{source}: unknown section(s) {sorted(unknown)}; allowed: {list(SECTIONS)}")
    out = Corrections(source=source)
    for k, group in enumerate(data.get("merge") or []):
        what = f"{source}: merge entry {k + 1}"
        if not isinstance(group, (list, tuple)) or len(group) < 2:
            raise ValueError(f"{what} must list two or more identities, got {group!r}")
        ids = [_int(i, f"{what} identity", 1) for i in group]
        if len(set(ids)) != len(ids):
            raise ValueError(f"{what} repeats an identity: {ids}")
        out.merge.append(ids)
    merged = [i for g in out.merge for i in g]
    twice = sorted({i for i in merged if merged.count(i) > 1})
    if twice:
        raise ValueError(f"{source}: identities {twice} are in more than one merge group (put them in one group)")
    for k, e in enumerate(data.get("split") or []):
        what = f"{source}: split entry {k + 1}"
        _only_keys(e, {"id", "frame", "new_id"}, what)
        if "id" not in e or "frame" not in e:
            raise ValueError(f"{what} needs `id` and `frame`, got {e!r}")
        out.split.append({"id": _int(e["id"], f"{what} id", 1), "frame": _int(e["frame"], f"{what} frame", 1),
                          "new_id": _int(e["new_id"], f"{what} new_id", 1) if "new_id" in e else None})
    for k, e in enumerate(data.get("delete") or []):
        what = f"{source}: delete entry {k + 1}"
        _only_keys(e, {"id", "first", "last", "ignore"}, what)
        if "id" not in e:
            raise ValueError(f"{what} needs `id`, got {e!r}")
        first = _int(e["first"], f"{what} first", 1) if "first" in e else None
        last = _int(e["last"], f"{what} last", 1) if "last" in e else None
        if first is not None and last is not None and last < first:
            raise ValueError(f"{what}: last ({last}) is before first ({first})")
        if not isinstance(e.get("ignore", False), bool):
            raise ValueError(f"{what}: ignore must be true or false, got {e['ignore']!r}")
        out.delete.append({"id": _int(e["id"], f"{what} id", 1), "first": first, "last": last,
                           "ignore": bool(e.get("ignore", False))})
    for k, e in enumerate(data.get("boxes") or []):
        what = f"{source}: boxes entry {k + 1}"
        _only_keys(e, {"id", "new", "ignore", "keys"}, what)
        ignore = e.get("ignore", False)
        if not isinstance(ignore, bool) or (("id" in e) == ignore):
            raise ValueError(f"{what} needs either `id` (a target) or `ignore: true` (an ignore region), got {e!r}")
        keys = e.get("keys")
        if not isinstance(keys, dict) or not keys:
            raise ValueError(f"{what} needs `keys`: a mapping frame -> [left, top, width, height]")
        if not isinstance(e.get("new", False), bool) or (e.get("new") and ignore):
            raise ValueError(f"{what}: `new: true` marks a target identity the labels lack, got {e!r}")
        frames = {_int(f, f"{what} key frame", 1): _box(b, f"{what} box at frame {f}") for f, b in keys.items()}
        out.boxes.append({"id": None if ignore else _int(e["id"], f"{what} id", 1), "new": bool(e.get("new", False)),
                          "keys": dict(sorted(frames.items()))})
    return out


def load_corrections(path: str) -> Corrections:
    """Read and check a corrections file (see the module docstring)."""
    with open(path, "rb") as fh:
        raw = fh.read()
    try:
        data = yaml.safe_load(raw)
    except yaml.YAMLError as exc:
        raise ValueError(f"{path}: not valid YAML: {exc}") from exc
    out = parse_corrections(data, source=os.path.basename(path))
    out.sha256 = hashlib.sha256(raw).hexdigest()
    return out


def _interpolated(keys: dict[int, np.ndarray]) -> dict[int, np.ndarray]:
    """Every frame from the first key to the last, boxes linear between neighbouring keys."""
    frames = sorted(keys)
    out = {frames[0]: keys[frames[0]]}
    for f0, f1 in zip(frames, frames[1:]):
        for f in range(f0 + 1, f1 + 1):
            a = (f - f0) / (f1 - f0)
            out[f] = (1 - a) * keys[f0] + a * keys[f1]
    return out


def apply_corrections(rows: list[LabelRow], corrections: Corrections,
                      frames: tuple[int, int] | None = None) -> tuple[list[LabelRow], dict]:
    """The labels with the edits applied (module docstring), sorted as the linker sorts them, and a summary.

    ``frames``: the labelled frame range (first, last); boxes keyed outside it are refused.
    """
    src = corrections.source
    rows = [LabelRow(r.frame, r.track_id, np.asarray(r.box, np.float64).copy(), r.score, r.flag, r.filled)
            for r in rows]

    def spans() -> dict[int, tuple[int, int]]:
        out: dict[int, tuple[int, int]] = {}
        for r in rows:
            if r.flag == 1:
                a, b = out.get(r.track_id, (r.frame, r.frame))
                out[r.track_id] = (min(a, r.frame), max(b, r.frame))
        return out

    def known(i: int, what: str) -> tuple[int, int]:
        s = spans()
        if i not in s:
            raise ValueError(f"{src}: {what} names identity {i}, which the labels do not have "
                             f"(identities: {sorted(s)[:12]}{' ...' if len(s) > 12 else ''}); were the labels "
                             "re-made with other settings since the corrections were written?")
        return s[i]

    summary = {"deleted_boxes": 0, "ignored_boxes": 0, "splits": 0, "merged_identities": 0, "boxes_set": 0,
               "ignore_regions_added": 0}
    for k, e in enumerate(corrections.delete):
        a, b = known(e["id"], f"delete entry {k + 1}")
        first, last = e["first"] or a, e["last"] or b
        kept = []
        for r in rows:
            if r.flag == 1 and r.track_id == e["id"] and first <= r.frame <= last:
                if e["ignore"]:
                    kept.append(LabelRow(r.frame, -1, r.box, r.score, 0, r.filled))
                    summary["ignored_boxes"] += 1
                else:
                    summary["deleted_boxes"] += 1
                continue
            kept.append(r)
        rows = kept
    taken = set(spans())
    for k, e in enumerate(corrections.split):
        a, b = known(e["id"], f"split entry {k + 1}")
        if not a < e["frame"] <= b:
            raise ValueError(f"{src}: split entry {k + 1}: identity {e['id']} spans frames {a}-{b}; a split frame "
                             f"must be after its first frame and no later than its last, got {e['frame']}")
        new = e["new_id"] if e["new_id"] is not None else max(taken) + 1
        if new in taken:
            raise ValueError(f"{src}: split entry {k + 1}: new_id {new} is already an identity")
        taken.add(new)
        for r in rows:
            if r.flag == 1 and r.track_id == e["id"] and r.frame >= e["frame"]:
                r.track_id = new
        summary["splits"] += 1
    for k, group in enumerate(corrections.merge):
        for i in group:
            known(i, f"merge entry {k + 1}")
        seen: dict[int, int] = {}
        for r in rows:
            if r.flag == 1 and r.track_id in group:
                if r.frame in seen and seen[r.frame] != r.track_id:
                    raise ValueError(f"{src}: merge entry {k + 1}: identities {seen[r.frame]} and {r.track_id} both "
                                     f"have a box in frame {r.frame}; two people in one frame cannot be one")
                seen[r.frame] = r.track_id
        for r in rows:
            if r.flag == 1 and r.track_id in group[1:]:
                r.track_id = group[0]
        summary["merged_identities"] += len(group) - 1
    for k, e in enumerate(corrections.boxes):
        what = f"boxes entry {k + 1}"
        if e["new"] and e["id"] in spans():
            raise ValueError(f"{src}: {what}: `new: true` but identity {e['id']} is already in the labels")
        if e["id"] is not None and not e["new"]:
            known(e["id"], what)
        boxes = _interpolated(e["keys"])
        if frames is not None and (min(boxes) < frames[0] or max(boxes) > frames[1]):
            raise ValueError(f"{src}: {what} keys frames {min(boxes)}-{max(boxes)}, outside the labelled frames "
                             f"{frames[0]}-{frames[1]}")
        if e["id"] is None:
            rows.extend(LabelRow(f, -1, b, 1.0, 0) for f, b in boxes.items())
            summary["ignore_regions_added"] += len(boxes)
            continue
        rows = [r for r in rows if not (r.flag == 1 and r.track_id == e["id"] and r.frame in boxes)]
        rows.extend(LabelRow(f, e["id"], b, 1.0, 1) for f, b in boxes.items())
        summary["boxes_set"] += len(boxes)
    rows.sort(key=lambda r: (r.frame, -r.flag, r.track_id))
    return rows, summary


def identity_stats(rows: list[LabelRow]) -> dict:
    """The linker's identity statistics recomputed from (corrected) label rows, for the quality report."""
    spans: dict[int, list[int]] = {}
    for r in rows:
        if r.flag == 1:
            spans.setdefault(r.track_id, []).append(r.frame)
    return {"confirmed_tracklets": len(spans),
            "confirmed_lengths": [max(f) - min(f) + 1 for _, f in sorted(spans.items())]}
