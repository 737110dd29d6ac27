"""The claims ledger: what a claim is, the statistic, the verdict, the run and the record.

A :class:`Claim` is declared once, in the file of its paper (``claims/bptt.py``, ...), with
everything fixed *before* any run: the task, the regime, the budget, the number of seeds, the
metric, the baseline and the verdict rule. Running it calls the claim's ``measure(seed, budget)``
once per seed; each call returns plain numbers (accuracies in points, seconds, bytes...). Every
:class:`Check` of the claim turns them into one number per seed - the *effect* - and the
statistic is the mean effect with its 95 % t-interval (paired: both arms share the seed, so the
per-seed differences cancel what the seed does to both). The verdict follows from where the
interval lies relative to the check's margin (:class:`Verdict`).

"Not reproduced" is a result, not a failure; "error" means the measurement itself broke.
A definition that changes after a recorded run keeps its old form in ``history`` with the reason.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import platform
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path

import numpy
import torch
from tqdm.auto import tqdm

__all__ = [
    "Budget", "Verdict", "Check", "Claim", "register", "available", "get", "clear_registry",
    "t_quantile", "t_interval", "paired", "evaluate_check", "combine", "run_claim", "run",
    "environment", "record", "load_record", "find_record", "recorded_span", "for_rules",
    "fingerprint", "undeclared_changes", "RECORD",
    "REPRODUCED", "NOT_REPRODUCED", "INCONCLUSIVE", "ERROR",
]

REPRODUCED = "reproduced"
NOT_REPRODUCED = "not reproduced"
INCONCLUSIVE = "inconclusive"
ERROR = "error"

#: where ``make claims`` records the full ledger (relative to the repository root)
RECORD = Path("data") / "results" / "claims.json"


# --------------------------------------------------------------------------- definitions
@dataclass(frozen=True)
class Budget:
    """What one seed of a claim may spend: epochs, time steps, hidden sizes, data size.

    ``n_train``/``n_test`` cap the data (a fixed subset, the same for every seed; ``None`` =
    all); ``options`` holds claim-specific settings as ``(name, value)`` pairs (read them with
    :meth:`opt`), e.g. ``(("Ts", (4, 32)),)``.
    """

    epochs: int
    T: int
    hidden: tuple[int, ...] = (128,)
    n_train: int | None = None
    n_test: int | None = None
    batch_size: int = 64
    options: tuple[tuple[str, object], ...] = ()

    def opt(self, name: str, default=None):
        for key, value in self.options:
            if key == name:
                return value
        return default

    def as_dict(self) -> dict:
        d = {k: v for k, v in asdict(self).items() if k != "options"}
        d["hidden"] = list(self.hidden)
        d.update({k: list(v) if isinstance(v, tuple) else v for k, v in self.options})
        return d


@dataclass(frozen=True)
class Verdict:
    """The verdict rule of one check, fixed before any run.

    ``direction="above"``: reproduced if the whole 95 % interval of the effect lies above
    ``margin``, not reproduced if it lies wholly below, inconclusive if it contains ``margin``.
    ``direction="below"`` mirrors it (for costs: time ratios, memory ratios, errors).
    """

    margin: float
    direction: str = "above"

    def __post_init__(self):
        if self.direction not in ("above", "below"):
            raise ValueError(f"direction must be 'above' or 'below', got {self.direction!r}")
        if not math.isfinite(self.margin):
            raise ValueError(f"margin must be finite, got {self.margin}")

    def decide(self, lo: float, hi: float) -> str:
        if not (math.isfinite(lo) and math.isfinite(hi)):
            return INCONCLUSIVE
        above, below = lo > self.margin, hi < self.margin
        if self.direction == "above":
            return REPRODUCED if above else NOT_REPRODUCED if below else INCONCLUSIVE
        return REPRODUCED if below else NOT_REPRODUCED if above else INCONCLUSIVE

    def describe(self, effect: str) -> str:
        good, bad = ("above", "below") if self.direction == "above" else ("below", "above")
        return (f"reproduced if the 95 % interval of {effect} lies {good} {self.margin:g}; "
                f"not reproduced if it lies {bad}; inconclusive otherwise")


EFFECTS = ("diff", "ratio", "value")


@dataclass(frozen=True)
class Check:
    """One tested statement of a claim.

    ``metric`` and ``baseline`` name numbers that ``measure`` returns for every seed;
    ``baseline`` may instead be a number (a paper's reported value). The per-seed effect is
    ``metric - baseline`` (``"diff"``), ``metric / baseline`` (``"ratio"``) or ``metric``
    alone (``"value"``, no baseline).
    """

    name: str
    metric: str
    verdict: Verdict
    baseline: str | float | None = None
    effect: str = "diff"
    unit: str = "points"

    def __post_init__(self):
        if self.effect not in EFFECTS:
            raise ValueError(f"effect must be one of {EFFECTS}, got {self.effect!r}")
        if self.effect != "value" and self.baseline is None:
            raise ValueError(f"check {self.name!r}: effect {self.effect!r} needs a baseline")

    @property
    def effect_label(self) -> str:
        b = (self.baseline if isinstance(self.baseline, str) or self.baseline is None
             else f"{self.baseline:g}")
        return {"diff": f"({self.metric} - {b})", "ratio": f"({self.metric} / {b})",
                "value": self.metric}[self.effect]

    def rule_text(self) -> str:
        return self.verdict.describe(self.effect_label)


@dataclass(frozen=True)
class Claim:
    """One paper's claim, declared before it is run (see the module docstring).

    ``measure(seed, budget) -> dict[str, float]`` runs everything one seed needs. ``budget``
    is the full-run budget and ``fast`` the CI one (``--fast``: a smoke test of the machinery
    whose verdicts mean nothing). ``estimate_minutes`` is the full run's expected cost on 2
    CPU cores, from a ``--fast`` run and timing probes (each claim's ``measure`` timed at 1 and 3
    epochs on one torch thread, extrapolated to the budget, plus about 30 % for a shared
    machine). ``history`` lists every change of the
    definition after a recorded run, each with its date and reason.
    """

    id: str
    rules: tuple[str, ...]
    paper: str
    statement: str
    task: str
    regime: str
    baseline: str
    checks: tuple[Check, ...]
    measure: Callable[[int, Budget], dict]
    budget: Budget
    fast: Budget
    estimate_minutes: float
    seeds: int = 5
    paired: bool = True
    history: tuple[str, ...] = ()
    notes: str = ""
    #: what the paper itself reports, in its own setting, with where the number comes from
    #: (a wording aid for readers comparing with the paper; not part of the test)
    reported: str = ""

    def __post_init__(self):
        if not self.checks:
            raise ValueError(f"claim {self.id!r} has no checks")
        if self.seeds < 2:
            raise ValueError(f"claim {self.id!r}: a t-interval needs at least 2 seeds")

    @property
    def metric(self) -> str:
        return self.checks[0].metric

    @property
    def statistic(self) -> str:
        kind = ("paired per-seed effects (both arms share each seed)" if self.paired
                else "per-seed values")
        return f"{kind} over {self.seeds} seeds: their mean and a 95 % t-interval"

    @property
    def verdict_rule(self) -> str:
        parts = [c.rule_text() for c in self.checks]
        joint = ("" if len(parts) == 1 else
                 " The claim is reproduced if every check is, not reproduced if any check is "
                 "not, inconclusive otherwise.")
        return " | ".join(parts) + joint

    def describe(self) -> dict:
        return dict(id=self.id, rules=list(self.rules), paper=self.paper,
                    statement=self.statement, task=self.task, regime=self.regime,
                    baseline=self.baseline, metric=self.metric, statistic=self.statistic,
                    verdict_rule=self.verdict_rule, seeds=self.seeds,
                    budget=self.budget.as_dict(), fast_budget=self.fast.as_dict(),
                    estimate_minutes=self.estimate_minutes,
                    checks=[dict(name=c.name, metric=c.metric, baseline=c.baseline,
                                 effect=c.effect, unit=c.unit, rule=c.rule_text())
                            for c in self.checks],
                    history=list(self.history), notes=self.notes, reported=self.reported)


_REGISTRY: dict[str, Claim] = {}

#: what may change without a history entry: wording aids and the cost estimate, never the test
_NOT_DEFINITION = ("history", "notes", "estimate_minutes", "fast_budget", "reported")


def fingerprint(claim: Claim) -> str:
    """A short hash of everything that defines the test (statement, task, regime, budget,
    seeds, metric, baseline, checks and verdict rules); stored with each recorded result so a
    later change of definition shows (:func:`undeclared_changes`)."""
    d = {k: v for k, v in claim.describe().items() if k not in _NOT_DEFINITION}
    blob = json.dumps(d, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def undeclared_changes(rec: dict, claims: dict[str, Claim] | None = None) -> list[str]:
    """Ids of recorded claims whose definition now differs from the one recorded while their
    ``history`` has no new entry explaining the change (the honesty rule of the ledger)."""
    if claims is None:
        claims = {i: get(i) for i in available()}
    out = []
    for res in rec.get("claims", []):
        claim = claims.get(res.get("id"))
        if claim is None or "fingerprint" not in res:
            continue
        if (fingerprint(claim) != res["fingerprint"]
                and len(claim.history) <= len(res.get("history") or [])):
            out.append(claim.id)
    return out


def register(claim: Claim) -> Claim:
    """Add ``claim`` to the ledger (ids are unique)."""
    if claim.id in _REGISTRY and _REGISTRY[claim.id] is not claim:
        raise ValueError(f"claim id {claim.id!r} is registered twice")
    _REGISTRY[claim.id] = claim
    return claim


def available() -> list[str]:
    """Ids of every claim, in ledger order."""
    return list(_REGISTRY)


def get(claim_id: str) -> Claim:
    if claim_id not in _REGISTRY:
        raise ValueError(f"unknown claim {claim_id!r}; available: {', '.join(_REGISTRY)}")
    return _REGISTRY[claim_id]


def clear_registry() -> None:
    """For tests only."""
    _REGISTRY.clear()


# --------------------------------------------------------------------------- statistics
def _betacf(a: float, b: float, x: float) -> float:
    # continued fraction of the regularised incomplete beta function (modified Lentz)
    tiny, qab, qap, qam = 1e-300, a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 300):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < 1e-15:
            break
    return h


def _betainc(a: float, b: float, x: float) -> float:
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    lbt = (math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b)
           + a * math.log(x) + b * math.log1p(-x))
    if x < (a + 1.0) / (a + b + 2.0):
        return math.exp(lbt) * _betacf(a, b, x) / a
    return 1.0 - math.exp(lbt) * _betacf(b, a, 1.0 - x) / b


def _t_cdf(t: float, df: float) -> float:
    tail = 0.5 * _betainc(df / 2.0, 0.5, df / (df + t * t))
    return 1.0 - tail if t >= 0 else tail


def t_quantile(p: float, df: int) -> float:
    """Quantile of Student's t with ``df`` degrees of freedom (bisection on the exact CDF via
    the incomplete beta function; no scipy). ``t_quantile(0.975, 4) = 2.776...``."""
    if not 0.0 < p < 1.0:
        raise ValueError(f"p must lie in (0, 1), got {p}")
    if df < 1:
        raise ValueError(f"df must be >= 1, got {df}")
    if p < 0.5:
        return -t_quantile(1.0 - p, df)
    lo, hi = 0.0, 1.0
    while _t_cdf(hi, df) < p:
        hi *= 2.0
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if _t_cdf(mid, df) < p:
            lo = mid
        else:
            hi = mid
        if hi - lo < 1e-12 * max(1.0, hi):
            break
    return 0.5 * (lo + hi)


def t_interval(values: Iterable[float], level: float = 0.95) -> tuple[float, float, float]:
    """``(mean, lo, hi)``: the mean and its two-sided t-interval at ``level``. One value gives
    an infinite interval; identical values a zero-width one."""
    xs = [float(v) for v in values]
    n = len(xs)
    if n == 0:
        raise ValueError("t_interval needs at least one value")
    mean = sum(xs) / n
    if n == 1:
        return mean, -math.inf, math.inf
    sd = math.sqrt(sum((x - mean) ** 2 for x in xs) / (n - 1))
    half = t_quantile(0.5 + level / 2.0, n - 1) * sd / math.sqrt(n)
    return mean, mean - half, mean + half


def paired(values: Iterable[float], baselines: Iterable[float]) -> list[float]:
    """Per-seed differences ``value - baseline``."""
    v, b = list(values), list(baselines)
    if len(v) != len(b):
        raise ValueError(f"paired needs equal lengths, got {len(v)} and {len(b)}")
    return [x - y for x, y in zip(v, b)]


# --------------------------------------------------------------------------- verdicts
def _mean(xs):
    xs = [x for x in xs if x is not None]
    return sum(xs) / len(xs) if xs else None


def evaluate_check(check: Check, per_seed: list[dict]) -> dict:
    """The statistic and verdict of one check over the per-seed measurements."""
    metric = [float(m[check.metric]) for m in per_seed]
    if isinstance(check.baseline, str):
        base = [float(m[check.baseline]) for m in per_seed]
    elif check.baseline is None:
        base = [None] * len(metric)
    else:
        base = [float(check.baseline)] * len(metric)
    if check.effect == "diff":
        effects = paired(metric, base)
    elif check.effect == "ratio":
        effects = [m / b if b else math.inf for m, b in zip(metric, base)]
    else:
        effects = metric
    finite = all(math.isfinite(e) for e in effects)
    mean, lo, hi = t_interval(effects) if finite else (math.nan, math.nan, math.nan)
    return dict(name=check.name, metric=check.metric, value=_mean(metric),
                baseline=_mean(base) if check.baseline is not None else None,
                baseline_name=check.baseline if isinstance(check.baseline, str) else
                ("paper" if check.baseline is not None else None),
                effect=check.effect, unit=check.unit, mean_effect=mean, ci95=[lo, hi],
                per_seed_effect=effects, rule=check.rule_text(),
                verdict=check.verdict.decide(lo, hi))


def combine(verdicts: Iterable[str]) -> str:
    """A claim's verdict from its checks': any error -> error; all reproduced -> reproduced;
    any not reproduced -> not reproduced; otherwise inconclusive."""
    vs = list(verdicts)
    if not vs or ERROR in vs:
        return ERROR
    if all(v == REPRODUCED for v in vs):
        return REPRODUCED
    if NOT_REPRODUCED in vs:
        return NOT_REPRODUCED
    return INCONCLUSIVE


def _json_number(x):
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


def _clean(obj):
    if isinstance(obj, dict):
        return {k: _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    return _json_number(obj)


# --------------------------------------------------------------------------- running
def run_claim(claim: Claim, *, fast: bool = False, seeds: int | None = None,
              on_seed: Callable[[str, int], None] | None = None) -> dict:
    """Run ``claim`` for ``seeds`` seeds (default: the claim's, or 2 with ``fast``) and return
    its result: the definition, the per-seed measurements, each check's statistic and verdict,
    and the claim's verdict. An exception in ``measure`` gives verdict ``"error"`` (recorded
    with its message), not a crash of the whole ledger."""
    n = seeds if seeds is not None else (2 if fast else claim.seeds)
    if n < 2:
        raise ValueError(f"seeds must be >= 2 for a t-interval, got {n}")
    budget = claim.fast if fast else claim.budget
    t0 = time.perf_counter()
    per_seed, error = [], None
    for seed in range(n):
        try:
            m = claim.measure(seed, budget)
        except Exception as e:  # noqa: BLE001  (recorded as the claim's error verdict)
            error = f"{type(e).__name__}: {e}"
            break
        per_seed.append({k: float(v) for k, v in m.items()})
        if on_seed is not None:
            on_seed(claim.id, seed)
    checks = [] if error else [evaluate_check(c, per_seed) for c in claim.checks]
    verdict = ERROR if error else combine(c["verdict"] for c in checks)
    first = checks[0] if checks else {}
    out = dict(id=claim.id, rules=list(claim.rules), statement=claim.statement,
               paper=claim.paper, task=claim.task, regime=claim.regime,
               metric=claim.metric, value=first.get("value"), baseline=first.get("baseline"),
               baseline_name=claim.baseline, effect=first.get("mean_effect"),
               ci95=first.get("ci95", [None, None]), seeds=n, verdict=verdict,
               verdict_rule=claim.verdict_rule, checks=checks, per_seed=per_seed,
               budget=budget.as_dict(), fast=fast, estimate_minutes=claim.estimate_minutes,
               seconds=round(time.perf_counter() - t0, 2), history=list(claim.history),
               reported=claim.reported, fingerprint=fingerprint(claim))
    if error:
        out["error"] = error
    return _clean(out)


def run(ids: Iterable[str] | None = None, *, fast: bool = False, seeds: int | None = None,
        progress: bool = True, on_result: Callable[[dict], None] | None = None) -> list[dict]:
    """Run the claims ``ids`` (default: all) with a progress bar on stderr; ``on_result`` is
    called with each claim's result as soon as it is known."""
    claims = [get(i) for i in (ids if ids is not None else available())]
    total = sum(seeds if seeds is not None else (2 if fast else c.seeds) for c in claims)
    bar = tqdm(total=total, desc="claims", unit="seed", disable=not progress, file=sys.stderr)
    results = []
    try:
        for claim in claims:
            bar.set_postfix_str(claim.id)
            res = run_claim(claim, fast=fast, seeds=seeds,
                            on_seed=lambda _id, _s: bar.update(1))
            bar.update(res["seeds"] - len(res["per_seed"]))  # seeds skipped after an error
            results.append(res)
            if on_result is not None:
                on_result(res)
    finally:
        bar.close()
    return results


def _snnlab_version() -> str:
    try:
        return metadata.version("snnlab")
    except metadata.PackageNotFoundError:  # run from a checkout that was never installed
        return "unknown"


# --------------------------------------------------------------------------- recording
def environment() -> dict:
    """Package versions and machine facts stored with a recorded ledger."""
    return dict(python=platform.python_version(), torch=torch.__version__,
                numpy=numpy.__version__, snnlab=_snnlab_version(), platform=platform.platform(),
                machine=platform.machine(), processor=platform.processor() or None,
                cpu_count=os.cpu_count(), torch_threads=torch.get_num_threads())


@dataclass
class _Record:
    created: str
    mode: str
    environment: dict
    claims: list = field(default_factory=list)


def record(results: list[dict], path=RECORD, *, fast: bool = False,
           merge: bool = False) -> Path:
    """Write ``results`` with the environment to ``path`` (JSON); returns the path.

    ``merge=True`` keeps the claims of an existing record at ``path`` that ``results`` does not
    re-run (in ledger order); each re-run claim carries its own ``recorded`` time, and the
    record's ``environment`` becomes this run's. Merging a fast run into a full record (or the
    reverse) is refused."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    now = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    results = [{**r, "recorded": now} for r in results]
    if merge and path.is_file():
        old = load_record(path)
        if old.get("mode") != ("fast" if fast else "full"):
            raise ValueError(f"cannot merge a {'fast' if fast else 'full'} run into the "
                             f"{old.get('mode')} record {path}")
        new = {r["id"]: r for r in results}
        kept = [{"recorded": old.get("created"), **c} for c in old["claims"]
                if c["id"] not in new]
        order = {cid: i for i, cid in enumerate(available())}
        results = sorted(kept + list(new.values()), key=lambda c: order.get(c["id"], 1e9))
    rec = _Record(created=now, mode="fast" if fast else "full",
                  environment=environment(), claims=list(results))
    path.write_text(json.dumps(_clean(asdict(rec)), indent=1) + "\n")
    return path


def recorded_span(rec: dict) -> str:
    """When the claims of a record were run: one time, or ``"first ... to last ..."`` after
    ``--merge`` runs (each claim keeps its own ``recorded`` time)."""
    times = sorted({c.get("recorded") or rec.get("created", "?") for c in rec.get("claims", [])})
    if not times:
        return str(rec.get("created", "?"))
    return times[0] if len(times) == 1 else f"{times[0]} to {times[-1]}"


def find_record(path=None) -> Path:
    """Where the recorded ledger is: ``path`` if given; else :data:`RECORD` relative to the
    working directory, or to the checkout this package lives in (a notebook runs in
    ``notebooks/``). A clear error if there is none."""
    if path is not None:
        return Path(path)
    for base in (Path.cwd(), Path(__file__).resolve().parents[2]):
        if (base / RECORD).is_file():
            return base / RECORD
    return RECORD


def for_rules(rules, rec: dict | None = None) -> list[dict]:
    """The recorded results of every claim that names one of ``rules`` (a name or a list),
    in ledger order; ``rec`` defaults to the recorded ledger (:func:`find_record`)."""
    wanted = {rules} if isinstance(rules, str) else set(rules)
    rec = load_record(find_record()) if rec is None else rec
    return [c for c in rec["claims"] if wanted & set(c.get("rules", []))]


def load_record(path=RECORD) -> dict:
    """The recorded ledger at ``path``; a clear error if there is none yet."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no recorded ledger at {path}; run `make claims` (or "
                                f"`python -m snnlab.claims run --record {path}`)")
    data = json.loads(path.read_text())
    if not isinstance(data, dict) or not isinstance(data.get("claims"), list):
        raise ValueError(f"{path} is not a claims ledger (expected an object with 'claims')")
    return data
