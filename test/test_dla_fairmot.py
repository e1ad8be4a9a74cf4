"""DLA-34 body, DCN and FairMOT checkpoint compatibility against the reference data in ../shared."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from sotmot_ros.model import ModelConfig, SOTMOTNet
from sotmot_ros.model.dcn import DCN
from sotmot_ros.model.dla import DLA34Body
from sotmot_ros.model.fairmot import (
    from_fairmot_state_dict,
    heads_from_state_dict,
    is_fairmot_state_dict,
    load_fairmot_state_dict,
    to_fairmot_state_dict,
)

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
REF = SHARED / "reference" / "fairmot_dla34"
HEADS = ("hm", "wh", "id", "reg")


def _ref_dir() -> Path:
    if not REF.is_dir():
        pytest.skip(f"FairMOT reference data not found at {REF} (../shared absent)")
    return REF


def _manifest(name: str) -> list:
    return json.loads((_ref_dir() / name).read_text())


def _fill(manifest: list, rule: str) -> "dict[str, torch.Tensor]":
    """The README's fill rules A and B, drawn in manifest (= FairMOT state_dict) order, base.fc included."""
    g = torch.Generator().manual_seed(1234)
    sd = {}
    for key, shape, dtype in manifest:
        if key.endswith("num_batches_tracked"):
            assert dtype == "int64"
            sd[key] = torch.zeros(shape, dtype=torch.int64)
        elif key.endswith("running_var"):
            sd[key] = torch.rand(shape, generator=g) * 0.5 + 0.75
        elif rule == "A":
            sd[key] = torch.randn(shape, generator=g) * 0.05
        elif key.endswith("running_mean"):
            sd[key] = torch.randn(shape, generator=g) * 0.05
        elif len(shape) == 1 and key.endswith("weight"):
            sd[key] = torch.rand(shape, generator=g) * 0.5 + 0.75
        elif len(shape) == 1:
            sd[key] = torch.randn(shape, generator=g) * 0.05
        else:
            assert len(shape) == 4, key
            sd[key] = torch.randn(shape, generator=g) * math.sqrt(1.0 / (shape[1] * shape[2] * shape[3]))
    return sd


def _tracking_model() -> SOTMOTNet:
    return SOTMOTNet(ModelConfig(backbone="dla34", num_classes=1, sot_dim=128, head_conv=256)).eval()


# ---------------------------------------------------------------- body shape


@pytest.mark.parametrize("hw", [(64, 96), (128, 128), (96, 160)])
def test_body_stride4_64_channels(hw):
    torch.manual_seed(0)
    body = DLA34Body().eval()
    assert not hasattr(body.base, "fc")
    with torch.no_grad():
        y = body(torch.rand(2, 3, *hw))
    assert body.out_channels == 64
    assert y.shape == (2, 64, hw[0] // 4, hw[1] // 4)
    assert torch.isfinite(y).all()


def test_up_weights_bilinear_init():
    body = DLA34Body()
    w = body.ida_up.up_2.weight  # factor 4: kernel 8
    assert w.shape == (64, 1, 8, 8)
    t = torch.tensor([0.0625, 0.1875, 0.3125, 0.4375, 0.4375, 0.3125, 0.1875, 0.0625]) * 2
    torch.testing.assert_close(w[5, 0], t[:, None] * t[None, :], rtol=0, atol=1e-7)
    # A constant map upsampled by a bilinear transposed conv stays constant away from the border.
    up = body.dla_up.ida_0.up_1
    with torch.no_grad():
        out = up(torch.ones(1, 256, 4, 4))
    torch.testing.assert_close(out[0, :, 1:-1, 1:-1], torch.ones(256, 6, 6), rtol=0, atol=1e-6)


# ---------------------------------------------------------------- DCN


def _bilinear(img: torch.Tensor, y: float, x: float) -> torch.Tensor:
    """DCNv2's sampler: zero outside (-1, H) x (-1, W), out-of-image corners read as zero."""
    c, h, w = img.shape
    if not (-1 < y < h and -1 < x < w):
        return torch.zeros(c, dtype=img.dtype)
    y0, x0 = math.floor(y), math.floor(x)
    ly, lx = y - y0, x - x0
    out = torch.zeros(c, dtype=img.dtype)
    for yy, xx, wgt in ((y0, x0, (1 - ly) * (1 - lx)), (y0, x0 + 1, (1 - ly) * lx),
                        (y0 + 1, x0, ly * (1 - lx)), (y0 + 1, x0 + 1, ly * lx)):
        if 0 <= yy < h and 0 <= xx < w:
            out = out + wgt * img[:, yy, xx]
    return out


def _dcn_reference(x, raw, weight, bias, stride, pad, dil, swap_xy=False):
    """Slow DCNv2 forward from the conv_offset_mask output ``raw``: channel 2k = dy, 2k+1 = dx of tap k,
    channels 18..26 the mask logits."""
    n, _, h, w = x.shape
    o, _, kh, kw = weight.shape
    ho = (h + 2 * pad - dil * (kh - 1) - 1) // stride + 1
    wo = (w + 2 * pad - dil * (kw - 1) - 1) // stride + 1
    offset, mask = raw[:, : 2 * kh * kw], torch.sigmoid(raw[:, 2 * kh * kw:])
    out = torch.zeros(n, o, ho, wo, dtype=x.dtype)
    for b in range(n):
        for i in range(ho):
            for j in range(wo):
                cols = []
                for ki in range(kh):
                    for kj in range(kw):
                        k = ki * kw + kj
                        dy, dx = offset[b, 2 * k, i, j].item(), offset[b, 2 * k + 1, i, j].item()
                        if swap_xy:
                            dy, dx = dx, dy
                        py = i * stride - pad + ki * dil + dy
                        px = j * stride - pad + kj * dil + dx
                        cols.append(mask[b, k, i, j] * _bilinear(x[b], py, px))
                col = torch.stack(cols, 1)  # (C, kh*kw)
                out[b, :, i, j] = (weight.reshape(o, -1, kh * kw) * col).sum((1, 2)) + bias
    return out


@pytest.mark.parametrize("stride,dil", [(1, 1), (2, 1), (1, 2)])
def test_dcn_matches_reference(stride, dil):
    g = torch.Generator().manual_seed(7 + stride + 10 * dil)
    dcn = DCN(3, 4, kernel_size=3, stride=stride, padding=dil, dilation=dil).double()
    assert [k for k, _ in dcn.named_parameters()] == ["weight", "bias", "conv_offset_mask.weight",
                                                       "conv_offset_mask.bias"]
    assert dcn.conv_offset_mask.out_channels == 27
    with torch.no_grad():
        dcn.bias.copy_(torch.randn(4, generator=g, dtype=torch.float64))
        dcn.conv_offset_mask.weight.copy_(torch.randn(27, 3, 3, 3, generator=g, dtype=torch.float64) * 0.5)
        dcn.conv_offset_mask.bias.copy_(torch.randn(27, generator=g, dtype=torch.float64) * 2.0)
    x = torch.randn(2, 3, 6, 7, generator=g, dtype=torch.float64)
    with torch.no_grad():
        got = dcn(x)
        raw = dcn.conv_offset_mask(x)
        ref = _dcn_reference(x, raw, dcn.weight, dcn.bias, stride, dil, dil)
        swapped = _dcn_reference(x, raw, dcn.weight, dcn.bias, stride, dil, dil, swap_xy=True)
    offs = raw[:, :18]
    assert offs.abs().max() > 2.0 and (offs - offs.round()).abs().max() > 0.1  # large, fractional offsets
    assert got.shape == ref.shape
    torch.testing.assert_close(got, ref, rtol=0, atol=1e-12)
    assert (swapped - ref).abs().max() > 1e-2  # the comparison can see a dx/dy swap


def test_dcn_zero_init_is_half_scaled_conv():
    """Fresh DCN = conv * sigmoid(0), DCNv2's starting point."""
    torch.manual_seed(3)
    dcn = DCN(5, 6).double()
    x = torch.randn(1, 5, 8, 9, dtype=torch.float64)
    with torch.no_grad():
        expected = torch.nn.functional.conv2d(x, dcn.weight * 0.5, dcn.bias, padding=1)
        torch.testing.assert_close(dcn(x), expected, rtol=0, atol=1e-12)


# ---------------------------------------------------------------- key mapping


def test_key_mapping_roundtrip_and_manifest_order():
    manifest = _manifest("fairmot_dla34_state_dict.json")
    model = _tracking_model()
    ours = model.state_dict()
    fm = to_fairmot_state_dict(ours)
    expected = [k for k, _, _ in manifest if not k.startswith("base.fc.")]
    assert list(fm) == expected
    assert [list(v.shape) for v in fm.values()] == [s for k, s, _ in manifest if not k.startswith("base.fc.")]
    assert is_fairmot_state_dict(fm) and not is_fairmot_state_dict(ours)
    back, dropped = from_fairmot_state_dict({"module." + k: v for k, v in fm.items()})
    assert dropped == [] and list(back) == list(ours)
    assert all(back[k] is ours[k] for k in ours)


def test_strict_load_fairmot_manifest_and_values():
    manifest = _manifest("fairmot_dla34_state_dict.json")
    sd = _fill(manifest, "A")
    assert heads_from_state_dict(sd) == dict(num_classes=1, sot_dim=128, head_conv=256)
    model = _tracking_model()
    dropped = load_fairmot_state_dict(model, {"module." + k: v for k, v in sd.items()})
    assert dropped == ["module.base.fc.weight", "module.base.fc.bias"]
    own = model.state_dict()
    for key in ("base.level5.root.conv.weight", "dla_up.ida_0.proj_1.conv.conv_offset_mask.weight",
                "ida_up.up_2.weight", "base.base_layer.1.running_var"):
        assert torch.equal(own["body." + key], sd[key]), key
    assert torch.equal(own["id.2.bias"], sd["id.2.bias"])
    mapped, dropped = from_fairmot_state_dict(sd)
    assert dropped == ["base.fc.weight", "base.fc.bias"]
    model.load_state_dict(mapped, strict=True)


def test_ctdet_checkpoint_refused_clearly():
    manifest = _manifest("ctdet_dla34_state_dict.json")
    sd = {k: torch.zeros(s, dtype=getattr(torch, d)) for k, s, d in manifest}
    assert is_fairmot_state_dict(sd)
    with pytest.raises(ValueError, match=r"'wh\.2\.weight' has shape \[2, 256, 1, 1\].*ltrb"):
        heads_from_state_dict(sd)
    with pytest.raises(ValueError, match=r"wh\.2\.weight"):
        load_fairmot_state_dict(_tracking_model(), sd)
    # The trunk itself is compatible: everything except the mismatching heads maps onto our keys.
    mapped, dropped = from_fairmot_state_dict(sd)
    own = _tracking_model().state_dict()
    missing = sorted(set(own) - set(mapped))
    assert missing == ["id.0.bias", "id.0.weight", "id.2.bias", "id.2.weight"]
    bad = sorted(k for k in mapped if own[k].shape != mapped[k].shape)
    assert bad == ["hm.2.bias", "hm.2.weight", "wh.2.bias", "wh.2.weight"]
    assert dropped == ["base.fc.weight", "base.fc.bias"]


# ---------------------------------------------------------------- numerical reference


def _check_fill(sd, checksum_file):
    rows = json.loads((_ref_dir() / checksum_file).read_text())[1:]
    assert [r[0] for r in rows] == list(sd)
    for key, total, first, last in rows:
        t = sd[key].double().flatten()
        if t.numel() == 0:
            continue
        ok = t[0].item() == first and t[-1].item() == last and math.isclose(t.sum().item(), total, rel_tol=1e-9,
                                                                                 abs_tol=1e-9)
        assert ok, f"fill diverges from the reference first at {key!r}"


@pytest.fixture(scope="module")
def reference_input():
    _ref_dir()
    x = torch.rand((1, 3, 608, 1088), generator=torch.Generator().manual_seed(99))
    assert x.double().sum().item() == pytest.approx(992582.8647890687, rel=1e-12)
    return x


@pytest.fixture(scope="module")
def reference_model():
    return _tracking_model()


@pytest.mark.parametrize("rule", ["A", "B"])
def test_numerical_reference(rule, reference_input, reference_model, capsys):
    manifest = _manifest("fairmot_dla34_state_dict.json")
    sd = _fill(manifest, rule)
    _check_fill(sd, "fairmot_dla34_fill_checksums.json" if rule == "A" else "fairmot_dla34_ruleB_fill_checksums.json")
    model = reference_model
    load_fairmot_state_dict(model, sd)
    model.eval()
    with torch.no_grad():
        out = model(reference_input)
    ref = np.load(REF / ("fairmot_dla34_reference.npz" if rule == "A" else "fairmot_dla34_reference_ruleB.npz"))
    diffs = {}
    if rule == "A":
        for h in HEADS:
            diffs[h] = (out[h].numpy() - ref[h]).__abs__().max(), 5e-7
    else:
        for h in ("hm", "wh", "reg"):
            diffs[h] = (out[h].numpy() - ref[h]).__abs__().max(), 2e-6
        diffs["id_f32_s4"] = (out["id"][:, :, ::4, ::4].numpy() - ref["id_f32_s4"]).__abs__().max(), 2e-6
        diffs["id_f16"] = (out["id"].numpy() - ref["id"].astype(np.float32)).__abs__().max(), 1e-4
    for h in HEADS:
        assert out[h].shape == (1, ref[h].shape[1], 152, 272)
    with capsys.disabled():
        print(f"\nrule {rule} max abs diff: " + ", ".join(f"{h}={d:.3g}" for h, (d, _) in diffs.items()))
    for h, (d, tol) in diffs.items():
        assert d <= tol, f"rule {rule}: {h} max abs diff {d:.3g} > {tol}"
