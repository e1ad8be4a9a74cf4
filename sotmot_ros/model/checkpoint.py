"""Model files: the project's own format (architecture config + weights) and FairMOT/CenterNet files.

Our format is ``torch.save({"format": FORMAT, "config": ModelConfig.to_dict(), "state_dict": ...,
"meta": {...}})``, so a file alone rebuilds its model. FairMOT-style files (a raw state dict or one under
``state_dict``, optionally with ``module.`` prefixes) load too: their head sizes are read from the
weights. Every failure raises :class:`CheckpointError` naming the file and the first offending keys.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

import torch

from ..bundled_models import BUNDLED_MODELS
from .config import ModelConfig
from .network import SOTMOTNet

FORMAT = "sotmot_ros/1"
_MAX_KEYS_IN_MESSAGE = 5


class CheckpointError(RuntimeError):
    """A model file is missing, unreadable, or does not match the architecture."""


def default_checkpoint_path(name: str = "default") -> Path:
    """A bundled model file, installed inside the package (default: the default model)."""
    if name not in BUNDLED_MODELS:
        raise CheckpointError(f"no bundled model named {name!r} (bundled: {', '.join(BUNDLED_MODELS)})")
    return Path(__file__).resolve().parent.parent / "weights" / BUNDLED_MODELS[name]


def resolve_model_path(path: str | os.PathLike | None) -> Path:
    """What a model argument means: None or '' = the default bundled model; a bundled model's name (``fast``)
    = that file, unless a file of that name exists here; anything else = a file path."""
    if path is None or str(path) == "":
        return default_checkpoint_path()
    if str(path) in BUNDLED_MODELS and not Path(path).exists():
        return default_checkpoint_path(str(path))
    return Path(path)


def save_model(path: str | os.PathLike, model: SOTMOTNet, meta: dict | None = None) -> Path:
    """Write a self-describing model file atomically (a crash never leaves a truncated file behind)."""
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    payload = {"format": FORMAT, "config": model.config.to_dict(), "state_dict": state, "meta": dict(meta or {})}
    return atomic_save(payload, path)


def file_digest(path: str | os.PathLike, limit: int | None = None) -> str:
    """The first 16 hex digits of the SHA-256 of a model file (of its first ``limit`` bytes): the identity that
    provenance records and detection caches are keyed by. ``path``: a file or a bundled model's name."""
    with open(resolve_model_path(path), "rb") as fh:
        return hashlib.sha256(fh.read(-1 if limit is None else limit)).hexdigest()[:16]


def update_meta(path: str | os.PathLike, **entries) -> Path:
    """Set entries of a model file's ``meta`` (e.g. the tracker settings tuned for it), weights untouched."""
    path = Path(path)
    data = _read(path)
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise CheckpointError(f"{path}: only sotmot_ros model files (format {FORMAT!r}) carry metadata")
    data["meta"] = {**dict(data.get("meta") or {}), **entries}
    return atomic_save(data, path)


def atomic_save(obj, path: str | os.PathLike, mode: int = 0o644) -> Path:
    """``torch.save`` through a temporary file in the same folder, then a rename: an interrupted save never
    leaves a truncated file; the file gets ``mode`` (mkstemp creates 0600)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    os.close(fd)
    try:
        torch.save(obj, tmp)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def _first(keys) -> str:
    keys = list(keys)
    more = f" (+{len(keys) - _MAX_KEYS_IN_MESSAGE} more)" if len(keys) > _MAX_KEYS_IN_MESSAGE else ""
    return ", ".join(keys[:_MAX_KEYS_IN_MESSAGE]) + more


def load_state_dict_strict(model: torch.nn.Module, state_dict: dict, source: str) -> None:
    """``load_state_dict(strict=True)`` with an error that names the file and the offending keys."""
    own = model.state_dict()
    missing = [k for k in own if k not in state_dict]
    unexpected = [k for k in state_dict if k not in own]
    mismatched = [
        f"{k} {tuple(state_dict[k].shape)} vs expected {tuple(own[k].shape)}"
        for k in own
        if k in state_dict and tuple(state_dict[k].shape) != tuple(own[k].shape)
    ]
    problems = []
    if missing:
        problems.append(f"missing keys: {_first(missing)}")
    if unexpected:
        problems.append(f"unexpected keys: {_first(unexpected)}")
    if mismatched:
        problems.append(f"shape mismatch: {_first(mismatched)}")
    if problems:
        raise CheckpointError(f"{source}: weights do not match the architecture; " + "; ".join(problems))
    model.load_state_dict(state_dict, strict=True)


def _read(path: Path):
    if not path.exists():
        raise CheckpointError(f"model file not found: {path} (or name a bundled model: {', '.join(BUNDLED_MODELS)})")
    if path.is_dir():
        raise CheckpointError(f"model path is a directory, not a file: {path}")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for truncated/corrupt archives
        raise CheckpointError(f"cannot read model file {path}: truncated or corrupt ({type(exc).__name__}: {exc})") from exc


def load_model(
    path: str | os.PathLike | None,
    device: str | torch.device = "cpu",
    config_overrides: dict | None = None,
) -> tuple[SOTMOTNet, dict]:
    """Rebuild the network stored in ``path`` and load its weights strictly.

    ``config_overrides`` changes run-time-only fields (e.g. ``input_width``); architecture fields
    that would not match the weights fail the strict load with a clear message.
    ``path`` may also name a bundled model (``resolve_model_path``).
    Returns ``(model in eval mode on device, meta dict)``.
    """
    path = resolve_model_path(path)
    data = _read(path)
    if not isinstance(data, dict):
        raise CheckpointError(f"{path}: expected a dict in the model file, got {type(data).__name__}")
    if data.get("format") == FORMAT:
        try:
            cfg = dict(data["config"])
            state = data["state_dict"]
        except KeyError as exc:
            raise CheckpointError(f"{path}: model file lacks the {exc} entry") from exc
        meta = dict(data.get("meta") or {})
    else:
        from .fairmot import from_fairmot_state_dict, heads_from_state_dict, is_fairmot_state_dict

        state = data.get("state_dict", data)
        if not isinstance(state, dict) or not is_fairmot_state_dict(state):
            raise CheckpointError(
                f"{path}: neither a sotmot_ros model file (format {FORMAT!r}) nor a FairMOT/CenterNet DLA-34 state dict"
            )
        try:
            state, dropped = from_fairmot_state_dict(state)
            heads = heads_from_state_dict(state)
        except ValueError as exc:
            raise CheckpointError(f"{path}: {exc}") from exc
        cfg = dict(backbone="dla34", **heads)
        meta = {"source": "fairmot", "dropped_keys": list(dropped), "epoch": data.get("epoch")}
    cfg.update(config_overrides or {})
    try:
        config = ModelConfig.from_dict(cfg)
    except (TypeError, ValueError) as exc:
        raise CheckpointError(f"{path}: invalid model config: {exc}") from exc
    model = SOTMOTNet(config)
    load_state_dict_strict(model, state, str(path))
    model.eval()
    return model.to(device), meta
