"""The CUDA path: skipped without a GPU; run it on a GPU machine (`pytest tests/test_gpu.py`)."""

import pytest
import torch

import snnlab
from snnlab import functional as F
from snnlab import surrogate as S

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


@pytest.mark.parametrize("mode,detach", [("subtract", True), ("subtract", False),
                                         ("zero", True), ("zero", False)])
def test_fused_lif_cuda_equals_cpu(mode, detach):
    torch.manual_seed(0)
    cur = torch.randn(20, 8, 33, dtype=torch.float64)
    beta = torch.full((33,), 0.8, dtype=torch.float64)
    w = torch.randn_like(cur)
    out = {}
    for dev in ("cpu", "cuda"):
        c = cur.to(dev).requires_grad_()
        b = beta.to(dev).requires_grad_()
        s, u = F.lif_sequence(c, beta=b, reset_mode=mode, detach_reset=detach,
                              surrogate=S.ATan())
        grads = torch.autograd.grad((s * w.to(dev)).sum(), (c, b))
        out[dev] = [t.cpu() for t in (s, u, *grads)]
    for a, b in zip(out["cpu"], out["cuda"]):
        torch.testing.assert_close(a, b, atol=1e-9, rtol=1e-9)


@pytest.mark.parametrize("rule", ["bptt"])
def test_train_on_cuda(rule):
    data = snnlab.load("digits")
    torch.manual_seed(0)
    net = snnlab.models.mlp(64, [64], 10)
    hist = snnlab.train(net, data, rule, T=4, epochs=2, progress=False, device="cuda")
    assert next(net.parameters()).is_cuda
    assert hist.test_acc > 0.7


def test_every_rule_runs_a_step_on_cuda():
    data = snnlab.load("digits")
    for name in snnlab.rules.available():
        torch.manual_seed(0)
        net = snnlab.models.mlp(64, [32], 10)
        hist = snnlab.train(net, data, name, epochs=1, progress=False, device="cuda")
        assert hist.records, name
