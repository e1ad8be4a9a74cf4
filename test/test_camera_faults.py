"""Camera faults of the robustness checks: each degrades more at a higher level, keeps the frame's size (so
its labels still hold) and is the same every time for a given frame (so cached results are reproducible)."""

import cv2
import numpy as np
import pytest

from sotmot_ros.data.camera_faults import FAULTS, apply_fault, parse_fault


def scene() -> np.ndarray:
    """A textured 240x320 frame: gradients, edges and a few 'people' (dark upright bars)."""
    rng = np.random.default_rng(5)
    img = np.zeros((240, 320, 3), np.uint8)
    img[:] = np.linspace(40, 220, 320, dtype=np.uint8)[None, :, None]
    img[::16] = 255
    for x in rng.integers(10, 300, 6):
        cv2.rectangle(img, (int(x), 80), (int(x) + 12, 200), (30, 20, 60), -1)
    return img


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    return float(cv2.PSNR(a, b))


@pytest.mark.parametrize("name", FAULTS)
def test_each_fault_keeps_the_frame_size_and_degrades_more_at_each_level(name):
    img = scene()
    out = [apply_fault(img, name, level, seed=7) for level in (1, 2, 3)]
    for o in out:
        assert o.shape == img.shape and o.dtype == np.uint8
    quality = [psnr(img, o) for o in out]
    assert quality[0] > quality[1] > quality[2], quality
    assert quality[0] < 45  # even the mild level visibly changes the frame


def test_a_fault_is_the_same_for_a_frame_and_noise_differs_between_frames():
    img = scene()
    assert np.array_equal(apply_fault(img, "noise", 2, seed=3), apply_fault(img, "noise", 2, seed=3))
    assert not np.array_equal(apply_fault(img, "noise", 2, seed=3), apply_fault(img, "noise", 2, seed=4))
    dark = apply_fault(img, "dark", 3, seed=3)
    assert dark.mean() < 0.2 * img.mean()  # under-exposed, not just noisy


def test_fault_names_and_levels_parse_with_clear_errors():
    assert parse_fault("motion_blur:3") == ("motion_blur", 3)
    assert parse_fault("jpeg") == ("jpeg", 2)
    with pytest.raises(ValueError, match="unknown camera fault 'fog'.*noise"):
        parse_fault("fog:1")
    for bad in ("noise:0", "noise:4", "noise:x"):
        with pytest.raises(ValueError, match="level must be 1, 2 or 3"):
            parse_fault(bad)
