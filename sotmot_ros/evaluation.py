"""MOT metrics through motmetrics (CLEAR, identity) and trackeval (HOTA), and detection AP@0.5.

Conventions (MOTChallenge): a result box matches a ground-truth box at IoU >= 0.5. Ground-truth rows
marked as ignore (flag 0; for ``fmt='mot17'`` also other classes and low visibility, see
``sotmot_ros.data.mot.read_mot_file``) are ignore regions: result boxes matched to them one-to-one
(Hungarian on IoU >= 0.5 against all ground truth, as the MOTChallenge devkit does with distractors)
are dropped before scoring, so they count neither as true nor as false positives. The same filtered
data feeds both libraries; MOTA/IDF1 are reported from both as a cross-check (``*_trackeval``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment

from .data.mot import FrameAnnotations, read_mot_file
from .boxes import iou_matrix

IOU_THRESHOLD = 0.5

# Columns of the per-sequence table, in display order.
TABLE_COLUMNS = ("MOTA", "IDF1", "HOTA", "DetA", "AssA", "MOTP", "IDs", "FP", "FN", "MT", "ML", "Recall",
                 "Precision", "Frames", "MOTA_trackeval", "IDF1_trackeval")


def read_results(path: str, frame_range: tuple[int, int] | None = None) -> dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """MOTChallenge result/detection rows -> ``{frame: (ids (N,), ltrb boxes (N, 4), scores (N,))}``."""
    data = np.loadtxt(path, delimiter=",", ndmin=2, dtype=np.float64) if os.path.getsize(path) else np.zeros((0, 7))
    if data.size and data.shape[1] < 6:
        raise ValueError(f"{path}: expected at least 6 columns, got {data.shape[1]}")
    out = {}
    if data.size == 0:
        return out
    frames = data[:, 0].astype(np.int64)
    scores = data[:, 6] if data.shape[1] > 6 else np.ones(len(data))
    boxes = np.stack([data[:, 2], data[:, 3], data[:, 2] + data[:, 4], data[:, 3] + data[:, 5]], 1)
    for f in np.unique(frames):
        if frame_range is not None and not frame_range[0] <= f <= frame_range[1]:
            continue
        sel = frames == f
        out[int(f)] = (data[sel, 1].astype(np.int64), boxes[sel], scores[sel])
    return out


def _drop_ignored(gt: FrameAnnotations, boxes: np.ndarray) -> np.ndarray:
    """Mask of result boxes to keep: those matched (IoU >= 0.5, one-to-one) to an ignore region go."""
    keep = np.ones(len(boxes), bool)
    if len(boxes) == 0 or not gt.ignore.any():
        return keep
    iou = iou_matrix(gt.boxes, boxes)
    score = np.where(iou >= IOU_THRESHOLD - 1e-9, iou, 0.0)
    rows, cols = linear_sum_assignment(-score)
    hit = score[rows, cols] > 0
    keep[cols[hit & gt.ignore[rows]]] = False
    return keep


@dataclass
class _Frame:
    gt_ids: np.ndarray
    gt_boxes: np.ndarray
    res_ids: np.ndarray
    res_boxes: np.ndarray
    number: int = 0  # the frame number in the sequence


def _prepare(gt_path: str, res_path: str, fmt: str, frame_range, min_visibility: float) -> list[_Frame]:
    gt = read_mot_file(gt_path, fmt=fmt, frame_range=frame_range, min_visibility=min_visibility)
    res = read_results(res_path, frame_range)
    frames = sorted(set(gt) | set(res))
    if frame_range is not None:
        frames = list(range(frame_range[0], frame_range[1] + 1))
    empty_gt = FrameAnnotations(np.zeros((0, 4), np.float32), np.zeros(0, np.int64), np.zeros(0, bool))
    out = []
    for f in frames:
        g = gt.get(f, empty_gt)
        ids, boxes, _ = res.get(f, (np.zeros(0, np.int64), np.zeros((0, 4)), np.zeros(0)))
        keep = _drop_ignored(g, boxes)
        valid = ~g.ignore
        out.append(_Frame(g.ids[valid], g.boxes[valid].astype(np.float64), ids[keep], boxes[keep], int(f)))
    return out


def _motmetrics_accumulator(frames: list[_Frame]):
    import motmetrics as mm

    acc = mm.MOTAccumulator(auto_id=False)
    for fr in frames:
        # motmetrics' distance convention (1 - IoU, NaN beyond 0.5); its own iou_matrix uses np.asfarray,
        # which NumPy 2 removed, so the matrix is built here.
        dist = 1.0 - iou_matrix(fr.gt_boxes, fr.res_boxes)
        dist[dist > IOU_THRESHOLD] = np.nan
        acc.update(fr.gt_ids.tolist(), fr.res_ids.tolist(), dist, frameid=fr.number)
    return acc


def _resolve_range(frame_range: tuple[int, int] | str | None, gt_path: str, fmt: str) -> tuple[int, int] | None:
    """``"gt"``: the ground truth's first to last annotated frame (results elsewhere are not scored); else as given."""
    if frame_range == "gt":
        return frame_span(read_mot_file(gt_path, fmt=fmt)) or (1, 0)
    return frame_range


def identity_switches(gt_path: str, res_path: str, fmt: str = "mot15",
                      frame_range: tuple[int, int] | str | None = None, min_visibility: float = 0.0) -> list[dict]:
    """Every identity switch that ``evaluate_mot`` counts, with what tells its cause apart, in frame order.

    Per switch: ``frame``, ``person`` (ground-truth id), ``before`` / ``after`` (the result ids that followed the
    person before and from this frame), ``after_born`` (the first frame the ``after`` id appears in the scored results, ignore regions dropped:
    this frame means a new track took the person, an earlier one that an existing track did), ``missed_before``
    (frames the person went unmatched just before: an occlusion the tracker did not bridge) and ``box`` (ltrb).
    ``frame_range`` as in ``evaluate_mot`` (``"gt"``: the ground truth's frames).
    """
    frames = _prepare(gt_path, res_path, fmt, _resolve_range(frame_range, gt_path, fmt), min_visibility)
    events = _motmetrics_accumulator(frames).mot_events
    born: dict[int, int] = {}
    for fr in frames:
        for i in fr.res_ids.tolist():
            born.setdefault(int(i), fr.number)
    boxes = {(fr.number, int(i)): b for fr in frames for i, b in zip(fr.gt_ids.tolist(), fr.gt_boxes)}
    out = []
    last_track: dict[int, int] = {}
    missed: dict[int, int] = {}
    for (frame, _), e in events.iterrows():
        if e.Type not in ("MATCH", "SWITCH", "MISS"):
            continue
        person = int(e.OId)
        if e.Type == "MISS":
            missed[person] = missed.get(person, 0) + 1
            continue
        track = int(e.HId)
        if e.Type == "SWITCH":
            out.append({"frame": int(frame), "person": person, "before": last_track.get(person), "after": track,
                        "after_born": born.get(track), "missed_before": missed.get(person, 0),
                        "box": [float(v) for v in boxes[(int(frame), person)]]})
        last_track[person] = track
        missed[person] = 0
    return out


def format_switches(switches: list[dict]) -> str:
    """One line per switch (``identity_switches``), saying whether a new or an existing track took the person."""
    lines = []
    for s in switches:
        taker = (f"new track {s['after']}" if s["after_born"] == s["frame"]
                 else f"track {s['after']} (since frame {s['after_born']})")
        b = s["box"]
        lines.append(f"  frame {s['frame']}: person {s['person']} from track {s['before']} to {taker}, after "
                     f"{s['missed_before']} missed frames; box x {b[0]:.0f}-{b[2]:.0f}, y {b[1]:.0f}-{b[3]:.0f}")
    return "\n".join(lines) if lines else "  no identity switch"


def _trackeval_data(frames: list[_Frame]) -> dict:
    """The per-sequence dict trackeval's metrics consume (contiguous 0-based IDs, IoU similarities)."""
    gt_u = np.unique(np.concatenate([f.gt_ids for f in frames])) if frames else np.zeros(0, np.int64)
    tr_u = np.unique(np.concatenate([f.res_ids for f in frames])) if frames else np.zeros(0, np.int64)
    data = {"num_timesteps": len(frames), "num_gt_ids": len(gt_u), "num_tracker_ids": len(tr_u),
            "num_gt_dets": int(sum(len(f.gt_ids) for f in frames)),
            "num_tracker_dets": int(sum(len(f.res_ids) for f in frames)),
            "gt_ids": [], "tracker_ids": [], "similarity_scores": []}
    for f in frames:
        data["gt_ids"].append(np.searchsorted(gt_u, f.gt_ids))
        data["tracker_ids"].append(np.searchsorted(tr_u, f.res_ids))
        data["similarity_scores"].append(iou_matrix(f.gt_boxes, f.res_boxes))
    return data


def _trackeval_metrics():
    from trackeval.metrics import CLEAR, HOTA, Identity

    return {"HOTA": HOTA(), "CLEAR": CLEAR({"THRESHOLD": IOU_THRESHOLD, "PRINT_CONFIG": False}),
            "Identity": Identity({"THRESHOLD": IOU_THRESHOLD, "PRINT_CONFIG": False})}


def _from_trackeval(res: dict) -> dict:
    return {"HOTA": float(np.mean(res["HOTA"]["HOTA"])), "DetA": float(np.mean(res["HOTA"]["DetA"])),
            "AssA": float(np.mean(res["HOTA"]["AssA"])), "MOTA_trackeval": float(res["CLEAR"]["MOTA"]),
            "IDF1_trackeval": float(res["Identity"]["IDF1"]), "IDs_trackeval": int(res["CLEAR"]["IDSW"])}


def evaluate_mot(
    pairs: list[tuple[str, str]] | dict[str, tuple[str, str]],
    fmt: str = "mot15",
    frame_range: tuple[int, int] | dict | str | None = None,
    min_visibility: float = 0.0,
) -> dict[str, dict]:
    """Metrics per sequence (and ``'OVERALL'`` when there are several).

    Args:
        pairs: ``[(gt_file, result_file), ...]`` or ``{name: (gt_file, result_file)}``; list entries are
            named after the gt file's sequence folder (``.../SEQ/gt/gt.txt`` -> SEQ) or file stem.
        fmt: ground-truth format, 'mot15' (PETS/TUD: flag 0 = ignore) or 'mot17' (also class/visibility).
        frame_range: inclusive 1-based frame range applied to every pair (e.g. validation frames), or
            ``{name: range}`` per sequence, or ``"gt"``: each sequence's ground-truth frames (first to last
            annotated frame) only, so results for frames without annotations do not count as false positives.
        min_visibility: 'mot17' only; less visible ground truth becomes ignore regions.
    Returns:
        ``{name: {MOTA, IDF1, HOTA, DetA, AssA, MOTP, IDs, FP, FN, MT, ML, Recall, Precision, Frames, IDTP, IDFP,
        IDFN, MOTA_trackeval, IDF1_trackeval, IDs_trackeval}}``; ratios in [0, 1] (MOTA may be negative). The identity
        counts (IDF1 = 2 IDTP / (2 IDTP + IDFP + IDFN)) let results of separate runs be pooled (``pooled_idf1``).
    """
    import motmetrics as mm

    if not isinstance(pairs, dict):
        named = {}
        for gt_path, res_path in pairs:
            name = _sequence_name(gt_path)
            while name in named:
                name += "'"
            named[name] = (gt_path, res_path)
        pairs = named
    if not pairs:
        raise ValueError("no (gt, result) pairs to evaluate")
    accs, names, te_results, out = [], [], {}, {}
    metrics = _trackeval_metrics()
    for name, (gt_path, res_path) in pairs.items():
        for p in (gt_path, res_path):
            if not os.path.isfile(p):
                raise FileNotFoundError(p)
        rng = frame_range.get(name) if isinstance(frame_range, dict) else _resolve_range(frame_range, gt_path, fmt)
        frames = _prepare(gt_path, res_path, fmt, rng, min_visibility)
        accs.append(_motmetrics_accumulator(frames))
        names.append(name)
        data = _trackeval_data(frames)
        te_results[name] = {k: m.eval_sequence(data) for k, m in metrics.items()}
    mh = mm.metrics.create()
    summary = mh.compute_many(
        accs, names=names, generate_overall=len(accs) > 1,
        metrics=["mota", "idf1", "motp", "num_switches", "num_false_positives", "num_misses", "mostly_tracked",
                 "mostly_lost", "recall", "precision", "num_frames", "idtp", "idfp", "idfn"])
    if len(accs) > 1:
        te_results["OVERALL"] = {k: m.combine_sequences({n: te_results[n][k] for n in names}) for k, m in metrics.items()}
    for name, row in summary.iterrows():
        r = {"MOTA": float(row["mota"]), "IDF1": float(row["idf1"]),
             "MOTP": float(1.0 - row["motp"]) if np.isfinite(row["motp"]) else float("nan"),
             "IDs": int(row["num_switches"]), "FP": int(row["num_false_positives"]), "FN": int(row["num_misses"]),
             "MT": int(row["mostly_tracked"]), "ML": int(row["mostly_lost"]), "Recall": float(row["recall"]),
             "Precision": float(row["precision"]), "Frames": int(row["num_frames"]),
             "IDTP": int(row["idtp"]), "IDFP": int(row["idfp"]), "IDFN": int(row["idfn"])}
        r.update(_from_trackeval(te_results[name]))
        out[str(name)] = r
    return out


def pooled_idf1(results) -> float:
    """IDF1 of several sequences taken together: identity counts summed over ``results`` (dicts with IDTP, IDFP,
    IDFN, as ``evaluate_mot`` returns), so each sequence weighs by its boxes, as MOTChallenge's combined score does;
    a mean of per-sequence IDF1 lets a clip of two people weigh as much as a crowd."""
    tp = sum(int(r["IDTP"]) for r in results)
    fp = sum(int(r["IDFP"]) for r in results)
    fn = sum(int(r["IDFN"]) for r in results)
    return 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else float("nan")


def _sequence_name(gt_path: str) -> str:
    """The sequence a ground-truth file belongs to: the ``name`` of the sequence's ``seqinfo.ini``, else its
    folder for gt files named ``gt*.txt`` (``SEQ/gt/gt.txt``, ``SEQ/gt.txt``, ``SEQ/gt_train_0001-0397.txt``),
    else the file's stem."""
    from .data.mot import read_seqinfo

    path = os.path.normpath(os.path.abspath(gt_path))
    folder = os.path.dirname(path)
    seq_dir = os.path.dirname(folder) if os.path.basename(folder) == "gt" else folder
    name = read_seqinfo(os.path.join(seq_dir, "seqinfo.ini")).get("name", "").strip()
    if name:
        return name
    stem = os.path.splitext(os.path.basename(path))[0]
    if (stem == "gt" or stem.startswith(("gt_", "gt-"))) and os.path.basename(seq_dir):
        return os.path.basename(seq_dir)
    return stem


def frame_span(frames) -> tuple[int, int] | None:
    frames = list(frames)
    return (min(frames), max(frames)) if frames else None


def coverage(gt_path: str, res_path: str, fmt: str = "mot15") -> tuple[tuple[int, int] | None, tuple[int, int] | None]:
    """(first, last) frame of the ground truth and of the results (None when a file has no rows)."""
    return frame_span(read_mot_file(gt_path, fmt=fmt)), frame_span(read_results(res_path))


def format_table(results: dict[str, dict], columns=TABLE_COLUMNS) -> str:
    """Plain-text table: ratios as percentages, counts as integers."""
    width = max(8, max(len(n) for n in results))
    head = f"{'sequence':<{width}} " + " ".join(f"{c:>{max(6, len(c))}}" for c in columns)
    lines = [head]
    for name, r in results.items():
        cells = []
        for c in columns:
            v = r.get(c, float("nan"))
            w = max(6, len(c))
            cells.append(f"{v:>{w}d}" if isinstance(v, int) else f"{100 * v:>{w}.1f}")
        lines.append(f"{name:<{width}} " + " ".join(cells))
    return "\n".join(lines)


def detection_ap(
    gt: str | dict[int, FrameAnnotations],
    dets: str | dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]],
    iou_threshold: float = IOU_THRESHOLD,
    fmt: str = "mot15",
    frame_range: tuple[int, int] | None = None,
) -> float:
    """VOC-style all-point average precision of detections at IoU >= ``iou_threshold``.

    No AP library is installed in this project, so this is the classic PASCAL VOC (2010+) procedure:
    detections of all frames sorted by score, greedily matched per frame to the best-overlapping
    unmatched ground truth; detections on ignore regions (and not on valid ground truth) are dropped;
    AP is the area under the precision envelope. ``gt``/``dets`` are files (MOTChallenge rows) or the
    dicts of ``read_mot_file`` / ``read_results``.
    """
    if isinstance(gt, str):
        gt = read_mot_file(gt, fmt=fmt, frame_range=frame_range)
    if isinstance(dets, str):
        dets = read_results(dets, frame_range)
    n_pos = int(sum(int((~a.ignore).sum()) for a in gt.values()))
    records = []  # (score, frame, box index)
    for f, (_, boxes, scores) in dets.items():
        records.extend((float(s), f, i) for i, s in enumerate(scores))
    if n_pos == 0:
        return float("nan")
    records.sort(key=lambda r: -r[0])
    used = {f: np.zeros(len(a.boxes), bool) for f, a in gt.items()}
    tp, fp = [], []
    for _, f, i in records:
        a = gt.get(f)
        box = dets[f][1][i : i + 1]
        if a is None or len(a.boxes) == 0:
            tp.append(0), fp.append(1)
            continue
        iou = iou_matrix(box, a.boxes)[0]
        valid_iou = np.where(~a.ignore & ~used[f], iou, -1.0)
        j = int(np.argmax(valid_iou))
        if valid_iou[j] >= iou_threshold:
            used[f][j] = True
            tp.append(1), fp.append(0)
        elif a.ignore.any() and iou[a.ignore].max() >= iou_threshold:
            continue  # on an ignore region: neither TP nor FP
        else:
            tp.append(0), fp.append(1)
    if not tp:
        return 0.0
    tp_c, fp_c = np.cumsum(tp), np.cumsum(fp)
    recall = tp_c / n_pos
    precision = tp_c / np.maximum(tp_c + fp_c, 1e-12)
    mrec = np.concatenate([[0.0], recall, [1.0]])
    mpre = np.concatenate([[0.0], precision, [0.0]])
    mpre = np.maximum.accumulate(mpre[::-1])[::-1]
    idx = np.nonzero(mrec[1:] != mrec[:-1])[0]
    return float(np.sum((mrec[idx + 1] - mrec[idx]) * mpre[idx + 1]))
