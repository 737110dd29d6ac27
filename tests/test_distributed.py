"""Data-parallel training: two CPU processes (gloo on loopback) launched by torchrun."""

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from torch.utils.data import TensorDataset

WORKER = Path(__file__).with_name("_ddp_worker.py")


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run(args, tmp_path):
    env = dict(os.environ, OMP_NUM_THREADS="1", MASTER_ADDR="127.0.0.1")
    r = subprocess.run(args, capture_output=True, text=True, timeout=180, env=env, cwd=tmp_path)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-4000:]


@pytest.mark.slow
@pytest.mark.parametrize("rule", ["bptt", "ottt_o", "ltl"])
def test_two_processes_match_each_other_and_one_process(tmp_path, rule):
    """bptt; ottt_o (an optimizer step every time step) and ltl (layer-local losses) show that
    averaging at the optimizer keeps rules that reach into the network correct."""
    _run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2",
          "--master_addr=127.0.0.1", f"--master_port={_free_port()}", str(WORKER),
          str(tmp_path), rule], tmp_path)
    _run([sys.executable, str(WORKER), str(tmp_path), rule], tmp_path)
    w0, w1, single = (torch.load(tmp_path / f"weights_{n}.pt", weights_only=True)
                      for n in ("0", "1", "single"))
    for k in w0:
        assert torch.equal(w0[k], w1[k]), f"ranks disagree on {k}"
        # same global batches and averaged gradients (exactly, as sums: see test below); only
        # the floating-point summation order differs, which Adam's normalisation and flipped
        # spikes amplify over an epoch for a few weights (LTL's lr is 5x BPTT's)
        diff = (w0[k] - single[k]).abs()
        assert float(diff.max()) < 5e-3 and float(diff.mean()) < 1e-4, (k, float(diff.max()),
                                                                          float(diff.mean()))


@pytest.mark.slow
def test_torchrun_cli_rank_0_alone_reports_and_checkpoints(tmp_path):
    """`torchrun ... snnlab train --json`: one JSON line (rank 0's), one checkpoint."""
    env = dict(os.environ, OMP_NUM_THREADS="1", MASTER_ADDR="127.0.0.1")
    r = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2",
                        "--master_addr=127.0.0.1", f"--master_port={_free_port()}", "-m",
                        "snnlab", "train", "--data", "digits", "--epochs", "1", "--T", "2",
                        "--hidden", "16", "--distributed", "--json", "--checkpoint", "c.pt"],
                       capture_output=True, text=True, timeout=180, env=env, cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-4000:]
    lines = [json.loads(line) for line in r.stdout.splitlines() if line.startswith("{")]
    assert len(lines) == 1 and lines[0]["rule"] == "bptt", r.stdout
    import snnlab

    assert snnlab.load_checkpoint(tmp_path / "c.pt")[1]["epoch"] == 1


class _Recording(TensorDataset):
    def __init__(self, *tensors):
        super().__init__(*tensors)
        self.read = 0

    def __getitem__(self, index):
        x, y = super().__getitem__(index)
        self.read += y.shape[0] if y.ndim else 1
        return x, y


@pytest.mark.parametrize("world", [2, 3])
@pytest.mark.parametrize("flatten", [True, False])
def test_each_process_reads_and_encodes_only_its_shard(world, flatten):
    """The shards of every global batch, read and rate-encoded by each process from its own
    rows, are the single process's batch and encoding bit for bit, and every process's
    generator ends in the same state (so the next epoch's order agrees too)."""
    import snnlab
    from snnlab.data import batches
    from snnlab.encoding import encode_rows

    x, y = snnlab.load("digits", flatten=flatten).train.tensors
    single = []
    gen = torch.Generator().manual_seed(7)
    for xb, yb, rows, n in batches(TensorDataset(x, y), 100, shuffle=True, generator=gen):
        assert rows == slice(0, n)
        single.append((snnlab.encode(xb, 4, "rate", generator=gen), yb))
    end = gen.get_state()
    assert len(single) == 15 and single[-1][1].shape[0] == 1437 - 1400
    shards = []
    for rank in range(world):
        data = _Recording(x, y)
        gen = torch.Generator().manual_seed(7)
        shards.append([(encode_rows(xb, 4, "rate", rows=rows, n=n, generator=gen), yb)
                       for xb, yb, rows, n in batches(data, 100, shuffle=True, generator=gen,
                                                      rank=rank, world_size=world)])
        assert torch.equal(gen.get_state(), end)
        assert abs(data.read - 1437 / world) < 15  # its rows only, about a world-th
    for i, (x_seq, yb) in enumerate(single):
        assert torch.equal(torch.cat([s[i][0] for s in shards], 1), x_seq)
        assert torch.equal(torch.cat([s[i][1] for s in shards]), yb)


def test_distributed_without_launcher_is_a_clear_error():
    import snnlab

    data = snnlab.load("digits")
    env = {k: os.environ.pop(k) for k in ("RANK", "WORLD_SIZE") if k in os.environ}
    try:
        with pytest.raises(ValueError, match="torchrun"):
            snnlab.train(snnlab.models.mlp(64, [8], 10), data, "bptt", epochs=1,
                         progress=False, distributed=True)
    finally:
        os.environ.update(env)


def test_ltl_gradient_is_the_average_of_shard_gradients():
    """The property data parallelism needs, checked without processes: LTL's gradient on a batch
    equals the average of its gradients on two halves, once the percentile normalisation sees
    the whole batch (what distributed.gather_rows gives it under torchrun)."""
    import snnlab
    from snnlab.rules import ltl

    data = snnlab.load("digits")
    torch.manual_seed(0)
    net = snnlab.models.mlp(64, [32], 10)
    rule = snnlab.rules.get("ltl")
    rule.setup(net, data, T=4, encoding="direct", seed=0)
    x, y = data.train.tensors[0][:64], data.train.tensors[1][:64]
    x_seq = snnlab.encode(x, 4)
    full = rule.gradients(net, x_seq, y)
    whole = {a.shape[1]: a for a in rule.teacher.activations(x)[:-1]}
    original = ltl.gather_rows
    ltl.gather_rows = lambda a: whole[a.shape[1]]
    try:
        halves = [rule.gradients(net, x_seq[:, s], y[s]) for s in (slice(0, 32), slice(32, 64))]
    finally:
        ltl.gather_rows = original
    for k in full:
        torch.testing.assert_close((halves[0][k] + halves[1][k]) / 2, full[k], atol=1e-7,
                                   rtol=1e-5)
