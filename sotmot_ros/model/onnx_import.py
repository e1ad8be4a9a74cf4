"""Weights from an ONNX export of YOLOX-Nano into :class:`YoloxNanoEncoder` (development time only).

The export's Conv nodes are listed in execution order with their batch norms folded in; the encoder runs
its convs in the same order, so the first ``len(encoder_convs)`` Conv nodes pair with them one by one.
Every pair must agree in shape, group count, stride and padding, and :func:`check_against_onnx` compares
the encoder's stride-32 output with the graph's own tensor on an image: a wrong file fails loudly instead of
training from scrambled weights. Needs the ``onnx`` package (``pip install onnx``) and, for the check,
``onnxruntime``; neither is needed to track.
"""

from __future__ import annotations

import numpy as np
import torch

from .yolox_nano import YoloxNanoEncoder, encoder_convs


class OnnxImportError(RuntimeError):
    """The ONNX file is not a YOLOX-Nano export this encoder can take weights from."""


def _onnx():
    try:
        import onnx
        from onnx import numpy_helper
    except ImportError as exc:  # optional, development-time dependency
        raise OnnxImportError("reading ONNX weights needs the `onnx` package: pip install onnx") from exc
    return onnx, numpy_helper


def _attrs(node) -> dict:
    onnx, _ = _onnx()
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def paired_convs(model, encoder: YoloxNanoEncoder) -> list:
    """``(conv, node)`` pairs of the encoder's convs and the graph's Conv nodes, checked pair by pair."""
    convs = encoder_convs(encoder)
    nodes = [n for n in model.graph.node if n.op_type == "Conv"]
    if len(nodes) < len(convs):
        raise OnnxImportError(f"the graph has {len(nodes)} Conv nodes; the YOLOX-Nano encoder needs {len(convs)}")
    shapes = {i.name: tuple(i.dims) for i in model.graph.initializer}
    pairs = list(zip(convs, nodes))
    for k, (conv, node) in enumerate(pairs):
        a = _attrs(node)
        got = (shapes.get(node.input[1]), a.get("group", 1), tuple(a.get("strides", (1, 1))),
               tuple(a.get("pads", (0, 0, 0, 0)))[:2])
        want = (tuple(conv.weight.shape), conv.groups, tuple(conv.stride), tuple(conv.padding))
        if got != want or len(node.input) < 3:
            raise OnnxImportError(f"Conv node {k} ({node.name or node.output[0]}): weight/group/stride/pad {got} "
                                  f"(bias: {len(node.input) >= 3}) where the encoder has {want}: not a YOLOX-Nano "
                                  "export")
    return pairs


def _read(path: str):
    onnx, _ = _onnx()
    try:
        return onnx.load(path)
    except Exception as exc:  # missing or not an ONNX protobuf
        raise OnnxImportError(f"cannot read ONNX file {path!r}: {exc}") from exc


def load_encoder_from_onnx(encoder: YoloxNanoEncoder, path: str) -> None:
    """Copy the weights of the ONNX file at ``path`` into ``encoder`` (in place)."""
    _, numpy_helper = _onnx()
    model = _read(path)
    arrays = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    with torch.no_grad():
        for conv, node in paired_convs(model, encoder):
            conv.weight.copy_(torch.from_numpy(np.array(arrays[node.input[1]], np.float32)))
            conv.bias.copy_(torch.from_numpy(np.array(arrays[node.input[2]], np.float32)))


def check_against_onnx(encoder: YoloxNanoEncoder, path: str, seed: int = 0) -> float:
    """Largest absolute difference between the encoder's last output (stride 32) and the graph's tensor after the
    paired last conv (SiLU applied), relative to that tensor's largest magnitude, on a random BGR image of
    the graph's input size (relative: activations of arbitrary weights reach any scale)."""
    onnx, _ = _onnx()
    import onnxruntime as ort

    model = _read(path)
    last = paired_convs(model, encoder)[-1][1].output[0]
    act = [n for n in model.graph.node if n.op_type == "Mul" and last in n.input]
    if not act:
        raise OnnxImportError(f"no SiLU (Mul) after Conv output {last!r}")
    name = act[0].output[0]
    model.graph.output.append(onnx.helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, None))
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    inp = sess.get_inputs()[0]
    h, w = (int(d) if isinstance(d, int) else 416 for d in inp.shape[2:4])
    image = np.random.default_rng(seed).uniform(0, 255, (1, 3, h, w)).astype(np.float32)
    ref = sess.run([name], {inp.name: image})[0]
    with torch.no_grad():
        ours = encoder.eval()(torch.from_numpy(image))[-1].numpy()
    if ours.shape != ref.shape:
        raise OnnxImportError(f"stride-32 output shape {ours.shape} vs the graph's {ref.shape}")
    return float(np.abs(ours - ref).max() / max(float(np.abs(ref).max()), 1e-12))
