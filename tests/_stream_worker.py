"""Run by tests/test_stream.py: train on memory-mapped .npy data under a cap on private memory.

The cap is RLIMIT_DATA, set after torch and the memory maps are in place to what the process
holds then plus ``headroom``. RLIMIT_DATA bounds a process's private writable memory (heap,
anonymous maps: whatever it would copy the data into) but not a read-only map of a file, so
training must stream the file to pass; ``np.load`` of the same array (no map) must fail.
"""

import json
import resource
import sys

import numpy as np
import torch

import snnlab


def vm(field):  # kB in /proc/self/status
    for line in open("/proc/self/status"):
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise KeyError(field)


root, headroom = sys.argv[1], int(sys.argv[2])
torch.set_num_threads(1)
split = snnlab.load(f"npy:{root}")
net = snnlab.models.mlp(split.input_shape[0], [16], split.n_classes)
snnlab.evaluate(net, split.test, 2)  # warm up torch's allocations before capping
data_before, rss_before = vm("VmData"), vm("VmRSS")
cap = data_before + headroom
resource.setrlimit(resource.RLIMIT_DATA, (cap, resource.getrlimit(resource.RLIMIT_DATA)[1]))
h = snnlab.train(net, split, "bptt", T=2, epochs=1, batch_size=2048, progress=False)
out = {"cap": cap, "headroom": headroom, "data_before": data_before, "rss_before": rss_before,
       "data_after": vm("VmData"), "rss_after": vm("VmRSS"), "rss_anon_after": vm("RssAnon"),
       "peak_rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
       "train_loss": h.final["train_loss"], "n_train": len(split.train)}
try:
    np.load(f"{root}/x_train.npy")  # the whole array in memory: must not fit under the cap
    out["whole_load"] = "fit"
except MemoryError:
    out["whole_load"] = "MemoryError"
print(json.dumps(out))
