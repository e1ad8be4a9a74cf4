"""Behaviour tests of the tracker on synthetic scenes (boxes + distinct random unit features + noise)."""

from __future__ import annotations

import logging
import time
import tracemalloc

import numpy as np
import pytest
import torch

from sotmot_ros.tracking import Tracker, TrackerConfig
from sotmot_ros.tracking.tracker import tracks_to_publish
from sotmot_ros.boxes import iou_matrix
from sotmot_ros.tracking.association import sot_responses, sot_responses_torch, assign
from sotmot_ros.sot import ridge_fit, ridge_score
from sotmot_ros.types import Detections, TrackState

D = 32


def unit(rng, n, d=D):
    f = rng.normal(size=(n, d))
    return f / np.linalg.norm(f, axis=1, keepdims=True)


def box_at(cx, cy, w=40.0, h=100.0):
    return [cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2]


def run_scene(tracker, targets, times, rng, noise=0.05, feats=None):
    """targets: list of callables t -> (cx, cy) or None (invisible). Returns {target index: [ids per frame]}."""
    feats = unit(rng, len(targets)) if feats is None else feats
    ids = {k: [] for k in range(len(targets))}
    for t in times:
        boxes, fs, who = [], [], []
        for k, fn in enumerate(targets):
            p = fn(t)
            if p is not None:
                boxes.append(box_at(*p))
                f = feats[k] + noise * rng.normal(size=feats.shape[1])
                fs.append(f / np.linalg.norm(f))
                who.append(k)
        dets = Detections(np.array(boxes).reshape(-1, 4), np.full(len(boxes), 0.9), None,
                          np.array(fs).reshape(-1, feats.shape[1]))
        outs = tracker.update(dets, t)
        shown = [o for o in outs if o.matched and o.state == TrackState.CONFIRMED]
        for k in range(len(targets)):
            if k not in who:
                ids[k].append(None)
                continue
            p = np.array(box_at(*targets[k](t)))
            near = [o.track_id for o in shown if np.abs(o.box - p).max() < 1e-3 + 15]
            best = min(shown, key=lambda o: np.abs(o.box - p).sum(), default=None)
            ids[k].append(best.track_id if best is not None and near else None)
    return ids


def settled(ids, skip=2):
    return {v for v in ids[skip:] if v is not None}


def test_crossing_targets_keep_ids():
    rng = np.random.default_rng(1)
    times = np.arange(0, 4, 0.1)
    a = lambda t: (100 + 60 * t, 200.0)
    b = lambda t: (340 - 60 * t, 205.0)
    ids = run_scene(Tracker(), [a, b], times, rng)
    assert len(settled(ids[0])) == 1 and len(settled(ids[1])) == 1
    assert settled(ids[0]) != settled(ids[1])


def test_occluded_one_second_comes_back_with_old_id():
    rng = np.random.default_rng(2)
    times = np.arange(0, 4, 0.1)
    a = lambda t: None if 1.5 <= t < 2.5 else (100 + 30 * t, 200.0)
    b = lambda t: (500.0, 200.0)
    tracker = Tracker()
    ids = run_scene(tracker, [a, b], times, rng)
    before = {v for v, t in zip(ids[0], times) if t < 1.5 and v is not None}
    after = {v for v, t in zip(ids[0], times) if t >= 2.5 and v is not None}
    assert before == after and len(before) == 1
    assert tracker.next_id == 3  # no extra track was ever born


@pytest.mark.parametrize("lost_similarity, same_id", [("fused", False), ("sot", True)])
def test_a_person_who_stops_behind_an_occluder_is_re_identified_by_appearance(lost_similarity, same_id):
    """Walking at 60 px/s, hidden for 1.5 s, back where they vanished: the lost track's prediction has moved on
    90 px (no overlap). Its fused similarity (half IoU) is then too low to match; with lost_similarity 'sot' its
    own SOT response decides, and a different person appearing there instead never takes the identity."""
    cfg = TrackerConfig(weight_sot=0.5, weight_iou=0.5, sot_lambda=1.0, min_similarity_stage1=0.3,
                        max_lost_seconds=3.0, lost_similarity=lost_similarity)
    times = np.arange(0, 5, 0.1)
    walker = lambda t: None if 2.0 <= t < 3.5 else (100 + 60 * min(t, 2.0), 200.0)
    bystander = lambda t: (600.0, 200.0)
    ids = run_scene(Tracker(cfg), [walker, bystander], times, np.random.default_rng(4))
    before = {v for v, t in zip(ids[0], times) if 0.5 < t < 2.0 and v is not None}
    after = {v for v, t in zip(ids[0], times) if t >= 3.7 and v is not None}
    assert len(before) == 1 and len(after) == 1
    assert (before == after) == same_id
    # a stranger (another appearance) where the walker vanished does not inherit the identity
    rng = np.random.default_rng(5)
    feats = unit(rng, 3)
    stranger = lambda t: None if t < 3.5 else (220.0, 200.0)
    walker_gone = lambda t: None if t >= 2.0 else (100 + 60 * t, 200.0)
    ids = run_scene(Tracker(cfg), [walker_gone, bystander, stranger], times, rng, feats=feats)
    assert not ({v for v in ids[0] if v is not None} & {v for v in ids[2] if v is not None})


@pytest.mark.parametrize("lost_similarity, same_id", [("sot", False), ("sot_or_overlap", True)])
def test_a_person_back_with_another_look_is_taken_back_by_overlap_with_sot_or_overlap(lost_similarity, same_id):
    """A person standing still is hidden for 1 s and comes back 20 px aside (IoU 0.33 with the lost track's box)
    showing a feature their SOT model does not know (orthogonal to every template: response 0). Fused, half of 0.33
    is below min_similarity_stage1 (0.2), and 'sot' adds only the response: a new track starts. 'sot_or_overlap'
    makes the overlapping pair acceptable, as IoU association would, and the person keeps their identity."""
    rng = np.random.default_rng(11)
    f = unit(rng, 2)
    turned = rng.normal(size=D)
    turned -= f.T @ np.linalg.lstsq(f.T, turned, rcond=None)[0]  # orthogonal to both templates
    turned /= np.linalg.norm(turned)
    cfg = TrackerConfig(weight_sot=0.5, weight_iou=0.5, min_similarity_stage1=0.2, min_iou_stage1=0.2,
                        min_sot_response=0.1, max_lost_seconds=3.0, lost_similarity=lost_similarity)
    tracker = Tracker(cfg)
    person, other = box_at(100, 200), box_at(500, 200)
    for t in np.arange(0, 1.01, 0.1):
        tracker.update(Detections([person, other], [0.9, 0.9], None, f), t)
    for t in np.arange(1.1, 2.05, 0.1):  # hidden
        tracker.update(Detections([other], [0.9], None, f[1:]), t)
    back = box_at(120, 200)
    assert iou_matrix(np.array([person], np.float32), np.array([back], np.float32))[0, 0] == pytest.approx(1 / 3)
    outs = tracker.update(Detections([back, other], [0.9, 0.9], None, np.stack([turned, f[1]])), 2.1)
    mine = [o for o in outs if o.matched and np.abs(o.box - np.array(back)).max() < 10]
    assert len(mine) == 1
    assert (mine[0].track_id == 1) == same_id
    assert (tracker.next_id == 3) == same_id  # with 'sot' the person started a third track


def test_a_lost_tracks_overlap_makes_a_pair_acceptable_but_never_preferred():
    """'sot_or_overlap' lifts a lost track's overlapping pairs to the acceptance floor and no higher: a confirmed
    track that scores above the floor keeps its detection, rows of tracks that are not lost are untouched, and a
    pair below min_iou gets nothing (the floor is exactly what assign() accepts)."""
    from sotmot_ros.tracking.association import lost_track_similarity
    iou = np.array([[0.9, 0.0], [0.6, 0.25], [0.1, 0.0]])
    resp = np.array([[0.5, 0.0], [0.05, 0.02], [0.0, 0.0]])
    sim = 0.5 * np.clip(resp, 0, 1) + 0.5 * iou
    lost = np.array([False, True, True])
    out = lost_track_similarity(sim, resp, iou, lost, "sot_or_overlap", 0.2, 0.2)
    np.testing.assert_allclose(out[0], sim[0])  # a confirmed track's row as it was
    np.testing.assert_allclose(out[1], [0.325, 0.2])  # fused above the floor stays; 0.135 is lifted to the floor
    np.testing.assert_allclose(out[2], sim[2])  # IoU 0.1 < min_iou: nothing
    matches, _, _ = assign(1.0 - out, 1.0 - 0.2)
    assert {tuple(m) for m in matches.tolist()} == {(0, 0), (1, 1)}  # the confirmed track keeps its box
    np.testing.assert_allclose(lost_track_similarity(sim, resp, iou, lost, "sot", 0.2, 0.2)[1], [0.325, 0.135])
    with pytest.raises(ValueError, match="lost_similarity"):
        lost_track_similarity(sim, resp, iou, lost, "best", 0.2, 0.2)


@pytest.mark.parametrize("tentative_in_stage1, shown_id", [(True, 3), (False, 1)])
def test_a_duplicate_box_at_a_re_identification_cannot_take_the_person(tentative_in_stage1, shown_id):
    """A person is lost for 1 s, then comes back with two near-duplicate boxes: the lost track takes one, the other
    starts a tentative track. In the next frame the person's one box overlaps the tentative track more. Competing in
    stage 1 the tentative track wins and the person is shown under a new identity; left to stage 3 it does not."""
    rng = np.random.default_rng(7)
    f = unit(rng, 2)
    cfg = TrackerConfig(min_hits=2, max_lost_seconds=3.0, tentative_in_stage1=tentative_in_stage1)
    tracker = Tracker(cfg)
    a, dup = box_at(100, 200), box_at(106, 203)
    other = box_at(500, 200)
    for t in np.arange(0, 1.01, 0.1):
        tracker.update(Detections([a, other], [0.9, 0.9], None, f), t)
    for t in np.arange(1.1, 2.0, 0.1):  # the person is hidden
        tracker.update(Detections([other], [0.9], None, f[1:]), t)
    back = tracker.update(Detections([a, dup, other], [0.9, 0.8, 0.9], None, f[[0, 0, 1]]), 2.0)
    assert {o.track_id for o in back if o.matched} == {1, 2, 3}  # 1 re-identified, 3 tentative from the duplicate
    outs = tracker.update(Detections([dup, other], [0.9, 0.9], None, f), 2.1)
    assert {o.track_id for o in tracks_to_publish(outs)} == {shown_id, 2}  # the person, and the other one (2)


@pytest.mark.parametrize("overlap_passes_gate", [False, True])
def test_a_half_hidden_person_overlapping_their_lost_track_passes_the_gate_only_when_asked(overlap_passes_gate):
    """A walker missed for a frame comes back with only the top third of their body visible: the box overlaps the
    track's predicted box (IoU 0.35) but its height shrank, which the Mahalanobis gate refuses. With
    ``overlap_passes_gate`` the lost track takes the box (same identity), without it the box starts a new track."""
    rng = np.random.default_rng(11)
    f = unit(rng, 2)
    cfg = TrackerConfig(overlap_passes_gate=overlap_passes_gate, weight_sot=0.5, weight_iou=0.5)
    tracker = Tracker(cfg)
    other = box_at(500, 200)
    for t in np.arange(0, 1.01, 0.1):
        tracker.update(Detections([box_at(100 + 50 * t, 200), other], [0.9, 0.9], None, f), t)
    tracker.update(Detections([other], [0.9], None, f[1:]), 1.1)  # missed for a frame
    x = 100 + 50 * 1.2
    top = [x - 20, 150, x + 20, 185]  # the top 35 % of where the walker is
    outs = tracker.update(Detections([top, other], [0.9, 0.9], None, f), 1.2)
    walker = next(o for o in outs if o.track_id == 1)
    assert walker.matched == overlap_passes_gate
    assert {o.track_id for o in outs} == ({1, 2} if overlap_passes_gate else {1, 2, 3})


@pytest.mark.parametrize("duplicate_iou, ids", [(0.7, [1, 2, 3]), (1.0, [1, 2, 3, 4])])
def test_a_near_duplicate_box_at_the_first_frame_starts_no_second_identity(duplicate_iou, ids):
    """At the first update every box starts a confirmed track, so a detector's near-duplicate (IoU 0.8 with the
    person's box, lower score) would give one person two identities from the start; it starts none. Two people
    overlapping less (IoU 0.5) both start, and later frames are not filtered."""
    rng = np.random.default_rng(13)
    f = unit(rng, 5)
    tracker = Tracker(TrackerConfig(first_update_duplicate_iou=duplicate_iou))
    person, duplicate = box_at(100, 200), box_at(104, 200)  # IoU 0.82
    near_a, near_b = box_at(300, 200), box_at(313.3, 200)  # IoU 0.50: two people side by side
    outs = tracker.update(Detections([person, duplicate, near_a, near_b], [0.9, 0.6, 0.9, 0.8], None, f[:4]), 0.0)
    assert sorted(o.track_id for o in tracks_to_publish(outs)) == ids
    if duplicate_iou < 1.0:  # the person's own box kept its identity, the duplicate none
        assert next(o for o in outs if o.track_id == 1).box[0] == pytest.approx(80, abs=1)
    outs = tracker.update(Detections([person, near_a, near_b, box_at(500, 200)], [0.9] * 4, None, f[[0, 2, 3, 4]]),
                          0.1)
    assert any(o.state == TrackState.TENTATIVE for o in outs)  # a later newcomer starts as usual


def test_lost_track_state_and_removal_time():
    rng = np.random.default_rng(3)
    cfg = TrackerConfig(max_lost_seconds=1.0)
    tracker = Tracker(cfg)
    f = unit(rng, 1)
    for t in np.arange(0, 1, 0.1):
        tracker.update(Detections([box_at(100, 100)], [0.9], None, f), t)
    outs = tracker.update(Detections.empty(D), 1.0)
    assert [o.state for o in outs] == [TrackState.LOST]
    assert tracker.num_active == 0
    outs = tracker.update(Detections.empty(D), 1.9)
    assert len(outs) == 1 and outs[0].time_since_update == pytest.approx(1.0)
    assert tracker.update(Detections.empty(D), 2.05) == []


def test_new_target_gets_new_id():
    rng = np.random.default_rng(4)
    times = np.arange(0, 3, 0.1)
    a = lambda t: (100 + 20 * t, 200.0)
    c = lambda t: None if t < 1.5 else (400.0, 150 + 10 * t)
    ids = run_scene(Tracker(), [a, c], times, rng)
    assert settled(ids[0]) == {1}
    assert settled([v for v, t in zip(ids[1], times) if t >= 1.5]) == {2}


@pytest.mark.parametrize("step", [0.1, 0.2])
def test_lifetimes_are_seconds_not_frames(step):
    """Same scene at 10 fps and with every other frame dropped: the 1.2 s gap survives, the age is in s."""
    rng = np.random.default_rng(5)
    times = np.round(np.arange(0, 4.0 + 1e-9, step), 6)
    a = lambda t: None if 1.4 <= t < 2.6 else (100 + 30 * t, 200.0)
    tracker = Tracker(TrackerConfig(max_lost_seconds=1.5))
    ids = run_scene(tracker, [a], times, rng)
    assert settled(ids[0]) == {1}
    out = tracker.update(Detections.empty(D), 4.0 + step)
    assert out[0].age == pytest.approx(4.0 + step)
    # Velocity is in px/s whatever the frame rate.
    assert out[0].velocity[0] == pytest.approx(30.0, abs=3.0)
    # A gap longer than max_lost_seconds removes the track at the same time in seconds.
    assert len(tracker.update(Detections.empty(D), 4.0 + 1.4)) == 1
    assert tracker.update(Detections.empty(D), 4.0 + 1.6) == []


def swap_scene(mode, rng, **config):
    """Two almost coincident boxes whose positions swap every 0.5 s; IDs should follow appearance."""
    feats = unit(rng, 2)
    pos = [(100.0, 200.0), (110.0, 200.0)]
    tracker = Tracker(TrackerConfig(association=mode, **config))
    wrong = 0
    for k, t in enumerate(np.arange(0, 3, 0.1)):
        swapped = int(t / 0.5) % 2 == 1
        order = [1, 0] if swapped else [0, 1]
        boxes = [box_at(*pos[order[i]]) for i in range(2)]
        f = feats + 0.05 * rng.normal(size=feats.shape)
        f /= np.linalg.norm(f, axis=1, keepdims=True)
        outs = {o.track_id: o for o in tracker.update(Detections(boxes, [0.9, 0.9], None, f), t) if o.matched}
        if k >= 2:  # target i (feature i) must keep ID i+1 at its current box
            for i in range(2):
                o = outs.get(i + 1)
                own, other = (np.abs(o.box - np.array(boxes[j])).sum() for j in (i, 1 - i)) if o else (1, 0)
                wrong += own >= other
    return wrong


def test_sot_separates_swapping_similar_boxes_where_iou_fails():
    assert swap_scene("sot", np.random.default_rng(6)) == 0
    assert swap_scene("iou", np.random.default_rng(6)) > 10


def test_two_instances_have_independent_ids():
    rng = np.random.default_rng(7)
    f = unit(rng, 2)
    t1, t2 = Tracker(), Tracker()
    d = Detections([box_at(100, 100), box_at(300, 100)], [0.9, 0.9], None, f)
    ids1 = sorted(o.track_id for o in t1.update(d, 0.0))
    ids2 = sorted(o.track_id for o in t2.update(d.select([1]), 0.0))
    assert ids1 == [1, 2] and ids2 == [1]
    t1.reset()
    assert [o.track_id for o in t1.update(d.select([0]), 5.0)] == [1]


def test_churn_keeps_memory_bounded():
    """100,000 frames of targets appearing and vanishing: track count and allocations stay bounded."""
    rng = np.random.default_rng(8)
    cfg = TrackerConfig(max_lost_seconds=0.05, history_length=5)
    tracker = Tracker(cfg)
    feats = unit(rng, 64, 4)
    n_frames = 100_000
    xs = rng.uniform(0, 2000, size=n_frames)
    present = rng.random(n_frames) < 0.1
    empty = Detections.empty(4)
    tracemalloc.start()
    start = time.perf_counter()
    max_tracks = 0
    for k in range(n_frames):
        t = k * 0.01
        if present[k]:
            d = Detections([[xs[k], 10, xs[k] + 4, 18]], [0.9], None, feats[k % 64 : k % 64 + 1])
        else:
            d = empty
        tracker.update(d, t)
        if k == 1000:
            tracemalloc.reset_peak()
            base = tracemalloc.get_traced_memory()[0]
        max_tracks = max(max_tracks, len(tracker.tracks))
    cur, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert tracker.next_id > 5000  # there really was churn
    assert max_tracks <= 10
    assert all(len(tr.history) <= 5 for tr in tracker.tracks)
    assert peak - base < 256 * 1024, f"memory grew by {peak - base} bytes"
    assert time.perf_counter() - start < 50


def test_time_backwards_resets_with_warning(caplog):
    rng = np.random.default_rng(9)
    f = unit(rng, 1)
    tracker = Tracker()
    d = Detections([box_at(100, 100)], [0.9], None, f)
    tracker.update(d, 10.0)
    tracker.update(d, 10.1)
    with caplog.at_level(logging.WARNING, logger="sotmot_ros.tracking.tracker"):
        outs = tracker.update(d, 9.0)
    assert "backwards" in caplog.text
    assert [o.track_id for o in outs] == [2]  # old track gone, IDs are never reused
    assert outs[0].age == 0.0
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="sotmot_ros.tracking.tracker"):
        outs = tracker.update(d, 9.0 + 60.0)
    assert "jumped" in caplog.text and [o.track_id for o in outs] == [3]


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), "abc", None])
def test_non_finite_timestamp_raises(bad):
    with pytest.raises(ValueError, match="timestamp"):
        Tracker().update(Detections.empty(D), bad)


@pytest.mark.parametrize(
    "kwargs, field",
    [
        ({"association": "hungarian"}, "association"),
        ({"sot_lambda": 0}, "sot_lambda"),
        ({"low_score_threshold": 0.6, "high_score_threshold": 0.5}, "low_score_threshold"),
        ({"min_hits": 0}, "min_hits"),
        ({"template_momentum": 1.0}, "template_momentum"),
        ({"max_lost_seconds": -1}, "max_lost_seconds"),
        ({"gate": "euclid"}, "gate"),
        ({"weight_sot": 0, "weight_iou": 0}, "weight_sot"),
        ({"min_iou_stage2": float("nan")}, "min_iou_stage2"),
        ({"confirm_on_first_update": "yes"}, "confirm_on_first_update"),
    ],
)
def test_invalid_config_raises(kwargs, field):
    with pytest.raises(ValueError, match=field):
        TrackerConfig(**kwargs)
    with pytest.raises(ValueError, match=field):
        Tracker(**kwargs)


@pytest.mark.parametrize("n, d", [(5, 32), (40, 32), (100, 128)])
def test_numpy_sot_path_equals_sot_module(n, d):
    rng = np.random.default_rng(n)
    x, c = unit(rng, n, d).astype(np.float32), unit(rng, 7, d).astype(np.float32)
    ref = ridge_score(ridge_fit(torch.from_numpy(x).double(), 0.5), torch.from_numpy(c).double()).numpy().T
    np.testing.assert_allclose(sot_responses(x, c, 0.5), ref, atol=1e-5)
    np.testing.assert_allclose(sot_responses_torch(x, c, 0.5), ref, atol=1e-5)


def test_iou_and_assignment_basics():
    a = np.array([[0, 0, 10, 10], [20, 20, 30, 30]], float)
    b = np.array([[0, 0, 10, 10], [5, 0, 15, 10], [100, 100, 110, 110]], float)
    iou = iou_matrix(a, b)
    np.testing.assert_allclose(iou[0], [1.0, 1 / 3, 0.0])
    assert iou[1].max() == 0
    matches, ur, uc = assign(1 - iou, 0.5)
    assert matches.tolist() == [[0, 0]] and ur.tolist() == [1] and sorted(uc.tolist()) == [1, 2]


# --- robustness against malformed input streams ------------------------------------------------


def test_repeated_stamps_do_not_grow_the_track_list():
    # A driver that stamps every image 0 (or a republisher reusing stamps): dt = 0 forever.
    rng = np.random.default_rng(7)
    tracker = Tracker(TrackerConfig())
    for _ in range(60):
        boxes = np.array([box_at(*rng.uniform(50, 700, 2)) for _ in range(5)])
        tracker.update(Detections(boxes, np.full(5, 0.9), features=unit(rng, 5)), 0.0)
    assert len(tracker.tracks) <= 30, len(tracker.tracks)  # was 199 when tentatives survived dt = 0
    capped = Tracker(TrackerConfig(max_tracks=12))
    for _ in range(300):
        boxes = np.array([box_at(*rng.uniform(50, 700, 2)) for _ in range(5)])
        capped.update(Detections(boxes, np.full(5, 0.9), features=unit(rng, 5)), 0.0)
        assert len(capped.tracks) <= 12


def test_non_finite_features_are_dropped_and_do_not_poison_other_tracks():
    rng = np.random.default_rng(8)
    feats = unit(rng, 2)
    tracker = Tracker(TrackerConfig())
    boxes = np.array([box_at(100, 100), box_at(400, 100)])
    tracker.update(Detections(boxes, [0.9, 0.9], features=feats), 0.0)
    bad = feats.copy()
    bad[1, :] = np.nan
    out = tracker.update(Detections(boxes, [0.9, 0.9], features=bad), 0.1)
    matched = {o.track_id: o for o in out if o.matched}
    assert set(matched) == {1}  # the NaN detection was dropped, the other one still matched
    assert np.isfinite(matched[1].sot_response)
    assert all(np.isfinite(tr.template).all() for tr in tracker.tracks)


def test_empty_frame_without_features_ages_tracks():
    rng = np.random.default_rng(9)
    tracker = Tracker(TrackerConfig(max_lost_seconds=0.5))
    tracker.update(Detections(np.array([box_at(100, 100)]), [0.9], features=unit(rng, 1)), 0.0)
    for k in range(1, 10):
        out = tracker.update(Detections.empty(), 0.1 * k)  # D = 0: an empty frame carries no features
    assert out == [] and tracker.tracks == []


def test_first_id_continues_a_sequence():
    rng = np.random.default_rng(10)
    a = Tracker(TrackerConfig())
    a.update(Detections(np.array([box_at(100, 100), box_at(300, 100)]), [0.9, 0.9], features=unit(rng, 2)), 0.0)
    b = Tracker(TrackerConfig(), first_id=a.next_id)
    out = b.update(Detections(np.array([box_at(100, 100)]), [0.9], features=unit(rng, 1)), 0.0)
    assert a.next_id == 3 and [o.track_id for o in out] == [3]
    with pytest.raises(ValueError, match="first_id"):
        Tracker(TrackerConfig(), first_id=0)


def test_normalised_responses_score_an_identical_detection_one_at_any_lambda():
    rng = np.random.default_rng(3)
    feats = unit(rng, 3)
    for lam in (0.5, 2.0, 8.0):
        raw = sot_responses(feats, feats, lam)
        assert np.diag(raw).max() < 1.0 / (1.0 + lam) + 0.1  # raw responses shrink with lambda
        for normalize, expect_one in ((True, True), (False, False)):
            tracker = Tracker(TrackerConfig(sot_lambda=lam, sot_normalize=normalize, min_hits=1))
            boxes = [box_at(100 + 200 * k, 200) for k in range(3)]
            tracker.update(Detections(boxes, [0.9] * 3, None, feats), 0.0)
            outs = tracker.update(Detections(boxes, [0.9] * 3, None, feats), 0.1)
            resp = np.array([o.sot_response for o in sorted(outs, key=lambda o: o.track_id)])
            assert np.allclose(resp, 1.0, atol=1e-4) == expect_one, (lam, normalize, resp)


def test_swapping_similar_boxes_are_separated_with_normalised_responses_too():
    assert swap_scene("sot", np.random.default_rng(6), sot_normalize=True) == 0


def test_tracks_to_publish_is_confirmed_and_matched_by_default():
    from sotmot_ros.tracking import tracks_to_publish

    rng = np.random.default_rng(0)
    tracker = Tracker(TrackerConfig(min_hits=2, confirm_on_first_update=False))
    f = unit(rng, 2)
    tracker.update(Detections([box_at(100, 200), box_at(400, 200)], [0.9, 0.9], None, f), 0.0)
    outs = tracker.update(Detections([box_at(100, 200), box_at(400, 200)], [0.9, 0.9], None, f), 0.1)
    assert {o.track_id for o in tracks_to_publish(outs)} == {1, 2}
    outs = tracker.update(Detections([box_at(100, 200)], [0.9], None, f[:1]), 0.2)  # track 2 missed: lost
    assert [o.track_id for o in tracks_to_publish(outs)] == [1]
    assert {o.track_id for o in tracks_to_publish(outs, states=("confirmed", "lost"))} == {1, 2}
    outs = tracker.update(Detections([box_at(100, 200), box_at(700, 200)], [0.9, 0.9], None, unit(rng, 2)), 0.3)
    new = [o for o in outs if o.state == TrackState.TENTATIVE]
    assert new and not set(o.track_id for o in new) & {o.track_id for o in tracks_to_publish(outs)}
    assert {o.track_id for o in new} <= {o.track_id for o in tracks_to_publish(outs, states=("tentative",))}


@pytest.mark.parametrize("mode", ["sot", "iou", "motion+iou"])
def test_every_association_mode_has_a_strategy(mode):
    from sotmot_ros.tracking.config import ASSOCIATION_STRATEGIES

    cfg = TrackerConfig(association=mode)
    assert cfg.strategy is ASSOCIATION_STRATEGIES[mode]
    assert cfg.strategy.uses_sot == (mode == "sot") and cfg.strategy.motion_gated == (mode != "iou")


def test_time_resets_are_reported_once_through_the_callback(caplog):
    reasons = []
    tracker = Tracker(TrackerConfig(max_time_jump_seconds=2.0), on_reset=reasons.append)
    d = Detections([box_at(100, 200)], [0.9], None, unit(np.random.default_rng(1), 1))
    with caplog.at_level(logging.WARNING, logger="sotmot_ros.tracking.tracker"):
        tracker.update(d, 10.0)
        tracker.update(d, 9.0)  # backwards
        tracker.update(d, 9.5)
        tracker.update(d, 20.0)  # forward jump
    assert len(reasons) == 2 and "backwards" in reasons[0] and "jumped" in reasons[1]
    assert "reset" not in caplog.text  # reported by the callback only, not logged a second time
