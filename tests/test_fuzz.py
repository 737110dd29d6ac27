"""Fuzzing the public API with hypothesis: whatever a learner types, only the documented
exceptions (ValueError, TypeError, FileNotFoundError) escape, and input files stay untouched."""

import hashlib
import io
import zipfile

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import snnlab
from snnlab import encoding, models, neurons

DOCUMENTED = (ValueError, TypeError)
FUZZ = settings(max_examples=40, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])

dtypes = st.sampled_from([torch.float32, torch.float64, torch.float16, torch.int64, torch.bool,
                          torch.uint8])
shapes = st.lists(st.integers(0, 5), min_size=0, max_size=4).map(tuple)
anything = st.one_of(st.none(), st.booleans(), st.integers(-5, 300), st.floats(allow_nan=True),
                     st.text(max_size=8), st.lists(st.integers(-3, 40), max_size=3))


def _tensor(shape, dtype, special):
    x = torch.rand(shape) if dtype.is_floating_point else torch.randint(0, 2, shape)
    x = x.to(dtype)
    if special and x.numel() and dtype.is_floating_point:
        x.view(-1)[0] = special
    return x


@FUZZ
@given(shape=shapes, dtype=dtypes, T=anything, method=st.sampled_from(
    [*encoding.METHODS, "morse", ""]), special=st.sampled_from([None, float("nan"), float("inf")]))
def test_encode(shape, dtype, T, method, special):
    x = _tensor(shape, dtype, special)
    try:
        out = encoding.encode(x, T, method)
    except DOCUMENTED:
        return
    assert out.shape[0] == T and torch.isfinite(out).all()


@FUZZ
@given(n_in=anything, hidden=anything, n_out=anything,
       kw=st.dictionaries(st.sampled_from(["beta", "threshold", "reset", "surrogate", "alpha",
                                           "readout", "neuron", "bogus"]), anything, max_size=3))
def test_builders(n_in, hidden, n_out, kw):
    try:
        net = models.mlp(n_in, hidden, n_out, **kw)
    except DOCUMENTED:
        return
    T = 3
    out = net(torch.rand(T, 2, n_in))
    assert out.shape == (2, n_out)


@FUZZ
@given(shape=shapes, dtype=dtypes, special=st.sampled_from([None, float("nan"), float("-inf")]))
def test_network_input(shape, dtype, special):
    net = models.mlp(4, [5], 3)
    x = _tensor(shape, dtype, special)
    try:
        out = net(x)
    except DOCUMENTED:
        return
    assert out.shape == (x.shape[1], 3) and torch.isfinite(out).all()


@FUZZ
@given(name=st.sampled_from([*neurons.available(), "hh", ""]),
       kw=st.dictionaries(st.sampled_from(["beta", "threshold", "reset", "alpha", "surrogate",
                                           "surrogate_scale", "detach_reset", "zzz"]),
                          anything, max_size=3))
def test_neuron_factory(name, kw):
    try:
        n = neurons.make(name, **kw)
    except DOCUMENTED:
        return
    assert n(torch.rand(4, 2, 3)).shape == (4, 2, 3)


@FUZZ
@given(name=st.sampled_from(snnlab.rules.available() + ["nope", ""]),
       kw=st.dictionaries(st.text(min_size=1, max_size=8), anything, max_size=2))
def test_rule_factory(name, kw):
    try:
        snnlab.rules.get(name, **kw)
    except DOCUMENTED:
        pass


@settings(max_examples=12, deadline=None)
@given(kw=st.dictionaries(st.sampled_from(["T", "epochs", "batch_size", "lr", "seed", "encoding",
                                           "optimizer", "eval_every", "weight_decay"]),
                          anything, max_size=3))
def test_train_arguments(kw):
    data = _tiny_split()
    torch.manual_seed(0)
    net = models.mlp(4, [6], 2)
    kw = {"epochs": 1, **kw}
    if isinstance(kw.get("epochs"), int) and kw["epochs"] > 2:
        kw["epochs"] = 2
    if isinstance(kw.get("T"), int) and kw["T"] > 20:
        kw["T"] = 20
    try:
        hist = snnlab.train(net, data, "bptt", progress=False, **kw)
    except DOCUMENTED:
        return
    except RuntimeError as e:  # documented: a diverged run stops with this message
        assert "diverged" in str(e)
        return
    assert len(hist.records) == hist.config["epochs"]  # epochs=None: the rule's default


def _tiny_split():
    from snnlab.data import DataSplit

    g = torch.Generator().manual_seed(0)
    x = torch.rand(40, 4, generator=g)
    y = (x[:, 0] > 0.5).long()
    ds = torch.utils.data.TensorDataset
    return DataSplit(train=ds(x[:30], y[:30]), test=ds(x[30:], y[30:]), n_classes=2,
                     input_shape=(4,), name="tiny")


def _valid_npz_bytes(rng):
    buf = io.BytesIO()
    np.savez(buf, x_train=rng.random((10, 3)).astype("float32"), y_train=np.arange(10) % 2,
             x_test=rng.random((4, 3)).astype("float32"), y_test=np.arange(4) % 2)
    return buf.getvalue()


@FUZZ
@given(cut=st.integers(0, 2000), flip=st.lists(st.integers(0, 2000), max_size=5),
       junk=st.binary(max_size=64), mode=st.sampled_from(["truncate", "flip", "junk", "keys"]))
def test_corrupted_npz_files(tmp_path_factory, cut, flip, junk, mode):
    rng = np.random.default_rng(0)
    raw = bytearray(_valid_npz_bytes(rng))
    if mode == "truncate":
        raw = raw[:cut]
    elif mode == "flip":
        for i in flip:
            if i < len(raw):
                raw[i] ^= 0xFF
    elif mode == "junk":
        raw = bytearray(junk)
    else:
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as z:
            z.writestr("x_train.npy", bytes(junk))
        raw = bytearray(buf.getvalue())
    path = tmp_path_factory.mktemp("npz") / "user.npz"
    path.write_bytes(bytes(raw))
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    try:
        split = snnlab.load(f"npz:{path}")
        assert len(split.train) > 0
    except DOCUMENTED:
        pass
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before


@FUZZ
@given(raw=st.binary(max_size=256))
def test_corrupted_checkpoints(tmp_path_factory, raw):
    path = tmp_path_factory.mktemp("ckpt") / "c.pt"
    path.write_bytes(raw)
    with pytest.raises(ValueError):
        snnlab.load_checkpoint(path)


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(argv=st.lists(st.sampled_from(["train", "compare", "info", "--rule", "--data", "--T",
                                      "--epochs", "--seed", "--lr", "--hidden", "digits", "bptt",
                                      "-1", "0", "x", "1e9", "nan", "npz:/nope.npz", "--json",
                                      "--rules", "--device", "gpu9"]), max_size=6))
def test_cli_never_tracebacks(argv, capsys):
    from snnlab.cli import main

    if argv and argv[0] in ("train", "compare") and "--epochs" not in argv:
        argv = [*argv, "--epochs", "0"]  # keep accidental valid runs instant
    try:
        code = main(argv)
    except SystemExit as e:
        code = e.code
    err = capsys.readouterr().err
    assert code in (0, 1, 2, None), code
    assert "Traceback" not in err
