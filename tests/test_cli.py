"""The snnlab command: documented usage works; bad usage is one line and exit code 2."""

import json
import subprocess
import sys

import numpy as np
import pytest

from snnlab.cli import main


def _run(*args):
    return subprocess.run([sys.executable, "-m", "snnlab", *args], capture_output=True,
                          text=True, timeout=300)


def test_train_json_line():
    r = _run("train", "--rule", "bptt", "--data", "digits", "--epochs", "2", "--T", "4",
             "--seed", "0", "--json")
    assert r.returncode == 0, r.stderr
    result = json.loads(r.stdout.strip().splitlines()[-1])
    for key in ("rule", "data", "test_acc", "train_seconds", "spikes_per_sample",
                "synops_per_sample", "peak_rss_mb"):
        assert key in result
    assert result["test_acc"] > 0.8


def test_train_on_user_npz(tmp_path, capsys):
    rng = np.random.default_rng(0)
    x = rng.random((120, 6)).astype("float32")
    y = (x[:, 0] > 0.5).astype("int64")
    path = tmp_path / "mine.npz"
    np.savez(path, x_train=x[:90], y_train=y[:90], x_test=x[90:], y_test=y[90:])
    assert main(["train", "--data", f"npz:{path}", "--epochs", "2", "--json"]) == 0
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["data"]


@pytest.mark.parametrize("args,word", [
    (["train", "--rule", "nope", "--data", "digits"], "unknown rule"),
    (["train", "--data", "atlantis"], "unknown dataset"),
    (["train", "--data", "digits", "--T", "0"], "--T"),
    (["train", "--data", "digits", "--lr", "-1"], "--lr"),
    (["train", "--data", "digits", "--hidden", "12,x"], "--hidden"),
    (["train", "--data", "npz:/nonexistent/file.npz"], "file.npz"),
    (["compare", "--rules", "bptt,nope", "--data", "digits"], "unknown rule"),
    (["fly"], "invalid choice"),
])
def test_bad_usage_is_one_line_exit_2(args, word, capsys):
    with pytest.raises(SystemExit) as e:
        code = main(args)
        raise SystemExit(code)
    assert e.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("snnlab: error:") and word in err


def test_info_and_compare(capsys):
    assert main(["info"]) == 0
    assert "bptt" in capsys.readouterr().out
    assert main(["compare", "--rules", "bptt", "--data", "digits", "--epochs", "1", "--T", "4",
                 "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "test_acc" in out and "bptt" in out


def test_notebook_builds_run_on_one_thread_whatever_jobs(monkeypatch):
    # the order of float sums depends on the thread count: a full build must not depend on --jobs
    import os

    from snnlab import nbtools
    seen = []
    monkeypatch.setenv("OMP_NUM_THREADS", "2")  # records the caller's value for teardown
    monkeypatch.delenv("OMP_NUM_THREADS")
    monkeypatch.setattr(nbtools, "build", lambda src: seen.append(os.environ.get(
        "OMP_NUM_THREADS")))
    assert main(["notebooks", "run", "01"]) == 0
    assert seen == ["1"]
