"""Key mapping between FairMOT/CenterNet ``DLASeg`` state dicts and ``SOTMOTNet`` (dla34) state dicts.

FairMOT's keys are ``base.*``, ``dla_up.*``, ``ida_up.*`` and the heads ``hm``/``wh``/``id``/``reg``; ours put
the trunk under ``body.`` and keep the head names. ``base.fc.*`` (the ImageNet classifier every FairMOT/CenterNet
DLASeg carries but never runs) has no counterpart here and is dropped.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Mapping

import torch
from torch import nn

BODY_PREFIXES = ("base.", "dla_up.", "ida_up.")
UNUSED_PREFIXES = ("base.fc.",)
OUR_WH_CHANNELS = 4  # ltrb


def _strip_module(key: str) -> str:
    # DataParallel checkpoints prefix every key with "module." (FairMOT's load_model strips it too).
    return key[len("module."):] if key.startswith("module.") else key


def is_fairmot_state_dict(sd: Mapping[str, torch.Tensor]) -> bool:
    """True for a FairMOT/CenterNet DLASeg state dict (optionally ``module.``-prefixed), False for ours."""
    keys = [_strip_module(k) for k in sd]
    return any(k.startswith("base.base_layer.") for k in keys) and not any(k.startswith("body.") for k in keys)


def from_fairmot_state_dict(sd: Mapping[str, torch.Tensor]) -> tuple["OrderedDict[str, torch.Tensor]", list[str]]:
    """FairMOT/CenterNet keys -> ours. Returns ``(mapped, dropped)``; ``dropped`` lists the original keys
    left out (``base.fc.*``). Other keys pass through unchanged, so a strict load reports anything unknown."""
    mapped: OrderedDict[str, torch.Tensor] = OrderedDict()
    dropped: list[str] = []
    for key, value in sd.items():
        k = _strip_module(key)
        if k.startswith(UNUSED_PREFIXES):
            dropped.append(key)
            continue
        if k.startswith(BODY_PREFIXES):
            k = "body." + k
        if k in mapped:
            raise ValueError(f"state dict has key {k!r} both with and without a 'module.' prefix")
        mapped[k] = value
    return mapped, dropped


def to_fairmot_state_dict(sd: Mapping[str, torch.Tensor]) -> "OrderedDict[str, torch.Tensor]":
    """Ours -> FairMOT keys (no ``module.`` prefix, as FairMOT's ``save_model`` writes). ``base.fc`` is not
    re-created; FairMOT's ``load_model`` keeps its own init for missing keys, and forward never uses it."""
    out: OrderedDict[str, torch.Tensor] = OrderedDict()
    for key, value in sd.items():
        if key.startswith("body."):
            rest = key[len("body."):]
            if not rest.startswith(BODY_PREFIXES):
                raise ValueError(f"{key!r} is not a dla34 body key; only dla34 networks map to FairMOT")
            key = rest
        out[key] = value
    return out


def heads_from_state_dict(sd: Mapping[str, torch.Tensor]) -> dict:
    """Head sizes of a FairMOT-style or our state dict: ``num_classes``, ``sot_dim``, ``head_conv``.

    Raises ``ValueError`` for checkpoints our network cannot hold strictly: CenterNet ctdet models have a
    2-channel (w, h) ``wh`` head and no ``id`` head, whereas ours regresses 4 ltrb distances and needs ``id``.
    """
    heads = {_strip_module(k): v for k, v in sd.items() if _strip_module(k).split(".", 1)[0] in ("hm", "wh", "id", "reg")}
    for key in ("hm.0.weight", "hm.2.weight", "wh.2.weight", "reg.2.weight"):
        if key not in heads:
            raise ValueError(f"state dict has no {key!r}; not a CenterNet/FairMOT/SOTMOT detection network")
    wh = tuple(heads["wh.2.weight"].shape)
    if wh[0] != OUR_WH_CHANNELS:
        raise ValueError(
            f"'wh.2.weight' has shape {list(wh)} ({wh[0]} outputs) but SOTMOT's wh head regresses "
            f"{OUR_WH_CHANNELS} ltrb distances (shape [{OUR_WH_CHANNELS}, {wh[1]}, 1, 1]); this looks like a "
            "CenterNet ctdet (w, h) checkpoint, which cannot be loaded strictly. Use it only as a partial "
            "initialisation (load_state_dict(strict=False) after removing the wh.2/hm.2 keys)."
        )
    if "id.2.weight" not in heads:
        raise ValueError(
            "state dict has no 'id.*' head (no SOT/ReID features): a detection-only (e.g. CenterNet ctdet) "
            "checkpoint cannot be loaded strictly into SOTMOTNet"
        )
    return dict(
        num_classes=int(heads["hm.2.weight"].shape[0]),
        sot_dim=int(heads["id.2.weight"].shape[0]),
        head_conv=int(heads["hm.0.weight"].shape[0]),
    )


def load_fairmot_state_dict(model: nn.Module, sd: Mapping[str, torch.Tensor]) -> list[str]:
    """Strictly load a FairMOT/CenterNet DLASeg state dict into a dla34 ``SOTMOTNet``; returns dropped keys.

    Shapes are checked first so a mismatch names the key and both shapes instead of torch's long report.
    """
    heads_from_state_dict(sd)  # clear error for ctdet-style or head-less checkpoints
    mapped, dropped = from_fairmot_state_dict(sd)
    own = model.state_dict()
    for key, value in mapped.items():
        if key in own and tuple(own[key].shape) != tuple(value.shape):
            raise ValueError(f"shape mismatch for {key!r}: checkpoint {list(value.shape)}, model {list(own[key].shape)}")
    model.load_state_dict(mapped, strict=True)
    return dropped
