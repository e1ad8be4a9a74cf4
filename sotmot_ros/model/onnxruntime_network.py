"""The SOTMOT network run by ONNX Runtime: the same weights, faster on a CPU than PyTorch eager.

A small depthwise network like the yolox_nano body spends much of a PyTorch CPU step in per-op overhead;
ONNX Runtime fuses the graph (conv + activation, constant folding): the bundled model's detector step at
640x480 takes 37-39 vs 53-60 ms on this project's 2-core machine (``bench/bench_model.py --backend``, session 22). The graph is exported in
memory from the loaded model when a Detector is built (~0.5 s), for any batch and input size (the Detector
can trim the letterbox's padding per camera shape; a graph with free height and width runs as fast as a fixed
one), so there is no second model file to keep in sync. Needs the optional packages ``onnxruntime`` and ``onnx``
(``pip install .[fast]``); tracking never does: the Detector falls back to PyTorch without them.
"""

from __future__ import annotations

import io
import warnings

import numpy as np
import torch

from .network import HEATMAP_OUTPUTS, SOTMOTNet

INPUT_NAME = "images"
OPSET = 17


def onnxruntime_missing() -> str | None:
    """None when this backend can run here, else what is missing (named for the error message)."""
    missing = []
    for module in ("onnxruntime", "onnx"):
        try:
            __import__(module)
        except ImportError:
            missing.append(module)
    return " and ".join(missing) or None


class _HeatmapTuple(torch.nn.Module):
    """``forward_heatmap`` with its maps as a tuple in HEATMAP_OUTPUTS order (ONNX outputs are positional)."""

    def __init__(self, model: SOTMOTNet):
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor):
        out = self.model.forward_heatmap(x)
        return tuple(out[name] for name in HEATMAP_OUTPUTS)


def export_onnx(model: SOTMOTNet, width: int, height: int) -> bytes:
    """The model's ``forward_heatmap`` (float32, on the CPU) as an ONNX graph traced at ``width`` x ``height``;
    batch, height and width stay free (multiples of 32, as the network needs)."""
    buf = io.BytesIO()
    with warnings.catch_warnings():  # torch >= 2.9 warns that the TorchScript exporter is the legacy one
        warnings.simplefilter("ignore")
        torch.onnx.export(
            _HeatmapTuple(model.eval()), torch.zeros(1, 3, height, width), buf, opset_version=OPSET, dynamo=False,
            input_names=[INPUT_NAME], output_names=list(HEATMAP_OUTPUTS), dynamic_axes={INPUT_NAME: {0: "batch", 2: "height", 3: "width"}},
        )
    return buf.getvalue()


class OnnxRuntimeNetwork:
    """Callable like the network's ``forward_heatmap`` on CPU: a float32 (N, 3, H, W) tensor in, ``hm`` and ``body``
    out (the decoder computes the other heads at the peaks from the PyTorch model's weights, which are the graph's)."""

    def __init__(self, model: SOTMOTNet, width: int, height: int, threads: int | None = None):
        missing = onnxruntime_missing()
        if missing:
            raise ImportError(f"the onnxruntime backend needs {missing} (pip install onnxruntime onnx)")
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = int(threads or torch.get_num_threads())
        options.inter_op_num_threads = 1
        # no busy-waiting between runs: the node's other threads (image conversion, tracking, publishing)
        # share the same cores
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = ort.InferenceSession(export_onnx(model, width, height), options,
                                            providers=["CPUExecutionProvider"])

    def __call__(self, batch: torch.Tensor) -> dict[str, torch.Tensor]:
        x = np.ascontiguousarray(batch.detach().float().cpu().numpy())
        outputs = self.session.run(None, {INPUT_NAME: x})
        return {name: torch.from_numpy(out) for name, out in zip(HEATMAP_OUTPUTS, outputs)}
