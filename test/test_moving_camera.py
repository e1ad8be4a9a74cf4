"""The simulated moving camera: its motions are the documented ones, the same every time for a frame (whatever
the frame rate or the other frames asked for), and the ground truth it rewrites lands on the pixels it renders."""

import cv2
import numpy as np
import pytest

from sotmot_ros.data.moving_camera import (
    MOTIONS,
    camera_warps,
    motion_tag,
    parse_motion,
    render_view,
    view_size,
    warp_boxes,
    write_view_gt,
)
from sotmot_ros.data.mot import read_mot_file

FRAME = (640, 480)  # width, height
VIEW = view_size(FRAME)


def centre_shift(warps: np.ndarray, frame=FRAME) -> np.ndarray:
    """(F, 2): where the frame centre lands in the view, relative to the view centre (minus the camera offset)."""
    centre = np.array(frame, float) / 2
    return warps[:, :, :2] @ centre + warps[:, :, 2] - np.array(view_size(frame), float) / 2


def roll_zoom(warps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(roll in degrees, zoom) of each similarity warp."""
    return np.degrees(np.arctan2(warps[:, 1, 0], warps[:, 0, 0])), np.hypot(warps[:, 0, 0], warps[:, 1, 0])


def test_motion_names_and_levels_parse_with_clear_errors():
    assert parse_motion("robot:2") == ("robot", 2)
    assert parse_motion("shake:3") == ("shake", 3)
    assert parse_motion("pan") == ("pan", 2)
    assert motion_tag("robot", 2) == "motion-robot2"
    with pytest.raises(ValueError, match="unknown camera motion 'tilt'.*pan, shake, robot"):
        parse_motion("tilt:1")
    for bad in ("pan:0", "pan:4", "pan:x", "pan:2.5"):
        with pytest.raises(ValueError, match="level must be 1, 2 or 3"):
            parse_motion(bad)
    with pytest.raises(ValueError, match="unknown camera motion"):
        camera_warps([0.0], FRAME, "zoom", 2)
    with pytest.raises(ValueError, match="level must be 1, 2 or 3"):
        camera_warps([0.0], FRAME, "pan", 4)


def test_the_view_is_80_percent_of_the_frame_and_even():
    assert view_size((640, 480)) == (512, 384)
    assert view_size((768, 576)) == (614, 460)  # 614.4, 460.8
    for size in [(641, 479), (1920, 1080), (333, 211), (100, 75)]:
        w, h = view_size(size)
        assert w % 2 == 0 and h % 2 == 0
        assert abs(w - 0.8 * size[0]) <= 1 and abs(h - 0.8 * size[1]) <= 1


@pytest.mark.parametrize("name", MOTIONS)
def test_warps_are_fixed_by_the_seed_and_the_timestamp_alone(name):
    t = np.arange(0.0, 3.0, 1 / 30)
    a = camera_warps(t, FRAME, name, 2, seed=3)
    assert a.shape == (len(t), 2, 3) and a.dtype == np.float64
    assert np.array_equal(a, camera_warps(t, FRAME, name, 2, seed=3))
    assert not np.allclose(a, camera_warps(t, FRAME, name, 2, seed=4))
    # the frame at 0.5 s gets the same view at 30 or 10 fps, alone or among others
    assert np.allclose(a[15], camera_warps([0.5], FRAME, name, 2, seed=3)[0])
    assert np.allclose(a[15], camera_warps(np.arange(0.0, 3.0, 0.1), FRAME, name, 2, seed=3)[5])
    assert np.allclose(a[15], camera_warps([2.0, 0.5, 1.0], FRAME, name, 2, seed=3)[1])


def test_pan_sweeps_the_documented_amplitudes_and_the_level_scales_them():
    t = np.arange(0.0, 126.0, 0.01)  # a common multiple of all the periods (6, 7, 8, 9 s)
    warps = camera_warps(t, FRAME, "pan", 2)
    shift = centre_shift(warps)
    margin = 0.1 * np.array(FRAME)
    assert np.allclose(np.abs(shift).max(0), [0.8 * margin[0], 0.4 * margin[1]], rtol=1e-3)
    roll, zoom = roll_zoom(warps)
    assert np.isclose(np.abs(roll).max(), 1.5, rtol=1e-3)
    assert np.isclose(zoom.max(), 1.04, rtol=1e-4) and np.isclose(zoom.min(), 0.96, rtol=1e-4)
    for name in ("pan", "shake"):  # amplitudes x0.5 at level 1, x1.5 at level 3
        low, high = (centre_shift(camera_warps(t[:500], FRAME, name, lvl)) for lvl in (1, 3))
        assert np.abs(low).mean() > 1.0
        assert np.allclose(high, 3 * low)


def test_robot_is_pan_and_shake_together():
    t = np.arange(0.0, 5.0, 0.1)
    pan, shake, robot = (camera_warps(t, FRAME, name, 2, seed=1) for name in ("pan", "shake", "robot"))
    assert np.allclose(centre_shift(robot), centre_shift(pan) + centre_shift(shake))
    assert np.allclose(roll_zoom(robot)[0], roll_zoom(pan)[0] + roll_zoom(shake)[0])
    assert np.allclose(roll_zoom(robot)[1], roll_zoom(pan)[1])
    assert np.allclose(roll_zoom(shake)[1], 1.0)


def test_pan_is_smooth_and_shake_is_not():
    corners = np.array([[0, 0], [640, 0], [0, 480], [640, 480], [320, 240]], float)

    def steps(name, dt):
        warps = camera_warps(np.arange(0.0, 30.0, dt), FRAME, name, 2)
        moved = np.einsum("fij,pj->fpi", warps[:, :, :2], corners) + warps[:, None, :, 2]
        return np.linalg.norm(np.diff(moved, axis=0), axis=2).max(1)  # the largest move of a corner per step

    pan, shake = steps("pan", 0.1), steps("shake", 0.1)
    assert pan.max() < 8.0  # a few pixels per 0.1 s
    assert steps("pan", 0.05).max() < 0.55 * pan.max()  # half the time step, half the move: continuous
    assert shake.mean() > 10.0 and np.median(steps("shake", 0.05)) > 0.8 * np.median(shake)  # jumps whatever dt


def test_rendered_view_and_warped_boxes_agree():
    image = np.zeros((FRAME[1], FRAME[0], 3), np.uint8)
    box = np.array([[250.0, 150.0, 330.0, 330.0]])  # ltrb: pixels 250..329 x 150..329
    cv2.rectangle(image, (250, 150), (329, 329), (255, 255, 255), -1)
    t = np.array([0.0, 1.3, 2.9, 4.4, 7.1])
    for name in MOTIONS:
        for warp in camera_warps(t, FRAME, name, 3, seed=2):
            view = render_view(image, warp, VIEW)
            assert view.shape == (VIEW[1], VIEW[0], 3) and view.dtype == np.uint8
            ys, xs = np.nonzero(view[:, :, 0] > 127)
            blob = np.array([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1], float)
            warped, visible = warp_boxes(box, warp, VIEW)
            assert visible[0] == 1.0
            assert np.abs(warped[0] - blob).max() <= 2.0, (name, warped[0], blob)


def test_render_view_fills_beyond_the_frame_with_grey():
    image = np.full((FRAME[1], FRAME[0], 3), 255, np.uint8)
    shift = np.array([[1.0, 0.0, 200.0], [0.0, 1.0, 0.0]])  # the camera looks 200 px left of the frame
    view = render_view(image, shift, VIEW)
    assert (view[:, :199] == 114).all() and (view[:, 201:] == 255).all()


def test_warp_boxes_visibility_is_the_part_in_view():
    identity = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    boxes = np.array([[10, 10, 30, 40], [-10, 10, 10, 30], [90, 70, 110, 90], [200, 200, 220, 220]], float)
    clipped, visible = warp_boxes(boxes, identity, (100, 80))
    assert np.allclose(visible, [1.0, 0.5, 0.25, 0.0])
    assert np.allclose(clipped[:3], [[10, 10, 30, 40], [0, 10, 10, 30], [90, 70, 100, 80]])
    zoom = np.array([[2.0, 0.0, -50.0], [0.0, 2.0, 0.0]])  # areas are measured in the view
    clipped, visible = warp_boxes(np.array([[20.0, 10.0, 30.0, 20.0]]), zoom, (100, 80))
    assert np.allclose(visible, [0.5]) and np.allclose(clipped, [[0, 20, 10, 40]])
    rolled = cv2.getRotationMatrix2D((50.0, 40.0), 30.0, 1.0)  # a turned box is bounded by its corners
    clipped, visible = warp_boxes(np.array([[40.0, 30.0, 60.0, 50.0]]), rolled, (100, 80))
    half = 10 * (np.cos(np.pi / 6) + np.sin(np.pi / 6))
    assert np.allclose(clipped, [[50 - half, 40 - half, 50 + half, 40 + half]]) and visible[0] == 1.0
    assert warp_boxes(np.zeros((0, 4)), identity, (100, 80))[0].shape == (0, 4)


def test_view_ground_truth_keeps_what_is_seen_and_ignores_what_is_half_seen(tmp_path):
    gt = tmp_path / "gt.txt"
    gt.write_text(
        "1,1,50,40,20,30,1,12.5,-3,0\n"  # in view
        "1,2,2,40,10,30,1,-1,-1,-1\n"  # a fifth in view -> ignore
        "1,3,300,300,10,10,1,-1,-1,-1\n"  # out of view -> dropped
        "1,4,60,30,10,10,0,-1,-1,-1\n"  # an ignore region stays one
        "1,5,8,40,10,30,1,-1,-1,-1\n"  # 0.8 in view -> counted, clipped
        "1,6,0,40,10.5,30,1,-1,-1,-1\n"  # a sliver under 1 px wide in view -> dropped
        "2,1,52,41,20,30,1,12.5,-3,0\n"
        "3,1,54,42,20,30,1,12.5,-3,0\n"  # frame not listed -> dropped
    )
    shift = np.array([[[1.0, 0.0, -10.0], [0.0, 1.0, -20.0]], [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]])
    out = write_view_gt(str(gt), [1, 2], shift, (100, 80), str(tmp_path / "view" / "gt.txt"))
    assert out == str(tmp_path / "view" / "gt.txt")
    assert (tmp_path / "view" / "gt.txt").read_text().splitlines() == [
        "1,1,40.00,20.00,20.00,30.00,1,12.5,-3,0",
        "1,2,0.00,20.00,2.00,30.00,0,-1,-1,-1",
        "1,4,50.00,10.00,10.00,10.00,0,-1,-1,-1",
        "1,5,0.00,20.00,8.00,30.00,1,-1,-1,-1",
        "2,1,52.00,41.00,20.00,30.00,1,12.5,-3,0",
    ]
    read = read_mot_file(out, fmt="mot15")
    assert sorted(read) == [1, 2]
    assert list(read[1].ids) == [1, 2, 4, 5] and list(read[1].ignore) == [False, True, True, False]
    assert np.allclose(read[1].boxes[0], [40, 20, 60, 50]) and not read[2].ignore.any()
    strict = write_view_gt(str(gt), [1, 2], shift, (100, 80), str(tmp_path / "strict.txt"), min_visible=0.9)
    assert list(read_mot_file(strict, fmt="mot15")[1].ignore) == [False, True, True, True]
    with pytest.raises(ValueError, match="2 frames but 1 warps"):
        write_view_gt(str(gt), [1, 2], shift[:1], (100, 80), str(tmp_path / "x.txt"))
