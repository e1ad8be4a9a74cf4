"""Camera motion compensation: the estimator recovers a camera's warp from the background, and a tracker on a
moving camera keeps its IDs with it where it loses them without (synthetic textured frames, no model)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from sotmot_ros.tracking import Tracker, TrackerConfig
from sotmot_ros.tracking.camera_motion import CameraMotionEstimator, check_warp, warp_states
from sotmot_ros.tracking.kalman import KalmanBoxFilter
from sotmot_ros.types import Detections, TrackState

W, H = 640, 480


def texture(seed=0, size=(H + 200, W + 200)):
    """A street-like random texture: blurred noise with some sharp blobs (corners to track)."""
    rng = np.random.default_rng(seed)
    img = cv2.GaussianBlur(rng.uniform(0, 255, size).astype(np.float32), (0, 0), 3)
    for _ in range(300):
        x, y = int(rng.integers(0, size[1])), int(rng.integers(0, size[0]))
        cv2.rectangle(img, (x, y), (x + int(rng.integers(4, 20)), y + int(rng.integers(4, 20))), float(rng.uniform(0, 255)), -1)
    return cv2.cvtColor(np.clip(img, 0, 255).astype(np.uint8), cv2.COLOR_GRAY2BGR)


def view(world, dx, dy):
    """The camera's image when it looks at the world shifted by (dx, dy): world pixel (x, y) -> (x - dx, y - dy)."""
    m = np.float32([[1, 0, -100 - dx], [0, 1, -100 - dy]])
    return cv2.warpAffine(world, m, (W, H), borderMode=cv2.BORDER_REFLECT)


def test_estimator_recovers_a_similarity_warp():
    img = texture()[:H, :W]
    true = cv2.getRotationMatrix2D((W / 2, H / 2), 1.5, 1.03)
    true[:, 2] += (9.0, -14.0)
    moved = cv2.warpAffine(img, true, (W, H), borderMode=cv2.BORDER_REFLECT)
    est = CameraMotionEstimator()
    first = est(img)
    np.testing.assert_allclose(first, np.eye(2, 3))  # nothing to compare with yet
    warp = est(moved)
    pts = np.array([[50.0, 50.0, 1.0], [W - 50, H - 50, 1.0], [W / 2, H / 2, 1.0]])
    assert np.abs(pts @ warp.T - pts @ true.T).max() < 0.5, (warp, true)
    assert est.last_inliers >= est.min_inliers


def test_estimator_ignores_the_people_it_is_told_about():
    """A large textured 'crowd' moving on its own must not drag the estimate when its boxes are given."""
    world, crowd = texture(0), texture(1)[:200, :300]
    frames, boxes = [], np.array([[150.0, 150.0, 450.0, 350.0]])
    for k, (cam, own) in enumerate(((0, 0), (6, 0))):
        f = view(world, cam, 0)
        x = 150 - 30 * k  # the crowd walks left 30 px while the camera pans right 6 px
        f[150:350, x:x + 300] = crowd
        frames.append(f)
    masked, unmasked = CameraMotionEstimator(), CameraMotionEstimator()
    masked(frames[0], boxes)
    unmasked(frames[0])
    wm = masked(frames[1], boxes - [30, 0, 30, 0])
    assert abs(wm[0, 2] - -6.0) < 0.5 and abs(wm[1, 2]) < 0.5, wm


def test_estimator_fails_safe_on_a_blank_frame_and_on_a_new_size():
    est = CameraMotionEstimator()
    blank = np.full((H, W, 3), 90, np.uint8)
    est(blank)
    np.testing.assert_allclose(est(blank), np.eye(2, 3))
    assert est.failures == 1
    est(texture()[:H, :W])
    np.testing.assert_allclose(est(texture()[:240, :320]), np.eye(2, 3))  # a camera reconfigured: no comparison
    np.testing.assert_allclose(est(texture()[:240, :320, 0]), np.eye(2, 3), atol=0.05)  # grey input works
    # what a ROS camera may deliver: BGRA and 16-bit grey frames are measured like BGR ones
    shifted = view(texture(), 7, 0)
    for convert in (lambda x: cv2.cvtColor(x, cv2.COLOR_BGR2BGRA),
                    lambda x: cv2.cvtColor(x, cv2.COLOR_BGR2GRAY).astype(np.uint16) * 256):
        est = CameraMotionEstimator()
        est(convert(view(texture(), 0, 0)))
        assert abs(est(convert(shifted))[0, 2] - -7.0) < 0.5
    with pytest.raises(ValueError, match="grey, BGR or BGRA"):
        est(np.zeros((H, W, 2), np.uint8))


def test_warp_states_moves_boxes_velocities_and_uncertainty():
    kf = KalmanBoxFilter()
    mean, cov = kf.initiate(np.array([[100.0, 200.0, 140.0, 300.0]]))
    mean[0, 4:6] = (10.0, -5.0)
    warp = cv2.getRotationMatrix2D((0, 0), 90, 2.0)  # a rotation by 90 degrees and 2x (only to check the algebra)
    warp[:, 2] = (7.0, 3.0)
    m2, c2 = warp_states(mean, cov, warp)
    centre = warp[:, :2] @ mean[0, :2] + warp[:, 2]
    np.testing.assert_allclose(m2[0, :2], centre)
    np.testing.assert_allclose(m2[0, 2:4], 2 * mean[0, 2:4])
    np.testing.assert_allclose(m2[0, 4:6], warp[:, :2] @ mean[0, 4:6])
    np.testing.assert_allclose(np.linalg.eigvalsh(c2[0]).max(), 4 * np.linalg.eigvalsh(cov[0]).max())
    same, same_cov = warp_states(mean, cov, np.eye(2, 3))
    np.testing.assert_allclose(same, mean)
    np.testing.assert_allclose(same_cov, cov)


@pytest.mark.parametrize("bad, match", [(np.eye(3), "2x3"), (np.full((2, 3), np.nan), "finite"),
                                         ([[-1, 0, 0], [0, 1, 0]], "not a camera move"),
                                         ([[2, 0, 0], [0, 2, 0]], "not a camera move")])
def test_bad_warps_are_refused_with_a_reason(bad, match):
    with pytest.raises(ValueError, match=match):
        check_warp(bad)
    tracker = Tracker(TrackerConfig(camera_motion="affine"))
    with pytest.raises(ValueError, match=match):
        tracker.update(Detections(np.zeros((0, 4)), np.zeros(0)), 0.0, camera_motion=bad)


def shaken_walk(camera_motion: str, give: str, steps=12, jump=20.0):
    """One person walking right at 8 px per update, seen by a camera that jumps +-``jump`` px sideways at every
    update (a vibrating robot). ``give``: 'frame' (the tracker measures the motion) or 'warp' (odometry).
    Returns the published IDs of the person, one per update."""
    world = texture(3)
    feats = np.ones((1, 8)) / np.sqrt(8)
    tracker = Tracker(TrackerConfig(camera_motion=camera_motion, association="iou", min_hits=1))
    ids, prev_cam = [], 0.0
    for k in range(steps):
        cam = jump if k % 2 else -jump
        x = 200 + 8 * k - cam  # the person's image position
        box = np.array([[x, 150, x + 40, 250]], float)
        frame = view(world, cam, 0)
        warp = np.array([[1.0, 0, prev_cam - cam], [0, 1.0, 0]])
        kwargs = {"frame": frame} if give == "frame" else {"camera_motion": warp, "image_width": W}
        outs = tracker.update(Detections(box, [0.9], None, feats), 0.1 * k, **kwargs)
        ids.append([o.track_id for o in outs if o.matched and o.state == TrackState.CONFIRMED])
        prev_cam = cam
    return ids


@pytest.mark.parametrize("give", ["frame", "warp"])
def test_a_vibrating_camera_keeps_the_persons_id_only_with_compensation(give):
    with_cmc = shaken_walk("affine", give)
    assert all(len(i) == 1 for i in with_cmc) and len({i[0] for i in with_cmc}) == 1, with_cmc
    without = shaken_walk("none", give)
    assert len({i[0] for i in without if i}) > 1, without  # without it the person flips between two IDs
    # auto: compensates once it has seen the camera move (3 measured warps, from the 4th update on)
    auto = shaken_walk("auto", give)[3:]
    assert all(len(i) == 1 for i in auto) and len({i[0] for i in auto}) == 1, auto


def test_auto_compensates_only_while_the_camera_moves():
    """A camera that stands still, pans at 100 px/s (16 % of the image width per second), then stands still
    again: ``auto`` (the default) applies the measured warps from the pan's 4th frame (3 measurements) until
    ``camera_motion_hold_seconds`` (2 s) after it, never while the camera has been still for longer."""
    world = texture(6, size=(H + 200, W + 1200))
    empty = Detections(np.zeros((0, 4)), np.zeros(0))
    tracker = Tracker(TrackerConfig())
    assert tracker.config.camera_motion == "auto" and tracker.config.camera_motion_hold_seconds == 2.0
    applied, x = [], 0.0
    for k in range(80):  # 10 fps: still for 2 s, panning for 2 s, still for 4 s
        x += 10.0 if 20 <= k < 40 else 0.0
        tracker.update(empty, 0.1 * k, frame=view(world, x, 0))
        applied.append(tracker.last_camera_motion is not None)
    assert not any(applied[:20]) and not any(applied[63:]), applied
    assert all(applied[23:60]), applied  # the 4th frame of the pan on, to 2 s after it
    assert tracker.camera_speed < 0.002  # the still camera's speed again


def test_auto_holds_compensation_through_a_pause_in_a_pan():
    """A pan that stops for 0.6 s where it turns: with ``camera_motion_hold_seconds`` 1 compensation stays on
    through the pause, without a hold it drops out there; either way it ends once the camera has stood still
    for longer than the hold."""
    world = texture(7, size=(H + 200, W + 1200))
    empty = Detections(np.zeros((0, 4)), np.zeros(0))
    runs = {}
    for hold in (0.0, 1.0):
        tracker = Tracker(TrackerConfig(camera_motion="auto", camera_motion_hold_seconds=hold))
        applied, x = [], 0.0
        for k in range(70):  # 10 fps: pan 2 s, pause 0.6 s, pan back 2 s, still 2.4 s
            x += 10.0 if k < 20 else (-10.0 if 26 <= k < 46 else 0.0)
            tracker.update(empty, 0.1 * k, frame=view(world, x + 300, 0))
            applied.append(tracker.last_camera_motion is not None)
        runs[hold] = applied
    assert all(runs[1.0][4:46]) and not any(runs[1.0][60:]), runs[1.0]  # on through the pause; off 1 s after
    assert not all(runs[0.0][20:26]) and not any(runs[0.0][50:]), runs[0.0]


def _bus_passing(street: np.ndarray, static_check: bool) -> int:
    """Frames (of 40 at 10 fps) in which a 400x200 px textured bus crossing a fixed camera at 150 px/s moved the
    track predictions by more than 3 px (``camera_motion: auto``; nothing masks a vehicle)."""
    bus = texture(9, (200, 400))
    empty = Detections(np.zeros((0, 4)), np.zeros(0))
    tracker = Tracker(TrackerConfig(camera_motion="auto"))
    tracker.motion_estimator.static_check = static_check
    moved = 0
    for k in range(40):
        img, x = street.copy(), -400 + 15 * k
        x0, x1 = max(0, x), min(W, x + 400)
        if x1 > x0:
            img[200:400, x0:x1] = bus[:, x0 - x:x1 - x]
        tracker.update(empty, 0.1 * k, frame=img)
        w = tracker.last_camera_motion
        moved += w is not None and float(np.hypot(*w[:, 2])) > 3.0
    return moved


def test_a_vehicle_passing_a_fixed_camera_is_not_taken_for_camera_motion():
    """The bus's corners agree on one motion, but the still street spans more of the image: identity, the camera
    stood still; without that check the bus's motion moves the predictions."""
    rng = np.random.default_rng(0)
    plain = np.full((H, W, 3), 120, np.uint8) + rng.integers(0, 6, (H, W, 3), dtype=np.uint8)
    for _ in range(30):  # a plain street: a few kerbs and signs give corners
        x, y = int(rng.integers(0, W - 20)), int(rng.integers(0, H - 20))
        cv2.rectangle(plain, (x, y), (x + 12, y + 12), (40, 40, 40), -1)
    for street in (texture(1)[:H, :W], plain):
        assert _bus_passing(street, True) == 0
        assert _bus_passing(street, False) >= 5


def test_auto_needs_the_image_width_of_a_given_warp():
    tracker = Tracker(TrackerConfig(camera_motion="auto"))
    empty = Detections(np.zeros((0, 4)), np.zeros(0))
    shift = np.array([[1.0, 0, 5.0], [0, 1.0, 0]])
    with pytest.raises(ValueError, match="image_width"):
        tracker.update(empty, 0.0, camera_motion=shift)
    for k in range(4):  # with it: 5 px per 0.1 s on a 640 px image = 7.8 % of the width per second, moving
        tracker.update(empty, 0.1 * (k + 1), camera_motion=shift, image_width=W)
    assert tracker.motion_monitor.moving and tracker.last_camera_motion is not None


def test_switching_compensation_on_later_never_compares_with_a_stale_frame():
    world = texture(4)
    tracker = Tracker(TrackerConfig(camera_motion="affine"))
    empty = Detections(np.zeros((0, 4)), np.zeros(0))
    tracker.update(empty, 0.0, frame=view(world, 0, 0))
    tracker.config = TrackerConfig(camera_motion="none")
    tracker.update(empty, 0.1, frame=view(world, 30, 0))
    tracker.config = TrackerConfig(camera_motion="affine")
    tracker.update(empty, 0.2, frame=view(world, 30, 0))
    assert tracker.last_camera_motion is None  # nothing measured yet, and so not the 30 px of the first frame
    tracker.update(empty, 0.3, frame=view(world, 40, 0))
    assert abs(tracker.last_camera_motion[0, 2] - -10.0) < 0.5
    tracker.update(empty, 0.1, frame=view(world, 60, 0))  # a stamp going backwards resets the tracker
    assert tracker.last_camera_motion is None


def test_the_tracker_says_when_a_fixed_camera_setting_meets_a_moving_camera():
    """With compensation off, the tracker still follows how fast the image moves (one measurement every 2 s), and
    the hint fires for a panning camera, never for a fixed one; with it on, every applied warp counts."""
    from sotmot_ros.tracking.camera_motion import MOVING_CAMERA_SPEED, moving_camera_hint

    world = texture(5, size=(H + 200, W + 2000))
    empty = Detections(np.zeros((0, 4)), np.zeros(0))
    for mode, pan in (("none", 10.0), ("none", 0.0), ("affine", 10.0), ("auto", 10.0)):
        tracker = Tracker(TrackerConfig(camera_motion=mode))
        for k in range(70):  # 7 s at 10 fps; the camera pans 10 px per frame = 100 px/s on a 640 px image
            m = np.float32([[1, 0, -100 - pan * k], [0, 1, -100]])
            tracker.update(empty, 0.1 * k, frame=cv2.warpAffine(world, m, (W, H)))
        speed, count = tracker.camera_speed, tracker.motion_monitor.measurements
        hint = moving_camera_hint(tracker.motion_monitor, mode)
        if pan:
            assert abs(speed - 100.0 / W) < 0.01 and speed > MOVING_CAMERA_SPEED, (mode, speed)
            assert (hint is not None) == (mode == "none") and (count == 4 if mode == "none" else count == 5)
        else:
            assert speed < 0.002 and hint is None
