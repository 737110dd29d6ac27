"""Distillation rules ``kd``, ``akl`` and ``hta_kl``: divergences against a transcription of
eqs. (3)-(5), head masks, weights, gradients, and the paper's low-T claim as measured."""

import math

import pytest
import torch
import torch.nn.functional as F

from snnlab import rules
from snnlab.rules.kd import (
    AKL,
    HTAKL,
    KD,
    akl_divergence,
    forward_kl,
    head_mask,
    hta_kl_divergence,
    hta_weights,
    reverse_kl,
    soft_targets,
)


def _logits(seed, b=6, c=10, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(b, c, generator=g, dtype=dtype) * 2


def test_registered():
    assert {"kd", "akl", "hta_kl"} <= set(rules.available())
    assert isinstance(rules.get("hta_kl", mu=0.7), HTAKL)
    assert isinstance(rules.get("akl"), AKL) and not rules.get("akl").crossing
    assert rules.get("hta_kl").crossing


def test_forward_kl_matches_torch_kl_div():
    z, o = _logits(0), _logits(1)
    ours = forward_kl(z, o, tau=3.0).mean()
    ref = F.kl_div(F.log_softmax(o / 3, -1), F.softmax(z / 3, -1), reduction="batchmean")
    torch.testing.assert_close(ours, ref)
    torch.testing.assert_close(reverse_kl(z, o, 2.0), forward_kl(o, z, 2.0))


def test_head_mask_is_smallest_prefix_reaching_mu():
    p = torch.tensor([[0.1, 0.5, 0.05, 0.35], [0.25, 0.25, 0.25, 0.25]])
    m = head_mask(p, 0.6)
    # row 0: 0.5 < 0.6 so the second-ranked class (0.35) joins; then 0.85 >= 0.6 stops
    assert m[0].tolist() == [False, True, False, True]
    assert m[1].sum() == 3  # 0.25, 0.5 < 0.6, 0.75 >= 0.6
    assert head_mask(p, 1.0).all()
    assert head_mask(p, 1e-6).sum(-1).tolist() == [1, 1]  # the top class is always head


def test_weights_sum_to_one_and_follow_the_gaps():
    z, o = _logits(2), _logits(3)
    p, q = soft_targets(z, 2.0), soft_targets(o, 2.0)
    m = head_mask(p, 0.5)
    wh, wt = hta_weights(p, q, m)
    torch.testing.assert_close(wh + wt, torch.ones_like(wh))
    assert ((wh >= 0) & (wt >= 0)).all()
    gap = (p - q).abs()
    torch.testing.assert_close(wt, (gap * ~m).sum(-1) / gap.sum(-1))
    wh0, wt0 = hta_weights(p, p, m)  # no gap: all weight on the (zero) forward KL
    assert torch.all(wt0 == 0) and torch.all(wh0 == 1)


def _transcription(z, o, tau, mu, crossing):
    """Eqs. (1), (3)-(5) transcribed with plain Python floats and explicit loops over samples and
    classes: rank the classes by teacher probability, walk down the ranking accumulating mass,
    mark each class head or tail *by its own index* (the scatter back to class order), then the
    gaps, the weights and both KLs."""
    out = []
    for b in range(z.shape[0]):
        zs = [float(v) / tau for v in z[b]]
        os_ = [float(v) / tau for v in o[b]]
        C = len(zs)
        ez = [math.exp(v - max(zs)) for v in zs]
        eo = [math.exp(v - max(os_)) for v in os_]
        p = [v / sum(ez) for v in ez]
        q = [v / sum(eo) for v in eo]
        ranked = sorted(range(C), key=lambda i: -p[i])
        head = [False] * C
        above = 0.0
        for rank, i in enumerate(ranked):
            if mu >= 1.0:
                head[i] = True
            elif crossing:
                head[i] = above < mu  # mass held by higher-ranked classes
            else:
                head[i] = rank == 0 or above + p[i] <= mu  # Wu et al.: cumsum <= mu
            above += p[i]
        g_h = sum(abs(p[i] - q[i]) for i in range(C) if head[i])
        g_t = sum(abs(p[i] - q[i]) for i in range(C) if not head[i])
        w_h, w_t = (1.0, 0.0) if g_h + g_t == 0 else (g_h / (g_h + g_t), g_t / (g_h + g_t))
        fkl = sum(p[i] * (math.log(p[i]) - math.log(q[i])) for i in range(C))
        rkl = sum(q[i] * (math.log(q[i]) - math.log(p[i])) for i in range(C))
        out.append(w_h * fkl + w_t * rkl)
    return torch.tensor(out, dtype=torch.float64)


@pytest.mark.parametrize("crossing", [True, False])
def test_divergence_equals_the_transcription(crossing):
    for seed, (tau, mu) in enumerate([(1.0, 0.5), (2.0, 0.3), (4.0, 0.9), (1.5, 1.0),
                                      (0.7, 1e-3), (3.0, 0.62)]):
        z, o = _logits(30 + seed, b=5, c=7), _logits(40 + seed, b=5, c=7)
        got = akl_divergence(z, o, tau=tau, mu=mu, crossing=crossing)
        torch.testing.assert_close(got, _transcription(z, o, tau, mu, crossing))
    # the two mask conventions differ exactly in the class that crosses mu
    p = torch.tensor([[0.4, 0.1, 0.3, 0.2]], dtype=torch.float64)
    assert head_mask(p, 0.5, crossing=True).tolist() == [[True, False, True, False]]
    assert head_mask(p, 0.5, crossing=False).tolist() == [[True, False, False, False]]
    assert head_mask(p, 0.05, crossing=False).tolist() == [[True, False, False, False]]


def test_edge_cases():
    z = _logits(50, b=4, c=6)
    for crossing in (True, False):
        d, parts = akl_divergence(z, z.clone(), tau=2.0, mu=0.5, crossing=crossing,
                                  return_parts=True)
        assert torch.all(d.abs() < 1e-12)  # student = teacher: zero loss, weights (1, 0)
        assert torch.all(parts["w_head"] == 1) and torch.all(parts["w_tail"] == 0)
    # a near one-hot teacher: the head is its top class alone under both conventions
    peaked = torch.tensor([[12.0, 0.0, 0.0, 0.0]], dtype=torch.float64)
    for crossing in (True, False):
        assert head_mask(soft_targets(peaked, 1.0), 0.5, crossing).sum() == 1
    torch.testing.assert_close(akl_divergence(z, _logits(51, b=4, c=6), mu=1.0),
                               forward_kl(z, _logits(51, b=4, c=6)))


def test_mu_one_reduces_to_forward_kl():
    z, o = _logits(4), _logits(5)
    torch.testing.assert_close(hta_kl_divergence(z, o, tau=2.0, mu=1.0), forward_kl(z, o, 2.0))


def test_loss_invariant_to_class_permutation():
    z, o = _logits(6, c=12), _logits(7, c=12)
    perm = torch.randperm(12, generator=torch.Generator().manual_seed(0))
    for mu in (0.3, 0.5, 0.9):
        a = hta_kl_divergence(z, o, tau=1.5, mu=mu)
        b = hta_kl_divergence(z[:, perm], o[:, perm], tau=1.5, mu=mu)
        torch.testing.assert_close(a, b)


def test_mask_left_in_sorted_order_would_break_permutation_invariance():
    """The bug the scatter prevents: a sorted-order mask applied to unsorted gaps."""
    z, o = _logits(8, c=12), _logits(9, c=12)
    p, q = soft_targets(z, 1.0), soft_targets(o, 1.0)
    p_sorted, _ = p.sort(-1, descending=True)
    wrong = (p_sorted.cumsum(-1) - p_sorted) < 0.5
    right = head_mask(p, 0.5)
    assert not torch.equal(hta_weights(p, q, wrong)[1], hta_weights(p, q, right)[1])


def test_gradcheck_double():
    """Full gradient (weights differentiated too) against finite differences."""
    z = _logits(10, b=3, c=5)
    o = _logits(11, b=3, c=5).requires_grad_(True)
    for crossing in (True, False):
        def f(o_, crossing=crossing):
            return akl_divergence(z, o_, tau=2.0, mu=0.5, crossing=crossing,
                                  detach_weights=False).sum()
        assert torch.autograd.gradcheck(f, (o,))


def test_detached_weights_gradient_is_that_of_the_fixed_mix():
    """Default: weights are constants, so the gradient is w_H dFKL + w_T dRKL, checked by
    finite differences of that fixed mixture."""
    z = _logits(14, b=3, c=5)
    o = _logits(15, b=3, c=5).requires_grad_(True)
    _, parts = hta_kl_divergence(z, o, tau=2.0, mu=0.5, return_parts=True)
    wh, wt = parts["w_head"].detach(), parts["w_tail"].detach()
    fixed = lambda o_: (wh * forward_kl(z, o_, 2.0) + wt * reverse_kl(z, o_, 2.0)).sum()  # noqa: E731
    assert torch.autograd.gradcheck(fixed, (o,))
    g_rule, = torch.autograd.grad(hta_kl_divergence(z, o, tau=2.0, mu=0.5).sum(), o)
    g_fixed, = torch.autograd.grad(fixed(o), o)
    torch.testing.assert_close(g_rule, g_fixed)


def test_kd_gradient_closed_form():
    """d/dō of tau^2 KL(p||q) = tau (q - p) per sample (Hinton's tau^2 argument)."""
    z, o = _logits(12), _logits(13).requires_grad_(True)
    (4.0 ** 2 * forward_kl(z, o, 4.0)).sum().backward()
    torch.testing.assert_close(o.grad, 4.0 * (soft_targets(o, 4.0) - soft_targets(z, 4.0)))


class _Fixed(torch.nn.Module):
    """A fixed linear 'teacher' for rule-level tests."""

    def __init__(self, n_in, n_out):
        super().__init__()
        self.lin = torch.nn.Linear(n_in, n_out)

    def forward(self, x):
        return self.lin(x)


def test_rule_loss_and_mu_one_equals_kd():
    from snnlab.models import mlp

    torch.manual_seed(0)
    model = mlp(8, [16], 4)
    teacher = _Fixed(8, 4)
    x = torch.rand(3, 5, 8)
    y = torch.tensor([0, 1, 2, 3, 0])
    kd = KD(teacher=teacher, tau=2.0, alpha=0.7)
    hta = HTAKL(teacher=teacher, tau=2.0, alpha=0.7, mu=1.0)
    torch.testing.assert_close(kd.loss(model, x, y), hta.loss(model, x, y))
    akl = AKL(teacher=teacher, tau=2.0, alpha=0.7, mu=1.0)
    torch.testing.assert_close(kd.loss(model, x, y), akl.loss(model, x, y))
    # alpha = 0 is plain cross-entropy
    ce = F.cross_entropy(model(x), y)
    torch.testing.assert_close(KD(teacher=teacher, alpha=0.0).loss(model, x, y), ce)
    # the teacher sees the time average of the encoded batch
    torch.testing.assert_close(kd.teacher_logits(x), teacher(x.mean(0)))
    g = hta.gradients(model, x, y)
    assert all(torch.isfinite(v).all() for v in g.values())
    assert not any(p.grad is not None for p in teacher.parameters())


def test_bad_arguments():
    with pytest.raises(ValueError, match="tau"):
        KD(tau=0.0)
    with pytest.raises(ValueError, match="alpha"):
        KD(alpha=1.5)
    with pytest.raises(ValueError, match="mu"):
        HTAKL(mu=0.0)
    with pytest.raises(ValueError, match="mu"):
        head_mask(torch.rand(2, 3), 1.2)
    with pytest.raises(TypeError, match="teacher"):
        KD(teacher="resnet")
    with pytest.raises(RuntimeError, match="teacher"):
        from snnlab.models import mlp

        KD().loss(mlp(4, [4], 2), torch.rand(2, 3, 4), torch.tensor([0, 1, 0]))


def test_teacher_sharing_student_weights_is_refused():
    from snnlab.data import load
    from snnlab.models import mlp

    data = load("digits")
    model = mlp(64, [16], 10)
    rule = KD(teacher=model.ann_twin())
    with pytest.raises(ValueError, match="shares parameters"):
        rule.setup(model, data, T=2, encoding="direct", seed=0)


def test_students_beat_ce_only_at_low_T():
    """Calibrated on MNIST-1D, T=1, 10 epochs, student mlp(40, [128], 10), teacher a 256-256
    ReLU ANN (20 epochs, test acc 0.444). Seeds 0-4, mean test accuracy: CE-only 0.300,
    kd 0.328, hta_kl 0.336.

    The test used to run seeds 0-1 only; on another CPU (Intel Xeon instead of AMD EPYC: the
    int8 spike synapse and BLAS round differently, so training trajectories differ) hta_kl's
    two-seed margin came out at 1.45 points, under the 1.5 asserted. It now runs the five seeds
    the calibration was made on; measured there (Intel): CE 0.312, kd 0.343, hta_kl 0.335,
    paired margins kd +3.1 (every seed positive), hta_kl +2.3 (4 of 5 seeds positive).

    The same runs carry the paper's claim at T=1 ("HTA-KL beats KD with fewer time steps"),
    paired by seed. Measured (AMD EPYC and Intel alike): kd 0.368 0.330 0.343 0.353 0.321,
    hta_kl 0.343 0.329 0.333 0.337 0.333 - paired -0.8 points, 1 of 5 seeds up (akl, Wu et al.'s
    mask: 0.322, -2.1, 0 of 5). At T=1 the claim does not hold here, and the test says so."""
    from snnlab import models, train
    from snnlab.data import load
    from snnlab.teacher import train_teacher

    data = load("mnist1d")
    teacher = train_teacher(data, hidden=(256, 256), activation="relu", epochs=20, seed=0)
    assert teacher.test_acc > 0.4
    mean = {}
    for rule in ("bptt", "kd", "hta_kl"):
        kw = {} if rule == "bptt" else dict(teacher=teacher)
        accs = []
        for seed in range(5):
            torch.manual_seed(seed)
            net = models.mlp(40, [128], 10)
            accs.append(train(net, data, rule, T=1, epochs=10, seed=seed, progress=False,
                              **kw).test_acc)
        mean[rule] = sum(accs) / len(accs)
    # a 1.5-point margin of the five-seed mean (CE's seed spread here is about 2 points per run,
    # so under 1 point for a five-seed mean)
    assert mean["kd"] > mean["bptt"] + 0.015, mean
    assert mean["hta_kl"] > mean["bptt"] + 0.015, mean
    # measured truth, not the claim: at T=1 hta_kl does not beat kd (paired mean -0.8 points)
    assert mean["hta_kl"] < mean["kd"] + 0.005, mean


@pytest.mark.slow
def test_hta_kl_versus_kd_at_low_T():
    """The paper's claim, paired by seed, at T=2 (same student, teacher and budget as above,
    seeds 0-2). Measured, five seeds (mean test accuracy; paired hta_kl - kd):

      T=1  kd 0.343  hta_kl 0.335  (-0.8, 1/5 seeds up)   akl 0.322 (-2.1, 0/5)
      T=2  kd 0.332  hta_kl 0.346  (+1.3, 4/5 seeds up)   akl 0.341 (+0.9, 3/5)
      T=4  kd 0.289  hta_kl 0.283  (-0.6, 3/5 seeds up)   akl 0.285 (-0.5, 3/5)

    Seeds 0-2 at T=2: kd 0.338 0.346 0.324, hta_kl 0.363 0.357 0.346 (+1.9). So "HTA-KL >= KD at
    low T" holds at T=2 and fails at T=1 (previous test) on MNIST-1D; each test asserts what
    was measured at its T."""
    from snnlab import models, train
    from snnlab.data import load
    from snnlab.teacher import train_teacher

    data = load("mnist1d")
    teacher = train_teacher(data, hidden=(256, 256), activation="relu", epochs=20, seed=0)
    acc = {}
    for rule in ("kd", "hta_kl"):
        acc[rule] = []
        for seed in range(3):
            torch.manual_seed(seed)
            net = models.mlp(40, [128], 10)
            acc[rule].append(train(net, data, rule, T=2, epochs=10, seed=seed, progress=False,
                                   teacher=teacher).test_acc)
    diff = [h - k for h, k in zip(acc["hta_kl"], acc["kd"])]
    assert sum(diff) / len(diff) > 0.005, acc


def test_setup_trains_a_teacher_when_none_given():
    from snnlab import models, train
    from snnlab.data import load

    data = load("digits")
    torch.manual_seed(0)
    rule = KD(teacher_epochs=2)
    h = train(models.mlp(64, [32], 10), data, rule, T=2, epochs=1, seed=0, progress=False)
    assert rule.teacher is not None and rule.teacher.test_acc > 0.5
    assert h.test_acc > 0.2


def test_head_tail_widget_plot_and_checkers(capsys):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from snnlab import exercises, plot, widgets

    z, o = _logits(20, dtype=torch.float32), _logits(21, dtype=torch.float32)
    r = widgets.simulate_head_tail(z, o, mu=0.6, tau=2.0, sample=1)
    assert r["w_head"] + r["w_tail"] == pytest.approx(1.0)
    assert r["n_head"] == int(head_mask(soft_targets(z[1:2], 2.0), 0.6).sum())
    plot.head_tail(r)
    plt.close("all")
    with pytest.raises(ValueError, match="sample"):
        widgets.simulate_head_tail(z, o, sample=99)
    assert exercises.check_head_mask(head_mask)
    assert exercises.check_hta_weights(hta_weights)

    def sorted_order_mask(p, mu):
        ps, _ = p.sort(-1, descending=True)
        return (ps.cumsum(-1) - ps) < mu

    assert not exercises.check_head_mask(sorted_order_mask)
    assert "sorted order" in capsys.readouterr().out
    assert not exercises.check_hta_weights(lambda p, q, m: (_ for _ in ()).throw(
        NotImplementedError()))
