"""``sotmot track SOURCE``: detect and track a video, image folder or MOTChallenge sequence offline."""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

from ..bundled_models import bundled_models_text
from ..tracking.config import TrackerConfig
from ..types import BACKENDS

# Short names of earlier releases, kept working: TrackerConfig field -> extra flag.
LEGACY_FLAGS = {"high_score_threshold": "--high-thresh", "low_score_threshold": "--low-thresh",
                "new_track_score_threshold": "--new-track-thresh"}


def add_tracker_flags(parser: argparse.ArgumentParser) -> None:
    """One ``--<setting>`` flag per ``TrackerConfig`` field, generated from its ``Setting`` (help, choices,
    bounds): a new tracker knob needs no edit here. Every flag defaults to None = unset, so the model file's
    tuned setting (or the library default for a model without them) applies unless the user gives a value."""
    group = parser.add_argument_group("tracker settings (default: the model's tuned setting)")
    for name, typ, _, setting in TrackerConfig.settings():
        flags = [f"--{name.replace('_', '-')}"] + ([LEGACY_FLAGS[name]] if name in LEGACY_FLAGS else [])
        valid = "; ".join(x for x in (setting.bounds_text(), setting.rule) if x)
        text = setting.help + (f" Valid: {valid}." if valid else "")
        kwargs = dict(dest=name, default=None, help=text.replace("%", "%%"))  # argparse formats help with %
        if typ is bool:
            kwargs["action"] = argparse.BooleanOptionalAction
        else:
            kwargs.update(type=typ, choices=setting.choices or None)
        group.add_argument(*flags, **kwargs)


def input_size_arg(text: str) -> tuple[int, int]:
    """``640x480`` -> (640, 480); the Detector checks that both are multiples of 32."""
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT such as 512x384, got {text!r}") from None
    return w, h


def tracker_overrides(args: argparse.Namespace) -> dict:
    """The tracker settings given on the command line (unset flags left out)."""
    return {name: getattr(args, name) for name, *_ in TrackerConfig.settings() if getattr(args, name) is not None}


def register(subparsers) -> None:
    p = subparsers.add_parser("track", help="track objects in a video / image folder / MOTChallenge sequence",
                              description=__doc__)
    p.add_argument("source", help="video file, image folder, or MOTChallenge folder (img1/ + seqinfo.ini)")
    p.add_argument("--checkpoint", default=None,
                   help=f"model file, or a bundled model's name: {bundled_models_text()}; default: default")
    p.add_argument("--device", default="auto", help="auto | cpu | cuda:N")
    p.add_argument("--half", action="store_true", help="half precision on CUDA")
    p.add_argument("--backend", choices=BACKENDS, default="auto",
                   help="inference engine: auto = ONNX Runtime on the CPU when installed, else PyTorch")
    p.add_argument("--trim-padding", action="store_true",
                   help="run at the smallest input that holds the frame at its letterbox scale (a 16:9 video at "
                   "640x480 computes 640x384, ~19%% less time; the bundled model loses a little accuracy: model card)")
    p.add_argument("--input-size", type=input_size_arg, default=None, metavar="WxH",
                   help="network input, multiples of 32 (default: the model's; e.g. 512x384 for ~1.5x the speed "
                   "of the default model's 640x480 on a CPU)")
    add_tracker_flags(p)
    p.add_argument("--first", type=int, default=1, help="first frame (1-based, inclusive)")
    p.add_argument("--last", type=int, default=None, help="last frame (inclusive; default: end)")
    p.add_argument("--fps", type=float, default=None, help="override the source frame rate (timestamps)")
    p.add_argument("--out", default=None, help="MOTChallenge results file to write")
    p.add_argument("--render", default=None, help="video (.mp4) with boxes and IDs drawn")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import cv2
    from tqdm import tqdm

    from ..data.mot import write_mot_results
    from ..detector import Detector
    from ..render import draw_tracks
    from ..sources import open_source
    from ..tracking import Tracker, config_for_model, tracks_to_publish
    from ..tracking.camera_motion import moving_camera_hint

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    config_for_model(None, tracker_overrides(args))  # a bad flag value fails here, before the model loads
    source = open_source(args.source, fps=args.fps)
    if (args.last is not None and args.last < args.first) or (source.length and args.first > source.length):
        return _no_frames(args, source)
    detector = Detector.from_checkpoint(args.checkpoint, device=args.device, half=args.half, input_size=args.input_size,
                                        backend=args.backend, trim_padding=args.trim_padding)
    config, origin = config_for_model(detector.meta, tracker_overrides(args))
    log = logging.getLogger("sotmot.track")
    log.info("model: %s (%dx%d input%s, %s on %s)", args.checkpoint or "default", *detector.input_size,
             ", padding trimmed" if detector.trim_padding else "", detector.backend, detector.device)
    log.info("tracker: %s", origin)
    detector.score_threshold = config.low_score_threshold  # the tracker's lowest threshold is the decode threshold
    tracker = Tracker(config)
    for target in (args.out, args.render):
        if target:
            Path(target).resolve().parent.mkdir(parents=True, exist_ok=True)
    rows, ids, writer, n, compensated = [], set(), None, 0, 0
    total = None
    if source.length:
        total = max(0, (min(args.last, source.length) if args.last else source.length) - args.first + 1)
    start = time.perf_counter()
    for frame, image, stamp in tqdm(source.frames(args.first, args.last), total=total, unit="frame",
                                    disable=args.no_progress, desc=source.name):
        outputs = tracker.update(detector(image), stamp, frame=image)
        compensated += tracker.last_camera_motion is not None
        shown = tracks_to_publish(outputs)
        for o in shown:
            ids.add(o.track_id)
            rows.append((frame, o.track_id, *o.box.tolist(), o.score))
        if args.render:
            drawn = draw_tracks(image, shown)
            if writer is None:
                h, w = drawn.shape[:2]
                writer = cv2.VideoWriter(args.render, cv2.VideoWriter_fourcc(*"mp4v"), source.fps, (w, h))
                if not writer.isOpened():
                    raise OSError(f"cannot write video {args.render} (OpenCV has no mp4v writer for it)")
            writer.write(drawn)
        n += 1
    elapsed = time.perf_counter() - start
    hint = moving_camera_hint(tracker.motion_monitor, config.camera_motion, "--camera-motion")
    if hint:
        log.warning("%s", hint)
    elif config.camera_motion != "none" and n:
        log.info("camera motion (%s): compensated in %d of %d frames, %d not measurable", config.camera_motion,
                 compensated, n, tracker.motion_estimator.failures)
    if writer is not None:
        writer.release()
    if n == 0:
        return _no_frames(args, source)
    if args.out:
        write_mot_results(args.out, rows)
    fps = n / elapsed if elapsed > 0 else float("nan")
    print(f"{source.name}: {n} frames in {elapsed:.1f} s ({fps:.1f} FPS, detector + tracker), "
          f"{len(ids)} track IDs, {len(rows)} boxes" + (f" -> {args.out}" if args.out else "")
          + (f", video {args.render}" if args.render else ""))
    return 0


def _no_frames(args: argparse.Namespace, source) -> int:
    size = f"{source.length} frames" if source.length else "an unknown number of frames"
    print(f"sotmot track: error: no frames to track: frames {args.first}-{args.last or 'end'} of {source.name} "
          f"({size}) are empty; nothing written", file=sys.stderr)
    return 1
