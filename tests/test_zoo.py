"""snnlab.zoo: the spiking VGG on small inputs (a narrow vgg11 on 3x16x16)."""

import pytest
import torch
from torch import nn

import snnlab
from snnlab import models, zoo


def _tiny(**kw):
    torch.manual_seed(0)
    return zoo.vgg("vgg11", (3, 16, 16), 10, width=1 / 16, **kw)


def test_vgg11_structure_and_shapes():
    net = _tiny()
    assert isinstance(net, models.SpikingNet)
    assert len(net.layers) == 8  # vgg11 has 8 conv layers
    convs = [m for m in net.modules() if isinstance(m, nn.Conv2d)]
    assert [m.out_channels for m in convs] == [4, 8, 16, 16, 32, 32, 32, 32]
    assert all(m.bias is None for m in convs)  # batch norm carries the bias
    assert sum(isinstance(m, nn.BatchNorm2d) for m in net.modules()) == 8
    # 16x16 allows four of vgg11's five pools
    assert sum(isinstance(m, nn.AvgPool2d) for m in net.modules()) == 4
    assert net.n_classes == 10
    x = torch.rand(3, 5, 3, 16, 16)
    assert net(x).shape == (5, 10)
    rec = net.run(x)
    assert rec.logits.shape == (5, 10)
    assert rec.spikes[0].shape == (3, 5, 4, 8, 8)
    assert rec.spikes[-1].shape == (3, 5, 32)  # flattened 32 x 1 x 1
    assert rec.readout_membrane.shape == (3, 5, 10)


def test_vgg_config_round_trip():
    net = _tiny(beta=0.8, threshold=0.5)
    assert net.config["kind"] == "vgg"
    again = zoo.from_config(net.config)
    again.load_state_dict(net.state_dict())
    net.eval()
    again.eval()
    x = torch.rand(2, 3, 3, 16, 16)
    torch.testing.assert_close(net(x), again(x), rtol=0, atol=0)
    assert again.layers[0].neuron.threshold == 0.5
    # other kinds go to models.from_config
    mlp = models.mlp(4, [3], 2)
    assert isinstance(zoo.from_config(mlp.config).layers[0].synapse, nn.Linear)


def test_vgg_bptt_step_changes_every_parameter():
    net = _tiny()
    x = torch.rand(2, 8, 3, 16, 16)
    y = torch.randint(0, 10, (8,))
    before = {n: p.detach().clone() for n, p in net.named_parameters()}
    rule = snnlab.rules.get("bptt")
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    out = rule.step(net, x, y, opt)
    assert torch.isfinite(torch.tensor(out["loss"]))
    changed = [n for n, p in net.named_parameters() if not torch.equal(p, before[n])]
    assert len(changed) == len(before), set(before) - set(changed)


def test_vgg_without_batch_norm_and_custom_cfg():
    net = zoo.vgg([8, "M", 16], (1, 8, 8), 3, batch_norm=False, neuron="if")
    assert not any(isinstance(m, nn.BatchNorm2d) for m in net.modules())
    assert all(m.bias is not None for m in net.modules() if isinstance(m, nn.Conv2d))
    assert net(torch.rand(2, 4, 1, 8, 8)).shape == (4, 3)


@pytest.mark.parametrize("bad", [["M", 8], [8, "M", "M"], "vgg99", [0]])
def test_vgg_rejects_bad_cfg(bad):
    with pytest.raises((ValueError, TypeError)):
        zoo.vgg(bad, (3, 8, 8), 10)
