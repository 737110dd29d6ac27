"""Run by tests/test_distributed.py under torchrun: train, then save this rank's weights."""

import sys
from pathlib import Path

import torch

import snnlab

out = Path(sys.argv[1])
rule = sys.argv[2] if len(sys.argv) > 2 else "bptt"
torch.set_num_threads(1)
data = snnlab.load("digits")
torch.manual_seed(0)
net = snnlab.models.mlp(64, [32], 10)
distributed = "RANK" in __import__("os").environ
snnlab.train(net, data, rule, T=4, epochs=1, batch_size=64, seed=0, progress=False,
             encoding="rate", distributed=distributed)
rank = snnlab.distributed.rank()
torch.save(net.state_dict(), out / f"weights_{rank if distributed else 'single'}.pt")
