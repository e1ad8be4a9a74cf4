"""The SOT branch of SOTMOT: per-target ridge-regression models solved jointly, in closed form.

For the N targets of one frame with centre features X (N x D), target i gets a linear model w_i that
answers 1 on its own feature and 0 on every *other target's* feature (Y = I): the models learn to
separate each target from the surrounding targets, not from background. All N models share one
system matrix, so they are solved together::

    primal:  W = (X^T X + lam I_D)^-1 X^T Y      (a D x D system)
    dual:    W = X^T (X X^T + lam I_N)^-1 Y      (an N x N system)

Both give the same D x N matrix W (push-through identity); the cheaper one is picked by comparing N
with D. Scoring M candidate features C (M x D) is one matrix product, ``S = C W`` (M x N): row m holds
the responses of all N models at candidate m.

Batches of images with different N are padded to the same N and carry a boolean mask; padded rows
are zeroed, so they neither influence the real models nor receive weight. Everything is built from
differentiable torch ops, so the same code trains the embedding end to end.

Numerical safety: the system matrix is symmetric positive definite for lam > 0, so it is factored by
Cholesky. Where the factorisation fails (lam tiny, features degenerate, low precision), the batch is
solved by LU with partial pivoting instead, and where even LU reports a singular matrix, by the
symmetric pseudo-inverse (minimum-norm solution). Solves always run in float32 or float64, never in
half precision.
"""

from __future__ import annotations

import torch

__all__ = ["ridge_fit", "ridge_score", "ridge_fit_score", "choose_form"]


def choose_form(num_targets: int, feature_dim: int) -> str:
    """The cheaper closed form: 'dual' (N x N system) when N < D, else 'primal' (D x D)."""
    return "dual" if num_targets < feature_dim else "primal"


def _solve_spd(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Solve a x = b for a batch of SPD matrices: Cholesky, with an LU fallback where it fails."""
    chol, info = torch.linalg.cholesky_ex(a)
    if bool((info == 0).all()):
        return torch.cholesky_solve(b, chol)
    # Fallback 1: LU with partial pivoting for the whole batch (still differentiable).
    x, info = torch.linalg.solve_ex(a, b)
    if bool((info == 0).all()) and bool(torch.isfinite(x).all()):
        return x
    # Fallback 2: numerically singular even for LU: the symmetric pseudo-inverse (minimum-norm solution).
    return torch.linalg.pinv(a, hermitian=True) @ b


def ridge_fit(
    features: torch.Tensor,
    lam: float,
    mask: torch.Tensor | None = None,
    targets: torch.Tensor | None = None,
    form: str = "auto",
) -> torch.Tensor:
    """Fit one ridge model per target against the other targets of the same image.

    Args:
        features: (N, D) or (B, N, D) centre features of the targets.
        lam: ridge regularisation lambda (> 0).
        mask: optional (B, N) bool, True for real targets (padding False).
        targets: optional (B, N, N) regression targets; default identity (target i -> 1 on itself,
            0 on the others), restricted to the mask.
        form: 'auto', 'primal' or 'dual'.

    Returns:
        W with shape (B, D, N) (or (D, N) for unbatched input); column i is the model of target i.
    """
    if lam <= 0:
        raise ValueError(f"ridge lambda must be > 0, got {lam}")
    unbatched = features.dim() == 2
    x = features.unsqueeze(0) if unbatched else features
    if x.dim() != 3:
        raise ValueError(f"features must be (N, D) or (B, N, D), got {tuple(features.shape)}")
    b, n, d = x.shape
    out_dtype = x.dtype
    work_dtype = torch.float64 if x.dtype == torch.float64 else torch.float32
    x = x.to(work_dtype)
    if mask is None:
        m = torch.ones(b, n, dtype=work_dtype, device=x.device)
    else:
        m = (mask.unsqueeze(0) if mask.dim() == 1 else mask).to(work_dtype)
    if n == 0 or d == 0:
        w = x.new_zeros(b, d, n)
        return (w[0] if unbatched else w).to(out_dtype)
    x = x * m.unsqueeze(-1)
    if targets is None:
        y = torch.diag_embed(m)
    else:
        y = (targets.unsqueeze(0) if targets.dim() == 2 else targets).to(work_dtype)
        y = y * m.unsqueeze(-1) * m.unsqueeze(-2)
    if form == "auto":
        form = choose_form(n, d)
    xt = x.transpose(1, 2)  # (B, D, N)
    if form == "dual":
        eye = torch.eye(n, dtype=work_dtype, device=x.device)
        alpha = _solve_spd(x @ xt + lam * eye, y)  # (B, N, N)
        w = xt @ alpha
    elif form == "primal":
        eye = torch.eye(d, dtype=work_dtype, device=x.device)
        w = _solve_spd(xt @ x + lam * eye, xt @ y)  # (B, D, N)
    else:
        raise ValueError(f"form must be 'auto', 'primal' or 'dual', got {form!r}")
    w = w * m.unsqueeze(1)
    return (w[0] if unbatched else w).to(out_dtype)


def ridge_score(weights: torch.Tensor, candidates: torch.Tensor) -> torch.Tensor:
    """Responses of all models at all candidates: (B, M, D) x (B, D, N) -> (B, M, N).

    Unbatched inputs ((M, D) and (D, N)) give an (M, N) matrix.
    """
    return candidates.to(weights.dtype) @ weights


def ridge_fit_score(
    features: torch.Tensor,
    candidates: torch.Tensor,
    lam: float,
    mask: torch.Tensor | None = None,
    form: str = "auto",
) -> torch.Tensor:
    """Fit models on ``features`` (targets of frame t) and score ``candidates`` (frame t+1)."""
    return ridge_score(ridge_fit(features, lam, mask=mask, form=form), candidates)
