"""The one training loop every rule uses, plus evaluation and checkpoints.

``train(model, data, rule)`` encodes each batch, hands it to ``rule.step`` and logs a
:class:`History`. ``model`` is a network (checked by the rule, never changed in shape) or a spec
from which the rule builds its own (:func:`build_model`).

Runs are reproducible: the seed fixes the initial RNG state and every epoch's data order and
encoding noise are drawn from generators seeded by ``(seed, epoch)``, so a run resumed from its
checkpoint after epoch k ends bit-identical to one that never stopped (on CPU).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as TF
from torch.utils.data import DataLoader, TensorDataset
from tqdm.auto import tqdm

from . import _optim
from . import distributed as DIST
from . import rules as R
from ._checks import check_choice, check_float, check_int
from .data import DataSplit, load
from .encoding import METHODS, encode
from .metrics import accuracy, activity
from .models import check_fit, from_config

CHECKPOINT_FORMAT = 1

__all__ = ["History", "train", "build_model", "evaluate", "save_checkpoint", "load_checkpoint",
           "resolve_device"]


@dataclass
class History:
    """Per-epoch records of a training run (``records[i]`` is a dict for epoch i+1)."""

    rule: str
    records: list[dict] = field(default_factory=list)
    config: dict = field(default_factory=dict)
    model: object = field(default=None, repr=False, compare=False)  # the network trained

    def column(self, key: str) -> list:
        return [r.get(key) for r in self.records]

    @property
    def final(self) -> dict:
        return self.records[-1] if self.records else {}

    @property
    def test_acc(self) -> float | None:
        return self.final.get("test_acc")

    def as_dict(self) -> dict:
        return {"rule": self.rule, "records": list(self.records), "config": dict(self.config)}

    def __repr__(self) -> str:
        f = self.final
        acc = f"{f['test_acc']:.3f}" if "test_acc" in f else "n/a"
        return f"History(rule={self.rule!r}, epochs={len(self.records)}, test_acc={acc})"


def resolve_device(device) -> torch.device:
    if isinstance(device, torch.device):
        return device
    device = check_choice("device", device, ("auto", "cpu", "cuda"))
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cuda" and not torch.cuda.is_available():
        raise ValueError("device='cuda' was asked for but torch sees no CUDA GPU; use 'cpu'")
    return torch.device(device)


def _epoch_generator(seed: int, epoch: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed * 1_000_003 + epoch)


def _loader(dataset, batch_size, shuffle, generator):
    return DataLoader(dataset, batch_size=batch_size, shuffle=shuffle, generator=generator,
                      num_workers=0)


def _check_dataset(name, ds):
    if not isinstance(ds, TensorDataset):
        raise TypeError(f"{name} must be a torch TensorDataset (as snnlab.data.load returns), "
                        f"got {type(ds).__name__}")
    return ds


@torch.no_grad()
def evaluate(model, dataset, T: int, *, encoding: str = "direct", batch_size: int = 512,
             seed: int = 0, device="cpu") -> dict:
    """Accuracy, loss and activity (spikes, SynOps, energy per sample) on a dataset."""
    _check_dataset("dataset", dataset)
    check_int("T", T, low=1)
    check_choice("encoding", encoding, METHODS)
    check_int("batch_size", batch_size, low=1)
    check_fit(model, dataset, T=T, batch_size=batch_size)  # labels, emptiness, memory
    device = resolve_device(device)
    was_training = model.training
    model.eval()
    gen = torch.Generator().manual_seed(seed)
    n = correct = 0
    loss = spikes = synops = macs = energy = 0.0
    for xb, yb in _loader(dataset, batch_size, False, None):
        xb, yb = xb.to(device), yb.to(device)
        x_seq = encode(xb, T, encoding, generator=gen if device.type == "cpu" else None)
        rec = model.run(x_seq)
        stats = activity(model, x_seq, rec)
        b = yb.shape[0]
        n += b
        correct += accuracy(rec.logits, yb) * b
        loss += float(TF.cross_entropy(rec.logits, yb)) * b
        spikes += stats.spikes_per_sample * b
        synops += stats.synops_per_sample * b
        macs += stats.macs_per_sample * b
        energy += stats.energy_nj_per_sample * b
    model.train(was_training)
    return {"acc": correct / n, "loss": loss / n, "n": n, "spikes_per_sample": spikes / n,
            "synops_per_sample": synops / n, "macs_per_sample": macs / n,
            "energy_nj_per_sample": energy / n}


def save_checkpoint(path, model, optimizer=None, *, epoch: int = 0, history: History | None = None,
                    extra: dict | None = None) -> Path:
    """Save model weights and config (+ optimizer, history) in a ``weights_only``-safe file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {
        "format_version": CHECKPOINT_FORMAT,
        "model_config": getattr(model, "config", {}),
        "model_state": model.state_dict(),
        "optimizer_state": optimizer.state_dict() if optimizer is not None else None,
        "epoch": epoch,
        "history": history.as_dict() if history is not None else None,
        "extra": extra or {},
    }
    tmp = path.with_suffix(path.suffix + ".tmp")
    torch.save(state, tmp)
    tmp.replace(path)  # never leave a half-written checkpoint behind
    return path


def load_checkpoint(path, model=None):
    """Load a checkpoint with ``torch.load(weights_only=True)``.

    Returns ``(model, checkpoint dict)``; the model is rebuilt from its stored config when not
    given. A checkpoint of another format or an incompatible model raises ``ValueError``.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {path} does not exist")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # a corrupt or foreign file
        raise ValueError(f"checkpoint {path} is not a readable snnlab checkpoint: {e}") from None
    version = ckpt.get("format_version") if isinstance(ckpt, dict) else None
    if version != CHECKPOINT_FORMAT:
        raise ValueError(f"checkpoint {path} has format {version!r}; this snnlab reads format "
                         f"{CHECKPOINT_FORMAT}")
    if model is None:
        model = from_config(ckpt["model_config"])
    try:
        model.load_state_dict(ckpt["model_state"])
    except RuntimeError as e:
        first = str(e).splitlines()[0]
        raise ValueError(f"checkpoint {path} does not fit this model: {first}") from None
    return model, ckpt


def build_model(rule, data, hidden=(128,), *, seed: int = 0, **kw):
    """The network ``rule`` trains on ``data``, built with ``seed``: ``rule.build_model`` with
    the data's sizes. Flat inputs give ``hidden`` dense layers; images (and event frames, one
    frame per step) a ``convnet`` with channels (16, 32) and no dense layer."""
    shape = tuple(data.input_shape)
    torch.manual_seed(seed)
    if len(shape) == 1:
        return rule.build_model(shape[0], list(hidden), data.n_classes, **kw)
    if len(shape) in (3, 4):  # event frames [n_bins, C, H, W]: time comes from the data
        kw.setdefault("channels", (16, 32))
        return rule.build_model(shape[-3:], [], data.n_classes, **kw)
    raise ValueError(f"no default model for inputs of shape {shape}")


def train(model, data, rule="bptt", *, T: int | None = None, epochs: int | None = None,
          batch_size: int = 64, lr: float | None = None, seed: int = 0,
          encoding: str | None = None, optimizer: str = "adam", weight_decay: float = 0.0,
          progress: bool = True, checkpoint=None, resume: bool = False, device="cpu",
          eval_every: int = 1, callback=None, distributed: bool = False, augment=None,
          **rule_hparams) -> History:
    """Train ``model`` on ``data`` with a learning rule and return its :class:`History`.

    Args:
        model: a :class:`~snnlab.models.SpikingNet` (the rule checks that it can train it;
            it is not rebuilt), or a spec from which the rule builds its network with ``seed``
            (:func:`build_model`): ``None`` (one hidden layer of 128), a list of hidden sizes,
            or a dict of ``hidden`` and keyword arguments of ``rule.build_model``. The trained
            network is ``history.model``.
        data: a :class:`~snnlab.data.DataSplit` or a dataset name for :func:`snnlab.data.load`.
        rule: a name from :func:`snnlab.rules.available` or a :class:`~snnlab.rules.Rule`.
        T, epochs, lr, encoding: default to the rule's own defaults.
        seed: fixes initial RNG, data order and encoding noise (bit-identical CPU reruns).
        checkpoint: a path; saved after every epoch. ``resume=True`` continues from it.
        callback: called as ``callback(record)`` after every epoch (live plots in notebooks).
        augment: called as ``augment(xb, generator)`` on every training batch ``[B, ...]``
            before encoding (data augmentation, e.g. :class:`snnlab.reproduce.CropFlip`); it
            draws from the epoch's generator, so runs stay reproducible. Not used in evaluation.
        distributed: data-parallel over the processes ``torchrun`` started (see
            :mod:`snnlab.distributed`); each global batch of ``batch_size`` is split among them.
        rule_hparams: passed to the rule's constructor.
    """
    if isinstance(data, str):
        data = load(data, seed=seed)
    if not isinstance(data, DataSplit):
        raise TypeError(f"data must be a DataSplit or a dataset name, got {type(data).__name__}")
    rule = R.get(rule, **rule_hparams)
    T = check_int("T", rule.default_T if T is None else T, low=1)
    epochs = check_int("epochs", rule.default_epochs if epochs is None else epochs, low=0)
    batch_size = check_int("batch_size", batch_size, low=1)
    lr = check_float("lr", rule.default_lr if lr is None else lr, low=0.0, low_open=True)
    seed = check_int("seed", seed, low=0)
    encoding = check_choice("encoding", encoding or rule.default_encoding, METHODS)
    check_int("eval_every", eval_every, low=1)
    check_float("weight_decay", weight_decay, low=0.0)
    opt_name = check_choice("optimizer", optimizer, ("adam", "adamw", "sgd"))
    # event data carries its own time axis first ([n_bins, C, H, W]); the model sees one frame
    step_shape = tuple(data.input_shape[1:] if encoding == "frames" else data.input_shape)
    if step_shape != tuple(getattr(model, "input_shape", step_shape)):
        raise ValueError(f"model expects inputs of shape {model.input_shape} but data "
                         f"{data.name!r} gives steps of shape {step_shape}")
    if model is None or isinstance(model, (list, tuple, dict)):
        spec = dict(model) if isinstance(model, dict) else {"hidden": model or (128,)}
        model = build_model(rule, data, spec.pop("hidden", (128,)), seed=seed, **spec)
    check_fit(model, data, T=T, batch_size=batch_size, lr=lr, seed=seed, epochs=epochs)
    device = resolve_device(device)
    model.to(device)

    if distributed:
        DIST.init(device)
    main = DIST.is_main()
    torch.manual_seed(seed)
    rule.setup(model, data, T=T, encoding=encoding, seed=seed)
    if distributed:
        DIST.broadcast_parameters(model)
    params = [p for p in model.parameters() if p.requires_grad]
    if opt_name == "sgd":
        opt = _optim.SGD(params, lr=lr, momentum=0.9, weight_decay=weight_decay)
    else:
        cls = _optim.Adam if opt_name == "adam" else _optim.AdamW  # torch's, see _optim.py
        opt = cls(params, lr=lr, weight_decay=weight_decay)
    if distributed:
        opt = DIST.AveragedOptimizer(opt)

    config = dict(rule=rule.name, hparams=rule.hparams(), T=T, epochs=epochs,
                  batch_size=batch_size, lr=lr, seed=seed, encoding=encoding, optimizer=opt_name,
                  data=data.name)
    history = History(rule.name, [], config, model)
    start_epoch = 0
    if resume and checkpoint is not None and Path(checkpoint).is_file():
        _, ckpt = load_checkpoint(checkpoint, model)
        if ckpt["optimizer_state"] is not None:
            opt.load_state_dict(ckpt["optimizer_state"])
        start_epoch = int(ckpt["epoch"])
        if ckpt["history"]:
            history.records = list(ckpt["history"]["records"])

    bar = tqdm(range(start_epoch, epochs), desc=f"{rule.name}", disable=not (progress and main),
               unit="epoch", leave=True)
    for epoch in bar:
        gen = _epoch_generator(seed, epoch)
        model.train()
        t0 = time.perf_counter()
        n = 0
        loss_sum = 0.0
        for batch, (xb, yb) in enumerate(_loader(data.train, batch_size, True, gen)):
            if augment is not None:
                xb = augment(xb, gen)
            xb, yb = xb.to(device), yb.to(device)
            x_seq = encode(xb, T, encoding, generator=gen if device.type == "cpu" else None)
            if distributed:  # every process encodes the global batch alike, then takes its shard
                if yb.shape[0] < DIST.world_size():
                    continue  # too few rows to give every process one (all skip alike)
                rows = DIST.shard(yb.shape[0])
                opt.set_shard(rows.stop - rows.start, yb.shape[0])
                x_seq, yb = x_seq[:, rows], yb[rows]
            out = rule.step(model, x_seq, yb, opt)
            loss = out["loss"]
            if not math.isfinite(loss):
                raise RuntimeError(
                    f"training diverged: the loss became {loss} at epoch {epoch + 1}, batch "
                    f"{batch + 1}. Try a smaller lr (now {lr:g}); the last checkpoint "
                    f"{'(' + str(checkpoint) + ') ' if checkpoint else ''}was kept.")
            n += yb.shape[0]
            loss_sum += loss * yb.shape[0]
        seconds = time.perf_counter() - t0
        record = {"epoch": epoch + 1, "train_loss": loss_sum / max(n, 1), "seconds": seconds}
        record.update(rule.on_epoch_end(model, epoch) or {})
        if (epoch + 1) % eval_every == 0 or epoch + 1 == epochs:
            ev = evaluate(model, data.test, T, encoding=encoding, seed=seed, device=device)
            record.update(test_acc=ev["acc"], test_loss=ev["loss"],
                          spikes_per_sample=ev["spikes_per_sample"],
                          synops_per_sample=ev["synops_per_sample"])
        history.records.append(record)
        bar.set_postfix(loss=f"{record['train_loss']:.3f}",
                        acc=f"{record.get('test_acc', float('nan')):.3f}")
        if checkpoint is not None and main:
            save_checkpoint(checkpoint, model, opt, epoch=epoch + 1, history=history,
                            extra={"rule": rule.name, "config": config})
        if callback is not None and main:
            callback(record)
    bar.close()
    return history
