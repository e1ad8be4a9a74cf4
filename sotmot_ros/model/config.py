"""Architecture configuration: everything needed to rebuild a network from a checkpoint file alone."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from ..config_utils import from_dict_strict

BACKBONES = ("dla34", "efficientnet_lite0", "yolox_nano")
SOT_SAMPLINGS = ("centre", "box", "both")


@dataclass
class ModelConfig:
    """Architecture of a SOTMOT network.

    ``input_width``/``input_height`` are the letterboxed network input size (multiples of 32);
    the heads run at stride 4 (``down_ratio``). ``sot_sampling`` says where the SOT feature is read: ``centre``
    (the paper: a head's output at the object's centre cell) or ``box`` (``box_sot.BoxSOTHead``: ``sot_grid`` x
    ``sot_grid`` bilinear samples over the box through an MLP with ``sot_hidden`` units) or ``both`` (the two
    features, each unit length, side by side: ``feature_dim`` = 2 x ``sot_dim``).
    """

    backbone: str = "efficientnet_lite0"
    num_classes: int = 1
    sot_dim: int = 128
    head_conv: int = 256
    input_width: int = 1088
    input_height: int = 608
    down_ratio: int = 4
    class_names: list = field(default_factory=lambda: ["person"])
    sot_sampling: str = "centre"
    sot_grid: int = 3
    sot_hidden: int = 256

    def __post_init__(self):
        if self.backbone not in BACKBONES:
            raise ValueError(f"unknown backbone {self.backbone!r}; choose one of {BACKBONES}")
        if self.sot_sampling not in SOT_SAMPLINGS:
            raise ValueError(f"unknown sot_sampling {self.sot_sampling!r}; choose one of {SOT_SAMPLINGS}")
        for name in ("num_classes", "sot_dim", "head_conv", "sot_grid", "sot_hidden"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        for name in ("input_width", "input_height"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 32 or value % 32:
                raise ValueError(f"{name} must be a positive multiple of 32, got {value!r}")
        if self.down_ratio != 4:
            raise ValueError("only down_ratio=4 (output stride 4) is supported")
        self.class_names = list(self.class_names)
        if len(self.class_names) != self.num_classes:
            if len(self.class_names) == 1 and self.num_classes > 1 and self.class_names == ["person"]:
                self.class_names = [f"class_{i}" for i in range(self.num_classes)]
            else:
                raise ValueError(
                    f"class_names has {len(self.class_names)} entries but num_classes={self.num_classes}"
                )

    @property
    def feature_dim(self) -> int:
        """Length of the SOT feature the detector hands the tracker."""
        return self.sot_dim * (2 if self.sot_sampling == "both" else 1)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "ModelConfig":
        return from_dict_strict(cls, data, "model config")
