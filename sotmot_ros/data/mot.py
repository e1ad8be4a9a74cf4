"""MOTChallenge annotation/result files and sequences (MOTChallenge folders, image folders or video files).

Annotation formats (``fmt``), all with 1-based frames and ``left, top, width, height`` pixels:

- ``"mot15"``: ``frame,id,left,top,width,height,flag,x,y,z`` (2D MOT 2015, e.g. PETS09-S2L1). Column 7
  is a flag (0 = ignore region, 1 = counted); the last three are world coordinates and carry no class.
- ``"mot17"``: ``frame,id,left,top,width,height,flag,class,visibility`` (MOT16/17/20). Class and visibility
  are meaningful, so class filtering and a minimum visibility apply.

The format is a parameter rather than guessed from the column count: a 10-column MOT15 file and a
10-column MOT17 result file cannot be told apart reliably.
"""

from __future__ import annotations

import configparser
import os
from dataclasses import dataclass

import cv2
import numpy as np

from .video import iter_video_frames

FORMATS = ("mot15", "mot17")
MOT17_PEDESTRIAN = 1
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".webp")


def list_images(folder: str, extensions: tuple[str, ...] = IMAGE_EXTENSIONS) -> list[str]:
    """The image files of a folder (the given extensions, any case) in sorted name order.

    Frame n of a sequence is the n-th entry. The order is plain string order, so numbered names must be
    zero-padded to the same width (``000001.jpg``, not ``1.jpg``/``10.jpg``).
    """
    extensions = tuple(e.lower() for e in extensions)
    names = sorted(
        n for n in os.listdir(folder)
        if n.lower().endswith(extensions) and os.path.isfile(os.path.join(folder, n))
    )
    return [os.path.join(folder, n) for n in names]


@dataclass
class FrameAnnotations:
    """Boxes of one frame: ``boxes`` (N, 4) ltrb pixels, ``ids`` (N,), ``ignore`` (N,) bool."""

    boxes: np.ndarray
    ids: np.ndarray
    ignore: np.ndarray


def read_mot_file(
    path: str,
    fmt: str = "mot17",
    frame_range: tuple[int, int] | None = None,
    classes: tuple[int, ...] = (MOT17_PEDESTRIAN,),
    min_visibility: float = 0.0,
) -> dict[int, FrameAnnotations]:
    """Read a ground-truth file into ``{frame: FrameAnnotations}`` restricted to ``frame_range`` (inclusive).

    Rows with flag 0 become ignore regions. For ``mot17`` rows of other classes or with visibility below
    ``min_visibility`` also become ignore regions (they are people-like things the detector must not be
    punished for), as FairMOT does by skipping them.
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown annotation format {fmt!r}; choose one of {FORMATS}")
    data = np.loadtxt(path, delimiter=",", ndmin=2, dtype=np.float64)
    if data.size == 0:
        return {}
    if data.shape[1] < 7:
        raise ValueError(f"{path}: expected at least 7 columns, got {data.shape[1]}")
    frames = data[:, 0].astype(np.int64)
    if frame_range is not None:
        keep = (frames >= frame_range[0]) & (frames <= frame_range[1])
        data, frames = data[keep], frames[keep]
    ignore = data[:, 6] == 0
    if fmt == "mot17" and data.shape[1] >= 9:
        cls = data[:, 7].astype(np.int64)
        ignore |= ~np.isin(cls, np.asarray(classes, dtype=np.int64)) | (data[:, 8] < min_visibility)
    boxes = np.stack([data[:, 2], data[:, 3], data[:, 2] + data[:, 4], data[:, 3] + data[:, 5]], 1)
    out: dict[int, FrameAnnotations] = {}
    for f in np.unique(frames):
        sel = frames == f
        out[int(f)] = FrameAnnotations(
            boxes[sel].astype(np.float32), data[sel, 1].astype(np.int64), ignore[sel].copy()
        )
    return out


def write_mot_results(path: str, rows) -> None:
    """Write tracker rows ``(frame, id, x1, y1, x2, y2, score)`` as MOTChallenge ``frame,id,x,y,w,h,score,-1,-1,-1``."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w") as fh:
        for frame, tid, x1, y1, x2, y2, score in rows:
            fh.write(
                f"{int(frame)},{int(tid)},{x1:.2f},{y1:.2f},{x2 - x1:.2f},{y2 - y1:.2f},{score:.4f},-1,-1,-1\n"
            )


def write_mot15_annotations(path: str, rows) -> str:
    """Write annotation rows ``(frame, id, left, top, width, height, flag)`` as MOT15 lines (world columns -1), the
    layout ``read_mot_file(..., "mot15")`` and the evaluation read; flag 0 marks an ignore region. Returns ``path``."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w") as fh:
        for frame, tid, left, top, width, height, flag in rows:
            fh.write(f"{int(frame)},{int(tid)},{left:.2f},{top:.2f},{width:.2f},{height:.2f},{int(flag)},-1,-1,-1\n")
    return path


def read_seqinfo(path: str) -> dict:
    """The ``[Sequence]`` section of a ``seqinfo.ini`` as a dict (empty when the file is absent)."""
    if not path or not os.path.isfile(path):
        return {}
    parser = configparser.ConfigParser()
    parser.read(path)
    return dict(parser["Sequence"]) if parser.has_section("Sequence") else {}


class MOTSequence:
    """One annotated sequence restricted to ``frame_range`` (inclusive, 1-based).

    ``source`` is one of

    - a MOTChallenge folder (``img1/`` or the ``seqinfo.ini`` ``imDir``, ``gt/gt.txt``, ``seqinfo.ini``);
    - a plain folder of images (no ``img1/``; ``gt`` must be given);
    - a video file, animated GIFs included (``gt`` must be given).

    In both kinds of folder frame n is the n-th image in sorted name order (:func:`list_images`), so
    names need not be ``%06d``. Frames outside the range are never decoded, so held-out parts of a
    sequence stay unseen.

    Video frames are decoded once, sequentially (seeking is unreliable in many codecs), and kept in RAM
    JPEG-encoded (quality 95) by default: ~20x less memory than raw uint8 (PETS: ~30 MB instead of
    ~500 MB, which matters with DataLoader workers and one process per DDP rank), and decoding a 768x576
    JPEG (~3 ms) is negligible next to a training step; at q95 the re-encoding error is well below the
    source codec's. ``cache="raw"`` keeps raw frames instead.
    """

    def __init__(
        self,
        source: str,
        gt: str | None = None,
        frame_range: tuple[int, int] | None = None,
        fmt: str = "mot17",
        seqinfo: str | None = None,
        cache: str = "jpeg",
        min_visibility: float = 0.0,
    ):
        if cache not in ("jpeg", "raw"):
            raise ValueError(f"cache must be 'jpeg' or 'raw', got {cache!r}")
        self.source = source
        self.is_video = os.path.isfile(source)
        if not self.is_video and not os.path.isdir(source):
            raise FileNotFoundError(f"sequence source not found: {source}")
        self._paths: list[str] = []
        if self.is_video:
            if gt is None:
                raise ValueError("a video sequence needs a gt file")
        else:
            seqinfo = seqinfo or os.path.join(source, "seqinfo.ini")
            info = read_seqinfo(seqinfo)
            self.im_dir = os.path.join(source, info.get("imdir", "img1"))
            exts = IMAGE_EXTENSIONS
            if os.path.isdir(self.im_dir):  # MOTChallenge layout; its imExt narrows the listing
                gt = gt or os.path.join(source, "gt", "gt.txt")
                exts = (info["imext"],) if info.get("imext") else IMAGE_EXTENSIONS
            else:  # a plain folder of images
                if gt is None:
                    raise ValueError(f"{source}: a folder of images without img1/ needs a gt file")
                self.im_dir = source
            self._paths = list_images(self.im_dir, exts)
            if not self._paths:
                raise FileNotFoundError(f"no images ({', '.join(exts)}) in {self.im_dir}")
        self.info = read_seqinfo(seqinfo)
        self.name = self.info.get("name", os.path.splitext(os.path.basename(source.rstrip("/")))[0])
        length = int(self.info["seqlength"]) if "seqlength" in self.info else None
        if not self.is_video:
            length = min(length, len(self._paths)) if length else len(self._paths)
        if self.is_video and length is None:
            cap = cv2.VideoCapture(source)
            length = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
            if length <= 0:  # no frame count in the container: count the frames
                length = 0
                while cap.grab():
                    length += 1
            cap.release()
        if frame_range is None:
            if length is None:
                raise ValueError("frame_range is needed when the sequence length is unknown")
            frame_range = (1, length)
        first, last = int(frame_range[0]), int(frame_range[1])
        if first < 1 or last < first:
            raise ValueError(f"bad frame_range {frame_range}")
        if not self.is_video and last > len(self._paths):
            raise ValueError(f"{source}: {len(self._paths)} images, frame_range ends at {last}")
        self.frame_range = (first, last)
        self.annotations = read_mot_file(gt, fmt=fmt, frame_range=self.frame_range, min_visibility=min_visibility)
        self.cache = cache
        self._frames: dict[int, np.ndarray] = {}
        if self.is_video:
            self._decode_video()

    @property
    def frames(self) -> list[int]:
        return list(range(self.frame_range[0], self.frame_range[1] + 1))

    def _decode_video(self) -> None:
        first, last = self.frame_range
        frame = first - 1
        for frame, img in iter_video_frames(self.source, first, last):
            if self.cache == "jpeg":
                img = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 95])[1]
            self._frames[frame] = img
        if frame < last:
            raise ValueError(f"{self.source}: video has {frame} frames, frame_range ends at {last}")

    def image(self, frame: int) -> np.ndarray:
        """The BGR uint8 image of a 1-based frame inside the range."""
        if not self.frame_range[0] <= frame <= self.frame_range[1]:
            raise IndexError(f"frame {frame} outside {self.frame_range}")
        if self.is_video:
            img = self._frames[frame]
            return cv2.imdecode(img, cv2.IMREAD_COLOR) if self.cache == "jpeg" else img
        path = self._paths[frame - 1]
        img = cv2.imread(path, cv2.IMREAD_COLOR)
        if img is None:
            raise FileNotFoundError(path)
        return img

    def annotation(self, frame: int) -> FrameAnnotations:
        empty = FrameAnnotations(np.zeros((0, 4), np.float32), np.zeros(0, np.int64), np.zeros(0, bool))
        return self.annotations.get(frame, empty)
