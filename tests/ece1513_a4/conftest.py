"""Fixtures of the ECE1513 A4 suite: MNIST on the GPU as the notebook loads it, and one
trainer per session so the baseline run serves every claim."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def mnist_on_gpu(mnist_pixels_on_gpu):
    """Pixels in [0, 1], not standardized: the notebook divides by 255 and nothing else."""
    return mnist_pixels_on_gpu


@pytest.fixture(scope="session")
def trainer(mnist_on_gpu):
    from .claims import Trainer

    return Trainer(mnist_on_gpu)
