"""What to look at before trusting pseudo-label identities: join candidates and identity strips.

The linker ends a tracklet rather than guess, so its typical error is one person under two identities (hidden
behind someone for a while, or missed by the teachers); a swap (one identity on two people) is rarer. A person
checks both by eye in minutes when shown the right crops:

- *join candidates*: an identity that ends, and another that starts within ``max_gap_seconds`` near where the first
  was last seen (centre distance in the first one's box heights): maybe one person (``merge`` in the corrections);
- *identity strips*: crops of each identity spread over its frames: a strip that shows two people is a swap
  (``split`` at the frame where it changes).

``sotmot review-labels`` draws both from a labelled folder; ``corrections.py`` applies what the person decides.
"""

from __future__ import annotations

import os

import cv2
import numpy as np

from ..data.mot import read_mot_file

CELL = (96, 160)  # width, height of one crop in the sheets


def identity_tracks(gt_path: str) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """``{identity: (frames ascending, boxes ltrb)}`` of the targets (flag 1) of a MOT15 label file."""
    out: dict[int, tuple[list, list]] = {}
    for f, a in sorted(read_mot_file(gt_path, fmt="mot15").items()):
        for i, b, ign in zip(a.ids, a.boxes, a.ignore):
            if not ign:
                out.setdefault(int(i), ([], []))
                out[int(i)][0].append(f)
                out[int(i)][1].append(b)
    return {i: (np.asarray(fr), np.asarray(bx, np.float64)) for i, (fr, bx) in sorted(out.items())}


def join_candidates(tracks: dict[int, tuple[np.ndarray, np.ndarray]], fps: float, max_gap_seconds: float = 3.0,
                    max_distance: float = 2.5, per_identity: int = 3) -> list[dict]:
    """Pairs (an identity that ends, one that starts after it) that may be one person, nearest first per ending.

    A pair qualifies when the second starts within ``max_gap_seconds`` after the first's last frame and its first
    box centre lies within ``max_distance`` of the first's last box heights from the first's last box centre; at
    most ``per_identity`` pairs per ending identity (the nearest), so a crowd gives a list one can check.
    """
    if fps <= 0:
        raise ValueError(f"fps must be > 0, got {fps}")
    last_frame = max((int(fr[-1]) for fr, _ in tracks.values()), default=0)
    out = []
    for a, (fa, ba) in tracks.items():
        end = int(fa[-1])
        if end >= last_frame:
            continue
        ca, ha = (ba[-1, :2] + ba[-1, 2:]) / 2, max(ba[-1, 3] - ba[-1, 1], 1.0)
        rows = []
        for b, (fb, bb) in tracks.items():
            start = int(fb[0])
            gap = (start - end) / fps
            if b == a or start <= end or gap > max_gap_seconds:
                continue
            dist = float(np.linalg.norm((bb[0, :2] + bb[0, 2:]) / 2 - ca) / ha)
            if dist <= max_distance:
                rows.append({"ends": a, "end_frame": end, "starts": b, "start_frame": start, "gap_seconds": gap,
                             "distance_heights": dist})
        out.extend(sorted(rows, key=lambda r: (r["distance_heights"], r["gap_seconds"]))[:per_identity])
    return out


def _crop(image: np.ndarray, box: np.ndarray, colour=(0, 255, 0)) -> np.ndarray:
    """The box with a margin, letterboxed into one CELL, the box drawn."""
    h_img, w_img = image.shape[:2]
    x1, y1, x2, y2 = box
    mx, my = 0.25 * (x2 - x1) + 4, 0.15 * (y2 - y1) + 4
    l, t = int(max(0, x1 - mx)), int(max(0, y1 - my))
    r, b = int(min(w_img, x2 + mx)), int(min(h_img, y2 + my))
    cell = np.full((CELL[1], CELL[0], 3), 40, np.uint8)
    if r <= l or b <= t:
        return cell
    patch = image[t:b, l:r].copy()
    cv2.rectangle(patch, (int(x1 - l), int(y1 - t)), (int(x2 - l), int(y2 - t)), colour, 2)
    s = min(CELL[0] / patch.shape[1], CELL[1] / patch.shape[0])
    patch = cv2.resize(patch, (max(1, int(patch.shape[1] * s)), max(1, int(patch.shape[0] * s))))
    y0, x0 = (CELL[1] - patch.shape[0]) // 2, (CELL[0] - patch.shape[1]) // 2
    cell[y0:y0 + patch.shape[0], x0:x0 + patch.shape[1]] = patch
    return cell


def _captioned(cells: list[np.ndarray], caption: str) -> np.ndarray:
    row = np.hstack(cells)
    bar = np.full((18, row.shape[1], 3), 255, np.uint8)
    cv2.putText(bar, caption, (3, 13), cv2.FONT_HERSHEY_SIMPLEX, 0.42, (0, 0, 0), 1, cv2.LINE_AA)
    return np.vstack([bar, row])


def _write_pages(rows: list[np.ndarray], path_stem: str, per_page: int) -> list[str]:
    paths = []
    for k in range(0, len(rows), per_page):
        page = rows[k:k + per_page]
        width = max(r.shape[1] for r in page)
        page = [np.hstack([r, np.full((r.shape[0], width - r.shape[1], 3), 255, np.uint8)]) for r in page]
        path = f"{path_stem}_{k // per_page + 1}.png"
        cv2.imwrite(path, np.vstack(page))
        paths.append(path)
    return paths


def frames_needed(tracks, candidates, samples: int) -> set[int]:
    """Which frames the sheets crop from (so a long video is decoded once and only those are kept)."""
    need = {int(fr[k]) for fr, _ in tracks.values() for k in strip_indices(len(fr), samples)}
    return need | {c["end_frame"] for c in candidates} | {c["start_frame"] for c in candidates}


def strip_indices(n: int, samples: int) -> list[int]:
    """``samples`` indices spread evenly over ``n`` observations (all of them when fewer)."""
    return sorted(set(np.linspace(0, n - 1, min(samples, n)).round().astype(int).tolist())) if n else []


def write_review(source, tracks, candidates, out_dir: str, samples: int = 8) -> list[str]:
    """Draw ``joins_N.png`` (per candidate: the ending identity's last crop, the starting one's first crop and
    both boxes on the starting frame) and ``identities_N.png`` (per identity: ``samples`` crops over its frames)
    from ``source`` (a ``sources.FrameSource``); returns the files written."""
    os.makedirs(out_dir, exist_ok=True)
    need = frames_needed(tracks, candidates, samples)
    frames = {n: image for n, image, _ in (source.frames(min(need), max(need)) if need else []) if n in need}
    missing = sorted(need - set(frames))
    if missing:
        raise ValueError(f"{source.path}: frames {missing[:5]} of the labels are not in the source")
    written = []
    rows = []
    for c in candidates:
        a_f, a_b = tracks[c["ends"]]
        b_f, b_b = tracks[c["starts"]]
        whole = frames[c["start_frame"]].copy()
        cv2.rectangle(whole, tuple(int(v) for v in a_b[-1, :2]), tuple(int(v) for v in a_b[-1, 2:]), (0, 0, 255), 3)
        cv2.rectangle(whole, tuple(int(v) for v in b_b[0, :2]), tuple(int(v) for v in b_b[0, 2:]), (0, 255, 0), 3)
        s = CELL[1] / whole.shape[0]
        whole = cv2.resize(whole, (max(1, int(whole.shape[1] * s)), CELL[1]))
        cells = [_crop(frames[c["end_frame"]], a_b[-1], (0, 0, 255)), _crop(frames[c["start_frame"]], b_b[0]), whole]
        rows.append(_captioned(cells, f"{c['ends']} (to f{c['end_frame']}) -> {c['starts']} (from f{c['start_frame']}):"
                                      f" {c['gap_seconds']:.1f} s, {c['distance_heights']:.1f} heights"))
    written += _write_pages(rows, os.path.join(out_dir, "joins"), 10)
    rows = []
    for i, (fr, bx) in tracks.items():
        idx = strip_indices(len(fr), samples)
        rows.append(_captioned([_crop(frames[int(fr[k])], bx[k]) for k in idx],
                               f"identity {i}: frames {fr[0]}-{fr[-1]} ({', '.join(f'f{fr[k]}' for k in idx)})"))
    written += _write_pages(rows, os.path.join(out_dir, "identities"), 8)
    return written


def draw_frame(image: np.ndarray, annotations, frame: int, tick: int = 50) -> np.ndarray:
    """One frame at full size with its labels (targets green with their identity, ignore regions red) and pixel
    ticks every ``tick`` px along the edges, so that a person can read off the boxes a corrections file needs."""
    out = image.copy()
    h, w = out.shape[:2]
    if annotations is not None:
        for box, i, ign in zip(annotations.boxes, annotations.ids, annotations.ignore):
            colour = (0, 0, 255) if ign else (0, 255, 0)
            cv2.rectangle(out, (int(box[0]), int(box[1])), (int(box[2]), int(box[3])), colour, 1)
            if not ign:
                cv2.putText(out, str(int(i)), (int(box[0]) + 2, int(box[1]) + 14), cv2.FONT_HERSHEY_SIMPLEX, 0.5,
                            colour, 1, cv2.LINE_AA)
    for x in range(0, w, tick):
        long = x % (2 * tick) == 0
        cv2.line(out, (x, 0), (x, 10 if long else 5), (255, 0, 255), 1)
        if long:
            cv2.putText(out, str(x), (x + 2, 20), cv2.FONT_HERSHEY_SIMPLEX, 0.35, (255, 0, 255), 1, cv2.LINE_AA)
    for y in range(0, h, tick):
        long = y % (2 * tick) == 0
        cv2.line(out, (0, y), (10 if long else 5, y), (255, 0, 255), 1)
        if long:
            cv2.putText(out, str(y), (12, y + 4), cv2.FONT_HERSHEY_SIMPLEX, 0.35, (255, 0, 255), 1, cv2.LINE_AA)
    cv2.putText(out, f"frame {frame}", (w - 110, h - 8), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (255, 0, 255), 1, cv2.LINE_AA)
    return out


def write_frames(source, gt_path: str, frames: list[int], out_dir: str) -> list[str]:
    """``frame_NNNNNN.png`` per requested frame (``draw_frame``); returns the files written."""
    os.makedirs(out_dir, exist_ok=True)
    labels = read_mot_file(gt_path, fmt="mot15")
    want = set(frames)
    written: dict[int, str] = {}
    for n, image, _ in source.frames(min(want), max(want)):
        if n in want:
            written[n] = os.path.join(out_dir, f"frame_{n:06d}.png")
            cv2.imwrite(written[n], draw_frame(image, labels.get(n), n))
    missing = sorted(want - set(written))
    if missing:
        raise ValueError(f"{source.path}: frames {missing[:5]} are not in the source")
    return list(written.values())


def format_candidates(candidates: list[dict]) -> str:
    """The join candidates as commented YAML lines to paste into a corrections file after checking them."""
    lines = ["# join candidates (check each in joins_N.png; keep the ones that are one person):", "merge:"]
    for c in candidates:
        lines.append(f"#  - [{c['ends']}, {c['starts']}]   # {c['ends']} ends f{c['end_frame']}, {c['starts']} starts "
                     f"f{c['start_frame']}: {c['gap_seconds']:.1f} s later, {c['distance_heights']:.1f} heights away")
    return "\n".join(lines) + "\n"
