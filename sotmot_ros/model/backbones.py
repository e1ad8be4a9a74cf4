"""Backbone registry: a name in the config -> a body module giving stride-4 features.

A body is an ``nn.Module`` with an ``out_channels`` attribute whose forward maps an RGB image
batch in [0, 1] (B, 3, H, W) to features (B, out_channels, H/4, W/4). Each body does its own input
normalisation, so pre-processing is the same (FairMOT's) for every backbone.
"""

from __future__ import annotations

from torch import nn


def build_body(name: str, pretrained: bool = False) -> nn.Module:
    """Build the body for ``name``; ``pretrained`` loads ImageNet weights where they ship offline (Lite0)."""
    if name == "dla34":
        from .dla import DLA34Body

        return DLA34Body()
    if name == "efficientnet_lite0":
        from .efficientnet import EfficientNetLite0Body

        return EfficientNetLite0Body(pretrained=pretrained)
    if name == "yolox_nano":
        from .yolox_nano import YoloxNanoBody

        if pretrained:
            raise ValueError("yolox_nano has no weights that ship offline: make an initial model from a YOLOX-Nano "
                             "ONNX export with `sotmot init-from-onnx` and train from it (init_model, pretrained: "
                             "false)")
        return YoloxNanoBody()
    raise ValueError(f"unknown backbone {name!r}")
