"""Training losses: CenterNet detection losses and the SOTMOT ridge-regression (SOT) loss.

SOT loss default ``mse``: it is the ridge objective itself, and it trains the absolute responses the
tracker thresholds at inference (about 1 for the same target in the next frame, about 0 for the
others). A softmax/cross-entropy form only constrains the ranking within a row, so the response scale
can drift and a fixed response threshold in the tracker would lose its meaning; ``ce`` is offered for
experiments.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..decode import gather_at
from ..sot import ridge_fit, ridge_score

# Ridge lambda of the SOT loss (training); the tracker's lambda is a separate, inference-time setting
# tuned per model (TrackerConfig.sot_lambda, stored in the model file). TrainConfig.sot_lambda defaults to it.
TRAIN_SOT_LAMBDA = 0.5


def focal_loss(logits: torch.Tensor, target: torch.Tensor, ignore: torch.Tensor | None = None) -> torch.Tensor:
    """CenterNet's penalty-reduced focal loss (alpha 2, beta 4), normalised by the number of peaks.

    ``ignore`` (B, 1 or C, h, w) bool excludes cells from both the positive and negative terms.
    """
    pred = torch.sigmoid(logits.float()).clamp(1e-4, 1 - 1e-4)
    target = target.float()
    pos = target.eq(1).float()
    neg = 1.0 - pos
    if ignore is not None:
        keep = (~ignore).float().expand_as(pred)
        pos, neg = pos * keep, neg * keep
    pos_loss = torch.log(pred) * (1 - pred) ** 2 * pos
    neg_loss = torch.log(1 - pred) * pred**2 * (1 - target) ** 4 * neg
    num_pos = pos.sum()
    return -(pos_loss.sum() + neg_loss.sum()) / num_pos.clamp(min=1.0)


def centre_values(head_out: torch.Tensor, ind: torch.Tensor) -> torch.Tensor:
    """A head's values at the centre indices ``ind`` (B, K) -> (B, K, C): gathered from its dense map (B, C, h, w),
    or already computed there (B, K, C) by ``SOTMOTNet.forward(x, centres=ind)``."""
    if head_out.dim() == 3:
        return head_out
    return gather_at(head_out, ind)


def reg_l1_loss(maps: torch.Tensor, ind: torch.Tensor, mask: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """L1 between predictions at the centre indices and targets, averaged over valid entries (``maps``: a dense
    head map or its values at ``ind``, see ``centre_values``)."""
    pred = centre_values(maps, ind).float()
    m = mask.unsqueeze(-1).expand_as(pred).float()
    return F.l1_loss(pred * m, target * m, reduction="sum") / (m.sum() + 1e-4)


def sot_pair_loss(
    feat_fit: torch.Tensor,
    mask_fit: torch.Tensor,
    ids_fit: torch.Tensor,
    feat_test: torch.Tensor,
    mask_test: torch.Tensor,
    ids_test: torch.Tensor,
    lam: float,
    form: str = "mse",
) -> torch.Tensor:
    """Fit ridge models on one frame's targets and score the other frame's targets.

    feat_*: (B, K, D) L2-normalised features at the gt centres, mask_* (B, K) bool, ids_* (B, K).
    Y[m, n] = 1 when test target m has the id of fit target n, else 0 (targets without a partner give
    all-zero rows/columns). ``mse`` sums the squared error over each row's models and averages over the
    valid test rows; ``ce`` applies cross-entropy over the row for rows that have a match.
    """
    w = ridge_fit(feat_fit, lam, mask=mask_fit)  # (B, D, N)
    s = ridge_score(w, feat_test.float())  # (B, M, N)
    valid = mask_test.unsqueeze(2) & mask_fit.unsqueeze(1)
    y = (ids_test.unsqueeze(2) == ids_fit.unsqueeze(1)) & valid
    if form == "mse":
        err = ((s - y.float()) ** 2) * valid.float()
        return err.sum() / mask_test.float().sum().clamp(min=1.0)
    if form == "ce":
        rows = y.any(2)
        if not bool(rows.any()):
            return s.sum() * 0.0
        logits = s.masked_fill(~valid, float("-inf"))[rows]
        return F.cross_entropy(logits, y[rows].float().argmax(1))
    raise ValueError(f"unknown SOT loss form {form!r}")


def sot_loss(
    id_a: torch.Tensor,
    id_b: torch.Tensor,
    t_a: dict,
    t_b: dict,
    lam: float,
    form: str = "mse",
) -> torch.Tensor:
    """Symmetric SOT loss of a batch of pairs: fit on A/test on B and fit on B/test on A, averaged."""
    fa = F.normalize(centre_values(id_a, t_a["ind"]).float(), dim=-1)
    fb = F.normalize(centre_values(id_b, t_b["ind"]).float(), dim=-1)
    ma, mb = t_a["mask"] > 0, t_b["mask"] > 0
    ab = sot_pair_loss(fa, ma, t_a["ids"], fb, mb, t_b["ids"], lam, form)
    ba = sot_pair_loss(fb, mb, t_b["ids"], fa, ma, t_a["ids"], lam, form)
    return 0.5 * (ab + ba)


class SOTMOTLoss(nn.Module):
    """Detection + SOT loss with FairMOT's learnable uncertainty weighting.

    ``loss = 0.5 * (exp(-s_det) * L_det + exp(-s_sot) * L_sot + s_det + s_sot)``; s_det and s_sot are
    parameters (initialised as FairMOT: -1.85 and -1.05) and must be given to the optimiser.
    """

    def __init__(
        self,
        sot_lambda: float = TRAIN_SOT_LAMBDA,
        sot_form: str = "mse",
        hm_weight: float = 1.0,
        wh_weight: float = 0.1,
        off_weight: float = 1.0,
        sot_weight: float = 1.0,
        uncertainty: bool = True,
    ):
        super().__init__()
        self.sot_lambda, self.sot_form = sot_lambda, sot_form
        self.hm_weight, self.wh_weight, self.off_weight = hm_weight, wh_weight, off_weight
        self.sot_weight, self.uncertainty = sot_weight, uncertainty
        self.s_det = nn.Parameter(torch.tensor(-1.85))
        self.s_sot = nn.Parameter(torch.tensor(-1.05))

    def detection(self, out: dict, t: dict) -> dict[str, torch.Tensor]:
        hm = focal_loss(out["hm"], t["hm"], t.get("hm_ignore"))
        wh = reg_l1_loss(out["wh"], t["ind"], t["mask"], t["wh"])
        off = reg_l1_loss(out["reg"], t["ind"], t["mask"], t["reg"])
        det = self.hm_weight * hm + self.wh_weight * wh + self.off_weight * off
        return {"hm": hm, "wh": wh, "off": off, "det": det}

    def forward(self, out: dict, t_a: dict, t_b: dict) -> dict[str, torch.Tensor]:
        """``out`` holds the heads of the 2B images [frames A; frames B]; returns the loss terms."""
        t = {k: torch.cat([t_a[k], t_b[k]]) for k in t_a}
        parts = self.detection(out, t)
        b = t_a["ind"].shape[0]
        sot = sot_loss(out["id"][:b], out["id"][b:], t_a, t_b, self.sot_lambda, self.sot_form)
        sot = self.sot_weight * sot
        if self.uncertainty:
            total = 0.5 * (
                torch.exp(-self.s_det) * parts["det"] + torch.exp(-self.s_sot) * sot + self.s_det + self.s_sot
            )
        else:
            total = parts["det"] + sot
        parts.update(sot=sot, loss=total)
        return parts
