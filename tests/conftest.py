"""Shared pytest setup.

Normal tests keep torch's default thread count. Tests marked ``notebooks`` start Jupyter kernels;
for them we

* apply :func:`snnlab.nbtools.patch_nbclient` (workaround for the nbclient#312 hang where a cell
  that writes into an ipywidgets ``Output`` stalls the execute-reply poll), and
* give the kernels ``OMP_NUM_THREADS=1`` (papermill's kernels inherit ``os.environ``; one thread
  per kernel is fastest for these small models on a shared 2-core machine) and no
  ``MPLBACKEND`` (with ``Agg`` forced, ``plt.show()`` in a kernel produces no image at all).
"""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _notebook_kernel_env(request, monkeypatch):
    if request.node.get_closest_marker("notebooks") is None:
        yield
        return
    from snnlab import nbtools

    nbtools.patch_nbclient()
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    monkeypatch.setenv("MKL_NUM_THREADS", "1")
    monkeypatch.delenv("MPLBACKEND", raising=False)
    yield
