"""The shared ANN teacher: architecture, activation, accuracy, error paths."""

import pytest
import torch

import snnlab
from snnlab.models import ANNTwin, mlp
from snnlab.teacher import Clamp, train_teacher


@pytest.fixture(scope="module")
def digits():
    return snnlab.data.load("digits")


def test_teacher_trains_digits_to_95(digits):
    t = train_teacher(digits, epochs=20, lr=3e-3, seed=0)
    assert isinstance(t, ANNTwin)
    assert t.test_acc >= 0.95
    assert not t.training
    assert all(not p.requires_grad for p in t.parameters())
    acts = t.activations(digits.test.tensors[0][:5])
    assert [a.shape[1] for a in acts] == [128, 10]
    assert float(acts[0].max()) <= 2.0 and float(acts[0].min()) >= 0.0  # clamp(0, 2)


def test_teacher_copies_the_student_architecture_without_touching_it(digits):
    student = mlp(64, [32, 16], 10)
    before = [p.clone() for p in student.parameters()]
    t = train_teacher(digits, like=student, activation="relu", epochs=1, freeze=False)
    assert [s.out_features for s in t.synapses] == [32, 16]
    assert isinstance(t.activation, torch.nn.ReLU)
    assert all(torch.equal(a, b) for a, b in zip(before, student.parameters()))
    assert any(p.requires_grad for p in t.parameters())
    assert t.config["hidden"] == [32, 16]


def test_teacher_bad_input(digits):
    with pytest.raises(ValueError, match="activation"):
        train_teacher(digits, activation="tanh", epochs=0)
    with pytest.raises(ValueError, match="clamp_max"):
        Clamp(-1.0)
    with pytest.raises(TypeError, match="like"):
        train_teacher(digits, like="mlp", epochs=0)
    with pytest.raises(ValueError, match="shape"):
        train_teacher(digits, like=mlp(10, [8], 10), epochs=0)
    with pytest.raises(TypeError, match="data"):
        train_teacher(123, epochs=0)
