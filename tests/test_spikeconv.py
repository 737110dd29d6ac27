"""Conv + average pool as one strided conv (snnlab.spikeconv) against the two modules."""

import pytest
import torch
from torch import nn
from torch.nn.utils import parametrize

import snnlab
from snnlab.spikeconv import ConvPool, conv_avgpool, fusable


def _pair(conv, pool):
    """The fused module and the plain Sequential reference, same weights."""
    torch.manual_seed(0)
    ref = nn.Sequential(conv, pool).double()
    fused = ConvPool(conv, pool).double()
    return fused, ref


@pytest.mark.parametrize("k, p, size, groups, bias", [
    (3, 2, (28, 28), 1, True),
    (3, 2, (7, 9), 1, True),     # odd sizes: the pool floors
    (5, 3, (11, 13), 1, False),
    (4, 2, (10, 10), 2, True),   # even kernel, groups
    (1, 4, (9, 8), 1, True),
    (3, (2, 3), (12, 12), 1, True),
])
def test_same_function_and_gradients(k, p, size, groups, bias):
    conv = nn.Conv2d(4, 6, k, padding=k // 2, groups=groups, bias=bias)
    fused, ref = _pair(conv, nn.AvgPool2d(p))
    assert fusable(*fused)
    x = torch.rand(3, 4, *size, dtype=torch.float64, requires_grad=True)
    y_ref = ref(x)
    g = torch.randn_like(y_ref)
    gx_ref, gw_ref = torch.autograd.grad(y_ref, (x, conv.weight), g)
    y = fused(x)
    assert y.shape == y_ref.shape
    torch.testing.assert_close(y, y_ref)
    gx, gw = torch.autograd.grad(y, (x, conv.weight), g)
    torch.testing.assert_close(gx, gx_ref)
    torch.testing.assert_close(gw, gw_ref)
    fused.fused = False  # the reference path
    torch.testing.assert_close(fused(x), y_ref)


def test_float32_spikes_within_rounding():
    conv, pool = nn.Conv2d(16, 32, 3, padding=1), nn.AvgPool2d(2)
    x = (torch.rand(8, 16, 14, 14) < 0.2).float()
    torch.testing.assert_close(conv_avgpool(x, conv, pool), pool(conv(x)), atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("conv, pool", [
    (nn.Conv2d(2, 3, 3, padding=1, stride=2), nn.AvgPool2d(2)),
    (nn.Conv2d(2, 3, 3, padding=1, dilation=2), nn.AvgPool2d(2)),
    (nn.Conv2d(2, 3, 3, padding=1, padding_mode="reflect"), nn.AvgPool2d(2)),
    (nn.Conv2d(2, 3, 3, padding="same"), nn.AvgPool2d(2)),
    (nn.Conv2d(2, 3, 3, padding=1), nn.AvgPool2d(2, stride=1)),
    (nn.Conv2d(2, 3, 3, padding=1), nn.AvgPool2d(2, padding=1)),
    (nn.Conv2d(2, 3, 3, padding=1), nn.AvgPool2d(2, ceil_mode=True)),
    (nn.Conv2d(2, 3, 3, padding=1), nn.AvgPool2d(2, divisor_override=3)),
    (nn.Conv2d(2, 3, 3, padding=1), nn.MaxPool2d(2)),
])
def test_other_modules_run_unfused(conv, pool):
    assert not fusable(conv, pool)
    m = ConvPool(conv, pool)
    x = torch.rand(2, 2, 9, 9)
    torch.testing.assert_close(m(x), pool(conv(x)))


def test_hooks_and_parametrizations():
    conv, pool = nn.Conv2d(2, 3, 3, padding=1), nn.AvgPool2d(2)
    m = ConvPool(conv, pool)
    x = torch.rand(2, 2, 8, 8)
    # a hook on the conv's output (a chip's read noise) must see the full-resolution map
    seen = []
    h = conv.register_forward_hook(lambda mod, inp, out: seen.append(out.shape))
    assert not fusable(conv, pool)
    m(x)
    assert seen == [torch.Size([2, 3, 8, 8])]
    h.remove()
    assert fusable(conv, pool)
    # a weight parametrization (OTTT's weight standardisation, a chip's crossbar) is kept
    parametrize.register_parametrization(conv, "weight", _Double())
    assert fusable(conv, pool)
    torch.testing.assert_close(m(x), pool(conv(x)))


class _Double(nn.Module):
    def forward(self, w):
        return 2 * w


def test_convnet_state_dict_and_set_fused():
    """ConvPool has the keys of nn.Sequential(conv, pool): a convnet's checkpoint loads as is,
    and SpikingNet.set_fused(False) selects the two-module reference."""
    torch.manual_seed(0)
    net = snnlab.models.convnet((1, 12, 12), channels=(4, 8), n_out=3)
    fused = snnlab.models.convnet((1, 12, 12), channels=(4, 8), n_out=3)
    for layer in fused.layers:
        layer.synapse = ConvPool(*layer.synapse)
    fused.load_state_dict(net.state_dict())
    x = torch.rand(4, 2, 1, 12, 12) * 3
    torch.testing.assert_close(fused(x), net(x), atol=1e-5, rtol=1e-5)
    fused.set_fused(False)
    assert all(not layer.synapse.fused for layer in fused.layers)
    torch.testing.assert_close(fused(x), net(x))
