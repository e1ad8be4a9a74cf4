"""``sotmot review-labels DIR/NAME``: sheets to check pseudo-label identities by eye before trusting them.

Reads a folder written by ``sotmot pseudo-label`` (``gt/gt.txt``, ``seqinfo.ini`` with the source and its frame
rate) and writes to ``DIR/NAME/review/`` (or ``--out``):

- ``joins_N.png``: each join candidate (an identity ends and another starts soon after, close by: maybe one
  person the linker split), the ending one's last crop in red, the starting one's first crop in green and both
  boxes on the starting frame;
- ``identities_N.png``: per identity, crops spread over its frames (a strip that shows two people is a swap);
- ``candidates.yaml``: the join candidates as commented ``merge`` lines;
- with ``--frames 40,60``: ``frame_NNNNNN.png``, those frames at full size with their labels and pixel ticks, to read
  off the key-frame boxes of a correction.

Keep what you confirm in a corrections file and re-make the labels with it (``sotmot pseudo-label ...
--relabel --corrections FILE``; layout in ``sotmot_ros/pseudo/corrections.py``).
"""

from __future__ import annotations

import argparse
import os


def register(subparsers) -> None:
    p = subparsers.add_parser("review-labels", help="draw sheets to check pseudo-label identities by eye",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("labels", help="a folder written by `sotmot pseudo-label` (DIR/NAME)")
    p.add_argument("--source", default=None, help="the video / image folder (default: the one in seqinfo.ini)")
    p.add_argument("--out", default=None, help="output folder (default: LABELS/review)")
    p.add_argument("--max-gap-seconds", type=float, default=3.0,
                   help="join candidates: the second identity starts at most this long after the first ends")
    p.add_argument("--max-distance", type=float, default=2.5,
                   help="join candidates: ... and at most this many of the first's box heights away")
    p.add_argument("--per-identity", type=int, default=3, help="join candidates: at most this many per ending identity")
    p.add_argument("--frames", default="", help="comma-separated frames to draw at full size with labels and pixel ticks")
    p.add_argument("--samples", type=int, default=8, help="crops per identity strip")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..data.mot import read_seqinfo
    from ..pseudo.review import format_candidates, identity_tracks, join_candidates, write_frames, write_review
    from ..sources import open_source

    gt_path = os.path.join(args.labels, "gt", "gt.txt")
    if not os.path.isfile(gt_path):
        raise FileNotFoundError(f"no {gt_path}: give a folder written by `sotmot pseudo-label`")
    try:
        frames = sorted({int(f) for f in args.frames.split(",") if f.strip()})
    except ValueError as exc:
        raise ValueError(f"--frames takes comma-separated frame numbers, got {args.frames!r}") from exc
    if frames and frames[0] < 1:
        raise ValueError(f"--frames are 1-based, got {frames[0]}")
    if args.samples < 1 or args.per_identity < 1:
        raise ValueError(f"--samples and --per-identity must be >= 1, got {args.samples} and {args.per_identity}")
    info = read_seqinfo(os.path.join(args.labels, "seqinfo.ini"))
    source_path = args.source or info.get("source")
    if not source_path:
        raise ValueError(f"{args.labels}/seqinfo.ini names no source: pass --source")
    if not os.path.exists(source_path):
        raise FileNotFoundError(f"source {source_path} not found (moved? pass --source)")
    source = open_source(source_path, float(info["framerate"]) if "framerate" in info else None)
    if frames and source.length and frames[-1] > source.length:
        raise ValueError(f"--frames: {source_path} has {source.length} frames, asked for {frames[-1]}")
    tracks = identity_tracks(gt_path)
    candidates = join_candidates(tracks, source.fps, args.max_gap_seconds, args.max_distance, args.per_identity)
    out = args.out or os.path.join(args.labels, "review")
    written = write_review(source, tracks, candidates, out, args.samples)
    if frames:
        written += write_frames(source, gt_path, frames, out)
    text = format_candidates(candidates)
    with open(os.path.join(out, "candidates.yaml"), "w") as fh:
        fh.write(text)
    print(f"{len(tracks)} identities, {len(candidates)} join candidates")
    print(text, end="")
    print("wrote " + ", ".join(written + [os.path.join(out, "candidates.yaml")]))
    return 0
