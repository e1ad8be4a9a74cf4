"""One-knob-at-a-time ablation of the tracker around a model's own settings, on a validation split.

Every row changes one field of the model's tracker settings (``config_for_model``: its tuned values) and
scores it on the same cached detections (after the model's own box NMS) of every sequence of the split (mean MOTA/IDF1/HOTA over the
sequences, summed ID switches). Rows: association mode, SOT response normalisation, ridge lambda,
template momentum, SOT fusion weight, motion gate. ``--frame-step N`` ablates what the tracker sees when it
keeps up with every Nth frame only (a detector slower than the camera), where settings that tie at every
frame part ways.

    python bench/ablate_tracker.py --checkpoint sotmot_ros/weights/default.pt --split tune [--frame-step 3]
        [--json out.json]
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, HERE)
sys.path.insert(0, REPO)

from cache_detections import apply_nms, attach_camera_motion, frame_step_arg  # noqa: E402
from evaluate_people import CACHE_DIR, load_split, model_nms, sequence_cache  # noqa: E402
from tune_tracker import frame_step_views, score_config  # noqa: E402

from sotmot_ros.model.checkpoint import default_checkpoint_path, load_model  # noqa: E402
from sotmot_ros.tracking import config_for_model  # noqa: E402
from sotmot_ros.tracking.config import ASSOCIATION_MODES, GATE_KINDS  # noqa: E402

AXES = {
    "association": ASSOCIATION_MODES,
    "sot_normalize": (False, True),
    "sot_lambda": (0.1, 0.5, 1.0, 2.0, 5.0, 10.0),
    "template_momentum": (0.0, 0.5, 0.9),
    "weight_sot": (0.3, 0.5, 0.7, 0.9),
    "gate": GATE_KINDS,
}


def ablate(checkpoint: str, split: str, axes: dict = AXES, frame_step: int = 1) -> dict:
    _, meta = load_model(checkpoint)
    base = config_for_model(meta)[0].to_dict()
    entries = load_split(split)
    nms = model_nms(meta)  # the detections the model's Detector gives (its box NMS)
    caches = [apply_nms(sequence_cache(e, checkpoint, CACHE_DIR), nms)
              for e in entries]
    gts = [e["gt"] for e in entries]
    with tempfile.TemporaryDirectory(prefix="sotmot_ablate_") as tmp:
        caches, gts = frame_step_views(caches, gts, (frame_step,), tmp)
        attach_camera_motion(caches, CACHE_DIR)  # the model's settings may compensate camera motion
        rows = ablate_caches(caches, gts, base, axes)
    return {"checkpoint": os.path.abspath(checkpoint), "split": split, "sequences": [e["name"] for e in entries],
            "frame_step": frame_step, "model_settings": base, "rows": rows}


def ablate_caches(caches: list, gts: list[str], base: dict, axes: dict = AXES) -> list[dict]:
    """One row per (field, value) of ``axes``: ``base`` with that one field changed, scored on every cache."""
    rows = []
    for field, values in axes.items():
        for v in values:
            # score_config applies overrides on the library defaults: pass the whole model config
            overrides = {**base, field: v}
            if field == "weight_sot":
                overrides["weight_iou"] = round(1.0 - v, 6)
            try:
                r = score_config(caches, gts, overrides)
            except ValueError as exc:  # an invalid combination for this model's settings
                print(f"skip {field}={v}: {exc}", file=sys.stderr)
                continue
            rows.append({"field": field, "value": v, "is_model_setting": base[field] == v,
                         **{k: r[k] for k in ("MOTA", "IDF1", "HOTA", "IDs", "FP", "FN")}})
            print(format_row(rows[-1]), flush=True)
    return rows


def format_row(r: dict) -> str:
    mark = " (model)" if r["is_model_setting"] else ""
    return (f"| {r['field']} = {r['value']}{mark} | {100 * r['IDF1']:.1f} | {100 * r['MOTA']:.1f} | "
            f"{100 * r['HOTA']:.1f} | {r['IDs']} | {r['FP']} | {r['FN']} |")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--checkpoint", default=str(default_checkpoint_path()))
    p.add_argument("--split", default="tune")
    p.add_argument("--frame-step", type=frame_step_arg, default=1, metavar="N",
                   help="track every Nth frame only, at its real time (skipped frames are not scored)")
    p.add_argument("--json", default=None)
    args = p.parse_args(argv)
    print("| setting | IDF1 | MOTA | HOTA | IDs | FP | FN |\n|---|---:|---:|---:|---:|---:|---:|")
    out = ablate(args.checkpoint, args.split, frame_step=args.frame_step)
    if args.json:
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        with open(args.json, "w") as fh:
            json.dump(out, fh, indent=2, default=float)
    return 0


if __name__ == "__main__":
    sys.exit(main())
