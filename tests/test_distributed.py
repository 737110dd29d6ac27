"""Data-parallel training: two CPU processes (gloo on loopback) launched by torchrun."""

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch

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
def test_two_processes_match_each_other_and_one_process(tmp_path):
    _run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2",
          "--master_addr=127.0.0.1", f"--master_port={_free_port()}", str(WORKER),
          str(tmp_path)], tmp_path)
    _run([sys.executable, str(WORKER), str(tmp_path)], tmp_path)
    w0, w1, single = (torch.load(tmp_path / f"weights_{n}.pt", weights_only=True)
                      for n in ("0", "1", "single"))
    for k in w0:
        assert torch.equal(w0[k], w1[k]), f"ranks disagree on {k}"
        # same global batches and averaged gradients; only the summation order differs, which
        # Adam's normalisation can amplify for the rare weights whose gradient is ~0
        diff = (w0[k] - single[k]).abs()
        assert float(diff.max()) < 2e-3 and float(diff.mean()) < 2e-5, (k, float(diff.max()))


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
