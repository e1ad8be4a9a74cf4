"""Camera naming of the node: names become output namespaces and ID prefixes, so bad ones are refused."""

import pytest

pytest.importorskip("rcl_interfaces", reason="ROS 2 (rclpy) not importable: run scripts/setup_env.sh")

from sotmot_ros.ros.parameters import camera_names  # noqa: E402


def test_names_are_derived_from_topics_and_made_unique():
    assert camera_names(["/front/image_raw", "/rear/image_raw"]) == ["front", "rear"]
    assert camera_names(["/a/cam/image_raw", "/b/cam/image_raw"]) == ["cam_1", "cam_2"]
    assert camera_names(["image_raw"]) == ["image_raw"]


@pytest.mark.parametrize("names, reason", [
    (["x", "x"], "duplicates"),
    (["x"], "must be empty or match"),
    (["", "b"], "not valid names"),
    (["front-left", "rear"], "not valid names"),
])
def test_bad_explicit_names_are_refused(names, reason):
    with pytest.raises(ValueError, match=reason):
        camera_names(["/a/image_raw", "/b/image_raw"], names)
