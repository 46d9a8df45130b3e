"""Whether this machine has what the GPU tests need (asked without importing torch eagerly)."""

from __future__ import annotations

__all__ = ["cuda_available"]


def cuda_available() -> bool:
    """A CUDA device torch can use; False where torch is not installed."""
    try:
        import torch
    except ImportError:
        return False
    return bool(torch.cuda.is_available())
