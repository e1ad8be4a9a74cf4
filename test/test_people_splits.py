"""The people model's validation discipline, as data: report and tune scenes are never trained on, the fit
and crowd splits are training frames only, and nothing reaches the held-out PETS09-S2L1 frames 398-795."""

from pathlib import Path

import numpy as np
import yaml

from sotmot_ros.train.config import TrainConfig

REPO = Path(__file__).resolve().parent.parent
PETS_LAST_ALLOWED = 397  # frames 398-795 are held out of everything


def frames(entry: dict, first_key="first", last_key="last") -> tuple[float, float]:
    if "frames" in entry:
        return tuple(entry["frames"])
    return entry.get(first_key, 1), entry.get(last_key) or float("inf")


def overlap(a, b) -> bool:
    return a[0] <= b[1] and b[0] <= a[1]


def load():
    splits = yaml.safe_load((REPO / "config" / "people_splits.yaml").read_text())
    train = TrainConfig.load(str(REPO / "config" / "train_people.yaml"))
    return splits, train


def test_report_and_tune_scenes_are_not_trained_on():
    splits, train = load()
    for name in ("report", "tune"):
        for e in splits[name]:
            for t in train.train_sequences + train.val_sequences * (name == "report"):
                assert not (Path(t["source"]).name == Path(e["source"]).name and overlap(frames(t), frames(e))), \
                    (name, e["name"], t["source"])
    tune_sources = {Path(e["source"]).name for e in splits["tune"]}
    assert {Path(v["source"]).name for v in train.val_sequences} <= tune_sources  # validation losses: tune only


def test_fit_and_crowd_splits_are_training_frames_and_nothing_reaches_the_held_out_pets_frames():
    splits, train = load()
    for e in splits["fit"] + splits["crowd"]:  # both are training frames, never a generalisation number
        assert any(Path(t["source"]).name == Path(e["source"]).name and frames(t)[0] <= frames(e)[0]
                   and frames(e)[1] <= frames(t)[1] for t in train.train_sequences), e["name"]
    everything = [e for split in splits.values() for e in split] + train.train_sequences + train.val_sequences
    for e in everything:
        if "pets" in e["source"].lower() or "vtest" in e["source"].lower():
            assert frames(e)[1] <= PETS_LAST_ALLOWED, e


def test_tracker_tuning_refuses_the_report_split_and_joins_splits_by_comma(capsys):
    import sys

    import pytest

    sys.path.insert(0, str(REPO / "bench"))
    import evaluate_people
    import tune_tracker

    assert evaluate_people.split_names("tune, fit") == ["tune", "fit"]
    for split in ("report", "tune,report"):
        with pytest.raises(SystemExit) as exc:  # refused before any file is read
            tune_tracker.main(["--split", split, "--checkpoint", "no-such-model.pt"])
        assert exc.value.code == 2 and "report split is never tuned on" in capsys.readouterr().err


def _my_scene(tmp_path) -> Path:
    """A user's own labelled scene: four PETS09-S2L1 training frames as an image folder with their annotations,
    listed as split ``mine`` of a splits file laid out like config/people_splits.yaml (returned)."""
    import cv2
    import pytest

    video = REPO / "data_cache" / "vtest.avi"
    gt = REPO.parent / "shared" / "data" / "PETS09-S2L1" / "gt_train_0001-0397.txt"
    if not (video.is_file() and gt.is_file()):
        pytest.skip("vtest.avi or the PETS09-S2L1 annotations are absent")
    folder = tmp_path / "my_camera"
    folder.mkdir()
    cap = cv2.VideoCapture(str(video))
    for f in range(1, 5):
        ok, img = cap.read()
        assert ok
        cv2.imwrite(str(folder / f"{f:06d}.jpg"), img)
    cap.release()
    splits = tmp_path / "my_scenes.yaml"
    splits.write_text(yaml.safe_dump({"mine": [{"name": "my-camera", "source": str(folder), "gt": str(gt),
                                                "kind": "annotated", "first": 1, "last": 4}]}))
    return splits


def test_a_users_own_scenes_file_is_evaluated(tmp_path):
    """`evaluate_people.py --splits FILE`: a user scores the model on their own labelled scene."""
    import json
    import sys

    import pytest

    splits = _my_scene(tmp_path)
    sys.path.insert(0, str(REPO / "bench"))
    import evaluate_people

    out = tmp_path / "out.json"
    assert evaluate_people.main(["--splits", str(splits), "--split", "mine", "--modes", "iou",
                                 "--cache-dir", str(tmp_path / "cache"), "--json", str(out)]) == 0
    seq = json.loads(out.read_text())["sequences"]["my-camera"]
    assert seq["frames"] == [1, 4] and seq["labelled_boxes"] > 10
    assert seq["AP50"] > 0.6 and seq["tracking"]["iou"]["MOTA"] > 0.5
    # --frame-step 2: frames 1 and 3 only, tracked 2 frames apart, the same cached detections
    half = tmp_path / "half.json"
    assert evaluate_people.main(["--splits", str(splits), "--split", "mine", "--modes", "iou", "--frame-step", "2",
                                 "--cache-dir", str(tmp_path / "cache"), "--json", str(half)]) == 0
    half_seq = json.loads(half.read_text())["sequences"]["my-camera"]
    assert half_seq["frames"] == [1, 3] and 0 < half_seq["labelled_boxes"] < seq["labelled_boxes"]
    assert half_seq["tracking"]["iou"]["FN"] <= seq["tracking"]["iou"]["FN"]  # skipped frames are not misses
    assert len(list((tmp_path / "cache").glob("*.npz"))) == 1
    with pytest.raises(SystemExit, match="no split 'report'"):
        evaluate_people.main(["--splits", str(splits), "--split", "report"])
    # --low-res: the same scene as a 16-row camera would see it (people 2-3 px tall, nothing left to find): a
    # separate cache, and the loss of detail shows in the result
    low = tmp_path / "low.json"
    assert evaluate_people.main(["--splits", str(splits), "--split", "mine", "--modes", "iou", "--low-res", "16",
                                 "--cache-dir", str(tmp_path / "cache"), "--json", str(low)]) == 0
    low_seq = json.loads(low.read_text())["sequences"]["my-camera"]
    assert low_seq["AP50"] < seq["AP50"] - 0.2
    assert len(list((tmp_path / "cache").glob("*_lowres16.npz"))) == 1
    # --camera-rows: the detector gets the frames themselves at 288 rows (a 384x288 camera; its letterbox
    # enlarges them); its boxes come back at the labels' size, so the same people are found
    cam = tmp_path / "camera.json"
    assert evaluate_people.main(["--splits", str(splits), "--split", "mine", "--modes", "iou", "--camera-rows", "288",
                                 "--cache-dir", str(tmp_path / "cache"), "--json", str(cam)]) == 0
    cam_seq = json.loads(cam.read_text())["sequences"]["my-camera"]
    assert cam_seq["AP50"] > seq["AP50"] - 0.1 and cam_seq["labelled_boxes"] == seq["labelled_boxes"]
    assert len(list((tmp_path / "cache").glob("*_camera288.npz"))) == 1
    # --fault: the frames as a noisy camera delivers them (a cache of its own that records the fault; other
    # detections, the same labels)
    noisy = tmp_path / "noisy.json"
    assert evaluate_people.main(["--splits", str(splits), "--split", "mine", "--modes", "iou", "--fault", "noise:3",
                                 "--cache-dir", str(tmp_path / "cache"), "--json", str(noisy)]) == 0
    assert json.loads(noisy.read_text())["fault"] == ["noise", 3]
    (noisy_cache,) = (tmp_path / "cache").glob("*_noise3.npz")
    (clean_cache,) = [p for p in (tmp_path / "cache").glob("*.npz") if p.stem.endswith("_1-4")]
    noisy_dets, clean_dets = evaluate_people.load_cache(str(noisy_cache)), evaluate_people.load_cache(str(clean_cache))
    assert noisy_dets.meta["fault"] == ["noise", 3] and clean_dets.meta["fault"] is None
    assert not np.array_equal(noisy_dets.scores, clean_dets.scores)
    with pytest.raises(SystemExit):
        evaluate_people.main(["--splits", str(splits), "--split", "mine", "--fault", "fog:2"])


def test_a_user_tunes_the_tracker_on_their_own_scenes_into_their_model_file(tmp_path):
    """`tune_tracker.py --splits FILE --split NAME --checkpoint MY.pt --write`: the settings chosen on the user's
    scene land in their model file, where every front-end reads them; a bundled model's name finds the same
    cached detections as its file."""
    import json
    import shutil
    import sys

    import pytest

    from sotmot_ros.model.checkpoint import load_model, resolve_model_path
    from sotmot_ros.tracking import config_for_model

    splits = _my_scene(tmp_path)
    sys.path.insert(0, str(REPO / "bench"))
    import evaluate_people
    import tune_tracker

    mine = tmp_path / "mine.pt"
    shutil.copy(resolve_model_path("fast"), mine)
    cache_dir, out = tmp_path / "cache", tmp_path / "tune.json"
    with pytest.raises(SystemExit):  # neither scenes nor a cache: nothing to tune on
        tune_tracker.main(["--checkpoint", str(mine)])
    assert tune_tracker.main(["--splits", str(splits), "--split", "mine", "--checkpoint", str(mine), "--cache-dir",
                              str(cache_dir), "--json", str(out), "--write"]) == 0
    best = json.loads(out.read_text())["ranked"][0]
    _, meta = load_model(str(mine))
    assert meta["tracker_tuned_on"] == "bench/tune_tracker.py on mine"
    assert meta["detector"]["nms_iou"] in tune_tracker.NMS_SWEEP
    assert config_for_model(meta) == (tune_tracker.make_config(best["overrides"]), "settings tuned for this model")
    # the bundled file is untouched and its name resolves to the same detections (cached by file content)
    _, fast_meta = load_model(str(resolve_model_path("fast")))
    assert fast_meta.get("tracker_tuned_on") != meta["tracker_tuned_on"]
    entry = evaluate_people.load_split("mine", str(splits))[0]
    assert len(evaluate_people.sequence_cache(entry, "fast", str(cache_dir))) == 4
    assert len(list(cache_dir.glob("*.npz"))) == 1
    # a robot's camera: tuned with camera motion compensation, which the model file then carries
    assert tune_tracker.main(["--splits", str(splits), "--split", "mine", "--checkpoint", str(mine), "--cache-dir",
                              str(cache_dir), "--camera-motion", "affine", "--write"]) == 0
    config, _ = config_for_model(load_model(str(mine))[1])
    assert config.camera_motion == "affine"


def test_a_user_checks_that_their_tuning_transfers_between_halves_of_their_scene(tmp_path):
    """`settings_transfer.py --splits FILE --split NAME --checkpoint MY.pt --configs TUNE.json`: every rule and the
    model file's stored settings are scored on the half they were not chosen on, both ways; the report split is
    refused."""
    import json
    import shutil
    import sys

    import pytest

    from sotmot_ros.model.checkpoint import resolve_model_path

    splits = _my_scene(tmp_path)
    sys.path.insert(0, str(REPO / "bench"))
    import settings_transfer
    import tune_tracker

    mine = tmp_path / "mine.pt"
    shutil.copy(resolve_model_path("fast"), mine)
    cache_dir, tuned, out = tmp_path / "cache", tmp_path / "tune.json", tmp_path / "transfer.json"
    common = ["--splits", str(splits), "--split", "mine", "--checkpoint", str(mine), "--cache-dir", str(cache_dir)]
    assert tune_tracker.main(common + ["--json", str(tuned), "--write"]) == 0
    assert settings_transfer.main(common + ["--configs", str(tuned), "--frame-steps", "1,2", "--json", str(out)]) == 0
    rows = json.loads(out.read_text())["rows"]
    whats = {r["what"] for r in rows}
    assert set(settings_transfer.RULES) | {"defaults", "stored", "oracle"} <= whats
    assert {(r["chosen_on"], r["scored_on"]) for r in rows} == {("first", "second"), ("second", "first")}
    stored = [r for r in rows if r["what"] == "stored"]
    best = json.loads(tuned.read_text())["ranked"][0]
    assert all(r["changed"] == best["changed"] for r in stored)  # --write stored the tuner's best
    # `max` chosen on one half is the oracle of that half: the two directions use the halves they name
    oracle = {r["scored_on"]: r["index"] for r in rows if r["what"] == "oracle"}
    assert all(r["index"] == oracle[r["chosen_on"]] for r in rows if r["what"] == "max")
    with pytest.raises(SystemExit):
        settings_transfer.main(["--split", "report", "--checkpoint", str(mine), "--configs", str(tuned)])


def test_a_user_checks_tracking_on_a_moving_camera(tmp_path):
    """`evaluate_people.py --moving-camera`: the scene seen by a shaking camera, labels re-expressed in its view,
    at every frame and at every 2nd; with `camera_motion=affine` the measured warps follow the true camera."""
    import json
    import sys

    splits = _my_scene(tmp_path)
    sys.path.insert(0, str(REPO / "bench"))
    import cache_detections
    import evaluate_people
    from bench_camera_motion import relative_warps, warp_error

    from sotmot_ros.data.moving_camera import camera_warps, view_size

    cache_dir = tmp_path / "cache"
    args = ["--splits", str(splits), "--split", "mine", "--modes", "iou", "--cache-dir", str(cache_dir)]
    assert evaluate_people.main(args + ["--json", str(tmp_path / "fixed.json")]) == 0
    fixed = json.loads((tmp_path / "fixed.json").read_text())["sequences"]["my-camera"]
    counts = []
    for step in ("1", "2"):
        out = tmp_path / f"moving{step}.json"
        assert evaluate_people.main(args + ["--moving-camera", "shake:3", "--frame-step", step,
                                            "--set", "camera_motion=affine", "--json", str(out)]) == 0
        result = json.loads(out.read_text())
        seq = result["sequences"]["my-camera"]
        assert result["moving_camera"] == ["shake", 3] and result["tracker"]["camera_motion"] == "affine"
        counts.append(seq["labelled_boxes"])
        assert seq["AP50"] > fixed["AP50"] - 0.1 and seq["tracking"]["iou"]["MOTA"] > 0.4  # labels follow the view
    assert 10 < counts[0] <= fixed["labelled_boxes"] and 0 < counts[1] < counts[0]  # 80 % view; every 2nd frame
    (cache,) = cache_dir.glob("*_motion-shake3.npz")
    dets = evaluate_people.load_cache(str(cache))
    assert tuple(dets.image_size) == view_size((768, 576)) and dets.meta["frame_size"] == [768, 576]
    assert len(list((cache_dir / "motion").glob("*.npz"))) == 3  # the fixed view (auto) and both moving ones
    true = relative_warps(camera_warps(dets.timestamps, (768, 576), "shake", 3))
    errors = [warp_error(w, t, dets.image_size) for w, t in zip(cache_detections.measure_camera_motion(dets), true)]
    assert max(errors) < 1.5, errors
    # the same camera at 288 rows: the warps are measured on its small frames and come back in the boxes' pixels
    assert evaluate_people.main(args + ["--moving-camera", "shake:3", "--camera-rows", "288"]) == 0
    (cache,) = cache_dir.glob("*_camera288_motion-shake3.npz")
    small = evaluate_people.load_cache(str(cache))
    errors = [warp_error(w, t, dets.image_size) for w, t in zip(cache_detections.measure_camera_motion(small), true)]
    assert max(errors) < 3.0, errors
