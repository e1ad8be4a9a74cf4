"""Frame sources (video / image folder / MOT folder) with frame ranges, drawing, and `sotmot track`."""

from __future__ import annotations

import logging
import sys
import types

import cv2
import numpy as np
import pytest

from sotmot_ros.render import draw_tracks, id_colour
from sotmot_ros.sources import open_source
from sotmot_ros.types import Detections, TrackOutput, TrackState

N = 12


def frame_image(k: int) -> np.ndarray:
    """Frame k (1-based) carries its number as grey level 20*k, and a white box moving right."""
    img = np.full((64, 96, 3), 20 * k, np.uint8)
    img[20:40, 4 * k : 4 * k + 10] = 255
    return img


def brightness(img):
    return int(round(float(np.median(img))))


@pytest.fixture
def video(tmp_path):
    path = str(tmp_path / "v.avi")
    w = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (96, 64))
    assert w.isOpened()
    for k in range(1, N + 1):
        w.write(frame_image(k))
    w.release()
    return path


@pytest.fixture
def mot_folder(tmp_path):
    root = tmp_path / "SEQ-01"
    (root / "img1").mkdir(parents=True)
    for k in range(1, N + 1):
        cv2.imwrite(str(root / "img1" / f"{k:06d}.png"), frame_image(k))
    (root / "seqinfo.ini").write_text("[Sequence]\nname=SEQ-01\nimDir=img1\nframeRate=5\nseqLength=12\nimExt=.png\n")
    return str(root)


def test_video_frames_range_and_timestamps(video):
    src = open_source(video)
    assert src.kind == "video" and src.fps == pytest.approx(10.0)
    got = list(src.frames(4, 7))
    assert [f for f, _, _ in got] == [4, 5, 6, 7]
    assert [t for _, _, t in got] == pytest.approx([0.3, 0.4, 0.5, 0.6])
    assert [brightness(im) for _, im, _ in got] == pytest.approx([80, 100, 120, 140], abs=3)
    assert len(list(src.frames(10))) == 3  # to the end
    assert open_source(video, fps=20).frames(3, 3).__next__()[2] == pytest.approx(0.1)


def test_image_folder_and_mot_folder(mot_folder, caplog):
    src = open_source(mot_folder)
    assert (src.kind, src.fps, src.length, src.name) == ("mot", 5.0, N, "SEQ-01")
    got = list(src.frames(2, 3))
    assert [(f, t) for f, _, t in got] == [(2, 0.2), (3, 0.4)]
    assert brightness(got[0][1]) == 40
    folder = open_source(mot_folder + "/img1")
    assert folder.kind == "images" and folder.fps == 30.0 and "assuming" in caplog.text
    assert [f for f, _, _ in folder.frames(11, 99)] == [11, 12]
    with pytest.raises(ValueError):
        list(folder.frames(5, 4))
    with pytest.raises(FileNotFoundError):
        open_source(mot_folder + "/missing")


def out(tid, box, state=TrackState.CONFIRMED, matched=True):
    return TrackOutput(tid, np.array(box, np.float32), 0.9, 0, state, 3, 1.0, 0.0, matched=matched)


def test_draw_tracks_is_pure_and_colours_by_id():
    img = np.zeros((100, 100, 3), np.uint8)
    drawn = draw_tracks(img, [out(1, [10, 10, 40, 60]), out(2, [60, 20, 90, 80]), out(3, [0, 0, 99, 99], TrackState.TENTATIVE)])
    assert img.sum() == 0  # input untouched
    assert tuple(drawn[35, 10]) == id_colour(1)  # left edge of box 1
    assert tuple(drawn[50, 90]) == id_colour(2)  # right edge of box 2
    assert id_colour(1) != id_colour(2)
    assert drawn[99, 50].sum() == 0  # tentative track not drawn
    lost = [out(4, [10, 10, 40, 60], TrackState.LOST, matched=False)]
    assert draw_tracks(img, lost).sum() == 0
    assert draw_tracks(img, lost, show_lost=True).sum() > 0


def test_track_command_with_stand_in_detector(video, tmp_path, monkeypatch, capsys, caplog):
    """End to end `sotmot track` on a synthetic video; the detector is replaced by one reading the box."""

    class StandIn:
        meta: dict = {}  # no tuned settings: the library defaults apply
        input_size = (64, 64)
        backend, device, trim_padding = "torch", "cpu", False

        @classmethod
        def from_checkpoint(cls, path, device="auto", half=False, score_threshold=0.1, input_size=None, backend="auto",
                            trim_padding=False):
            assert path == "ckpt.pt" and input_size is None and backend == "auto" and trim_padding is False
            return cls()

        def __call__(self, image):
            ys, xs = np.nonzero(image[:, :, 0] > 240)
            box = [xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]
            return Detections([box], [0.9], None, np.ones((1, 8)) / np.sqrt(8))

    monkeypatch.setitem(sys.modules, "sotmot_ros.detector", types.SimpleNamespace(Detector=StandIn))
    from sotmot_ros.cli import main

    res, vid = tmp_path / "res.txt", tmp_path / "out.avi"
    with caplog.at_level(logging.INFO, logger="sotmot.track"):
        assert main(["track", video, "--checkpoint", "ckpt.pt", "--first", "2", "--last", "9", "--out", str(res),
                     "--render", str(vid), "--no-progress"]) == 0
    # the default camera_motion auto says what it did: a blank synthetic scene has no background to measure
    assert "camera motion (auto): compensated in 0 of 8 frames, 7 not measurable" in caplog.text
    rows = np.loadtxt(res, delimiter=",", ndmin=2)
    assert rows[:, 0].min() == 2 and rows[:, 0].max() == 9 and set(rows[:, 1]) == {1}
    assert "8 frames" in capsys.readouterr().out
    assert vid.stat().st_size > 0
