"""Box conventions (sotmot_ros.boxes): the one home of ltrb boxes, areas, IoU and the Kalman measurement."""

import numpy as np

import pytest

from sotmot_ros.boxes import box_areas, box_heights, cxcywh_to_ltrb, iou_matrix, ltrb_to_cxcywh, nms
from sotmot_ros.tracking.kalman import KalmanBoxFilter
from sotmot_ros.tracking.track import Track


def test_centre_size_round_trip_and_clamp():
    boxes = np.array([[10, 20, 50, 120], [0, 0, 1, 3]], np.float32)
    z = ltrb_to_cxcywh(boxes)
    np.testing.assert_allclose(z, [[30, 70, 40, 100], [0.5, 1.5, 1, 3]])
    np.testing.assert_allclose(cxcywh_to_ltrb(z), boxes)
    np.testing.assert_allclose(cxcywh_to_ltrb(np.array([[5.0, 5.0, -2.0, 0.0]])), [[4.5, 4.5, 5.5, 5.5]])
    assert cxcywh_to_ltrb(np.zeros((0, 8))).shape == (0, 4)  # no tracks: Kalman states of zero rows
    np.testing.assert_allclose(box_areas(boxes), [4000, 3])
    np.testing.assert_allclose(box_heights(boxes), [100, 3])
    assert iou_matrix(boxes, boxes[:1]).shape == (2, 1) and iou_matrix(boxes, boxes[:1])[0, 0] == 1.0


def test_a_tracks_box_is_its_kalman_state_in_the_same_convention():
    box = np.array([[10.0, 20.0, 50.0, 120.0]])
    mean, cov = KalmanBoxFilter().initiate(box)
    track = Track(1, mean[0], cov[0], np.ones(4, np.float32), 0.9, 0, 0.0, 5)
    np.testing.assert_allclose(track.box, box[0])
    assert track.box.dtype == np.float32


@pytest.mark.parametrize("with_classes", [False, True])
def test_nms_keeps_what_torchvision_keeps(with_classes):
    """The numpy NMS (the tracker's, the teachers' and the bench's) against torchvision's, which the detector's
    decoder uses: on crowded random frames both keep the same boxes in the same order, per class when asked."""
    import torch
    from torchvision.ops import batched_nms
    from torchvision.ops import nms as tv_nms

    rng = np.random.default_rng(3)
    for _ in range(30):
        n = int(rng.integers(1, 120))
        xy = rng.uniform(0, 300, (n, 2))
        wh = rng.uniform(10, 120, (n, 2))
        boxes = np.concatenate([xy, xy + wh], 1).astype(np.float32)
        scores = rng.uniform(0, 1, n).astype(np.float32)
        classes = rng.integers(0, 3, n)
        thr = float(rng.choice([0.3, 0.5, 0.7, 0.8]))
        b, s = torch.from_numpy(boxes), torch.from_numpy(scores)
        ref = (batched_nms(b, s, torch.from_numpy(classes), thr) if with_classes else tv_nms(b, s, thr)).numpy()
        got = nms(boxes, scores, thr, classes=classes if with_classes else None)
        np.testing.assert_array_equal(got, ref)
    assert nms(np.zeros((0, 4)), np.zeros(0), 0.5).shape == (0,)
    with pytest.raises(ValueError, match="scores"):
        nms(np.zeros((2, 4)), np.zeros(3), 0.5)
