"""TrainConfig: every training setting in one validated dataclass, loaded from YAML.

Unknown keys are errors (a typo must not silently fall back to a default). Relative data paths are
resolved against the repository root (the current directory when it holds the package), so configs
work from the checkout; absolute paths are used as they are.
"""

from __future__ import annotations

import os
import re
from dataclasses import asdict, dataclass, field, fields

import yaml

from ..config_utils import from_dict_strict
from ..data.augment import AugmentConfig
from ..model.config import ModelConfig
from .losses import TRAIN_SOT_LAMBDA

SEQUENCE_KEYS = {"source", "gt", "frames", "format", "seqinfo", "min_visibility", "pairs"}


@dataclass
class TrainConfig(ModelConfig):
    """The ModelConfig of the network to train (its fields, validated there: backbone, num_classes,
    class_names, sot_dim, head_conv, input size) plus every training setting, as one flat YAML mapping."""

    # model: the ModelConfig fields, with the training input size as default
    input_width: int = 576
    input_height: int = 448
    pretrained: bool = True
    init_model: str = ""  # optional model file to start from (project format)
    # data: lists of {source, gt, frames: [first, last], format, seqinfo, min_visibility, pairs}; a train
    # entry's ``pairs`` = N gives it exactly N pairs per epoch (instead of max_pairs_per_sequence's cap;
    # N above its frames repeats anchors): how a scene is weighted up
    train_sequences: list = field(default_factory=list)
    val_sequences: list = field(default_factory=list)
    frame_cache: str = "jpeg"
    min_gap: int = 1
    max_gap: int = 10
    max_objs: int = 128
    aug_scale: float = 0.2
    aug_translate: float = 0.1
    aug_flip: bool = True
    aug_hsv: float = 0.3
    # zoom choice: "range" = aug_scale/aug_translate about the input centre; "person" = a random counted
    # person of frame A is zoomed to a height drawn log-uniformly in [aug_person_height_min,
    # aug_person_height_max] network-input pixels, zoom (relative to the letterbox) clamped to
    # [aug_zoom_min, aug_zoom_max], crop/placement random with that person visible (aug_translate unused)
    aug_scale_mode: str = "range"  # range | person
    aug_person_height_min: float = 20.0
    aug_person_height_max: float = 320.0
    aug_zoom_min: float = 0.25
    aug_zoom_max: float = 6.0
    aug_blur: float = 0.0  # per-frame probability of a Gaussian blur, sigma in [0.5, 2.0]
    aug_gray: float = 0.0  # per-pair probability of turning both frames grey
    # per-pair probability of a low-resolution camera: frames shrunk to [aug_lowres_rows_min,
    # aug_lowres_rows_max] rows (log-uniform), enlarged by the warp at most aug_lowres_max_upscale times
    aug_lowres: float = 0.0
    aug_lowres_rows_min: float = 120.0
    aug_lowres_rows_max: float = 360.0
    aug_lowres_max_upscale: float = 3.0
    # per-pair probability of a faulty camera (sensor noise, motion blur, under-exposure or JPEG,
    # sotmot_ros/data/camera_faults.py), its strength between the robustness checks' levels 1 and 3
    aug_faults: float = 0.0
    max_pairs_per_sequence: int = 0  # cap on each sequence's pairs per epoch (anchors re-drawn every epoch); 0 = none
    num_workers: int = 0
    # optimisation
    batch_size: int = 4  # pairs per step (per rank under DDP)
    epochs: int = 10
    pairs_per_epoch: int = 0  # 0 = one pair per usable anchor frame
    lr: float = 1e-4
    weight_decay: float = 0.0
    lr_schedule: str = "step"  # step | cosine
    lr_steps: list = field(default_factory=list)  # epochs at which step decays by lr_gamma
    lr_gamma: float = 0.1
    warmup_iters: int = 0
    grad_clip: float = 0.0  # max global grad norm; 0 disables
    amp: bool = True  # only ever used on CUDA
    # > 0: validation and the model files use an exponential moving average of the weights (decay d
    # averages ~1 / (1 - d) steps, warmed up from the start); less step-to-step noise in the shipped model
    ema_decay: float = 0.0
    # parameter-name prefixes kept at their starting values (not trained), e.g. [body.encoder]: train new
    # heads on a body pre-trained on a large dataset (yolox_nano's COCO encoder) without wearing out the
    # features that make it general; every prefix must name at least one parameter
    freeze: list = field(default_factory=list)
    # losses
    sot_lambda: float = TRAIN_SOT_LAMBDA  # the SOT loss' ridge lambda; the tracker's is tuned per model
    sot_loss: str = "mse"  # mse | ce
    hm_weight: float = 1.0
    wh_weight: float = 0.1
    off_weight: float = 1.0
    sot_weight: float = 1.0
    uncertainty: bool = True
    # run
    seed: int = 0
    device: str = "auto"  # auto | cpu | cuda
    out_dir: str = "runs/train"
    log_every: int = 10
    val_every: int = 1
    val_max_pairs: int = 0
    max_minutes: float = 0.0  # 0 = no time budget
    max_steps: int = 0  # stop (resumably) once the global step reaches this; 0 = no limit
    num_threads: int = 0  # torch intra-op threads on CPU; 0 = torch default

    def __post_init__(self):
        for f in fields(self):  # YAML reads "1e-4" as a string and "1" as an int
            value = getattr(self, f.name)
            if f.type == "float" and isinstance(value, (str, int)) and not isinstance(value, bool):
                setattr(self, f.name, float(value))
            elif f.type == "int" and isinstance(value, float) and value.is_integer():
                setattr(self, f.name, int(value))
        super().__post_init__()  # the model fields
        if self.lr_schedule not in ("step", "cosine"):
            raise ValueError(f"lr_schedule must be 'step' or 'cosine', got {self.lr_schedule!r}")
        if self.sot_loss not in ("mse", "ce"):
            raise ValueError(f"sot_loss must be 'mse' or 'ce', got {self.sot_loss!r}")
        if self.frame_cache not in ("jpeg", "raw"):
            raise ValueError(f"frame_cache must be 'jpeg' or 'raw', got {self.frame_cache!r}")
        try:
            self.augment_config()  # the aug_* keys are validated where they are defined
        except ValueError as exc:  # name the keys as the user wrote them: blur -> aug_blur
            names = "|".join(sorted((f.name for f in fields(AugmentConfig)), key=len, reverse=True))
            raise ValueError(re.sub(rf"\b({names})\b", r"aug_\1", str(exc))) from None
        if self.max_pairs_per_sequence < 0:
            raise ValueError("max_pairs_per_sequence must be >= 0")
        if not 1 <= self.min_gap <= self.max_gap:
            raise ValueError("need 1 <= min_gap <= max_gap")
        for name in ("batch_size", "epochs", "log_every", "val_every"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1")
        if not 0.0 <= self.ema_decay < 1.0:
            raise ValueError(f"ema_decay must be in [0, 1), got {self.ema_decay}")
        if self.sot_lambda <= 0 or self.lr <= 0:
            raise ValueError("sot_lambda and lr must be > 0")
        if not isinstance(self.freeze, list) or not all(isinstance(p, str) and p for p in self.freeze):
            raise ValueError(f"freeze must be a list of parameter-name prefixes (e.g. [body.encoder]), got {self.freeze!r}")
        for key in ("train_sequences", "val_sequences"):
            for seq in getattr(self, key):
                unknown = set(seq) - SEQUENCE_KEYS
                if unknown or "source" not in seq:
                    raise ValueError(f"{key}: entries need 'source' and only keys {sorted(SEQUENCE_KEYS)}; got {seq}")
                pairs = seq.get("pairs", 0)
                if not isinstance(pairs, int) or isinstance(pairs, bool) or pairs < 0:
                    raise ValueError(f"{key}: 'pairs' must be an integer >= 0, got {pairs!r} in {seq}")

    def pairs_per_sequence(self) -> list[int]:
        """Each training sequence's exact pairs per epoch (its ``pairs``; 0 = capped by max_pairs_per_sequence)."""
        return [int(seq.get("pairs", 0)) for seq in self.train_sequences]

    def augment_config(self) -> AugmentConfig:
        """The training augmentation (the ``aug_*`` keys without their prefix)."""
        return AugmentConfig(**{f.name: getattr(self, "aug_" + f.name) for f in fields(AugmentConfig)})

    def model_config(self) -> ModelConfig:
        """The architecture this config trains (what the model file stores)."""
        return ModelConfig(**{f.name: getattr(self, f.name) for f in fields(ModelConfig)})

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "TrainConfig":
        return from_dict_strict(cls, data, "training config")

    @classmethod
    def load(cls, path: str, overrides: list[str] | None = None) -> "TrainConfig":
        """Load YAML and apply ``key=value`` overrides (values parsed as YAML: ``lr=1e-3``, ``lr_steps=[5]``)."""
        with open(path) as fh:
            data = yaml.safe_load(fh) or {}
        for item in overrides or []:
            if "=" not in item:
                raise ValueError(f"override must be key=value, got {item!r}")
            key, value = item.split("=", 1)
            set_dotted(data, key.strip(), yaml.safe_load(value))
        return cls.from_dict(data)


def set_dotted(data: dict, key: str, value) -> None:
    """``train_sequences.0.pairs`` = value: dots walk into mappings and list indices (a recipe's later
    stage is its first stage plus overrides, not a second copy of the file)."""
    *path, last = key.split(".")
    node = data
    for part in path:
        node = node[_override_slot(node, part, key, must_exist=True)]
    node[_override_slot(node, last, key, must_exist=False)] = value


def _override_slot(node, part: str, key: str, must_exist: bool):
    """The list index or mapping key ``part`` names in ``node``; a new mapping key only at the last step."""
    if isinstance(node, list):
        if not part.isdigit() or int(part) >= len(node):
            raise ValueError(f"override {key!r}: no list item {part!r}")
        return int(part)
    if isinstance(node, dict) and (part in node or not must_exist):
        return part
    raise ValueError(f"override {key!r}: no key {part!r}")


def resolve_path(path: str | None, root: str | None = None) -> str | None:
    """Absolute paths unchanged; relative ones against ``root`` (default: the current directory)."""
    if not path:
        return path
    path = os.path.expanduser(path)
    return path if os.path.isabs(path) else os.path.normpath(os.path.join(root or os.getcwd(), path))
