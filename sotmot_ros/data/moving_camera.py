"""A moving camera simulated on footage from a static one, so trackers meet ego-motion with exact labels.

A robot's camera pans with its head, vibrates with its motors and drives closer or farther, so the whole
scene slides, turns and grows between frames, which no static benchmark clip shows. Here the camera sees a
moving window of ``VIEW_FRACTION`` of each recorded frame: its affine warp (offset, roll and zoom about
the frame centre) renders the view and re-expresses the ground truth in it, so the labels stay exact.

- ``pan``: smooth sweeps (periods 6-9 s) in x, y, roll and zoom; a head looking around, a robot driving.
- ``shake``: independent jitter per frame (offset and roll); motors and a bumpy floor.
- ``robot``: both together.

Levels 1-3 scale the amplitudes by 0.5, 1 and 1.5. Every rate is per second and the jitter of a frame is
seeded by its timestamp, so the motion does not depend on the frame rate or on which frames are asked
for, and a cached result is reproducible. At level 3 the largest pan (1.2 x the margin) and zoom out
(0.94) let the view leave the frame near the peaks of the sweeps. Grey border over 120 s at 10 Hz (seeds
0-2; the same for 640x480, 768x576 and 1920x1080): ``pan:3`` 0.9 % of the view on average (none in 60 %
of frames, 95th percentile 5 %, worst 6.5 %), ``robot:3`` 1.1 % (95th percentile 6 %, worst 11.5 %),
``shake:3`` none; at level 2 under 0.05 % on average (worst 0.3 % pan, 2.9 % robot).
Boxes leaving the view become ignore regions (half out) or are dropped (all out): ``write_view_gt``.
"""

from __future__ import annotations

import os

import cv2
import numpy as np

from ..boxes import warp_boxes_affine
from ..config_utils import parse_name_level

MOTIONS = ("pan", "shake", "robot")  # robot = pan + shake together
LEVELS = (1, 2, 3)
VIEW_FRACTION = 0.8  # the simulated camera sees this fraction of the frame's width and height
LEVEL_SCALE = {1: 0.5, 2: 1.0, 3: 1.5}  # amplitudes relative to level 2
BORDER_VALUE = (114, 114, 114)  # the letterbox grey of the detectors' preprocessing

# pan: (amplitude, period in s) of the x and y offsets (fractions of the margin), roll (deg), zoom (relative)
PAN = {"x": (0.8, 6.0), "y": (0.4, 9.0), "roll": (1.5, 7.0), "zoom": (0.04, 8.0)}
SHAKE_OFFSET = 0.01  # std of the jitter in x and y, a fraction of the frame's width (clipped at 3 std)
SHAKE_ROLL = 0.3  # std of the roll jitter in degrees (clipped at 3 std)
_PAN_SALT, _SHAKE_SALT = 0x70616E, 0x736B  # keep the phase and jitter streams apart


def parse_motion(text: str) -> tuple[str, int]:
    """``"NAME:LEVEL"`` (or ``"NAME"``, level 2) -> (name, level); a clear ValueError otherwise."""
    return parse_name_level(text, MOTIONS, "camera motion", LEVELS)


def motion_tag(name: str, level: int) -> str:
    """A file-name-safe label of a camera motion, for cache names."""
    return f"motion-{name}{level}"


def view_size(frame_size: tuple[int, int]) -> tuple[int, int]:
    """(width, height) of the camera's view of a (width, height) frame; even, as video encoders want."""
    return tuple(2 * int(round(VIEW_FRACTION * v / 2)) for v in frame_size)


def camera_warps(timestamps, frame_size: tuple[int, int], name: str, level: int, seed: int = 0) -> np.ndarray:
    """(F, 2, 3) affine warps, one per timestamp (seconds), from frame pixels to view pixels:
    ``[x', y'] = W[:, :2] @ [x, y] + W[:, 2]``. The same for the same seed; a frame's jitter depends only on
    its own timestamp."""
    if name not in MOTIONS:
        raise ValueError(f"unknown camera motion {name!r}; choose one of {', '.join(MOTIONS)}")
    if level not in LEVELS:
        raise ValueError(f"camera motion level must be 1, 2 or 3, got {level}")
    t = np.asarray(timestamps, np.float64).reshape(-1)
    s = LEVEL_SCALE[level]
    w, h = frame_size
    margin = (1.0 - VIEW_FRACTION) / 2.0 * np.array([w, h], np.float64)
    offset = np.zeros((len(t), 2))
    roll = np.zeros(len(t))  # degrees
    zoom = np.ones(len(t))
    if name in ("pan", "robot"):
        phase = np.random.default_rng([_PAN_SALT, seed]).uniform(0.0, 2.0 * np.pi, 4)

        def wave(key, k):
            amp, period = PAN[key]
            return s * amp * np.sin(2.0 * np.pi * t / period + phase[k])

        offset += np.stack([wave("x", 0) * margin[0], wave("y", 1) * margin[1]], 1)
        roll += wave("roll", 2)
        zoom += wave("zoom", 3)
    if name in ("shake", "robot"):
        jitter = np.array([_jitter(seed, ti) for ti in t]).reshape(-1, 3)
        offset += jitter[:, :2] * s * SHAKE_OFFSET * w
        roll += jitter[:, 2] * s * SHAKE_ROLL
    rad = np.deg2rad(roll)
    cos, sin = zoom * np.cos(rad), zoom * np.sin(rad)
    warps = np.empty((len(t), 2, 3))
    warps[:, 0, 0], warps[:, 0, 1], warps[:, 1, 0], warps[:, 1, 1] = cos, -sin, sin, cos
    centre = np.array([w, h], np.float64) / 2.0
    view_centre = np.array(view_size(frame_size), np.float64) / 2.0
    # rotate and zoom about the frame centre, move against the camera's offset, frame centre -> view centre
    warps[:, :, 2] = view_centre - offset - warps[:, :, :2] @ centre
    return warps


def _jitter(seed: int, t: float) -> np.ndarray:
    """Three standard normals (x, y, roll) clipped at 3, fixed by the seed and the timestamp (ms) alone."""
    ms = int(round(t * 1000.0)) & 0xFFFFFFFFFFFFFFFF  # a non-negative seed word, negative times included
    rng = np.random.default_rng([_SHAKE_SALT, seed & 0xFFFFFFFFFFFFFFFF, ms])
    return np.clip(rng.standard_normal(3), -3.0, 3.0)


def render_view(image: np.ndarray, warp: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """What the moving camera sees: ``image`` warped into a (width, height) view, grey where it sees
    beyond the recorded frame."""
    return cv2.warpAffine(image, np.asarray(warp, np.float64), tuple(int(v) for v in size), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=BORDER_VALUE)


def camera_view(image: np.ndarray, stamp: float, name: str, level: int, seed: int = 0) -> np.ndarray:
    """What the simulated moving camera ``name:level`` sees of ``image`` (a frame of the recording) at ``stamp`` s."""
    size = (image.shape[1], image.shape[0])
    return render_view(image, camera_warps([stamp], size, name, level, seed)[0], view_size(size))


def warp_boxes(boxes: np.ndarray, warp: np.ndarray, size) -> tuple[np.ndarray, np.ndarray]:
    """Boxes (N, 4) ltrb in frame pixels -> (the axis-aligned bounds of their warped corners clipped to the
    (width, height) view, visible (N,): the clipped area over the unclipped one, 0 when all out of view).

    The warp is applied to box coordinates as they are; against cv2's pixel-centre convention of
    ``render_view`` that is off by 0.5 x (1 - zoom) px at most, under 0.04 px."""
    bounds = warp_boxes_affine(boxes, warp)
    area = np.prod(np.clip(bounds[:, 2:] - bounds[:, :2], 0.0, None), 1)
    clipped = bounds.copy()
    clipped[:, [0, 2]] = np.clip(bounds[:, [0, 2]], 0.0, float(size[0]))
    clipped[:, [1, 3]] = np.clip(bounds[:, [1, 3]], 0.0, float(size[1]))
    inside = np.prod(np.clip(clipped[:, 2:] - clipped[:, :2], 0.0, None), 1)
    visible = np.divide(inside, area, out=np.zeros_like(area), where=area > 0)
    return clipped, visible


def write_view_gt(gt_path: str, frames, warps: np.ndarray, size, out_path: str, min_visible: float = 0.5) -> str:
    """A MOT15 ground-truth file re-expressed in the camera view: ``frames[k]`` (1-based, as in the file)
    seen through ``warps[k]``; rows of other frames are dropped.

    Boxes are the clipped bounds of ``warp_boxes``. A box less than ``min_visible`` in view becomes an
    ignore region (flag 0: half a person at the edge neither rewards nor punishes a tracker); one all out of
    view (or under 1 px wide or high once clipped) is dropped. Other columns are kept as written."""
    frames = [int(f) for f in frames]
    warps = np.asarray(warps, np.float64).reshape(-1, 2, 3)
    if len(frames) != len(warps):
        raise ValueError(f"{len(frames)} frames but {len(warps)} warps")
    warp_of = dict(zip(frames, warps))
    with open(gt_path) as fh:
        rows = [[c.strip() for c in line.split(",")] for line in fh if line.strip()]
    out = []
    for cells in rows:
        warp = warp_of.get(int(float(cells[0])))
        if warp is None:
            continue
        x, y, bw, bh = (float(c) for c in cells[2:6])
        (box,), (vis,) = warp_boxes(np.array([[x, y, x + bw, y + bh]]), warp, size)
        w, h = box[2] - box[0], box[3] - box[1]
        if vis <= 0.0 or w < 1.0 or h < 1.0:
            continue
        flag = "0" if vis < min_visible else cells[6]
        out.append(",".join(cells[:2] + [f"{box[0]:.2f}", f"{box[1]:.2f}", f"{w:.2f}", f"{h:.2f}", flag] + cells[7:]))
    os.makedirs(os.path.dirname(os.path.abspath(out_path)), exist_ok=True)
    with open(out_path, "w") as fh:
        fh.write("".join(line + "\n" for line in out))
    return out_path
