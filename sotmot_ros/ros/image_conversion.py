"""``sensor_msgs/Image`` / ``CompressedImage`` <-> numpy BGR ``uint8`` (OpenCV order).

The decoding is strict: every inconsistency between the header fields and the payload raises
:class:`ImageDecodeError` with a message that names the problem, so that a node can log it, count it
and go on with the next frame.

``cv_bridge`` is used for raw images when it is importable (after the same validation); otherwise the
numpy/OpenCV path below is used. Both give identical arrays (``test/test_ros_image_conversion.py``).

The functions accept any object with the fields of the ROS messages (``height``, ``width``,
``encoding``, ``is_bigendian``, ``step``, ``data`` / ``format``, ``data``), so this module itself does not
need rclpy; only :func:`bgr_to_image_msg` imports ``sensor_msgs``.
"""

from __future__ import annotations

import struct

import cv2
import numpy as np

try:  # optional: a ROS install may have it, the PyPI wheels do not
    from cv_bridge import CvBridge as _CvBridge  # type: ignore

    _BRIDGE = _CvBridge()
except Exception:  # noqa: BLE001 - any import/initialisation problem means "not available"
    _BRIDGE = None

#: default limits (a node exposes them as parameters)
DEFAULT_MAX_PIXELS = 100_000_000
DEFAULT_MAX_SIDE = 32768


class ImageDecodeError(ValueError):
    """An image message that cannot be turned into a BGR array; the message says why."""


# encoding -> (bytes per pixel, kind); aliases are folded in _ALIASES
_RAW_FORMATS = {
    "bgr8": (3, "bgr"),
    "rgb8": (3, "rgb"),
    "bgra8": (4, "bgra"),
    "rgba8": (4, "rgba"),
    "mono8": (1, "mono8"),
    "mono16": (2, "mono16"),
    "uyvy": (2, "uyvy"),
    "yuyv": (2, "yuyv"),
}
_ALIASES = {
    "8uc3": "bgr8",
    "8uc1": "mono8",
    "16uc1": "mono16",
    "yuv422": "uyvy",  # sensor_msgs: yuv422 is UYVY byte order
    "yuv422_yuy2": "yuyv",
}

SUPPORTED_ENCODINGS = tuple(sorted(set(_RAW_FORMATS) | {"yuv422", "yuv422_yuy2", "8UC3", "8UC1", "16UC1"}))


def canonical_encoding(encoding: str) -> str:
    """The canonical name of a supported encoding (``8UC3`` -> ``bgr8``, ``yuv422`` -> ``uyvy``).

    Raises ImageDecodeError for unsupported encodings.
    """
    key = (encoding or "").strip()
    low = key.lower()
    low = _ALIASES.get(low, low)
    if low not in _RAW_FORMATS:
        raise ImageDecodeError(
            f"unsupported image encoding {encoding!r}; supported: {', '.join(SUPPORTED_ENCODINGS)}"
        )
    return low


def check_dimensions(width: int, height: int, max_pixels: int = DEFAULT_MAX_PIXELS, max_side: int = DEFAULT_MAX_SIDE):
    """Raise ImageDecodeError for zero/negative or oversized dimensions."""
    if width <= 0 or height <= 0:
        raise ImageDecodeError(f"empty image: width={width}, height={height}")
    if width > max_side or height > max_side:
        raise ImageDecodeError(f"image {width}x{height} exceeds the maximum side length {max_side}")
    if width * height > max_pixels:
        raise ImageDecodeError(
            f"image {width}x{height} has {width * height} pixels, above the maximum of {max_pixels}"
        )


def _payload(data) -> np.ndarray:
    """The message payload as a flat uint8 array without copying when possible."""
    if isinstance(data, np.ndarray):
        return data.reshape(-1).view(np.uint8)
    try:
        return np.frombuffer(data, dtype=np.uint8)
    except TypeError:  # a list of ints
        return np.asarray(data, dtype=np.uint8).reshape(-1)


def _rows(msg, bpp: int, max_pixels: int, max_side: int) -> np.ndarray:
    """Validate the layout and return the (H, W*bpp) uint8 view of the pixel bytes (padding removed)."""
    width, height, step = int(msg.width), int(msg.height), int(msg.step)
    check_dimensions(width, height, max_pixels, max_side)
    row_bytes = width * bpp
    if step < row_bytes:
        raise ImageDecodeError(
            f"step {step} is smaller than width*bytes_per_pixel = {width}*{bpp} = {row_bytes} "
            f"for encoding {msg.encoding!r}"
        )
    buf = _payload(msg.data)
    if buf.size == 0:
        raise ImageDecodeError(f"image has no data (0 bytes); expected step*height = {step}*{height} = {step * height}")
    if buf.size != step * height:
        raise ImageDecodeError(
            f"data size {buf.size} bytes does not match step*height = {step}*{height} = {step * height}"
            + (" (truncated data)" if buf.size < step * height else "")
        )
    return buf.reshape(height, step)[:, :row_bytes]


def _decode_numpy(msg, enc: str, max_pixels: int, max_side: int) -> np.ndarray:
    bpp, kind = _RAW_FORMATS[enc]
    rows = _rows(msg, bpp, max_pixels, max_side)
    h, w = int(msg.height), int(msg.width)
    if kind in ("uyvy", "yuyv") and w % 2:
        raise ImageDecodeError(f"{msg.encoding} needs an even width (pixel pairs share chroma), got {w}")
    if kind == "bgr":
        return np.ascontiguousarray(rows.reshape(h, w, 3))
    if kind == "rgb":
        return np.ascontiguousarray(rows.reshape(h, w, 3)[:, :, ::-1])
    if kind == "bgra":
        return np.ascontiguousarray(rows.reshape(h, w, 4)[:, :, :3])
    if kind == "rgba":
        return np.ascontiguousarray(rows.reshape(h, w, 4)[:, :, 2::-1])
    if kind == "mono8":
        return cv2.cvtColor(np.ascontiguousarray(rows), cv2.COLOR_GRAY2BGR)
    if kind == "mono16":
        dtype = np.dtype(">u2" if msg.is_bigendian else "<u2")
        vals = np.ascontiguousarray(rows).view(dtype).reshape(h, w).astype(np.uint32)
        # Same as cv::Mat::convertTo(CV_8U, 255/65535) (cv_bridge): round(v/257), never a tie.
        mono = ((vals + 128) // 257).astype(np.uint8)
        return cv2.cvtColor(mono, cv2.COLOR_GRAY2BGR)
    packed = np.ascontiguousarray(rows).reshape(h, w, 2)
    code = cv2.COLOR_YUV2BGR_UYVY if kind == "uyvy" else cv2.COLOR_YUV2BGR_YUY2
    return cv2.cvtColor(packed, code)


def image_msg_to_bgr(
    msg, max_pixels: int = DEFAULT_MAX_PIXELS, max_side: int = DEFAULT_MAX_SIDE, use_cv_bridge: bool = True
) -> np.ndarray:
    """``sensor_msgs/Image`` -> ``numpy.uint8`` (H, W, 3) BGR, C-contiguous and owning its memory.

    Raises ImageDecodeError naming the problem.
    """
    enc = canonical_encoding(msg.encoding)
    bytes_per_pixel = _RAW_FORMATS[enc][0]
    # cv_bridge lays rows out in whole pixels (step / pixel size): padding that is not a whole number of
    # pixels, and the generic 8UC*/16UC* names, go through the numpy path, which handles them exactly.
    bridge_ok = int(msg.step) % bytes_per_pixel == 0 and msg.encoding.lower() not in ("8uc3", "8uc1", "16uc1")
    if use_cv_bridge and _BRIDGE is not None and bridge_ok:
        _rows(msg, _RAW_FORMATS[enc][0], max_pixels, max_side)  # same validation as the numpy path
        if enc in ("uyvy", "yuyv") and int(msg.width) % 2:
            raise ImageDecodeError(f"{msg.encoding} needs an even width, got {msg.width}")
        try:
            out = _BRIDGE.imgmsg_to_cv2(msg, desired_encoding="bgr8")
        except Exception as exc:  # noqa: BLE001 - cv_bridge raises several types
            raise ImageDecodeError(f"cv_bridge could not convert {msg.encoding!r}: {exc}") from exc
        return np.ascontiguousarray(out).copy()
    out = _decode_numpy(msg, enc, max_pixels, max_side)
    if not out.flags.owndata:
        out = out.copy()
    return out


# ----------------------------------------------------------------------------- compressed


def _png_size(buf: bytes):
    if len(buf) >= 24 and buf[:8] == b"\x89PNG\r\n\x1a\n" and buf[12:16] == b"IHDR":
        w, h = struct.unpack(">II", buf[16:24])
        return w, h
    return None


def _jpeg_size(buf: bytes):
    """Width/height from the first SOFn marker of a JPEG stream (None when not found)."""
    if len(buf) < 4 or buf[:2] != b"\xff\xd8":
        return None
    i, n = 2, len(buf)
    while i + 4 <= n:
        if buf[i] != 0xFF:
            return None
        marker = buf[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:  # no length
            i += 2
            continue
        seg_len = int.from_bytes(buf[i + 2 : i + 4], "big")
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            if i + 9 > n:
                return None
            h, w = struct.unpack(">HH", buf[i + 5 : i + 9])
            return w, h
        if marker == 0xDA or seg_len < 2:  # start of scan before any SOF: give up
            return None
        i += 2 + seg_len
    return None


def compressed_msg_to_bgr(
    msg, max_pixels: int = DEFAULT_MAX_PIXELS, max_side: int = DEFAULT_MAX_SIDE
) -> np.ndarray:
    """``sensor_msgs/CompressedImage`` (jpeg or png, as image_transport's ``compressed`` writes) -> BGR.

    The image size is read from the stream header and checked against the limits before decoding.
    """
    fmt = (msg.format or "").lower()
    if "compresseddepth" in fmt:
        raise ImageDecodeError(f"unsupported compressed format {msg.format!r} (compressedDepth)")
    if fmt and not any(k in fmt for k in ("jpeg", "jpg", "png")):
        raise ImageDecodeError(f"unsupported compressed format {msg.format!r}; expected jpeg or png")
    buf = _payload(msg.data)
    if buf.size == 0:
        raise ImageDecodeError("compressed image has no data")
    head = memoryview(np.ascontiguousarray(buf))  # the whole stream: APP segments (EXIF, ICC) may exceed 64 KiB
    size = _png_size(head) or _jpeg_size(head)
    if size is None:
        raise ImageDecodeError(
            f"compressed image data ({buf.size} bytes, format {msg.format!r}) is neither a valid JPEG nor PNG stream"
        )
    check_dimensions(size[0], size[1], max_pixels, max_side)
    img = cv2.imdecode(buf, cv2.IMREAD_COLOR)
    if img is None or img.size == 0:
        raise ImageDecodeError(
            f"corrupt compressed image ({buf.size} bytes, format {msg.format!r}): OpenCV could not decode it"
        )
    if img.dtype != np.uint8:  # 16-bit PNG under IMREAD_COLOR is already 8 bit; be defensive
        img = cv2.convertScaleAbs(img, alpha=255.0 / 65535.0)
    return img


def decode_any(msg, max_pixels: int = DEFAULT_MAX_PIXELS, max_side: int = DEFAULT_MAX_SIDE) -> np.ndarray:
    """Image or CompressedImage (told apart by their fields) -> BGR."""
    if hasattr(msg, "format") and not hasattr(msg, "encoding"):
        return compressed_msg_to_bgr(msg, max_pixels, max_side)
    return image_msg_to_bgr(msg, max_pixels, max_side)


# ----------------------------------------------------------------------------- encoding


def bgr_to_image_msg(image: np.ndarray, header=None):
    """numpy (H, W, 3) uint8 BGR -> ``sensor_msgs/Image`` bgr8 (``header`` copied when given)."""
    from sensor_msgs.msg import Image  # local import: the rest of this module is ROS-free

    image = np.asarray(image)
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"expected a uint8 (H, W, 3) BGR image, got {image.dtype} {image.shape}")
    image = np.ascontiguousarray(image)
    msg = Image()
    if header is not None:
        msg.header = header
    msg.height, msg.width = int(image.shape[0]), int(image.shape[1])
    msg.encoding = "bgr8"
    msg.is_bigendian = 0
    msg.step = int(image.shape[1] * 3)
    msg.data = image.tobytes()
    return msg


def bgr_to_compressed_msg(image: np.ndarray, header=None, fmt: str = "jpeg", quality: int = 90):
    """numpy BGR -> ``sensor_msgs/CompressedImage`` (jpeg or png)."""
    from sensor_msgs.msg import CompressedImage

    ext = ".png" if fmt == "png" else ".jpg"
    params = [cv2.IMWRITE_JPEG_QUALITY, int(quality)] if ext == ".jpg" else []
    ok, enc = cv2.imencode(ext, image, params)
    if not ok:
        raise ValueError("OpenCV could not encode the image")
    msg = CompressedImage()
    if header is not None:
        msg.header = header
    msg.format = "png" if ext == ".png" else "jpeg"
    msg.data = enc.tobytes()
    return msg
