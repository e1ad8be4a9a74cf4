"""The bundled default model: it loads from the package and finds the people of PETS09-S2L1.

Uses a frame of the training range (1-397) of vtest.avi and the shared annotations of that range; skips
with a reason when either is absent (frames 398-795 are held out and never used).
"""

from pathlib import Path

import cv2
import pytest

from sotmot_ros.data.mot import read_mot_file
from sotmot_ros.detector import Detector
from sotmot_ros.evaluation import iou_matrix
from sotmot_ros.model.checkpoint import default_checkpoint_path, load_model
from sotmot_ros.tracking import TrackerConfig

REPO = Path(__file__).resolve().parents[1]
VIDEO = REPO / "data_cache" / "vtest.avi"
GT = REPO.parent / "shared" / "data" / "PETS09-S2L1" / "gt_train_0001-0397.txt"
FRAMES = (50, 150, 250, 350)  # inside the annotated range 1-397


def _frames(numbers):
    cap = cv2.VideoCapture(str(VIDEO))
    out, index = {}, 0
    while len(out) < len(numbers):
        ok, img = cap.read()
        if not ok:
            break
        index += 1
        if index in numbers:
            out[index] = img
    cap.release()
    return out


def test_default_model_ships_with_the_package_and_rebuilds_from_the_file():
    path = default_checkpoint_path()
    assert path.is_file(), f"bundled model missing at {path}"
    assert path.stat().st_size <= 20 * 1024 * 1024
    model, meta = load_model(path)
    assert model.config.backbone == "efficientnet_lite0"
    assert model.config.class_names == ["person"]
    assert {"epoch", "step", "train_config"} <= set(meta), "training provenance missing from the model file"
    assert meta["train_config"]["backbone"] == "efficientnet_lite0"


@pytest.mark.skipif(not VIDEO.is_file(), reason=f"demo video absent ({VIDEO}); run scripts/fetch_demo_video.sh")
@pytest.mark.skipif(not GT.is_file(), reason=f"PETS09-S2L1 annotations absent ({GT}): ../shared not present")
def test_default_model_detects_people_on_pets_training_frames():
    threshold = TrackerConfig().high_score_threshold  # what the tracker treats as a confident detection
    detector = Detector.from_checkpoint(None, device="cpu", score_threshold=threshold)
    gt = read_mot_file(str(GT), fmt="mot15", frame_range=(1, 397))
    hits = total = false_pos = 0
    for number, image in _frames(FRAMES).items():
        dets = detector(image)
        boxes = gt[number].boxes[~gt[number].ignore]
        total += len(boxes)
        if len(dets) and len(boxes):
            iou = iou_matrix(boxes, dets.boxes)
            hits += int((iou.max(axis=1) >= 0.5).sum())
            false_pos += int((iou.max(axis=0) < 0.5).sum())
    assert total > 0
    recall = hits / total
    assert recall >= 0.8, f"recall {recall:.2f} at IoU 0.5 (score >= {threshold}) on frames {FRAMES}"
    assert false_pos <= total  # not a detector that fires everywhere
