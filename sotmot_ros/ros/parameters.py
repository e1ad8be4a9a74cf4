"""Parameters of the SOTMOT node: one table of specs -> declarations with descriptors, runtime validation,
and the mapping onto the library's ``Detector`` keyword arguments and ``TrackerConfig``.

The table is the single source of truth: ``config/sotmot.yaml`` lists the same names (a test checks it).
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass
from typing import Any

from rcl_interfaces.msg import FloatingPointRange, IntegerRange, ParameterDescriptor, ParameterType
from rclpy.exceptions import ParameterUninitializedException
from rclpy.parameter import Parameter

from ..bundled_models import bundled_models_text
from ..tracking.config import MODEL_META_KEY, TrackerConfig, config_for_model
from ..types import BACKENDS

DETECTOR = "detector"
TRACKER = "tracker"
NODE = "node"

# When a parameter may change (besides at start-up through the params file / -p):
RUNTIME = "runtime"  # any time; takes effect at once
CONFIGURE = "configure"  # only while the node is unconfigured; takes effect at the next configure
STARTUP = "startup"  # never (ROS read-only): restart the node to change it

TRACK_STATES = ("tentative", "confirmed", "lost")
_DEVICE_RE = re.compile(r"^(auto|cpu|cuda(:\d+)?)$")

_PTYPE = {
    bool: ParameterType.PARAMETER_BOOL,
    int: ParameterType.PARAMETER_INTEGER,
    float: ParameterType.PARAMETER_DOUBLE,
    str: ParameterType.PARAMETER_STRING,
    list: ParameterType.PARAMETER_STRING_ARRAY,
}


@dataclass(frozen=True)
class ParamSpec:
    name: str
    default: Any
    description: str
    target: str = NODE  # DETECTOR / TRACKER / NODE
    change: str = RUNTIME  # RUNTIME / CONFIGURE / STARTUP (see above)
    low: float | None = None  # inclusive range, numbers only
    high: float | None = None
    choices: tuple = ()  # allowed values (strings / items of string lists)
    extra_constraints: str = ""

    @property
    def read_only(self) -> bool:
        """Read-only for ROS (the descriptor): STARTUP parameters."""
        return self.change == STARTUP

    @property
    def ptype(self) -> type:
        return type(self.default) if not isinstance(self.default, list) else list

    def descriptor(self) -> ParameterDescriptor:
        d = ParameterDescriptor(
            name=self.name,
            type=_PTYPE[self.ptype],
            description=self.description,
            read_only=self.read_only,
            dynamic_typing=False,
        )
        constraints = []
        if self.low is not None and self.ptype is float:
            d.floating_point_range = [FloatingPointRange(from_value=float(self.low), to_value=float(self.high), step=0.0)]
        elif self.low is not None and self.ptype is int:
            d.integer_range = [IntegerRange(from_value=int(self.low), to_value=int(self.high), step=1)]
        if self.choices:
            constraints.append("one of: " + ", ".join(map(str, self.choices)))
        if self.extra_constraints:
            constraints.append(self.extra_constraints)
        if self.change == CONFIGURE:
            constraints.append("can change only while the node is unconfigured (cleanup first); "
                               "applied at the next configure")
        elif self.change == STARTUP:
            constraints.append("read-only: set at start-up (params file or -p); restart to change it")
        d.additional_constraints = "; ".join(constraints)
        return d


_BIG = 1e9
_BIG_INT = 2**31 - 1


def tracker_specs() -> tuple[ParamSpec, ...]:
    """One RUNTIME parameter per ``TrackerConfig`` field, generated from its ``Setting`` (description,
    bounds, choices, cross-setting rule): a new tracker knob is added in the library only. Defaults are the
    library's; the model file's tuned settings replace them at configure (``model_tracker_values``)."""
    specs = []
    for name, typ, default, setting in TrackerConfig.settings():
        constraints = [c for c in (setting.bounds_text(), setting.rule) if c]
        low = high = None
        if typ in (int, float) and (setting.low is not None or setting.high is not None):
            low = setting.low if setting.low is not None else -_BIG
            high = setting.high if setting.high is not None else (_BIG_INT if typ is int else _BIG)
        specs.append(ParamSpec(name, default, setting.help, TRACKER, low=low, high=high, choices=setting.choices,
                               extra_constraints="; ".join(constraints)))
    return tuple(specs)


SPECS: tuple[ParamSpec, ...] = (
    # --- model / detector
    ParamSpec("model_path", "", "Model file (project checkpoint or FairMOT .pth), or a bundled model: '' or "
              f"{bundled_models_text()}.", DETECTOR, change=CONFIGURE),
    ParamSpec("device", "auto", "Inference device: auto, cpu or cuda:N (falls back to CPU with a warning "
              "when CUDA is absent).", DETECTOR, change=CONFIGURE, extra_constraints="auto | cpu | cuda[:N]"),
    ParamSpec("half", False, "float16 inference (CUDA only; ignored on CPU).", DETECTOR, change=CONFIGURE),
    ParamSpec("backend", "auto", "Inference engine: auto (ONNX Runtime on the CPU when installed, ~20 % "
              "faster there; PyTorch on CUDA), torch or onnxruntime.", DETECTOR, change=CONFIGURE,
              choices=BACKENDS),
    ParamSpec("input_width", 0, "Network input width in pixels, multiple of 32; 0 = the model's.",
              DETECTOR, change=CONFIGURE, low=0, high=4096, extra_constraints="0 or a multiple of 32 >= 32"),
    ParamSpec("input_height", 0, "Network input height in pixels, multiple of 32; 0 = the model's.",
              DETECTOR, change=CONFIGURE, low=0, high=4096, extra_constraints="0 or a multiple of 32 >= 32"),
    ParamSpec("trim_padding", False, "Run at the smallest network input (multiples of 32, at most the input "
              "size) that holds the camera's image at its letterbox scale: a 16:9 camera at 640x480 computes "
              "640x384, ~12 % less time; off by default (the bundled model loses a little accuracy, model card).",
              DETECTOR, change=CONFIGURE),
    ParamSpec("score_threshold", 0.1, "Minimum heatmap score of a detection returned by the detector "
              "(keep it <= low_score_threshold so the tracker's second stage sees low-score detections).",
              DETECTOR, low=0.0, high=1.0),
    ParamSpec("max_detections", 500, "Top-K heatmap peaks decoded per image.", DETECTOR, low=1, high=10000),
    ParamSpec("min_box_area", 0.0, "Detections with a smaller box (pixels^2 of the input image) are dropped.",
              DETECTOR, low=0.0, high=_BIG),
    # --- tracker: generated from TrackerConfig (see tracker_specs)
    *tracker_specs(),
    # --- node / input / output
    ParamSpec("publish_states", ["confirmed"], "Track states published (tentative, confirmed, lost).",
              NODE, choices=TRACK_STATES),
    ParamSpec("image_topics", ["image_raw"], "Input image topics, one camera per topic (with "
              "image_transport_type 'compressed' the node subscribes to <topic>/compressed).",
              NODE, change=STARTUP),
    ParamSpec("camera_names", [], "Camera names, one per image topic (output namespace and ID prefix with "
              "several cameras); empty = derived from the topics.", NODE, change=STARTUP),
    ParamSpec("image_transport_type", "raw", "raw (sensor_msgs/Image) or compressed "
              "(sensor_msgs/CompressedImage on <topic>/compressed).", NODE, change=CONFIGURE,
              choices=("raw", "compressed")),
    ParamSpec("qos_reliability", "best_effort", "Input subscription reliability: best_effort or reliable.",
              NODE, change=CONFIGURE, choices=("best_effort", "reliable")),
    ParamSpec("qos_depth", 1, "Input subscription queue depth.", NODE, change=CONFIGURE, low=1, high=1000),
    ParamSpec("max_image_pixels", 100_000_000, "Images with more pixels are rejected (decode error).",
              NODE, low=1, high=1_000_000_000),
    ParamSpec("publish_debug_image", True, "Publish ~/debug_image (drawn only while it has subscribers).", NODE),
    ParamSpec("autostart", False, "Configure and activate on start-up.", NODE, change=STARTUP),
    ParamSpec("diagnostics_period", 1.0, "Seconds between /diagnostics messages.", NODE, change=STARTUP,
              low=0.05, high=3600.0),
)
SPEC_BY_NAME = {s.name: s for s in SPECS}
TRACKER_PARAMS = tuple(s.name for s in SPECS if s.target == TRACKER)


# ----------------------------------------------------------------------------- the shipped params file

PARAMS_FILE_HEADER = """\
# Parameters of the SOTMOT node, generated from sotmot_ros/ros/parameters.py (which derives the tracker's
# from sotmot_ros.tracking.TrackerConfig): `python -m sotmot_ros.ros.parameters > config/sotmot.yaml`.
# `ros2 param describe /sotmot <name>` shows the same descriptions where ros2cli exists. When they can change:
#   (no tag)     any time (`ros2 param set` / the set_parameters service); applied at once
#   [configure]  only while the node is unconfigured (deactivate + cleanup, set, configure); applied at configure
#   [read-only]  only at start-up (this file or -p); restart the node to change them
# An invalid value here makes configure fail with the reason (the node does not run on a default);
# an unknown name is reported with the closest valid one.
#   ros2 run sotmot_ros sotmot_node --ros-args --params-file config/sotmot.yaml
/**:
  ros__parameters:
"""
_SECTIONS = {
    DETECTOR: ["# ---- Model / detector"],
    TRACKER: ["# ---- Tracker (sotmot_ros.tracking.TrackerConfig)",
              "# Unset (commented) = the settings tuned for the model and stored in its file (the library defaults",
              "# shown here for a model file without them). Uncomment a line to override that one value."],
    NODE: ["# ---- Input, output, node"],
}


def params_yaml() -> str:
    """The shipped ``config/sotmot.yaml``: every parameter with its description, when it may change and its
    valid values. Tracker values are commented out (set, they would override the model's tuned settings)."""
    import json
    import textwrap

    lines, section = [PARAMS_FILE_HEADER.rstrip("\n")], None
    for spec in SPECS:
        if spec.target != section:
            section = spec.target
            lines += [""] + [f"    {line}" for line in _SECTIONS[section]]
        tag = {CONFIGURE: " [configure]", STARTUP: " [read-only]"}.get(spec.change, "")
        about = spec.description + tag
        if spec.choices:
            about += " One of: " + ", ".join(map(str, spec.choices)) + "."
        if spec.target == TRACKER:  # the Setting's own words: bounds (open ones too) and cross-setting rule
            about += f" Valid: {spec.extra_constraints}." if spec.extra_constraints else ""
        elif spec.low is not None and spec.high < _BIG:
            about += f" Range [{spec.low:g}, {spec.high:g}]."
        lines += textwrap.wrap(about, 104, initial_indent="    # ", subsequent_indent="    # ")
        value = f"{spec.name}: {json.dumps(spec.default)}"
        if spec.ptype is list and not spec.default:
            lines += ["    # (an empty list cannot be written in a ROS parameter file; uncomment to name the cameras)",
                      f'    # {spec.name}: ["front", "back"]']
        else:
            lines.append(f"    # {value}" if spec.target == TRACKER else f"    {value}")
    return "\n".join(lines) + "\n"


# ----------------------------------------------------------------------------- validation


def validate_value(spec: ParamSpec, value) -> str | None:
    """None when ``value`` is acceptable for ``spec``, else the reason."""
    t = spec.ptype
    if t is bool:
        if not isinstance(value, bool):
            return f"{spec.name} must be a bool, got {value!r}"
        return None
    if t is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return f"{spec.name} must be a number, got {value!r}"
        if math.isnan(value):
            return f"{spec.name} must not be NaN"
        if math.isinf(value):
            return f"{spec.name} must be finite, got {value}"
    if t is int and (isinstance(value, bool) or not isinstance(value, int)):
        return f"{spec.name} must be an integer, got {value!r}"
    if t in (int, float) and spec.low is not None:
        if value < 0 and spec.low >= 0:
            return f"{spec.name} must not be negative, got {value}"
        if not spec.low <= value <= spec.high:
            return f"{spec.name} must be in [{spec.low}, {spec.high}], got {value}"
    if t is str:
        if not isinstance(value, str):
            return f"{spec.name} must be a string, got {value!r}"
        if spec.choices and value not in spec.choices:
            return f"{spec.name} must be one of {list(spec.choices)}, got {value!r}"
    if t is list:
        if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
            return f"{spec.name} must be a list of strings, got {value!r}"
        if spec.choices:
            bad = [v for v in value if v not in spec.choices]
            if bad:
                return f"{spec.name}: unknown value(s) {bad}; allowed: {list(spec.choices)}"
    # parameter-specific rules
    if spec.name == "device" and not _DEVICE_RE.match(value.strip().lower()):
        return f"device must be auto, cpu or cuda:N, got {value!r}"
    if spec.name in ("input_width", "input_height") and value != 0 and (value < 32 or value % 32):
        return f"{spec.name} must be 0 (model's) or a multiple of 32 >= 32, got {value}"
    if spec.name == "image_topics":
        if not value:
            return "image_topics must name at least one topic"
        if len(set(value)) != len(value):
            return f"image_topics has duplicates: {list(value)}"
        if any(not v.strip() for v in value):
            return "image_topics must not contain empty names"
    return None


def validate_changes(current: dict, changes: dict, configured: bool = False) -> str | None:
    """Validate a set of parameter changes (each value and the cross-parameter rules).

    ``current``: all current values by name; ``changes``: the proposed ones; ``configured``: whether the
    node is configured (inactive or active), when CONFIGURE parameters cannot change. Returns None or the
    reason. (STARTUP parameters are read-only in their descriptors: rclpy refuses them before this.)
    """
    for name, value in changes.items():
        spec = SPEC_BY_NAME.get(name)
        if spec is None:
            continue  # not ours (use_sim_time, qos overrides...): rclpy handles it
        if spec.change == STARTUP and value != current.get(name):
            return f"{name} is read-only: set it at start-up (params file or -p) and restart the node"
        if spec.change == CONFIGURE and configured and value != current.get(name):
            return (f"{name} is read-only while the node is configured: deactivate and cleanup, set it, "
                    "then configure (it is applied at configure)")
        reason = validate_value(spec, value)
        if reason:
            return reason
    merged = dict(current)
    merged.update(changes)
    if any(SPEC_BY_NAME.get(n) is not None and SPEC_BY_NAME[n].target == TRACKER for n in changes):
        try:
            tracker_config(merged)
        except ValueError as exc:
            return str(exc)
    names, topics = merged.get("camera_names") or [], merged.get("image_topics") or []
    if names and len(names) != len(topics):
        return f"camera_names ({len(names)}) must be empty or match image_topics ({len(topics)})"
    if names and len(set(names)) != len(names):
        return f"camera_names has duplicates: {list(names)}"
    return None


# ----------------------------------------------------------------------------- node helpers


def declare_all(node) -> dict[str, str]:
    """Declare every parameter on ``node``; returns the invalid overrides (YAML/CLI): name -> reason.

    An invalid override is not used: the parameter is declared with its default so that the node starts
    and `ros2 param` works, and the node refuses to configure until the value is fixed (CONFIGURE and
    RUNTIME parameters can be set while unconfigured; STARTUP ones need a restart).
    """
    problems = {}
    overrides = getattr(node, "_parameter_overrides", {})
    for spec in SPECS:
        desc = spec.descriptor()
        ov = overrides.get(spec.name)
        if ov is not None and spec.ptype is float and ov.type_ == Parameter.Type.INTEGER:
            overrides[spec.name] = Parameter(spec.name, value=float(ov.value))  # "2" in YAML for a double
            ov = overrides[spec.name]
        if ov is not None and ov.type_ == Parameter.Type.BYTE_ARRAY and spec.ptype is list and not ov.value:
            overrides[spec.name] = Parameter(spec.name, Parameter.Type.STRING_ARRAY, [])
            ov = overrides[spec.name]
        reason = validate_value(spec, ov.value) if ov is not None else None
        if reason is None:
            try:
                _declare(node, spec, desc, ignore_override=False)
                continue
            except Exception as exc:  # noqa: BLE001 - rclpy raises several types
                reason = str(exc)
        problems[spec.name] = f"{spec.name}={ov.value if ov is not None else '?'!r}: {reason}"
        if not node.has_parameter(spec.name):
            _declare(node, spec, desc, ignore_override=True)
    return problems


def how_to_fix(name: str) -> str:
    spec = SPEC_BY_NAME.get(name)
    if spec is not None and spec.change == STARTUP:
        return "fix it in the params file (or -p) and restart the node"
    return f"set a valid value (ros2 param set <node> {name} ...) and configure again"


# ROS 2's own parameters and prefixes (declared by rclpy itself, or only when a feature asks for them).
_ROS_PARAMETER_PREFIXES = ("qos_overrides.",)


def unknown_overrides(node) -> list[str]:
    """Names given to the node (params file sections matching it, -p) that it never declared: typos."""
    overrides = getattr(node, "_parameter_overrides", {})
    return sorted(n for n in overrides if not node.has_parameter(n) and not n.startswith(_ROS_PARAMETER_PREFIXES))


def describe_unknown(names: list[str]) -> str:
    """``'min_hit' (did you mean 'min_hits'?), 'foo'`` for the given unknown names."""
    import difflib

    parts = []
    for name in names:
        close = difflib.get_close_matches(name, list(SPEC_BY_NAME), n=1, cutoff=0.6)
        parts.append(f"{name!r} (did you mean {close[0]!r}?)" if close else repr(name))
    return ", ".join(parts)


def params_files(args: list[str]) -> list[str]:
    """The ``--params-file`` paths among the ROS arguments of a command line."""
    out, in_ros = [], False
    it = iter(args)
    for arg in it:
        if arg == "--ros-args":
            in_ros = True
        elif arg == "--":
            in_ros = False
        elif in_ros and arg == "--params-file":
            path = next(it, None)
            if path is not None:
                out.append(path)
    return out


def params_file_problem(path: str) -> str | None:
    """None when ``path`` is a readable ROS 2 parameter file (as far as YAML goes), else the problem."""
    import yaml

    if not os.path.exists(path):
        return "no such file"
    if os.path.isdir(path):
        return "is a folder, not a file"
    try:
        with open(path, encoding="utf-8") as fh:
            data = yaml.safe_load(fh)
    except OSError as exc:
        return f"cannot be read ({exc.strerror or exc})"
    except UnicodeDecodeError:
        return "is not a text (UTF-8) file"
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        what = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        return f"is not valid YAML{where}: {what}"
    if not isinstance(data, dict) or not data:
        return ("is not a ROS 2 parameter file: expected '<node name or /**>: {ros__parameters: {...}}', "
                f"got {'an empty file' if data is None else type(data).__name__}")

    def bad_section(section, where: str) -> str | None:
        if not isinstance(section, dict):
            return f"'{where}' must map to 'ros__parameters:' (or to nested namespaces), not {section!r}"
        if "ros__parameters" in section:
            if not isinstance(section["ros__parameters"], dict):
                return f"'{where}/ros__parameters' must be a mapping of parameter names to values"
            return None
        if not section:
            return f"'{where}' has no 'ros__parameters:'"
        for key, sub in section.items():
            problem = bad_section(sub, f"{where}/{key}")
            if problem:
                return problem
        return None

    for key, section in data.items():
        problem = bad_section(section, str(key))
        if problem:
            return problem
    return None


def init_rclpy(args: list[str] | None, prog: str) -> bool:
    """``rclpy.init(args=args)``, or one line on stderr (a bad ``--params-file``, arguments rcl refuses) and
    False: the caller then exits with code 2, without a traceback."""
    import sys

    import rclpy

    problem = check_params_files(sys.argv if args is None else args)
    if problem is None:
        try:
            rclpy.init(args=args)
            return True
        except Exception as exc:  # noqa: BLE001 - rclpy's RCLError (bad arguments, params the YAML check missed)
            problem = "cannot start ROS 2: " + " ".join(str(exc).split())
    print(f"{prog}: {problem}", file=sys.stderr, flush=True)
    return False


def check_params_files(args: list[str]) -> str | None:
    """One line naming the first bad ``--params-file`` of ``args`` and its problem, or None."""
    for path in params_files(args):
        problem = params_file_problem(path)
        if problem:
            return f"params file {path!r}: {problem}"
    return None


def _declare(node, spec: ParamSpec, desc, ignore_override: bool):
    if spec.ptype is list and not spec.default:
        node.declare_parameter(spec.name, Parameter.Type.STRING_ARRAY, desc, ignore_override=ignore_override)
    else:
        node.declare_parameter(spec.name, spec.default, desc, ignore_override=ignore_override)


def current_values(node) -> dict:
    """All of our parameters' current values by name (uninitialised string lists -> [])."""
    out = {}
    for spec in SPECS:
        try:
            v = node.get_parameter(spec.name).value
        except ParameterUninitializedException:
            v = None
        if spec.ptype is list:
            v = list(v) if v is not None else []
        out[spec.name] = v
    return out


# ----------------------------------------------------------------------------- library mapping


def tracker_config(values: dict, model_meta: dict | None = None) -> TrackerConfig:
    """TrackerConfig from the parameter values over the model's tuned settings (raises ValueError).

    Every TrackerConfig field is a parameter; the model file's tuned settings (``config_for_model``) lie
    under the values given, so a runtime change of one parameter never drops the model's tuning of the others.
    """
    overrides = {}
    for spec in SPECS:
        if spec.target == TRACKER and spec.name in values:
            v = values[spec.name]
            overrides[spec.name] = float(v) if spec.ptype is float else v
    return config_for_model(model_meta, overrides)[0]


def model_tracker_values(model_meta: dict | None, explicit: set[str]) -> dict:
    """Tracker parameter values the model's tuned settings give, for the parameters the user did not set."""
    tuned = config_for_model(model_meta)[0].to_dict() if (model_meta or {}).get(MODEL_META_KEY) else {}
    return {name: tuned[name] for name in TRACKER_PARAMS if name not in explicit and name in tuned}


def detector_kwargs(values: dict) -> dict:
    """Keyword arguments of ``Detector.from_checkpoint`` from the parameter values."""
    w, h = int(values.get("input_width", 0)), int(values.get("input_height", 0))
    if (w == 0) != (h == 0):
        raise ValueError(f"input_width and input_height must both be 0 or both set, got {w}x{h}")
    return {
        "path": values.get("model_path") or None,
        "device": values.get("device", "auto"),
        "half": bool(values.get("half", False)),
        "backend": values.get("backend", "auto"),
        "score_threshold": float(values.get("score_threshold", 0.1)),
        "max_detections": int(values.get("max_detections", 500)),
        "min_box_area": float(values.get("min_box_area", 0.0)),
        "input_size": (w, h) if w else None,
        "trim_padding": bool(values.get("trim_padding", False)),
    }


RUNTIME_DETECTOR_ATTRS = {"score_threshold": float, "max_detections": int, "min_box_area": float}


def decode_threshold(values: dict) -> float:
    """The detector's score threshold: ``score_threshold``, never above the tracker's ``low_score_threshold``
    (the tracker's second stage needs the detections down to its low threshold)."""
    return min(float(values["score_threshold"]), float(values["low_score_threshold"]))


_CAMERA_NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


def camera_names(topics: list[str], names: list[str] | None = None) -> list[str]:
    """One name per topic: the given names, else derived from the topic (``/cam1/image_raw`` -> ``cam1``).

    Given names must match the topics one to one, be unique and be valid topic tokens (they become
    output namespaces and ID prefixes); otherwise ValueError says why.
    """
    if names:
        names = list(names)
        if len(names) != len(topics):
            raise ValueError(f"camera_names ({len(names)}) must be empty or match image_topics ({len(topics)})")
        if len(set(names)) != len(names):
            raise ValueError(f"camera_names has duplicates: {names}")
        bad = [n for n in names if not _CAMERA_NAME_RE.match(n)]
        if bad:
            raise ValueError(f"camera_names {bad} are not valid names (letters, digits, '_', starting with a letter)")
        return names
    generic = {"image_raw", "image", "image_rect", "image_color", "image_rect_color", "compressed", "color", "rgb"}
    out = []
    for i, topic in enumerate(topics):
        parts = [p for p in topic.strip("/").split("/") if p]
        meaningful = [p for p in parts if p not in generic]
        name = meaningful[-1] if meaningful else (parts[-1] if parts else f"camera{i}")
        name = re.sub(r"[^A-Za-z0-9_]", "_", name)
        if not re.match(r"^[A-Za-z]", name):
            name = "cam_" + name
        out.append(name)
    # make unique
    counts = {n: out.count(n) for n in out}
    seen: dict[str, int] = {}
    for i, n in enumerate(out):
        if counts[n] > 1:
            seen[n] = seen.get(n, 0) + 1
            out[i] = f"{n}_{seen[n]}"
    return out


if __name__ == "__main__":
    print(params_yaml(), end="")
