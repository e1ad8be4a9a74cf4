"""`sotmot interpolate`: the weights on the line between two models, A's configuration, no inherited tuning."""

import pytest
import torch

from sotmot_ros.cli import main as cli
from sotmot_ros.model import ModelConfig, build_model
from sotmot_ros.model.checkpoint import load_model, save_model

SMALL = dict(backbone="efficientnet_lite0", input_width=128, input_height=96, head_conv=32, sot_dim=16)


def _model(seed, **overrides):
    torch.manual_seed(seed)
    return build_model(ModelConfig(**{**SMALL, **overrides})).eval()


def test_interpolated_weights_config_and_meta(tmp_path, capsys):
    a = save_model(tmp_path / "a.pt", _model(0), {"tracker": {"sot_lambda": 0.5}, "detector": {"nms_iou": 0.6},
                                                  "tracker_tuned_on": "tune", "epoch": 4})
    # B: same architecture at another input size (as v4 at 512x384 vs v6 at 640x480)
    b = save_model(tmp_path / "b.pt", _model(1, input_width=160, input_height=128), {"epoch": 22})
    assert cli(["interpolate", str(a), str(b), "--weight", "0.25", "--out", str(tmp_path / "c.pt")]) == 0
    assert "0.75 x" in capsys.readouterr().out
    (ma, _), (mb, _), (mc, meta) = (load_model(p) for p in (a, b, tmp_path / "c.pt"))
    assert (mc.config.input_width, mc.config.input_height) == (128, 96)  # A's input size
    sa, sb, sc = ma.state_dict(), mb.state_dict(), mc.state_dict()
    floats = [k for k in sa if sa[k].is_floating_point()]
    assert floats and any(not sa[k].is_floating_point() for k in sa)  # batch-norm counters exist
    for k in sa:
        expected = 0.75 * sa[k] + 0.25 * sb[k] if k in floats else sa[k]
        torch.testing.assert_close(sc[k], expected.to(sa[k].dtype))
    # A's provenance stays, A's tuned settings do not: the new model gets its own
    assert meta["epoch"] == 4 and not {"tracker", "detector", "tracker_tuned_on"} & set(meta)
    assert meta["interpolated_from"]["weight_b"] == 0.25 and meta["interpolated_from"]["b"] == str(b)
    # weight 0 is A itself
    assert cli(["interpolate", str(a), str(b), "--weight", "0", "--out", str(tmp_path / "a0.pt")]) == 0
    s0 = load_model(tmp_path / "a0.pt")[0].state_dict()
    assert all(torch.equal(s0[k], sa[k]) for k in sa)


def test_interpolate_refuses_other_architectures_and_weights_outside_0_1(tmp_path, capsys):
    a = save_model(tmp_path / "a.pt", _model(0))
    other = save_model(tmp_path / "other.pt", _model(1, sot_dim=32))
    assert cli(["interpolate", str(a), str(other), "--weight", "0.1", "--out", str(tmp_path / "c.pt")]) == 1
    assert "different architectures (sot_dim differ)" in capsys.readouterr().err
    assert cli(["interpolate", str(a), str(a), "--weight", "1.5", "--out", str(tmp_path / "c.pt")]) == 1
    assert "weight of B must be in [0, 1], got 1.5" in capsys.readouterr().err
    assert not (tmp_path / "c.pt").exists()
    with pytest.raises(SystemExit):
        cli(["interpolate", str(a), str(a), "--out", str(tmp_path / "c.pt")])  # --weight is required
