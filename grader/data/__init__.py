"""Datasets used by the graders, always read from verified files.

Tests that replace the downloader patch ``grader.data.mnist.fetch_url``, where it is called.
"""

from grader.data.mnist import (
    DATASETS,
    STANDARD_FILES,
    ChecksumMismatch,
    DatasetError,
    DatasetNotFound,
    DatasetSpec,
    find_dataset,
    load_mnist_arrays,
    load_split,
    one_hot,
    read_idx,
    train_valid_split,
)

__all__ = [
    "DATASETS",
    "STANDARD_FILES",
    "ChecksumMismatch",
    "DatasetError",
    "DatasetNotFound",
    "DatasetSpec",
    "find_dataset",
    "load_mnist_arrays",
    "load_split",
    "one_hot",
    "read_idx",
    "train_valid_split",
]
