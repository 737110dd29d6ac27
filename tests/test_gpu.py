"""The CUDA path. Skipped without a GPU; ``SNNLAB_TEST_DEVICE=cuda pytest tests/test_gpu.py`` on a
GPU machine runs it (and, with that variable, refuses to run without a GPU: see conftest.py).

* the fused LIF loop on CUDA equals the CPU (float64 ops path; float32 Triton path vs the C loop)
  and the unrolled reference;
* the Triton kernels equal the PyTorch-ops path on CUDA (``SNNLAB_NO_TRITON=1``): forward spikes
  exactly, membranes and gradients within 1e-5 relative (:func:`triton_report` prints which
  cases are bit-identical);
* networks (mlp, convnet, zoo.vgg) give the same logits and gradients on CPU and CUDA;
* every registered rule takes a training step on CUDA with results close to the CPU's;
* a short ``snnlab.train`` on digits reaches the usual accuracy; checkpoints written on the GPU
  load on the CPU.
"""

from __future__ import annotations

import os

import pytest
import torch
from torch.utils.data import TensorDataset

import snnlab
from snnlab import functional as F
from snnlab import surrogate as S
from snnlab import zoo
from snnlab.train import build_model

CUDA_ASKED = os.environ.get("SNNLAB_TEST_DEVICE", "").strip().lower() == "cuda"
pytestmark = pytest.mark.skipif(not torch.cuda.is_available() and not CUDA_ASKED,
                                reason="needs a CUDA GPU (SNNLAB_TEST_DEVICE=cuda to insist)")
DEV = "cuda"
CASES = [(sg, mode, detach) for sg in S.available() for mode in F.RESETS
         for detach in (True, False)]


@pytest.fixture(autouse=True)
def _exact_matmuls():
    """No TF32 in CPU-vs-GPU comparisons (cuDNN convolutions use it by default)."""
    old = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
    yield
    torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = old


def _run_lif(cur, v0, w, *, path, mode, detach, sg, beta=0.85, monkeypatch=None):
    """(spikes, membrane, grad current, grad v0) of one fused LIF call on ``cur``'s device."""
    c = cur.detach().clone().requires_grad_()
    v = None if v0 is None else v0.detach().clone().requires_grad_()
    kw = dict(beta=beta, reset_mode=mode, detach_reset=detach, surrogate=sg, v0=v)
    if path == "reference":
        s, u = F.lif_sequence_reference(c, **kw)
    else:
        old = os.environ.pop("SNNLAB_NO_TRITON", None)
        if path == "ops":
            os.environ["SNNLAB_NO_TRITON"] = "1"
        try:
            s, u = F.lif_sequence(c, **kw)
        finally:
            os.environ.pop("SNNLAB_NO_TRITON", None)
            if old is not None:
                os.environ["SNNLAB_NO_TRITON"] = old
        name = type(s.grad_fn).__name__
        if c.is_cuda and c.dtype == torch.float32:
            want = "_TritonLIF" if path == "triton" else "_LIFSequence"
            assert name.startswith(want), f"{path} path ran {name}"
    grads = torch.autograd.grad((s * w).sum(), [c] if v is None else [c, v])
    return [s.detach(), u.detach(), *grads]


def _inputs(seed, shape=(12, 16, 1000), stride0=False, with_v0=True, device=DEV):
    g = torch.Generator().manual_seed(seed)
    if stride0:
        cur = (0.6 * torch.randn(shape[1:], generator=g) + 0.35).expand(shape)
    else:
        cur = 1.2 * torch.randn(shape, generator=g)
    v0 = torch.randn(shape[1:], generator=g) if with_v0 else None
    w = torch.randn(shape, generator=g)
    return tuple(None if t is None else t.to(device) for t in (cur, v0, w))


def _close(a, b, rtol=1e-5):
    scale = max(1.0, float(a.detach().abs().max())) if a.numel() else 1.0
    torch.testing.assert_close(b, a, rtol=rtol, atol=rtol * scale)


# ----------------------------------------------------------------------------- the LIF loop
@pytest.mark.parametrize("mode,detach", [("subtract", True), ("subtract", False),
                                         ("zero", True), ("zero", False)])
def test_fused_lif_cuda_equals_cpu(mode, detach):
    torch.manual_seed(0)
    cur = torch.randn(20, 8, 33, dtype=torch.float64)
    beta = torch.full((33,), 0.8, dtype=torch.float64)
    w = torch.randn_like(cur)
    out = {}
    for dev in ("cpu", DEV):
        c = cur.to(dev).requires_grad_()
        b = beta.to(dev).requires_grad_()
        s, u = F.lif_sequence(c, beta=b, reset_mode=mode, detach_reset=detach,
                              surrogate=S.ATan())
        grads = torch.autograd.grad((s * w.to(dev)).sum(), (c, b))
        out[dev] = [t.cpu() for t in (s, u, *grads)]
    for a, b in zip(out["cpu"], out[DEV]):
        torch.testing.assert_close(a, b, atol=1e-9, rtol=1e-9)


@pytest.mark.parametrize("sg,mode,detach", CASES)
def test_triton_equals_ops_path_on_cuda(sg, mode, detach):
    surr = S.get(sg)
    for i, stride0 in enumerate((False, True)):
        cur, v0, w = _inputs(i, stride0=stride0)
        ops = _run_lif(cur, v0, w, path="ops", mode=mode, detach=detach, sg=surr)
        tri = _run_lif(cur, v0, w, path="triton", mode=mode, detach=detach, sg=surr)
        assert ops[0].sum() > 0
        assert torch.equal(ops[0], tri[0]), "spikes differ"
        for a, b in zip(ops[1:], tri[1:]):
            _close(a, b)


@pytest.mark.parametrize("sg,mode,detach", CASES)
def test_triton_equals_unrolled_reference_and_cpu(sg, mode, detach):
    surr = S.get(sg)
    cur, v0, w = _inputs(7, shape=(9, 4, 257))
    tri = _run_lif(cur, v0, w, path="triton", mode=mode, detach=detach, sg=surr)
    ref = _run_lif(cur, v0, w, path="reference", mode=mode, detach=detach, sg=surr)
    cpu = _run_lif(cur.cpu(), v0.cpu(), w.cpu(), path="ops", mode=mode, detach=detach, sg=surr)
    for other in (ref, [t.to(DEV) for t in cpu]):
        assert torch.equal(tri[0], other[0]), "spikes differ"
        for a, b in zip(other[1:], tri[1:]):
            _close(a, b)


def test_triton_edge_shapes_and_no_grad():
    surr = S.FastSigmoid()
    for shape in [(1, 3), (5, 1), (3, 2, 513), (2, 0, 4)]:
        cur = torch.randn(shape, device=DEV) + 0.8
        s, u = F.lif_sequence(cur, beta=0.9, surrogate=surr)
        s2, u2 = F.lif_sequence_reference(cur, beta=0.9, surrogate=surr)
        assert s.shape == u.shape == cur.shape
        assert torch.equal(s, s2)
        _close(u2, u)
    # a non-contiguous input (transposed steps) is copied, not misread
    cur = torch.randn(6, 40, 30, device=DEV).transpose(1, 2) + 0.8
    assert torch.equal(F.lif_sequence(cur, beta=0.9, surrogate=surr)[0],
                       F.lif_sequence_reference(cur, beta=0.9, surrogate=surr)[0])


def test_dispatch_falls_back_on_cuda():
    from snnlab import _triton_lif

    x = torch.zeros(3, 4, device=DEV)
    assert _triton_lif.usable(x, None, 0.9, S.FastSigmoid(), "subtract")
    assert not _triton_lif.usable(x.double(), None, 0.9, S.FastSigmoid(), "subtract")
    beta_t = torch.full((4,), 0.9, device=DEV, requires_grad=True)
    assert not _triton_lif.usable(x, None, beta_t, S.FastSigmoid(), "subtract")
    # a learnable decay still trains (ops path) on CUDA
    s, _ = F.lif_sequence(x + 1.5, beta=beta_t, surrogate=S.ATan())
    (g,) = torch.autograd.grad(s.sum(), beta_t)
    assert torch.isfinite(g).all()


def triton_report(shape=(16, 64, 2048)):
    """Print, per case, whether Triton equals the ops path on CUDA bit for bit (else the
    largest difference relative to the largest value). Not a test: gpu_check.sh prints it."""
    rows = []
    for sg, mode, detach in CASES:
        cur, v0, w = _inputs(3, shape=shape)
        surr = S.get(sg)
        ops = _run_lif(cur, v0, w, path="ops", mode=mode, detach=detach, sg=surr)
        tri = _run_lif(cur, v0, w, path="triton", mode=mode, detach=detach, sg=surr)
        cells = []
        for a, b in zip(ops, tri):
            if torch.equal(a, b):
                cells.append("exact")
            else:
                d = float((a - b).abs().max() / a.abs().max().clamp_min(1e-30))
                cells.append(f"{d:.1e}")
        rows.append((sg, mode, detach, *cells))
    print(f"{'surrogate':13s} {'reset':9s} {'detach':6s} {'spikes':>7s} {'membrane':>9s} "
          f"{'grad_I':>9s} {'grad_v0':>9s}")
    for r in rows:
        print(f"{r[0]:13s} {r[1]:9s} {r[2]!s:6s} " + " ".join(f"{c:>9s}" for c in r[3:]))
    return rows


# ----------------------------------------------------------------------------- networks
def _grads_on(net, x, y, device):
    net = net.to(device)
    net.zero_grad(set_to_none=True)
    logits = net(x.to(device))
    torch.nn.functional.cross_entropy(logits, y.to(device)).backward()
    return logits.detach().cpu(), {n: p.grad.detach().cpu() for n, p in net.named_parameters()
                                   if p.grad is not None}


@pytest.mark.parametrize("kind", ["mlp", "convnet", "vgg"])
def test_network_forward_backward_cuda_equals_cpu(kind):
    import copy

    torch.manual_seed(0)
    if kind == "mlp":
        net, x = snnlab.models.mlp(64, [128, 64], 10), torch.rand(6, 16, 64)
    elif kind == "convnet":
        net, x = snnlab.models.convnet((1, 12, 12), (8, 16), 10), torch.rand(5, 8, 1, 12, 12)
    else:
        net, x = zoo.vgg("vgg11", (3, 16, 16), 10, width=1 / 16), torch.rand(3, 6, 3, 16, 16)
        net.eval()  # batch norm with fixed statistics: the same function on both devices
    y = torch.randint(0, 10, (x.shape[1],))
    lc, gc = _grads_on(copy.deepcopy(net), x, y, "cpu")
    lg, gg = _grads_on(net, x, y, DEV)
    assert set(gc) == set(gg)
    # float32 sums in another order; a membrane within rounding of the threshold may flip a
    # spike, so compare with a tolerance that such a rare flip in a big net would still pass
    tol = 1e-4 if kind != "vgg" else 1e-2
    _close(lc, lg, rtol=tol)
    for n in gc:
        _close(gc[n], gg[n], rtol=tol)


def _tiny_digits(n_train=64, n_test=128):
    data = snnlab.load("digits")
    xtr, ytr = data.train.tensors
    xte, yte = data.test.tensors
    return type(data)(train=TensorDataset(xtr[:n_train], ytr[:n_train]),
                      test=TensorDataset(xte[:n_test], yte[:n_test]),
                      n_classes=data.n_classes, input_shape=data.input_shape,
                      name=data.name)


def _one_step(name, device):
    """One rule step (one batch of 64 in one epoch) from the same initial weights."""
    data = _tiny_digits()
    rule = snnlab.rules.get(name)
    net = build_model(rule, data, [32], seed=0)  # the network the rule declares
    before = {k: v.detach().clone() for k, v in net.state_dict().items()}
    hist = snnlab.train(net, data, rule, epochs=1, batch_size=64, progress=False,
                        device=device, seed=0)
    after = {k: v.detach().cpu() for k, v in net.state_dict().items()}
    return hist.records[-1], before, after


@pytest.mark.parametrize("name", snnlab.rules.available())
def test_every_rule_takes_a_step_on_cuda_close_to_cpu(name):
    rec_c, before, after_c = _one_step(name, "cpu")
    rec_g, _, after_g = _one_step(name, DEV)
    assert next(iter(after_g.values())).device.type == "cpu"
    # the loss of the one batch is computed before the update: the same forward pass
    assert rec_g["train_loss"] == pytest.approx(rec_c["train_loss"], rel=1e-2, abs=1e-4)
    lr = snnlab.rules.get(name).default_lr
    lr = float(lr() if callable(lr) else lr)
    moved = 0
    for k in after_c:
        if k not in after_g or not after_c[k].is_floating_point() or k not in before:
            continue
        dc, dg = after_c[k] - before[k], after_g[k] - before[k]
        moved += int(dg.abs().sum() > 0)
        # Adam's first step is about lr * sign(gradient): a gradient within rounding of zero
        # may step the other way, so bound the largest and the mean difference
        diff = (dc - dg).abs()
        assert float(diff.max()) <= 2.5 * lr + 1e-6, k
        assert float(diff.mean()) <= 0.1 * lr + 1e-7, k
    assert moved > 0, "no parameter changed on CUDA"
    assert abs(rec_g["test_acc"] - rec_c["test_acc"]) <= 0.1


def test_train_on_cuda():
    data = snnlab.load("digits")
    torch.manual_seed(0)
    net = snnlab.models.mlp(64, [64], 10)
    hist = snnlab.train(net, data, "bptt", T=4, epochs=2, progress=False, device=DEV)
    assert next(net.parameters()).is_cuda
    assert hist.test_acc > 0.7


def test_checkpoint_saved_on_gpu_loads_on_cpu(tmp_path):
    torch.manual_seed(0)
    net = snnlab.models.mlp(64, [32], 10)
    path = tmp_path / "mlp.pt"
    snnlab.train(net, _tiny_digits(), "bptt", T=4, epochs=1, progress=False, device=DEV,
                 checkpoint=path)
    cpu_net, ckpt = snnlab.load_checkpoint(path)
    assert next(cpu_net.parameters()).device.type == "cpu"
    for k, v in net.state_dict().items():
        assert torch.equal(cpu_net.state_dict()[k], v.cpu()), k
    x = torch.rand(4, 3, 64)
    _close(net(x.to(DEV)).cpu(), cpu_net(x), rtol=1e-4)
    # a zoo net saved on the GPU, rebuilt from its config on the CPU
    vnet = zoo.vgg("vgg11", (3, 16, 16), 10, width=1 / 16).to(DEV)
    vpath = snnlab.save_checkpoint(tmp_path / "vgg.pt", vnet)
    rebuilt = zoo.from_config(torch.load(vpath, map_location="cpu",
                                         weights_only=True)["model_config"])
    loaded, _ = snnlab.load_checkpoint(vpath, rebuilt)
    assert next(loaded.parameters()).device.type == "cpu"
    for k, v in vnet.state_dict().items():
        assert torch.equal(loaded.state_dict()[k], v.cpu()), k
