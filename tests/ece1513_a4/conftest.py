"""Fixtures of the ECE1513 A4 suite: MNIST on the GPU as the notebook loads it, and one
trainer per session so the baseline run serves every claim."""

from __future__ import annotations

import pytest

from grader.data import DatasetError
from grader.train import load_mnist_tensors


@pytest.fixture(scope="session")
def mnist_on_gpu():
    """Pixels in [0, 1], not standardized: the notebook divides by 255 and nothing else."""
    try:
        return load_mnist_tensors("cuda", normalize=False)
    except DatasetError as exc:
        pytest.skip(f"not run: MNIST is not available where grading runs ({exc})")


@pytest.fixture(scope="session")
def trainer(mnist_on_gpu):
    from .claims import Trainer

    return Trainer(mnist_on_gpu)
