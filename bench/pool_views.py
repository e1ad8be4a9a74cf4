"""Pool the tracking results of many ``evaluate_people.py --json`` runs (views: splits x frame steps x seeds ...).

A rule that compares tracker settings over many views needs one number per setting. The mean of per-view IDF1 lets a
clip of two people weigh as much as a crowd of forty (one decision on the two moves it by 30 points); pooling the
identity counts (IDTP, IDFP, IDFN) over every sequence of every view weighs each by its boxes, as MOTChallenge's
combined score does. Prints, per association mode: pooled IDF1, switches, the mean of per-view IDF1 beside it, and
the sequences that weigh most.

    python bench/pool_views.py runs/x/*.json [--mode sot] [--sequence NAME ...] [--json-out pooled.json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections import defaultdict

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from sotmot_ros.evaluation import pooled_idf1  # noqa: E402


def pool(paths: list[str], mode: str, sequences: list[str] | None = None) -> dict:
    """Pooled identity metrics of ``mode`` over every sequence of every file in ``paths`` (only those named in
    ``sequences`` when given, e.g. the scenes held out of training)."""
    rows = []
    for path in paths:
        with open(path) as fh:
            data = json.load(fh)
        for name, seq in data["sequences"].items():
            if sequences and name not in sequences:
                continue
            m = seq.get("tracking", {}).get(mode)
            if m is None:
                continue
            if "IDTP" not in m:
                raise ValueError(f"{path}: {name} has no identity counts (IDTP/IDFP/IDFN); re-run evaluate_people.py "
                                 "with this code to pool it")
            rows.append({"file": path, "sequence": name, **m})
    if not rows:
        only = f" for {', '.join(sequences)}" if sequences else ""
        raise ValueError(f"no {mode!r} tracking results{only} in {len(paths)} file(s)")
    weight = defaultdict(int)
    for r in rows:
        weight[r["sequence"]] += 2 * r["IDTP"] + r["IDFP"] + r["IDFN"]
    total = sum(weight.values())
    return {"mode": mode, "views": len(rows), "files": len(paths), "pooled_IDF1": pooled_idf1(rows),
            "mean_IDF1": sum(r["IDF1"] for r in rows) / len(rows), "IDs": sum(r["IDs"] for r in rows),
            "weight_by_sequence": {k: v / total for k, v in sorted(weight.items(), key=lambda kv: -kv[1])}}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("json", nargs="+", help="evaluate_people.py --json files")
    p.add_argument("--mode", default="sot", help="association mode to pool (default sot)")
    p.add_argument("--sequence", action="append", default=None, metavar="NAME",
                   help="pool only this sequence (repeatable), e.g. the scenes held out of training")
    p.add_argument("--json-out", default=None, help="write the pooled numbers here")
    args = p.parse_args(argv)
    try:
        out = pool(args.json, args.mode, args.sequence)
    except (OSError, ValueError, KeyError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"{out['mode']}: pooled IDF1 {100 * out['pooled_IDF1']:.2f} over {out['views']} sequence views in "
          f"{out['files']} files (mean of per-view IDF1 {100 * out['mean_IDF1']:.2f}), switches {out['IDs']}")
    print("weight of each sequence in the pooled score: " + ", ".join(
        f"{k} {100 * v:.1f} %" for k, v in out["weight_by_sequence"].items()))
    if args.json_out:
        with open(args.json_out, "w") as fh:
            json.dump(out, fh, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
