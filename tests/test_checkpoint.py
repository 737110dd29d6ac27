"""Checkpoints you can trust: every rule resumes bit-identically; altered files, bad weights and
resumes under another run configuration are refused with one clear message."""

import importlib

import pytest
import torch
from torch.utils.data import TensorDataset

import snnlab
from snnlab import cli
from snnlab.data import DataSplit
from snnlab.train import build_model, load_checkpoint, save_checkpoint, train

TRAIN = importlib.import_module("snnlab.train")  # (snnlab.train is the function)

# hyper-parameters that keep every rule fast here, and make state matter where a rule keeps it:
# eicil with cycle=2 is excitatory in epoch 1 and inhibitory in epoch 2, so a resume that lost
# its phase counter trains epoch 2 wrongly; kd/hta_kl/ltl train a teacher in setup
FAST = {"bptt_stdp_cycles": {"cycle": 2}, "kd": {"teacher_epochs": 1},
        "hta_kl": {"teacher_epochs": 1}, "akl": {"teacher_epochs": 1},
        "ltl": {"teacher_epochs": 1}}


@pytest.fixture(scope="module")
def tiny():
    d = snnlab.load("digits")
    x, y = d.train.tensors
    xt, yt = d.test.tensors
    return DataSplit(TensorDataset(x[:80].clone(), y[:80].clone()),
                     TensorDataset(xt[:40].clone(), yt[:40].clone()), 10, (64,), "tiny")


def _net(rule, data, seed):
    return build_model(snnlab.rules.get(rule, **FAST.get(rule, {})), data, [12], seed=seed)


def _run(net, data, rule="bptt", **kw):
    kw = {"T": 4, "batch_size": 32, "seed": 1, "progress": False} | kw
    return train(net, data, rule, **FAST.get(rule, {}), **kw)


def _records(h):
    return [{k: v for k, v in r.items() if k != "seconds"} for r in h.records]


@pytest.mark.parametrize("rule", snnlab.rules.available())
def test_every_rule_resumes_bit_identically(tiny, tmp_path, rule):
    """2 epochs straight == 1 epoch, checkpoint, resume for 1 more (weights, history, and
    the resumed network starts from other weights, so everything comes from the file)."""
    r = snnlab.rules.get(rule)
    kw = dict(T=r.default_T, encoding=r.default_encoding)
    full = _net(rule, tiny, 0)
    h_full = _run(full, tiny, rule, epochs=2, **kw)
    ckpt = tmp_path / "run.pt"
    _run(_net(rule, tiny, 0), tiny, rule, epochs=1, checkpoint=ckpt, **kw)
    resumed = _net(rule, tiny, 5)
    h = _run(resumed, tiny, rule, epochs=2, checkpoint=ckpt, resume=True, **kw)
    a, b = full.state_dict(), resumed.state_dict()
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), f"{rule}: {k} differs by {(a[k] - b[k]).abs().max()}"
    assert _records(h) == _records(h_full)


def test_stdp_cycle_phase_is_in_the_checkpoint(tiny, tmp_path):
    _run(_net("bptt_stdp_cycles", tiny, 0), tiny, "bptt_stdp_cycles", epochs=1,
         checkpoint=tmp_path / "e.pt")
    state = load_checkpoint(tmp_path / "e.pt")[1]["rule_state"]
    assert state["epoch"] == 1 and state["phase"] == "inhibitory"


def test_checkpoint_records_the_run(tiny, tmp_path):
    _run(_net("bptt", tiny, 0), tiny, epochs=1, checkpoint=tmp_path / "c.pt", lr=0.003)
    ckpt = load_checkpoint(tmp_path / "c.pt")[1]
    cfg = ckpt["config"]
    assert (cfg["rule"], cfg["T"], cfg["lr"], cfg["seed"], cfg["optimizer"], cfg["data"],
            cfg["batch_size"], cfg["encoding"]) == ("bptt", 4, 0.003, 1, "adam", "tiny", 32,
                                                     "direct")
    assert cfg["hparams"] == {"spike_reg": 0.0, "input_norm": True} and len(ckpt["digest"]) == 64


def _alter(path, key, value):
    ckpt = torch.load(path, weights_only=True)
    ckpt["model_state"][key] = ckpt["model_state"][key].clone()
    ckpt["model_state"][key].view(-1)[0] = value
    torch.save(ckpt, path)  # the digest is left as it was


@pytest.mark.parametrize("value", [1e29, float("nan"), 0.125])
def test_altered_file_is_a_digest_mismatch(tiny, tmp_path, value):
    path = tmp_path / "run.pt"
    net = _net("bptt", tiny, 0)
    _run(net, tiny, epochs=1, checkpoint=path)
    _alter(path, "readout.synapse.weight", value)
    with pytest.raises(ValueError, match=r"run\.pt.*digest mismatch"):
        load_checkpoint(path)
    with pytest.raises(ValueError, match="digest mismatch"):
        _run(_net("bptt", tiny, 0), tiny, epochs=2, checkpoint=path, resume=True)


def _bad_net(value):
    torch.manual_seed(0)
    net = snnlab.models.mlp(64, [12], 10)
    with torch.no_grad():
        net.layers[0].synapse.weight[0, 0] = value
    return net


@pytest.mark.parametrize("value,word", [(float("nan"), "non-finite"), (float("inf"), "non-finite"),
                                        (1e29, "magnitude 1e\\+29")])
def test_bad_weights_are_refused_on_load_and_export(tmp_path, capsys, value, word):
    path = save_checkpoint(tmp_path / "bad.pt", _bad_net(value))  # a valid digest
    with pytest.raises(ValueError, match=f"bad.pt: layers.0.synapse.weight .*{word}"):
        load_checkpoint(path)
    out = tmp_path / "bad.nir"
    with pytest.raises(ValueError, match=word):
        snnlab.nir.to_nir(path, out)
    with pytest.raises(ValueError, match=word):
        snnlab.nir.to_nir(_bad_net(value), out)
    assert cli.main(["export", "--checkpoint", str(path), str(out)]) == 2
    assert word.split(" ")[0] in capsys.readouterr().err and not out.exists()


def test_bound_lets_trained_networks_through(tiny, tmp_path):
    net = _net("bptt", tiny, 0)
    _run(net, tiny, epochs=1, checkpoint=tmp_path / "ok.pt")
    assert torch.equal(load_checkpoint(tmp_path / "ok.pt")[0].readout.synapse.weight,
                       net.readout.synapse.weight)
    assert TRAIN.MAX_ABS_WEIGHT == 1e6


def _other_data(tiny):
    return DataSplit(tiny.train, tiny.test, 10, (64,), "tiny-2")


@pytest.mark.parametrize("change,message", [
    (dict(rule="ottt"), "resume with rule 'ottt' but the checkpoint was written by 'bptt'"),
    (dict(T=5), "resume with T 5 but the checkpoint was written with 4"),
    (dict(lr=0.01), "resume with lr 0.01 but the checkpoint was written with 0.002"),
    (dict(seed=2), "resume with seed 2 but the checkpoint was written with 1"),
    (dict(optimizer="sgd"), "resume with optimizer 'sgd' but the checkpoint was written with "
                            "'adam'"),
    (dict(encoding="rate"), "resume with encoding 'rate' but the checkpoint was written with "
                            "'direct'"),
    (dict(batch_size=16), "resume with batch_size 16 but the checkpoint was written with 32"),
    (dict(data="other"), "resume with data 'tiny-2' but the checkpoint was written with 'tiny'"),
    (dict(spike_reg=0.5), "resume with bptt spike_reg=0.5 but the checkpoint was written with "
                          "spike_reg=0.0"),
])
def test_resume_refuses_another_run(tiny, tmp_path, change, message):
    path = tmp_path / "run.pt"
    _run(_net("bptt", tiny, 0), tiny, epochs=1, checkpoint=path)
    data = _other_data(tiny) if change.pop("data", None) else tiny
    net = _net("bptt", tiny, 0)
    before = {k: v.clone() for k, v in net.state_dict().items()}
    with pytest.raises(ValueError, match="^" + message.replace("(", r"\(").replace(".", r"\.")):
        _run(net, data, epochs=2, checkpoint=path, resume=True, **change)
    assert all(torch.equal(before[k], v) for k, v in net.state_dict().items())  # untouched


def test_resume_refuses_another_network(tiny, tmp_path):
    path = tmp_path / "run.pt"
    _run(_net("bptt", tiny, 0), tiny, epochs=1, checkpoint=path)
    torch.manual_seed(0)
    other = snnlab.models.mlp(64, [12], 10, neuron="if")
    with pytest.raises(ValueError, match="resume with model .* but the checkpoint"):
        _run(other, tiny, epochs=2, checkpoint=path, resume=True)


def test_resume_force_overrides(tiny, tmp_path):
    path = tmp_path / "run.pt"
    _run(_net("bptt", tiny, 0), tiny, epochs=1, checkpoint=path)
    with pytest.warns(UserWarning, match="optimizer 'sgd'"):
        h = _run(_net("bptt", tiny, 0), tiny, epochs=2, checkpoint=path, resume="force",
                 optimizer="sgd", lr=0.01)
    assert [r["epoch"] for r in h.records] == [1, 2]
    with pytest.raises(ValueError, match="resume must be"):
        _run(_net("bptt", tiny, 0), tiny, epochs=2, checkpoint=path, resume="yes")


def test_resume_needs_a_checkpoint(tiny, capsys):
    with pytest.raises(ValueError, match="resume needs checkpoint"):
        _run(_net("bptt", tiny, 0), tiny, epochs=1, resume=True)
    assert cli.main(["train", "--data", "digits", "--epochs", "1", "--resume", "--json"]) == 2
    captured = capsys.readouterr()
    assert "--resume needs --checkpoint" in captured.err and captured.out == ""


def test_format_1_is_refused(tmp_path):
    torch.save({"format_version": 1, "model_state": {}}, tmp_path / "old.pt")
    with pytest.raises(ValueError, match="format 1 .*digest"):
        load_checkpoint(tmp_path / "old.pt")


class _FakeBar:
    made = []

    def __init__(self, iterable=None, **kw):
        self.iterable, self.kw, self.updates, self.descriptions = iterable, kw, [], []
        _FakeBar.made.append(self)

    def __iter__(self):  # (the old loop iterated an epoch bar)
        for x in self.iterable:
            self.updates.append(("iter", x))
            yield x

    def update(self, n=1):
        self.updates.append(("update", n))

    def set_description(self, d, refresh=True):
        self.descriptions.append(d)

    def set_postfix(self, *a, **kw):
        pass

    def close(self):
        pass


def test_progress_advances_every_batch(tiny, monkeypatch):
    monkeypatch.setattr(TRAIN, "tqdm", _FakeBar)
    _FakeBar.made.clear()
    _run(_net("bptt", tiny, 0), tiny, epochs=2)  # 80 samples, batch 32: 3 batches an epoch
    (bar,) = _FakeBar.made
    assert bar.kw["total"] == 6 and bar.kw["disable"] is True  # progress=False: silent
    assert bar.updates == [("update", 1)] * 6
    assert bar.descriptions == ["bptt epoch 1/2", "bptt epoch 2/2"]


def test_progress_goes_to_stderr_only(tiny, capsys):
    _run(_net("bptt", tiny, 0), tiny, epochs=1, progress=True)
    captured = capsys.readouterr()
    assert captured.out == "" and "3/3" in captured.err
    _run(_net("bptt", tiny, 0), tiny, epochs=1, progress=False)
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


def test_resume_is_bit_identical_when_the_rule_rescales_large_inputs(tmp_path):
    """Inputs of scale 10 make bptt's InputScale divide the first layer at setup: a resume must
    not divide the restored weights a second time."""
    from torch.utils.data import TensorDataset

    from snnlab import data as D
    from snnlab.train import build_model

    s = D.load("heldout-blobs100-c8-x10", seed=0)
    x, y = s.train.tensors
    s = D.DataSplit(train=TensorDataset(x[:128], y[:128]), test=s.test, n_classes=s.n_classes,
                    input_shape=s.input_shape, name=s.name)
    rule = snnlab.rules.get("bptt")
    straight = build_model(rule, s, [16], seed=0)
    snnlab.train(straight, s, "bptt", epochs=2, T=4, seed=0, progress=False)
    first = build_model(rule, s, [16], seed=0)
    snnlab.train(first, s, "bptt", epochs=1, T=4, seed=0, progress=False,
                 checkpoint=tmp_path / "c.pt")
    resumed = build_model(rule, s, [16], seed=3)
    snnlab.train(resumed, s, "bptt", epochs=2, T=4, seed=0, progress=False,
                 checkpoint=tmp_path / "c.pt", resume=True)
    for k, v in straight.state_dict().items():
        assert torch.equal(v, resumed.state_dict()[k]), k
