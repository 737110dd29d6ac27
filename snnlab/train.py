"""The one training loop every rule uses, plus evaluation and checkpoints.

``train(model, data, rule)`` encodes each batch, hands it to ``rule.step`` and logs a
:class:`History`. ``model`` is a network (checked by the rule, never changed in shape) or a spec
from which the rule builds its own (:func:`build_model`).

Runs are reproducible: the seed fixes the initial RNG state and every epoch's data order and
encoding noise are drawn from generators seeded by ``(seed, epoch)``, so a run resumed from its
checkpoint after epoch k ends bit-identical to one that never stopped (on CPU).

Checkpoints (format 2) carry everything a resumed run needs and a SHA-256 ``digest`` over a
canonical serialisation of all the rest (:func:`checkpoint_digest`); the fields are listed in
:func:`save_checkpoint`. :func:`load_checkpoint` refuses a file whose digest does not match and
weights that are not finite or larger in magnitude than :data:`MAX_ABS_WEIGHT` (no trained
spiking network comes near; such values are corruption or divergence). Resuming refuses a
checkpoint written by another run configuration (rule, its hyper-parameters, T, lr, seed,
optimizer, weight decay, encoding, data, batch size, network) in one line naming the field and
both values, unless ``train(..., resume="force")``.
"""

from __future__ import annotations

import hashlib
import math
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as TF
from torch.utils.data import TensorDataset
from tqdm.auto import tqdm

from . import _optim
from . import distributed as DIST
from . import rules as R
from ._checks import MAX_LR, check_choice, check_float, check_int
from .data import DataSplit, batches, load
from .encoding import METHODS, encode, encode_rows
from .metrics import accuracy, activity
from .models import check_fit, from_config

CHECKPOINT_FORMAT = 2
#: the largest weight magnitude a checkpoint (or an exported network) may hold
MAX_ABS_WEIGHT = 1e6
#: the run configuration a resume must match (``epochs`` may grow; the device may change)
RESUME_FIELDS = ("rule", "hparams", "T", "lr", "seed", "optimizer", "weight_decay", "encoding",
                 "data", "batch_size", "model")

__all__ = ["History", "train", "build_model", "evaluate", "save_checkpoint", "load_checkpoint",
           "resolve_device", "check_weights", "checkpoint_digest", "MAX_ABS_WEIGHT",
           "CHECKPOINT_FORMAT"]


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
    for xb, yb, _, _ in batches(dataset, batch_size):
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


def _feed(h, obj) -> None:
    """Feed ``obj`` to the hash ``h`` in a canonical, type-tagged form (dict keys sorted)."""
    if isinstance(obj, torch.Tensor):
        t = obj.detach().cpu().contiguous()
        h.update(f"T{t.dtype}{tuple(t.shape)}:".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
    elif isinstance(obj, dict):
        h.update(f"D{len(obj)}:".encode())
        for k in sorted(obj, key=lambda k: (type(k).__name__, repr(k))):
            _feed(h, k)
            _feed(h, obj[k])
    elif isinstance(obj, (list, tuple)):
        h.update(f"{'L' if isinstance(obj, list) else 'U'}{len(obj)}:".encode())
        for v in obj:
            _feed(h, v)
    elif isinstance(obj, str):
        b = obj.encode()
        h.update(f"S{len(b)}:".encode() + b)
    elif isinstance(obj, bool) or obj is None:
        h.update(f"B{obj}:".encode())
    elif isinstance(obj, int):
        h.update(f"I{obj}:".encode())
    elif isinstance(obj, float):
        h.update(f"F{obj.hex()}:".encode())
    else:
        raise TypeError(f"a checkpoint holds plain values and tensors only, got "
                        f"{type(obj).__name__}")


def checkpoint_digest(ckpt: dict) -> str:
    """SHA-256 (hex) over the canonical serialisation of every field of ``ckpt`` but
    ``digest``: tensors by dtype, shape and raw bytes, containers and scalars type-tagged,
    dict keys sorted. Independent of pickling details, so it is recomputed on loading."""
    h = hashlib.sha256(b"snnlab-checkpoint:")
    _feed(h, {k: v for k, v in ckpt.items() if k != "digest"})
    return h.hexdigest()


def check_weights(state, where: str = "model") -> None:
    """Raise one ``ValueError`` if a floating-point tensor of ``state`` (a module or a state
    dict) holds NaN or infinity or a value larger in magnitude than :data:`MAX_ABS_WEIGHT`."""
    if isinstance(state, torch.nn.Module):
        state = state.state_dict()
    for name, t in state.items():
        if not isinstance(t, torch.Tensor) or not torch.is_floating_point(t) or not t.numel():
            continue
        t = t.detach()
        if not bool(torch.isfinite(t).all()):
            bad = int((~torch.isfinite(t)).sum())
            raise ValueError(f"{where}: {name} holds {bad} non-finite values (NaN or inf); "
                             "refusing these weights")
        peak = float(t.abs().max())
        if peak > MAX_ABS_WEIGHT:
            raise ValueError(f"{where}: {name} holds a value of magnitude {peak:.3g}, beyond "
                             f"snnlab's bound of {MAX_ABS_WEIGHT:g}; refusing these weights")


def save_checkpoint(path, model, optimizer=None, *, epoch: int = 0, history: History | None = None,
                    extra: dict | None = None, config: dict | None = None,
                    rule_state: dict | None = None, rng_state: torch.Tensor | None = None) -> Path:
    """Save a ``weights_only``-safe checkpoint (format 2) atomically. Its fields:

    ``format_version``; ``model_config`` (rebuilds the network) and ``model_state``;
    ``optimizer_state`` (or None); ``epoch`` (epochs done); ``history`` (records so far);
    ``config``, the run's configuration (``rule``, ``hparams``, ``T``, ``epochs``, ``lr``,
    ``seed``, ``optimizer``, ``weight_decay``, ``encoding``, ``data``, ``batch_size``; ``{}`` for
    a bare network); ``rule_state`` (:meth:`Rule.state_dict`, e.g. EICIL's phase, a teacher);
    ``rng_state`` (torch's global generator, or None); ``extra`` (yours); and ``digest``, the
    SHA-256 of all the others (:func:`checkpoint_digest`)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {
        "format_version": CHECKPOINT_FORMAT,
        "model_config": getattr(model, "config", {}),
        "model_state": model.state_dict(),
        "optimizer_state": optimizer.state_dict() if optimizer is not None else None,
        "epoch": epoch,
        "history": history.as_dict() if history is not None else None,
        "config": dict(config or {}),
        "rule_state": dict(rule_state or {}),
        "rng_state": rng_state,
        "extra": extra or {},
    }
    state["digest"] = checkpoint_digest(state)
    tmp = path.with_suffix(path.suffix + ".tmp")
    torch.save(state, tmp)
    tmp.replace(path)  # never leave a half-written checkpoint behind
    return path


def _read_checkpoint(path) -> dict:
    """The checkpoint dict at ``path``, its format, digest and weights verified."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {path} does not exist")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # a corrupt or foreign file: torch's reason, on one line
        why = " ".join(str(e).split())[:300] or type(e).__name__
        raise ValueError(f"checkpoint {path} is not a readable snnlab checkpoint: {why}") from None
    version = ckpt.get("format_version") if isinstance(ckpt, dict) else None
    if version != CHECKPOINT_FORMAT:
        older = (" (written before checkpoints carried a digest; it cannot be verified)"
                 if version == 1 else "")
        raise ValueError(f"checkpoint {path} has format {version!r}{older}; this snnlab reads "
                         f"format {CHECKPOINT_FORMAT}")
    try:
        digest = checkpoint_digest(ckpt)
    except TypeError as e:
        raise ValueError(f"checkpoint {path} is not a readable snnlab checkpoint: {e}") from None
    if ckpt.get("digest") != digest:
        raise ValueError(f"checkpoint {path}: digest mismatch (the file was altered or damaged "
                         "after it was written)")
    if not isinstance(ckpt.get("model_state"), dict):
        raise ValueError(f"checkpoint {path} has no model state")
    check_weights(ckpt["model_state"], f"checkpoint {path}")
    return ckpt


def _apply_model_state(path, model, ckpt):
    if model is None:
        model = from_config(ckpt["model_config"])
    try:
        model.load_state_dict(ckpt["model_state"])
    except RuntimeError as e:
        first = str(e).splitlines()[0]
        raise ValueError(f"checkpoint {path} does not fit this model: {first}") from None
    return model


def load_checkpoint(path, model=None):
    """Load a checkpoint with ``torch.load(weights_only=True)`` and verify it.

    Returns ``(model, checkpoint dict)``; the model is rebuilt from its stored config when not
    given. Raises ``ValueError`` for a checkpoint of another format, a digest mismatch (the file
    was changed after it was written), weights that are NaN, infinite or beyond
    :data:`MAX_ABS_WEIGHT`, or a model they do not fit.
    """
    ckpt = _read_checkpoint(path)
    return _apply_model_state(Path(path), model, ckpt), ckpt


def _mismatches(saved: dict, now: dict) -> list[str]:
    """One phrase per field of :data:`RESUME_FIELDS` on which a resume differs."""
    if not saved:
        return ["the checkpoint records no training run (a bare save_checkpoint)"]
    if saved.get("rule") != now["rule"]:  # other hyper-parameters mean nothing then
        return [f"resume with rule {now['rule']!r} but the checkpoint was written by "
                f"{saved.get('rule')!r}"]
    out = []
    for key in RESUME_FIELDS[1:]:
        old, new = saved.get(key), now.get(key)
        if key == "hparams":
            old, new = old or {}, new or {}
            out += [f"resume with {now['rule']} {k}={new.get(k)!r} but the checkpoint was "
                    f"written with {k}={old.get(k)!r}" for k in sorted(set(old) | set(new))
                    if old.get(k) != new.get(k)]
        elif old != new:
            out.append(f"resume with {key} {new!r} but the checkpoint was written with {old!r}")
    return out


def _check_resume(path, config: dict, force: bool) -> dict:
    """The verified checkpoint at ``path`` if the run ``config`` may continue from it."""
    path = Path(path)
    ckpt = _read_checkpoint(path)
    problems = _mismatches(ckpt["config"], config)
    if problems and not force:
        raise ValueError(f"{'; '.join(problems)} ({path}); snnlab.train(..., resume='force') "
                         "resumes anyway")
    if problems:
        warnings.warn(f"resuming despite: {'; '.join(problems)}", stacklevel=3)
    return ckpt


def _restore(path, ckpt, model, opt, rule, config, history) -> int:
    """Put a run back where ``ckpt`` left it; returns the number of epochs it had done."""
    _apply_model_state(Path(path), model, ckpt)
    if ckpt["optimizer_state"] is not None:
        if ckpt["config"].get("optimizer") in (None, config["optimizer"]):
            opt.load_state_dict(ckpt["optimizer_state"])
        else:  # only with force: another optimizer's state means nothing to this one
            warnings.warn("the checkpoint's optimizer state is for another optimizer; "
                          "starting this one afresh", stacklevel=3)
    if ckpt["config"].get("rule") == rule.name:
        rule.load_state_dict(ckpt["rule_state"])
    if ckpt["rng_state"] is not None:
        torch.set_rng_state(ckpt["rng_state"])
    if ckpt["history"]:
        history.records = list(ckpt["history"]["records"])
    return int(ckpt["epoch"])


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
          progress: bool = True, checkpoint=None, resume: bool | str = False, device="cpu",
          eval_every: int = 1, callback=None, distributed: bool = False, augment=None,
          lr_schedule=None,
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
        checkpoint: a path; saved after every epoch (by rank 0 alone when distributed).
            ``resume=True`` continues from it (a missing file starts afresh) after checking
            its digest, its weights and that it was written by the same run configuration
            (:data:`RESUME_FIELDS`); a mismatch is a ``ValueError`` naming the field and
            both values. ``resume="force"`` resumes anyway with a warning (the optimizer
            state of another optimizer and the rule state of another rule are dropped).
        progress: a tqdm bar on stderr advancing every batch (never on stdout).
        callback: called as ``callback(record)`` after every epoch (live plots in notebooks).
        lr_schedule: called as ``lr_schedule(epoch)`` (0-based) at the start of every epoch;
            its value becomes the optimizer's learning rate for that epoch (e.g. the cosine or
            step schedule of a paper configuration, :mod:`snnlab.reproduce`). ``None``: ``lr``
            throughout.
        augment: called as ``augment(xb, generator)`` on every training batch ``[B, ...]``
            before encoding (data augmentation, e.g. :class:`snnlab.reproduce.CropFlip`); it
            draws from the epoch's generator, so runs stay reproducible. Not used in evaluation.
        distributed: data-parallel over the processes ``torchrun`` started (see
            :mod:`snnlab.distributed`); each global batch of ``batch_size`` is split among them
            and each process reads and encodes its own rows only.
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
    check_float("weight_decay", weight_decay, low=0.0, high=MAX_LR)  # as lr: no overflow
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

    config = dict(rule=rule.name, hparams=rule.hparams(), T=T, epochs=epochs,
                  batch_size=batch_size, lr=lr, seed=seed, encoding=encoding, optimizer=opt_name,
                  weight_decay=float(weight_decay), data=data.name,
                  model=getattr(model, "config", {}))
    if resume not in (False, True, "force"):
        raise ValueError(f"resume must be False, True or 'force', got {resume!r}")
    if resume and checkpoint is None:
        raise ValueError("resume needs checkpoint=PATH (the file to continue from)")
    ckpt = None
    if resume and Path(checkpoint).is_file():  # no file yet: a fresh start
        ckpt = _check_resume(checkpoint, config, force=resume == "force")

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

    history = History(rule.name, [], config, model)
    start_epoch = 0
    if ckpt is not None:  # after setup, which may reset what the rule keeps
        start_epoch = _restore(checkpoint, ckpt, model, opt, rule, config, history)

    rank, world = (DIST.rank(), DIST.world_size()) if distributed else (0, 1)
    per_epoch = math.ceil(len(data.train) / batch_size)
    bar = tqdm(total=max(epochs - start_epoch, 0) * per_epoch, unit="batch",
               desc=f"{rule.name} epoch {min(start_epoch + 1, epochs)}/{epochs}",
               disable=not (progress and main), leave=True, file=sys.stderr)
    if lr_schedule is not None and not callable(lr_schedule):
        raise TypeError(f"lr_schedule must be a function epoch -> lr, got "
                        f"{type(lr_schedule).__name__}")
    for epoch in range(start_epoch, epochs):
        bar.set_description(f"{rule.name} epoch {epoch + 1}/{epochs}")
        if lr_schedule is not None:
            lr_now = check_float("lr_schedule(epoch)", lr_schedule(epoch), low=0.0, high=MAX_LR)
            for group in opt.param_groups:
                group["lr"] = lr_now
        gen = _epoch_generator(seed, epoch)
        model.train()
        t0 = time.perf_counter()
        n = 0
        loss_sum = 0.0
        # each process reads and encodes only its rows of every global batch (same global order
        # and the same random numbers as one process: snnlab.data.batches, encode_rows)
        for batch, (xb, yb, rows, n_global) in enumerate(
                batches(data.train, batch_size, shuffle=True, generator=gen, rank=rank,
                        world_size=world)):
            if n_global < world:
                bar.update(1)
                continue  # too few rows to give every process one (all skip alike)
            if augment is not None:  # on this process's rows (so not bit-identical across W)
                xb = augment(xb, gen)
            xb, yb = xb.to(device), yb.to(device)
            x_seq = encode_rows(xb, T, encoding, rows=rows, n=n_global,
                                generator=gen if device.type == "cpu" else None)
            if distributed:
                opt.set_shard(rows.stop - rows.start, n_global)
            out = rule.step(model, x_seq, yb, opt)
            loss = out["loss"]
            if not math.isfinite(loss):
                raise RuntimeError(
                    f"training diverged: the loss became {loss} at epoch {epoch + 1}, batch "
                    f"{batch + 1}. Try a smaller lr (now {lr:g}); the last checkpoint "
                    f"{'(' + str(checkpoint) + ') ' if checkpoint else ''}was kept.")
            n += yb.shape[0]
            loss_sum += loss * yb.shape[0]
            bar.set_postfix(loss=f"{loss:.3f}", refresh=False)
            bar.update(1)
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
                            config=config, rule_state=rule.state_dict(),
                            rng_state=torch.get_rng_state())
        if callback is not None and main:
            callback(record)
    bar.close()
    return history
