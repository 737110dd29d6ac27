"""snnlab.reproduce: the seed papers' configurations, the augmentation hook, and end-to-end runs
on tiny files written in the real on-disk formats (CIFAR-10 python batches, N-MNIST events)."""

import importlib

import pytest
import torch

import snnlab
from snnlab import reproduce as RP
from snnlab.data.base import tensor_dataset

fx = importlib.import_module("_data_fixtures")  # tiny files in the original formats
write_cifar, write_nmnist = fx.write_cifar, fx.write_nmnist


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    n = torch.get_num_threads()  # tiny convs: one thread is fastest on a busy machine
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def test_list_shows_every_configuration(capsys):
    assert RP.main(["--list"]) == 0
    out = capsys.readouterr().out
    for name, cfg in RP.CONFIGS.items():
        assert name in out
        assert cfg.measured is None  # filled in only from a real run
        assert cfg.source and cfg.rule in snnlab.rules.available()
        assert cfg.data in ("cifar10", "nmnist")


@pytest.mark.parametrize("name", sorted(RP.CONFIGS))
def test_every_configuration_builds_its_network(name):
    cfg = RP.CONFIGS[name]
    shape = (3, 32, 32) if cfg.data == "cifar10" else (2, 34, 34)
    torch.manual_seed(0)
    rule, net = RP.build(cfg, shape, 10, width=1 / 16)
    rule.check_model(net)
    assert net.config["kind"] == cfg.arch
    x = torch.rand(2, 2, *shape)
    assert net(x).shape == (2, 10)


def test_lr_schedules():
    ottt, ltl, tandem = (RP.CONFIGS[n] for n in ("ottt_cifar10", "ltl_cifar10",
                                                 "tandem_cifar10"))
    assert RP.lr_at(ottt, 0) == 0.1 and RP.lr_at(ottt, 150) == pytest.approx(0.05)
    assert RP.lr_at(ottt, 300) == pytest.approx(0.0)
    assert RP.lr_at(ltl, 9) == 1e-4 and RP.lr_at(ltl, 25) == pytest.approx(1e-4 / 4)
    assert RP.lr_at(tandem, 49) == 1e-3 and RP.lr_at(tandem, 100) == pytest.approx(1e-5)


def test_crop_flip():
    x = torch.arange(2 * 3 * 8 * 8, dtype=torch.float32).reshape(2, 3, 8, 8)
    a = RP.CropFlip()(x, torch.Generator().manual_seed(1))
    b = RP.CropFlip()(x, torch.Generator().manual_seed(1))
    assert a.shape == x.shape and torch.equal(a, b)  # reproducible from the generator
    flips = RP.CropFlip(padding=0)(x, torch.Generator().manual_seed(0))
    for i in range(2):
        assert torch.equal(flips[i], x[i]) or torch.equal(flips[i], x[i].flip(-1))
    # a crop is a shifted window of the zero-padded sample: every non-zero value is x's
    crop = RP.CropFlip(padding=4, flip=False)(x, torch.Generator().manual_seed(3))
    for i in range(2):
        vals = set(crop[i][crop[i] != 0].tolist())
        assert vals <= set(x[i].flatten().tolist())
    frames = torch.rand(2, 5, 2, 8, 8)  # event frames: one shift for all frames of a sample
    assert RP.CropFlip()(frames, torch.Generator().manual_seed(0)).shape == frames.shape


def test_train_applies_augment_to_training_batches_only():
    g = torch.Generator().manual_seed(0)
    x, y = torch.rand(12, 1, 8, 8, generator=g), torch.arange(12) % 2
    data = snnlab.data.DataSplit(train=tensor_dataset(x[:8].numpy(), y[:8].numpy()),
                                 test=tensor_dataset(x[8:].numpy(), y[8:].numpy()),
                                 n_classes=2, input_shape=(1, 8, 8), name="tiny")
    seen = []

    def augment(xb, generator):
        assert isinstance(generator, torch.Generator)
        seen.append(xb.shape[0])
        return RP.CropFlip()(xb, generator)

    net = snnlab.models.convnet((1, 8, 8), (2,), 2)
    snnlab.train(net, data, "bptt", T=2, epochs=1, batch_size=4, progress=False,
                 augment=augment)
    assert seen == [4, 4]  # both training batches, not the test set


def test_cifar10_end_to_end_on_tiny_python_batches(tmp_path, capsys):
    write_cifar(tmp_path / "cifar10" / "cifar-10-batches-py", per_batch=2)
    rc = RP.main(["ottt_cifar10", "--epochs", "1", "--data-dir", str(tmp_path), "--offline",
                  "--width", "0.0625", "--batch-size", "5"])
    assert rc == 0
    out = capsys.readouterr().out
    assert "ottt_cifar10: test accuracy" in out and "93.52" in out


def test_nmnist_end_to_end_on_tiny_event_files(tmp_path, capsys):
    write_nmnist(tmp_path / "nmnist", per_digit=2)
    rc = RP.main(["tssl_nmnist", "--epochs", "1", "--data-dir", str(tmp_path), "--offline",
                  "--width", "0.25", "--batch-size", "6"])
    assert rc == 0
    assert "tssl_nmnist: test accuracy" in capsys.readouterr().out


@pytest.mark.parametrize("name", ["ottt_cifar10", "tssl_nmnist"])
def test_offline_without_files_says_so_in_one_line(tmp_path, capsys, name):
    assert RP.main([name, "--data-dir", str(tmp_path), "--offline"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "not available locally" in err and str(tmp_path) in err
