"""Data-parallel training on several processes or machines with ``torch.distributed``.

Launch with PyTorch's own launcher; every process runs the same command::

    torchrun --nproc_per_node=2 -m snnlab train --rule bptt --data digits --distributed
    # several machines: the same on each, with --nnodes=N --node_rank=i
    #   --rdzv_backend=c10d --rdzv_endpoint=HOST:PORT

How it works, and why not by wrapping the model in ``DistributedDataParallel``: DDP reduces
gradients through hooks armed by its own ``forward``; snnlab's learning rules reach *into* the
network (per-layer local losses in LTL, per-time-step optimizer steps in OTTT-O), so they would
bypass those hooks. Instead the same all-reduce DDP performs happens at the optimizer:
:class:`AveragedOptimizer` averages every gradient over all processes right before each
``step()``. Every rule, online or local, is therefore correct under data parallelism, and the
global batch is split into equal shards, so a run on W processes with batch B follows the same
trajectory as one process with batch B (up to floating-point summation order).
"""

from __future__ import annotations

import os

import torch
import torch.distributed as dist

__all__ = ["init", "is_initialized", "rank", "world_size", "is_main", "shard",
           "AveragedOptimizer", "broadcast_parameters", "gather_rows"]


def is_initialized() -> bool:
    return dist.is_available() and dist.is_initialized()


def rank() -> int:
    return dist.get_rank() if is_initialized() else 0


def world_size() -> int:
    return dist.get_world_size() if is_initialized() else 1


def is_main() -> bool:
    return rank() == 0


def init(device: torch.device | None = None) -> tuple[int, int]:
    """Join the process group described by torchrun's environment (RANK, WORLD_SIZE, ...).

    Uses NCCL on CUDA and gloo on CPU. Returns ``(rank, world_size)``.
    """
    if is_initialized():
        return rank(), world_size()
    missing = [v for v in ("RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT")
               if v not in os.environ]
    if missing:
        raise ValueError(f"distributed=True needs the environment torchrun sets "
                         f"({', '.join(missing)} missing): launch with `torchrun "
                         "--nproc_per_node=N -m snnlab train ... --distributed`")
    backend = "nccl" if device is not None and device.type == "cuda" else "gloo"
    if backend == "nccl":
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", 0)))
    dist.init_process_group(backend)
    return rank(), world_size()


def shard(n: int) -> slice:
    """This process's rows of a global batch of ``n`` (equal contiguous shards)."""
    w, r = world_size(), rank()
    lo = (n * r) // w
    hi = (n * (r + 1)) // w
    return slice(lo, hi)


@torch.no_grad()
def broadcast_parameters(model: torch.nn.Module) -> None:
    """Make every process start from rank 0's weights and buffers."""
    for t in list(model.parameters()) + list(model.buffers()):
        dist.broadcast(t.data, src=0)


class AveragedOptimizer:
    """Wraps an optimizer: ``step()`` first replaces each gradient by its average over all
    processes, weighted by how many samples each process's shard had (``set_shard``)."""

    def __init__(self, optimizer: torch.optim.Optimizer):
        self.optimizer = optimizer
        self.n_local = self.n_global = 1

    def set_shard(self, n_local: int, n_global: int) -> None:
        self.n_local, self.n_global = n_local, n_global

    @torch.no_grad()
    def step(self, closure=None):
        scale = self.n_local / self.n_global
        for group in self.optimizer.param_groups:
            for p in group["params"]:
                if p.grad is None:  # the same rule leaves the same parameters out everywhere
                    continue
                p.grad.mul_(scale)
                dist.all_reduce(p.grad, op=dist.ReduceOp.SUM)
        return self.optimizer.step(closure)

    def zero_grad(self, set_to_none: bool = True):
        self.optimizer.zero_grad(set_to_none=set_to_none)

    def __getattr__(self, name):  # param_groups, state_dict, load_state_dict, ...
        return getattr(self.optimizer, name)


@torch.no_grad()
def gather_rows(t: torch.Tensor) -> torch.Tensor:
    """The global batch of a per-process tensor: every process's rows, in rank order (shards
    may differ in size by one). Without a process group this is ``t`` itself. For statistics
    that must see the whole batch, such as LTL's percentile normalisation."""
    if not is_initialized():
        return t
    sizes = [torch.zeros(1, dtype=torch.long) for _ in range(world_size())]
    dist.all_gather(sizes, torch.tensor([t.shape[0]], dtype=torch.long))
    longest = int(max(int(s) for s in sizes))
    padded = torch.full((longest, *t.shape[1:]), float("nan"), dtype=t.dtype, device=t.device)
    padded[: t.shape[0]] = t
    parts = [torch.empty_like(padded) for _ in sizes]
    dist.all_gather(parts, padded)
    return torch.cat([p[: int(n)] for p, n in zip(parts, sizes)])
