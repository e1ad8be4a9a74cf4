"""sensor_msgs/Image <-> BGR conversion: every encoding against a reference built with cv2.cvtColor,
row padding, big-endian mono16, and the bad inputs that must raise a clear ImageDecodeError.

Pure: the decoder only needs objects with the message fields, so most tests use SimpleNamespace;
the round trip through a real sensor_msgs/Image runs when sensor_msgs is importable.
"""

from __future__ import annotations

from types import SimpleNamespace

import cv2
import numpy as np
import pytest

from sotmot_ros.ros import image_conversion as ic
from sotmot_ros.ros.image_conversion import ImageDecodeError, compressed_msg_to_bgr, image_msg_to_bgr

H, W = 6, 10
RNG = np.random.default_rng(0)
BGR = RNG.integers(0, 256, (H, W, 3), dtype=np.uint8)


def _msg(arr: np.ndarray, encoding: str, pad: int = 0, bigendian: bool = False, width=None):
    """Pack a (H, W, C) or (H, W) array row-wise with ``pad`` extra bytes per row."""
    arr = np.ascontiguousarray(arr)
    h = arr.shape[0]
    rows = arr.reshape(h, -1).view(np.uint8) if arr.dtype != np.uint8 else arr.reshape(h, -1)
    rows = np.ascontiguousarray(rows)
    padded = np.concatenate([rows, np.full((h, pad), 0xAB, np.uint8)], 1) if pad else rows
    return SimpleNamespace(
        height=h,
        width=arr.shape[1] if width is None else width,
        encoding=encoding,
        is_bigendian=int(bigendian),
        step=padded.shape[1],
        data=padded.tobytes(),
    )


def _references():
    rgb = cv2.cvtColor(BGR, cv2.COLOR_BGR2RGB)
    bgra = cv2.cvtColor(BGR, cv2.COLOR_BGR2BGRA)
    bgra[..., 3] = 77
    rgba = cv2.cvtColor(bgra, cv2.COLOR_BGRA2RGBA)
    gray = cv2.cvtColor(BGR, cv2.COLOR_BGR2GRAY)
    return [
        ("bgr8", BGR, BGR),
        ("8UC3", BGR, BGR),
        ("rgb8", rgb, cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)),
        ("bgra8", bgra, cv2.cvtColor(bgra, cv2.COLOR_BGRA2BGR)),
        ("rgba8", rgba, cv2.cvtColor(rgba, cv2.COLOR_RGBA2BGR)),
        ("mono8", gray, cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR)),
        ("8UC1", gray, cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR)),
    ]


@pytest.mark.parametrize("pad", [0, 7])
@pytest.mark.parametrize("case", _references(), ids=lambda c: c[0] if isinstance(c, tuple) else str(c))
def test_8bit_encodings_match_cvtcolor(case, pad):
    encoding, packed, expected = case
    out = image_msg_to_bgr(_msg(packed, encoding, pad=pad), use_cv_bridge=False)
    assert out.dtype == np.uint8 and out.shape == (H, W, 3) and out.flags.c_contiguous
    np.testing.assert_array_equal(out, expected)


@pytest.mark.parametrize("bigendian", [False, True])
@pytest.mark.parametrize("pad", [0, 3])  # an odd pad: rows are not 2-byte aligned
def test_mono16_scaled_like_convertto(bigendian, pad):
    vals = RNG.integers(0, 65536, (H, W), dtype=np.uint16)
    vals[0, :4] = [0, 65535, 128, 129]  # edges and the first rounding step (128/257 -> 0, 129/257 -> 1)
    arr = vals.astype(">u2" if bigendian else "<u2")
    out = image_msg_to_bgr(_msg(arr, "mono16", pad=pad, bigendian=bigendian), use_cv_bridge=False)
    # reference: cv::Mat::convertTo with alpha 255/65535 (what cv_bridge does), then GRAY2BGR
    ref8 = cv2.convertScaleAbs(vals, alpha=255.0 / 65535.0)
    np.testing.assert_array_equal(out, cv2.cvtColor(ref8, cv2.COLOR_GRAY2BGR))
    assert list(out[0, :4, 0]) == [0, 255, 0, 1]


@pytest.mark.parametrize(
    "encoding,code",
    [
        ("yuv422", cv2.COLOR_YUV2BGR_UYVY),
        ("uyvy", cv2.COLOR_YUV2BGR_UYVY),
        ("yuv422_yuy2", cv2.COLOR_YUV2BGR_YUY2),
        ("yuyv", cv2.COLOR_YUV2BGR_YUY2),
    ],
)
@pytest.mark.parametrize("pad", [0, 6])
def test_yuv422_match_cvtcolor(encoding, code, pad):
    packed = RNG.integers(0, 256, (H, W, 2), dtype=np.uint8)
    out = image_msg_to_bgr(_msg(packed, encoding, pad=pad), use_cv_bridge=False)
    np.testing.assert_array_equal(out, cv2.cvtColor(packed, code))


def test_yuv_byte_order_distinguishes_uyvy_and_yuyv():
    # a grey-ish pixel pair with a strong chroma: UYVY and YUYV read it differently
    packed = np.tile(np.array([[[200, 60], [50, 60]]], np.uint8), (2, 2, 1))
    a = image_msg_to_bgr(_msg(packed, "uyvy"), use_cv_bridge=False)
    b = image_msg_to_bgr(_msg(packed, "yuyv"), use_cv_bridge=False)
    assert not np.array_equal(a, b)


def test_output_owns_memory_and_accepts_array_payload():
    import array

    m = _msg(BGR, "bgr8")
    m.data = array.array("B", m.data)  # what rclpy gives for uint8[]
    out = image_msg_to_bgr(m, use_cv_bridge=False)
    out[:] = 0  # must not write into the message
    assert bytes(m.data) == BGR.tobytes()


@pytest.mark.skipif(ic._BRIDGE is None, reason="cv_bridge is not importable in this environment")
@pytest.mark.parametrize("encoding", ["bgr8", "rgb8", "bgra8", "rgba8", "mono8", "mono16", "yuv422", "yuv422_yuy2"])
def test_identical_to_cv_bridge(encoding):
    sensor_msgs = pytest.importorskip("sensor_msgs.msg")
    channels = {"bgr8": 3, "rgb8": 3, "bgra8": 4, "rgba8": 4, "mono8": 1, "mono16": 1}.get(encoding, 2)
    if encoding == "mono16":
        arr = RNG.integers(0, 65536, (H, W), dtype=np.uint16)
    else:
        arr = RNG.integers(0, 256, (H, W, channels), dtype=np.uint8).squeeze()
    ns = _msg(arr, encoding, pad=4)
    msg = sensor_msgs.Image(
        height=ns.height, width=ns.width, encoding=ns.encoding, is_bigendian=0, step=ns.step, data=ns.data
    )
    np.testing.assert_array_equal(
        image_msg_to_bgr(msg, use_cv_bridge=True), image_msg_to_bgr(msg, use_cv_bridge=False)
    )


# ----------------------------------------------------------------------------- bad inputs


def _bad_cases():
    good = _msg(BGR, "bgr8")

    def mod(**kw):
        d = dict(vars(good))
        d.update(kw)
        return SimpleNamespace(**d)

    return [
        ("unsupported encoding", mod(encoding="32FC1"), "unsupported image encoding"),
        ("empty encoding", mod(encoding=""), "unsupported image encoding"),
        ("bayer encoding", mod(encoding="bayer_rggb8"), "unsupported image encoding"),
        ("step smaller than row", mod(step=W * 3 - 1), "step"),
        ("step for wrong bpp", mod(encoding="rgba8"), "step"),
        ("truncated data", mod(data=good.data[:-5]), "truncated"),
        ("data longer than step*height", mod(data=good.data + b"\0"), r"does not match step\*height"),
        ("zero width", mod(width=0, step=0, data=b""), "empty image"),
        ("zero height", mod(height=0, data=b""), "empty image"),
        ("no data at all", mod(data=b""), "no data"),
        ("huge image", mod(width=200_000, height=100_000, step=600_000), "exceeds"),
        ("too many pixels", mod(width=20_000, height=20_000, step=60_000), "above the maximum"),
        ("odd width yuv422", _msg(np.zeros((2, 3, 2), np.uint8), "yuv422"), "even width"),
        ("mono16 step mismatch", _msg(np.zeros((2, 4), np.uint16), "mono16", width=5), "step"),
    ]


@pytest.mark.parametrize("case", _bad_cases(), ids=lambda c: c[0])
def test_bad_raw_images_raise_clear_errors(case):
    _, msg, fragment = case
    with pytest.raises(ImageDecodeError, match=fragment):
        image_msg_to_bgr(msg, use_cv_bridge=False)


def test_configurable_limit():
    with pytest.raises(ImageDecodeError, match="above the maximum of 50"):
        image_msg_to_bgr(_msg(BGR, "bgr8"), max_pixels=50, use_cv_bridge=False)


# ----------------------------------------------------------------------------- compressed


def _compressed(ext, fmt, img=BGR, params=()):
    ok, buf = cv2.imencode(ext, img, list(params))
    assert ok
    return SimpleNamespace(format=fmt, data=buf.tobytes())


def test_png_is_lossless_and_jpeg_close():
    np.testing.assert_array_equal(compressed_msg_to_bgr(_compressed(".png", "png")), BGR)
    smooth = cv2.GaussianBlur(cv2.resize(BGR, (64, 48)), (9, 9), 3)
    out = compressed_msg_to_bgr(_compressed(".jpg", "bgr8; jpeg compressed bgr8", smooth, [cv2.IMWRITE_JPEG_QUALITY, 95]))
    assert out.shape == (48, 64, 3) and np.abs(out.astype(int) - smooth).mean() < 4


def test_jpeg_with_large_metadata_segments_decodes():
    # EXIF/ICC APP segments can push the frame header past 64 KiB; the size check must still find it.
    import struct

    ok, enc = cv2.imencode(".jpg", BGR)
    app2 = b"\xff\xe2" + struct.pack(">H", 60002) + b"\x00" * 60000
    data = enc.tobytes()[:2] + app2 + app2 + enc.tobytes()[2:]
    msg = SimpleNamespace(format="jpeg", data=data)
    np.testing.assert_array_equal(compressed_msg_to_bgr(msg), cv2.imdecode(enc, cv2.IMREAD_COLOR))


@pytest.mark.parametrize(
    "name,mutate,fragment",
    [
        ("corrupt jpeg body", lambda d: d[:2] + b"\x00" * (len(d) - 2), "neither a valid JPEG nor PNG|corrupt"),
        ("truncated jpeg", lambda d: d[:40], "corrupt|neither"),
        ("random bytes", lambda d: bytes(range(256)), "neither a valid JPEG nor PNG"),
        ("empty", lambda d: b"", "no data"),
    ],
)
def test_bad_compressed_raise(name, mutate, fragment):
    m = _compressed(".jpg", "jpeg")
    m.data = mutate(m.data)
    with pytest.raises(ImageDecodeError, match=fragment):
        compressed_msg_to_bgr(m)


def test_compressed_size_checked_before_decoding_and_formats():
    with pytest.raises(ImageDecodeError, match="above the maximum"):
        compressed_msg_to_bgr(_compressed(".png", "png"), max_pixels=10)
    with pytest.raises(ImageDecodeError, match="above the maximum"):
        compressed_msg_to_bgr(_compressed(".jpg", "jpeg"), max_pixels=10)
    with pytest.raises(ImageDecodeError, match="compressedDepth"):
        compressed_msg_to_bgr(_compressed(".png", "16UC1; compressedDepth png"))
    with pytest.raises(ImageDecodeError, match="unsupported compressed format"):
        compressed_msg_to_bgr(_compressed(".png", "theora"))


def test_round_trip_through_real_message():
    pytest.importorskip("sensor_msgs.msg")
    from std_msgs.msg import Header

    msg = ic.bgr_to_image_msg(BGR, Header(frame_id="cam"))
    assert (msg.encoding, msg.step, msg.header.frame_id) == ("bgr8", W * 3, "cam")
    np.testing.assert_array_equal(image_msg_to_bgr(msg), BGR)
    cmsg = ic.bgr_to_compressed_msg(BGR, fmt="png")
    np.testing.assert_array_equal(ic.decode_any(cmsg), BGR)
    with pytest.raises(ValueError, match="uint8"):
        ic.bgr_to_image_msg(BGR.astype(np.float32))
