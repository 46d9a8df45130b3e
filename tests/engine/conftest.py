"""Engine tests: the fixture pack and the known submissions are data, not tests."""

collect_ignore = ["packroot", "submissions"]


import pytest  # noqa: E402


@pytest.fixture(scope="session")
def mnist_dir(pytestconfig):
    """The folder holding the four verified MNIST files: ``$MNIST_DIR``, the user cache, or a
    download into the cache on first use (its progress shown on the terminal). Skips, naming
    ``MNIST_DIR``, where none of these works (no network and no copy)."""
    from grader.data import DatasetError, find_dataset

    capture = pytestconfig.pluginmanager.getplugin("capturemanager")
    try:
        with capture.global_and_fixture_disabled():
            return find_dataset("mnist")
    except DatasetError as exc:
        pytest.skip("real MNIST is not available (no copy and no download); set MNIST_DIR to "
                    f"a folder holding the four IDX .gz files. {str(exc).splitlines()[0]}")


@pytest.fixture(scope="session")
def mnist_pixels_subset(mnist_dir):
    """The first 2,000 training and test images on the CPU, pixels in [0, 1] (x / 255), for
    smoke runs of training paths; skips where MNIST cannot be found."""
    from grader.data import DatasetError
    from grader.train import load_mnist_tensors

    try:
        return load_mnist_tensors("cpu", subset=2000, normalize=False, directory=mnist_dir)
    except DatasetError as exc:
        pytest.skip(f"MNIST not available: {exc}")


@pytest.fixture(scope="module")
def small_mnist(mnist_dir):
    """600 normalised MNIST images on the CPU: one short epoch of a training smoke path."""
    from grader.train import load_mnist_tensors

    return load_mnist_tensors("cpu", subset=600, directory=mnist_dir)
