"""Fixtures of the IFT6135 A1 grading suite."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture
def rng() -> np.random.Generator:
    """A fixed generator per test: the same inputs on every regrade."""
    return np.random.default_rng(20190212)
