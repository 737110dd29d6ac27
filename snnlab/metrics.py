"""What a spiking network costs: spikes, synaptic operations and an energy estimate.

* **Spikes per sample**: all hidden and output spikes of one sample over the T steps.
* **SynOps** (synaptic operations): every spike arriving at a synapse triggers one accumulate
  (AC) per outgoing connection, so a layer costs ``sum(input spikes) x fan-out``. An input layer
  fed analogue values (direct encoding) instead costs one multiply-accumulate (MAC) per non-zero
  input per connection per step.
* **Energy**: ``MACs x E_MAC + ACs x E_AC`` with the 45 nm CMOS, 32-bit floating-point figures
  of Horowitz (ISSCC 2014) that most SNN papers quote: an add costs 0.9 pJ and a multiply 3.7 pJ,
  so ``E_AC = 0.9 pJ`` and ``E_MAC = 4.6 pJ``. These count arithmetic only (no memory traffic),
  so treat the result as a relative figure for comparing rules, not a chip's power.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

E_AC_PJ = 0.9
E_MAC_PJ = 4.6

__all__ = ["accuracy", "fan_out", "ActivityStats", "activity", "energy_pj", "E_AC_PJ", "E_MAC_PJ",
           "SavedTensorMeter", "peak_saved_bytes", "pareto_optimal"]


def accuracy(logits: torch.Tensor, y: torch.Tensor) -> float:
    """Fraction of samples whose largest logit is the label."""
    if logits.ndim != 2 or y.ndim != 1 or logits.shape[0] != y.shape[0]:
        raise ValueError(f"logits must be [B, C] and y [B]; got {tuple(logits.shape)} and "
                         f"{tuple(y.shape)}")
    return float((logits.argmax(1) == y).float().mean())


def fan_out(synapse: nn.Module) -> float:
    """Connections leaving one input unit of a synapse (Linear: outputs; Conv: C_out·k²/stride²)."""
    for m in synapse.modules():
        if isinstance(m, nn.Linear):
            return float(m.out_features)
        if isinstance(m, (nn.Conv1d, nn.Conv2d)):
            k = float(torch.tensor(m.kernel_size).prod())
            s = float(torch.tensor(m.stride).prod())
            return m.out_channels * k / s
    raise TypeError(f"cannot count the fan-out of {type(synapse).__name__}")


def energy_pj(macs: float, acs: float, e_mac: float = E_MAC_PJ, e_ac: float = E_AC_PJ) -> float:
    return macs * e_mac + acs * e_ac


@dataclass
class ActivityStats:
    """Per-sample activity of a batch (averaged over samples)."""

    spikes_per_sample: float
    synops_per_sample: float
    macs_per_sample: float
    energy_nj_per_sample: float
    rates: list[float]  # mean firing probability per step, per hidden layer

    def as_dict(self) -> dict:
        return dict(spikes_per_sample=self.spikes_per_sample,
                    synops_per_sample=self.synops_per_sample,
                    macs_per_sample=self.macs_per_sample,
                    energy_nj_per_sample=self.energy_nj_per_sample, rates=self.rates)


@torch.no_grad()
def activity(model, x_seq: torch.Tensor, recording=None) -> ActivityStats:
    """Spikes, SynOps, MACs and energy per sample for ``model`` on ``x_seq [T, B, ...]``."""
    rec = recording if recording is not None else model.run(x_seq)
    B = x_seq.shape[1]
    binary = bool(((x_seq == 0) | (x_seq == 1) | (x_seq == -1)).all())
    inputs = [x_seq, *rec.spikes]
    synapses = [layer.synapse for layer in model.layers] + [model.readout.synapse]
    macs = acs = 0.0
    for inp, syn in zip(inputs, synapses):
        events = float((inp != 0).sum()) * fan_out(syn)
        if inp is x_seq and not binary:
            macs += events
        else:
            acs += events
    spikes = sum(float(s.sum()) for s in rec.spikes)
    if rec.readout_spikes is not None:
        spikes += float(rec.readout_spikes.sum())
    rates = [float(s.mean()) for s in rec.spikes]
    return ActivityStats(spikes / B, acs / B, macs / B, energy_pj(macs, acs) / B / 1e3, rates)


# --------------------------------------------------------------------------- training memory
class SavedTensorMeter:
    """Peak bytes of the tensors autograd keeps alive for the backward pass, counted exactly.

    ``with SavedTensorMeter() as m: rule.step(model, x_seq, y, opt)`` then ``m.peak_bytes``.
    Every distinct tensor saved for backward counts from when it is saved until its graph is freed,
    so the peak is the activation memory of training: deterministic and independent of the
    allocator and device (unlike process RSS, which torch's own ~300 MiB swamps). A view counts
    its own elements, and an expanded tensor only the storage it really has.
    """

    def __init__(self):
        self.live = 0
        self.peak_bytes = 0
        self.total_bytes = 0
        self._refs: dict[tuple, list[int]] = {}
        self._ctx = None

    def _pack(self, t):
        key = (t.data_ptr(), tuple(t.shape), tuple(t.stride()))
        ref = self._refs.get(key)
        if ref is None:
            n = t.numel() * t.element_size()
            try:
                n = min(n, t.untyped_storage().nbytes())
            except RuntimeError:  # pragma: no cover - tensors without storage
                pass
            ref = self._refs[key] = [0, n]
        if ref[0] == 0:
            self.live += ref[1]
            self.total_bytes += ref[1]
            self.peak_bytes = max(self.peak_bytes, self.live)
        ref[0] += 1
        return _Held(self, key, t)

    @staticmethod
    def _unpack(held):
        return held.tensor

    def _release(self, key):
        ref = self._refs[key]
        ref[0] -= 1
        if ref[0] == 0:
            self.live -= ref[1]
            del self._refs[key]

    def __enter__(self):
        self._ctx = torch.autograd.graph.saved_tensors_hooks(self._pack, self._unpack)
        self._ctx.__enter__()
        return self

    def __exit__(self, *exc):
        self._ctx.__exit__(*exc)
        return False


class _Held:
    __slots__ = ("meter", "key", "tensor")

    def __init__(self, meter, key, tensor):
        self.meter, self.key, self.tensor = meter, key, tensor

    def __del__(self):
        self.meter._release(self.key)


def peak_saved_bytes(fn, *args, **kwargs) -> tuple[int, object]:
    """Run ``fn(*args, **kwargs)`` under a :class:`SavedTensorMeter`; return
    ``(peak bytes held for backward, fn's result)``."""
    with SavedTensorMeter() as meter:
        out = fn(*args, **kwargs)
    return meter.peak_bytes, out


def pareto_optimal(rows, cost: str = "energy_nj_per_sample", score: str = "test_acc") -> list[str]:
    """Names (``row["rule"]``) of the rows no other row dominates: none has a lower-or-equal
    ``cost`` *and* a higher-or-equal ``score`` with at least one of them strictly better.

    ``rows`` is :attr:`snnlab.compare.Comparison.rows` (or a Comparison, or any list of dicts
    with those keys); the names come back in the rows' order.
    """
    rows = list(getattr(rows, "rows", rows))
    for r in rows:
        for key in ("rule", cost, score):
            if key not in r:
                raise ValueError(f"every row needs the key {key!r}; got {sorted(r)}")
    front = []
    for r in rows:
        dominated = any(o[cost] <= r[cost] and o[score] >= r[score]
                        and (o[cost] < r[cost] or o[score] > r[score]) for o in rows)
        if not dominated:
            front.append(r["rule"])
    return front
