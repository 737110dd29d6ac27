"""Shared pytest setup.

Normal tests keep torch's default thread count. Tests marked ``notebooks`` start Jupyter kernels;
for them we

* apply :func:`snnlab.nbtools.patch_nbclient` (workaround for the nbclient#312 hang where a cell
  that writes into an ipywidgets ``Output`` stalls the execute-reply poll), and
* give the kernels ``OMP_NUM_THREADS=1`` (papermill's kernels inherit ``os.environ``; one thread
  per kernel is fastest for these small models on a shared 2-core machine) and no
  ``MPLBACKEND`` (with ``Agg`` forced, ``plt.show()`` in a kernel produces no image at all).

``SNNLAB_TEST_DEVICE=cuda`` runs the CUDA tests (``tests/test_gpu.py``) and refuses to start
when torch sees no GPU, so a GPU run can never pass by skipping everything; the ``snn_device``
fixture gives the chosen device (``cpu`` by default).
"""

from __future__ import annotations

import os

import pytest

TEST_DEVICE = os.environ.get("SNNLAB_TEST_DEVICE", "cpu").strip().lower() or "cpu"


def pytest_configure(config):
    if TEST_DEVICE not in ("cpu", "cuda"):
        raise pytest.UsageError(f"SNNLAB_TEST_DEVICE must be 'cpu' or 'cuda', got {TEST_DEVICE!r}")
    if TEST_DEVICE == "cuda":
        import torch

        if not torch.cuda.is_available():
            raise pytest.UsageError("SNNLAB_TEST_DEVICE=cuda but torch sees no CUDA GPU")


def pytest_report_header(config):
    return f"snnlab test device: {TEST_DEVICE}"


@pytest.fixture(scope="session")
def snn_device():
    import torch

    return torch.device(TEST_DEVICE)


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
