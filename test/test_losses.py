"""Losses: focal (with ignore), L1 regression, the ridge SOT loss, and the uncertainty weighting."""

import math

import torch
import torch.nn.functional as F

from sotmot_ros.sot import ridge_fit, ridge_score
from sotmot_ros.train.losses import SOTMOTLoss, focal_loss, reg_l1_loss, sot_loss, sot_pair_loss


def _heatmap():
    hm = torch.zeros(1, 1, 8, 8)
    hm[0, 0, 3, 3] = 1.0
    hm[0, 0, 3, 4] = 0.6
    return hm


def test_focal_loss_prefers_the_right_map_and_honours_ignore():
    target = _heatmap()
    good = torch.where(target == 1, torch.tensor(6.0), torch.tensor(-6.0))
    bad = -good
    assert focal_loss(good, target) < 0.1 < focal_loss(bad, target)
    # a confident false positive inside an ignore region costs nothing
    fp = good.clone()
    fp[0, 0, 6, 6] = 8.0
    ignore = torch.zeros(1, 1, 8, 8, dtype=torch.bool)
    ignore[0, 0, 5:8, 5:8] = True
    assert focal_loss(fp, target) > focal_loss(good, target) + 1.0
    assert torch.isclose(focal_loss(fp, target, ignore), focal_loss(good, target, ignore))


def test_reg_l1_at_indices():
    maps = torch.zeros(1, 2, 4, 5)
    maps[0, :, 2, 3] = torch.tensor([1.0, 2.0])
    ind = torch.tensor([[2 * 5 + 3, 0]])
    mask = torch.tensor([[1.0, 0.0]])
    target = torch.tensor([[[1.5, 1.0], [9.0, 9.0]]])
    assert math.isclose(float(reg_l1_loss(maps, ind, mask, target)), (0.5 + 1.0) / 2, rel_tol=1e-3)


def _pair_targets(ids_a, ids_b, w=6):
    def t(ids):
        k = 6
        ind = torch.zeros(1, k, dtype=torch.long)
        ind[0, : len(ids)] = torch.arange(len(ids))
        mask = torch.zeros(1, k)
        mask[0, : len(ids)] = 1
        tid = torch.full((1, k), -1, dtype=torch.long)
        tid[0, : len(ids)] = torch.tensor(ids)
        return {"ind": ind, "mask": mask, "ids": tid}

    return t(ids_a), t(ids_b)


def test_sot_loss_separated_lower_than_collapsed():
    d = 16
    t_a, t_b = _pair_targets([1, 2, 3, 4], [2, 1, 4, 9])
    emb = torch.eye(d)[:10]  # id k -> basis vector k (orthogonal identities)
    sep_a = torch.zeros(1, d, 1, 6)
    sep_b = torch.zeros(1, d, 1, 6)
    for i, k in enumerate([1, 2, 3, 4]):
        sep_a[0, :, 0, i] = emb[k]
    for i, k in enumerate([2, 1, 4, 9]):
        sep_b[0, :, 0, i] = emb[k]
    collapsed = torch.ones(1, d, 1, 6)
    sep = sot_loss(sep_a, sep_b, t_a, t_b, lam=0.1)
    col = sot_loss(collapsed, collapsed, t_a, t_b, lam=0.1)
    assert sep < 0.1 < col
    assert sot_loss(sep_a, sep_b, t_a, t_b, lam=0.1, form="ce") < sot_loss(collapsed, collapsed, t_a, t_b, 0.1, "ce")


def test_sot_pair_loss_uses_the_project_ridge_solver():
    g = torch.Generator().manual_seed(0)
    fa = F.normalize(torch.randn(2, 5, 16, generator=g), dim=-1)
    fb = F.normalize(torch.randn(2, 5, 16, generator=g), dim=-1)
    mask = torch.tensor([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]], dtype=torch.bool)
    ids = torch.tensor([[1, 2, 3, -1, -1], [1, 2, 3, 4, 5]])
    s = ridge_score(ridge_fit(fa, 0.5, mask=mask), fb)
    y = (ids.unsqueeze(2) == ids.unsqueeze(1)).float()
    valid = (mask.unsqueeze(2) & mask.unsqueeze(1)).float()
    expect = (((s - y) ** 2) * valid).sum() / mask.sum()
    got = sot_pair_loss(fa, mask, ids, fb, mask, ids, 0.5)
    assert torch.isclose(got, expect)


def test_sot_loss_alone_trains_a_separating_embedding():
    torch.manual_seed(0)
    num_ids, d = 12, 16
    table = torch.nn.Parameter(torch.randn(num_ids, d) * 0.01 + 1.0)  # start nearly collapsed
    opt = torch.optim.Adam([table], lr=0.05)
    gen = torch.Generator().manual_seed(1)

    def batch():
        ids_a = torch.stack([torch.randperm(num_ids, generator=gen)[:6] for _ in range(4)])
        ids_b = ids_a[:, torch.randperm(6, generator=gen)].clone()
        ids_b[:, 0] = (ids_b[:, 0] + 6) % num_ids  # some targets have no partner
        noise = lambda: 0.05 * torch.randn(4, 6, d, generator=gen)  # noqa: E731
        fa, fb = F.normalize(table[ids_a] + noise(), dim=-1), F.normalize(table[ids_b] + noise(), dim=-1)
        m = torch.ones(4, 6, dtype=torch.bool)
        return fa, m, ids_a, fb, m, ids_b

    with torch.no_grad():
        first = float(sot_pair_loss(*batch(), lam=0.1))
    for _ in range(150):
        loss = sot_pair_loss(*batch(), lam=0.1)
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        last = sum(float(sot_pair_loss(*batch(), lam=0.1)) for _ in range(5)) / 5
    assert last < 0.3 * first
    e = F.normalize(table.detach(), dim=-1)
    cos = e @ e.T
    off = cos[~torch.eye(num_ids, dtype=torch.bool)]
    assert float(off.max()) < 0.6


def test_uncertainty_weighting_formula():
    crit = SOTMOTLoss(sot_lambda=0.1)
    assert math.isclose(float(crit.s_det.detach()), -1.85, rel_tol=1e-6) and math.isclose(float(crit.s_sot.detach()), -1.05, rel_tol=1e-6)
    h, w, k = 8, 8, 4
    out = {"hm": torch.zeros(2, 1, h, w), "wh": torch.zeros(2, 4, h, w), "reg": torch.zeros(2, 2, h, w),
           "id": torch.randn(2, 8, h, w)}

    def targ(ids):
        hm = torch.zeros(1, 1, h, w)
        hm[0, 0, 2, 2] = 1
        return {"hm": hm, "wh": torch.ones(1, k, 4), "reg": torch.zeros(1, k, 2), "ind": torch.tensor([[18, 0, 0, 0]]),
                "mask": torch.tensor([[1.0, 0, 0, 0]]), "ids": torch.tensor([ids + [-1] * 3]),
                "hm_ignore": torch.zeros(1, 1, h, w, dtype=torch.bool)}

    parts = crit(out, targ([3]), targ([3]))
    expect = 0.5 * (math.exp(1.85) * parts["det"] + math.exp(1.05) * parts["sot"] - 1.85 - 1.05)
    assert math.isclose(float(parts["loss"].detach()), float(expect.detach()), rel_tol=1e-5)
    parts["loss"].backward()
    assert crit.s_det.grad is not None and crit.s_sot.grad is not None


def test_a_training_step_with_the_heads_at_the_targets_gives_the_dense_maps_losses_and_gradients():
    """Training computes the box, offset and SOT heads only at the targets' centres (SOTMOTNet.forward(x, centres=)):
    the same loss terms and the same gradient on every parameter as with the dense head maps."""
    from sotmot_ros.model.config import ModelConfig
    from sotmot_ros.model.network import SOTMOTNet

    torch.manual_seed(0)
    model = SOTMOTNet(ModelConfig(backbone="yolox_nano", input_width=128, input_height=96, sot_dim=16), False)
    for name in ("hm", "wh", "reg", "id"):  # trained-like head scale (make_head starts near zero)
        for m in getattr(model, name).modules():
            if isinstance(m, torch.nn.Conv2d):
                m.reset_parameters()
    imgs = torch.rand(4, 3, 96, 128)
    h, w, k = 24, 32, 5

    def targ(seed):
        g = torch.Generator().manual_seed(seed)
        ind = torch.randint(0, h * w, (2, k), generator=g)
        ind[:, 0] = torch.tensor([0, h * w - 1])  # cells at the map's corners (the heads' zero padding)
        hm = torch.zeros(2, 1, h, w)
        hm.view(2, -1).scatter_(1, ind, 1.0)
        return {"hm": hm, "wh": torch.rand(2, k, 4, generator=g) * 5, "reg": torch.rand(2, k, 2, generator=g),
                "ind": ind, "mask": torch.tensor([[1.0, 1, 1, 1, 0], [1, 1, 1, 0, 0]]),
                "ids": torch.tensor([[1, 2, 3, 4, -1], [5, 6, 7, -1, -1]]), "hm_ignore": torch.zeros(2, 1, h, w, dtype=torch.bool)}

    t_a, t_b = targ(1), targ(2)
    crit = SOTMOTLoss(sot_lambda=0.1)
    results = []
    for centres in (None, torch.cat([t_a["ind"], t_b["ind"]])):
        model.zero_grad()
        out = model(imgs) if centres is None else model(imgs, centres=centres)
        if centres is not None:
            assert out["hm"].shape == (4, 1, h, w) and out["wh"].shape == (4, k, 4) and out["id"].shape == (4, k, 16)
        parts = crit(out, t_a, t_b)
        parts["loss"].backward()
        grads = {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}
        results.append(({n: float(v.detach()) for n, v in parts.items()}, grads))
    (dense, dense_grads), (sparse, sparse_grads) = results
    for name in ("hm", "wh", "off", "sot", "loss"):
        assert math.isclose(dense[name], sparse[name], rel_tol=1e-4, abs_tol=1e-6), name
    assert set(dense_grads) == set(sparse_grads) and len(dense_grads) > 20
    for n in dense_grads:
        torch.testing.assert_close(sparse_grads[n], dense_grads[n], rtol=1e-3, atol=1e-6, msg=n)
