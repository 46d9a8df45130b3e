"""Engine tests: the fixture pack and the known submissions are data, not tests."""

collect_ignore = ["packroot", "submissions"]


import pytest  # noqa: E402


@pytest.fixture(scope="session")
def mnist_pixels_subset():
    """The first 2,000 training and test images on the CPU, pixels in [0, 1] (x / 255), for
    smoke runs of training paths; skips where MNIST cannot be found."""
    from grader.data import DatasetError
    from grader.train import load_mnist_tensors

    try:
        return load_mnist_tensors("cpu", subset=2000, normalize=False)
    except DatasetError as exc:
        pytest.skip(f"MNIST not available: {exc}")
