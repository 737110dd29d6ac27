"""Held-out tasks for the first-spike rules (``timing``, ``antlr``, ``ttfs``) against ``bptt``.

Gaussian clusters generated here (never used to choose a default before they were measured):
``c5_10`` 5 classes, 10 inputs, features min-max scaled to [0, 1]; ``c8_40`` 8 classes, 40
inputs, wider clusters; ``c5_20_small`` 5 classes, 20 inputs, features in [0, 0.3]. 600 train /
300 test samples. Every rule runs with its own defaults, as ``snnlab train --rule R --data
npz:FILE --seed S`` does (128 hidden; bptt: direct code, T 8, 10 epochs; the others: latency
code, T 40, 30 epochs). Test accuracy, seeds 0, 1, 2:

=============  ==================  ==================  ==================  ==================
task           bptt                antlr               timing              ttfs
=============  ==================  ==================  ==================  ==================
c5_10 before   .853 .866 .860      .740 .709 .646      .793 .726 .756      .740 .736 .740
c5_10 after    (same)              .726 .766 .670      .757 .707 .720      (same)
c5_10 bumping  (same)              (same)              .743 .717 .743      (same)
c8_40 before   .933 .923 .949      .843 .873 .843      .839 .829 .779      .449 .433 .469
c8_40 after    (same)              .773 .796 .759      .797 .797 (-)       (same)
c8_40r now     .933 .937 .950      .800 .790 .750      .817 .840 .840      .807 .840 .843
c5_20_small    .926 .910 .876      before: .176 x3 (chance); after: refused (features < 0.5)
=============  ==================  ==================  ==================  ==================

"before" is the code before the ANTLR rewrite (timing: 1000 silent-penalty, smooth activation
route); "after" the code's loss and backward with ``timing`` at ``beta_sm = 1`` (with the code's
1/6 it collapsed on c5_10: .349 .239 .603); "bumping" is ``timing``'s default since 2026-12-05
(weight bumping for silent hidden neurons and silent targets instead of the code's penalty; with
every silent output counted, as Göltz et al. do, it was .527 .600 .660 here). The generation
parameters of the original c8_40 were not recorded, so it could not be re-run after that change;
``c8_40r`` is ``clusters(8, 40, 0, 1, 42, spread=1.5)`` (bptt's seed 0 gives the original's
.933), measured for all four rules with the code of 2026-12-05. **Not solved:** on these tasks
``antlr`` and ``timing`` stay 7-15 points below ``bptt`` (``ttfs`` was 48 points below on the
original c8_40 and is 10 points below on c8_40r); this test records that truth, it does not
hide it. Direct or rate input is refused by all three (see
``tests/test_first_spike_refusals.py``).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import snnlab
from snnlab.data import DataSplit
from snnlab.data.base import tensor_dataset


def clusters(n_cls, n_in, lo, hi, seed, n_train=600, n_test=300, spread=1.0):
    r = np.random.default_rng(seed)
    centers = r.normal(0, 1.0, (n_cls, n_in))

    def draw(n):
        y = r.integers(0, n_cls, n)
        return centers[y] + spread * r.normal(0, 1, (n, n_in)), y

    xtr, ytr = draw(n_train)
    xte, yte = draw(n_test)
    mn, mx = xtr.min(0), xtr.max(0)

    def f(x):
        return (lo + (hi - lo) * np.clip((x - mn) / (mx - mn), 0, 1)).astype(np.float32)

    return DataSplit(train=tensor_dataset(f(xtr), ytr.astype(np.int64)),
                     test=tensor_dataset(f(xte), yte.astype(np.int64)), n_classes=n_cls,
                     input_shape=(n_in,), name=f"clusters{n_cls}_{n_in}")


# measured (seed 0), see the table above: the task, then each rule's test accuracy
MEASURED = {
    "c5_10": (lambda: clusters(5, 10, 0.0, 1.0, 11),
              {"bptt": 0.853, "antlr": 0.726, "timing": 0.743, "ttfs": 0.740}),
    "c8_40r": (lambda: clusters(8, 40, 0.0, 1.0, 42, spread=1.5),
               {"bptt": 0.933, "antlr": 0.800, "timing": 0.817, "ttfs": 0.807}),
}


@pytest.mark.slow
@pytest.mark.parametrize("task,rule", [(t, r) for t, (_, accs) in MEASURED.items() for r in accs])
def test_heldout_clusters_measured_truth(task, rule):
    torch.set_num_threads(1)
    make, accs = MEASURED[task]
    hist = snnlab.train([128], make(), rule, seed=0, progress=False)
    assert abs(hist.test_acc - accs[rule]) < 0.04, hist.test_acc
    if rule != "bptt":  # the gap is real: more than a few points below bptt
        assert accs["bptt"] - hist.test_acc > 0.05


@pytest.mark.parametrize("rule", ["timing", "antlr", "ttfs"])
def test_heldout_small_scale_is_refused(rule):
    data = clusters(5, 20, 0.0, 0.3, 13, n_train=50, n_test=20, spread=1.3)
    with pytest.raises(ValueError, match="reach its upper half"):
        snnlab.train([16], data, rule, epochs=1, progress=False)
