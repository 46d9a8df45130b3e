"""The fixtures a pack's tests ask for: ``student`` (the submission, in its worker),
``pack``, ``feedback`` and ``curves`` (what a test shows students), and the training device
and data of the gpu tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from grader.packs import Pack, load_pack
from grader.plugin.session_worker import SessionWorker
from grader.plugin.state import STATE_KEY
from grader.worker.client import SubmissionError
from grader.worker.proxy import Student


def pack_for(item: pytest.Item) -> Pack:
    """The pack a test belongs to: --assignment, else the folder above it with a pack.toml."""
    name = item.config.getoption("assignment")
    if not name:
        for parent in Path(item.path).resolve().parents:
            if (parent / "pack.toml").is_file():
                name = parent.name
                break
    if not name:
        raise pytest.UsageError(f"{item.nodeid}: not inside an assignment pack (no pack.toml)")
    return load_pack(name)


class Fixtures:
    """Registered as a plugin, so that its fixtures are visible to every test of the
    session; it holds the session's workers, one per pack."""

    def __init__(self) -> None:
        self.workers: dict[str, SessionWorker] = {}

    @pytest.fixture
    def student(self, request: pytest.FixtureRequest) -> Any:
        """The submission, loaded in a worker process and reset for this test."""
        pack = pack_for(request.node)
        holder = self.workers.get(pack.name)
        if holder is None:
            holder = self.workers[pack.name] = SessionWorker(request.config, pack)
            request.config.add_cleanup(holder.worker.stop)
        worker = holder.ready()
        yield Student(worker, pack.name, pack.frameworks)
        if worker.alive:
            try:
                text, dropped = worker.request("output")
            except SubmissionError:
                return
            if text:
                records = request.config.stash[STATE_KEY]["records"]
                records.setdefault(request.node.nodeid, {})["printed"] = (text, dropped)

    @pytest.fixture
    def feedback(self) -> list[str]:
        """Lines (Markdown) a test wants students to read whatever its outcome, e.g. a curve."""
        return []

    @pytest.fixture
    def curves(self) -> list[dict]:
        """Training curves a test wants plotted in batch feedback: dicts with ``title``,
        ``x_label``, ``y_label``, ``series`` (name -> list of floats) and optional
        ``threshold``; ``x`` (values, default epochs 1, 2, ...), ``x_scale`` (``"log"``) and
        ``errors`` (name -> error bars, e.g. the std over replicates) for plots that are not
        per-epoch curves."""
        return []

    @pytest.fixture(scope="session")
    def training_device(self, request: pytest.FixtureRequest) -> str:
        """Where the gpu tests train: CUDA, or the CPU for ``grader check --train``."""
        return "cpu" if request.config.getoption("train_on_cpu") else "cuda"

    @pytest.fixture(scope="session")
    def mnist_pixels_on_gpu(self, training_device: str) -> Any:
        """MNIST on the training device with pixels in [0, 1] and not standardized, as
        notebooks load it (``x / 255``); skips, with the reason, where the data cannot be
        found."""
        from grader.data import DatasetError
        from grader.train import load_mnist_tensors

        try:
            return load_mnist_tensors(training_device, normalize=False)
        except DatasetError as exc:
            pytest.skip(f"not run: MNIST is not available where grading runs ({exc})")

    @pytest.fixture
    def pack(self, request: pytest.FixtureRequest) -> Pack:
        """The assignment pack the running test belongs to (settings, paths)."""
        return pack_for(request.node)
