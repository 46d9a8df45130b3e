"""Keras 2 spellings that Keras 3 refuses, accepted again in the worker (a pack preloads this).

Course notebooks written for TensorFlow 2's Keras say ``SGD(lr=0.1)``; Keras 3 raises
``Argument(s) not recognized: {'lr': 0.1}``, so a file that ran on the student's Colab would
fail before the grader sees its model. ``lr`` is read as ``learning_rate`` (what Keras 2 did,
with a deprecation warning); nothing else changes.
"""

from __future__ import annotations

import functools
from typing import Any

from keras.src.optimizers.base_optimizer import BaseOptimizer

__all__ = ["accept_keras2_spellings"]


def accept_keras2_spellings() -> None:
    init = BaseOptimizer.__init__
    if getattr(init, "_grader_keras2", False):
        return

    @functools.wraps(init)
    def patched(self: Any, learning_rate: Any, *args: Any, **kwargs: Any) -> None:
        if "lr" in kwargs:  # Keras 2's name; subclasses pass their own default alongside
            learning_rate = kwargs.pop("lr")
        init(self, learning_rate, *args, **kwargs)

    patched._grader_keras2 = True  # type: ignore[attr-defined]
    BaseOptimizer.__init__ = patched


accept_keras2_spellings()
