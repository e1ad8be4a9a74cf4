"""The SOT branch: closed-form ridge models that separate each target from the other targets."""

import pytest
import torch

from sotmot_ros.sot import choose_form, ridge_fit, ridge_fit_score, ridge_score


def _lstsq_models(x: torch.Tensor, lam: float) -> torch.Tensor:
    """Reference: argmin_W ||X W - I||^2 + lam ||W||^2 as an augmented least-squares problem."""
    n, d = x.shape
    a = torch.cat([x, (lam**0.5) * torch.eye(d, dtype=x.dtype)], dim=0)
    b = torch.cat([torch.eye(n, dtype=x.dtype), torch.zeros(d, n, dtype=x.dtype)], dim=0)
    return torch.linalg.lstsq(a, b).solution


@pytest.mark.parametrize("n,d", [(5, 16), (16, 5), (8, 8)])
@pytest.mark.parametrize("form", ["primal", "dual"])
def test_closed_form_equals_least_squares(n, d, form):
    torch.manual_seed(0)
    x = torch.randn(n, d, dtype=torch.float64)
    w = ridge_fit(x, 0.3, form=form)
    assert w.shape == (d, n)
    torch.testing.assert_close(w, _lstsq_models(x, 0.3), atol=1e-9, rtol=0)


def test_primal_equals_dual_batched_with_masks():
    torch.manual_seed(1)
    x = torch.randn(3, 7, 12, dtype=torch.float64)
    mask = torch.tensor([[1] * 7, [1] * 4 + [0] * 3, [1] + [0] * 6], dtype=torch.bool)
    wp = ridge_fit(x, 0.1, mask=mask, form="primal")
    wd = ridge_fit(x, 0.1, mask=mask, form="dual")
    torch.testing.assert_close(wp, wd, atol=1e-10, rtol=0)
    # Padding changes nothing: image 1 equals its unpadded solve, padded columns are zero.
    torch.testing.assert_close(wp[1, :, :4], ridge_fit(x[1, :4], 0.1), atol=1e-10, rtol=0)
    assert torch.all(wp[1, :, 4:] == 0)


def test_auto_form_picks_the_smaller_system():
    assert choose_form(10, 128) == "dual"
    assert choose_form(300, 128) == "primal"


def test_gradcheck_float64():
    torch.manual_seed(2)
    x = torch.randn(2, 4, 6, dtype=torch.float64, requires_grad=True)
    c = torch.randn(2, 5, 6, dtype=torch.float64, requires_grad=True)
    mask = torch.tensor([[1, 1, 1, 0], [1, 1, 1, 1]], dtype=torch.bool)
    for form in ("primal", "dual"):
        assert torch.autograd.gradcheck(lambda a, b: ridge_fit_score(a, b, 0.5, mask=mask, form=form), (x, c))


def test_each_model_scores_its_own_target_highest():
    torch.manual_seed(3)
    n, d = 20, 64
    x = torch.nn.functional.normalize(torch.randn(n, d), dim=1)
    noisy = torch.nn.functional.normalize(x + 0.1 * torch.randn(n, d), dim=1)
    s = ridge_score(ridge_fit(x, 0.1), noisy)  # (M=n candidates, N=n models)
    assert torch.equal(s.argmax(dim=0), torch.arange(n))
    assert torch.equal(s.argmax(dim=1), torch.arange(n))
    assert s.diagonal().min() > 0.5 and (s - torch.diag(s.diagonal())).abs().max() < 0.5


def test_discriminates_against_surrounding_targets_not_background():
    # Two targets with nearly identical features: the models still separate them, because each is
    # trained to answer 0 on the other.
    torch.manual_seed(4)
    base = torch.nn.functional.normalize(torch.randn(32), dim=0)
    delta = torch.nn.functional.normalize(torch.randn(32), dim=0)
    x = torch.stack([base + 0.05 * delta, base - 0.05 * delta])
    s = ridge_score(ridge_fit(x, 1e-3), x)
    assert s[0, 0] > s[0, 1] and s[1, 1] > s[1, 0]


def test_zero_and_one_target():
    x0 = torch.zeros(0, 8)
    w0 = ridge_fit(x0, 0.1)
    assert w0.shape == (8, 0)
    assert ridge_score(w0, torch.randn(3, 8)).shape == (3, 0)
    x1 = torch.nn.functional.normalize(torch.randn(1, 8), dim=1)
    w1 = ridge_fit(x1, 0.1)
    # One target: w = x / (|x|^2 + lam), so its own response is 1 / (1 + lam).
    assert ridge_score(w1, x1).item() == pytest.approx(1 / 1.1, rel=1e-5)


def test_invalid_lambda_and_shapes():
    with pytest.raises(ValueError, match="lambda"):
        ridge_fit(torch.randn(3, 4), 0.0)
    with pytest.raises(ValueError, match="features"):
        ridge_fit(torch.randn(4), 0.1)


def test_degenerate_features_fall_back_and_stay_finite():
    # Identical features and a tiny lambda: the system is near-singular in float32.
    x = torch.ones(6, 4)
    w = ridge_fit(x, 1e-12, form="dual")
    assert torch.isfinite(w).all()


def test_half_input_is_solved_in_float32():
    x = torch.nn.functional.normalize(torch.randn(5, 16), dim=1)
    w = ridge_fit(x.half(), 0.1)
    assert w.dtype == torch.float16
    torch.testing.assert_close(w.float(), ridge_fit(x.half().float(), 0.1), atol=2e-3, rtol=0)
