"""The pytest plugin that turns a pack's tests into a grade.

Tests say what they are worth with ``@pytest.mark.graded(points=2, function="softmax")``
(optionally ``visibility="after_published"`` for hidden tests, ``name=...``). The ``student``
fixture hands them the submission as a :class:`~grader.worker.proxy.Student`, running in a
worker process. This plugin records every graded test's outcome and a student-facing message
(never the test's source) in a state file that :mod:`grader.runner` turns into results.json;
run by hand, it prints a score table instead.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest

from grader.devices import cuda_available
from grader.failures import failure_message, is_timeout
from grader.packs import Pack, load_pack, packs_root
from grader.worker.client import SubmissionError, Worker
from grader.worker.proxy import Student

try:
    from hypothesis import HealthCheck, settings

    settings.register_profile(
        "grader", derandomize=True, database=None, deadline=None, print_blob=False,
        suppress_health_check=list(HealthCheck),
    )
except ImportError:  # pragma: no cover - hypothesis is a dependency
    settings = None

STATE_KEY = pytest.StashKey[dict]()
GPU_MODES = ("run", "defer", "only", "auto")
DEFERRED = "deferred: graded later"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("grader", "grading a submission")
    group.addoption("--submission", help="the student's file, notebook, folder or zip")
    group.addoption("--assignment", help="the assignment pack (default: from the test path)")
    group.addoption("--public-only", action="store_true", help="run only visible tests")
    group.addoption("--fast", action="store_true", help="leave out slow and gpu tests")
    group.addoption("--load-mode", choices=("definitions", "all"),
                    help="load only definitions (default) or run all top-level code")
    group.addoption("--gpu-tests", choices=GPU_MODES, default="run",
                    help="the tests graded later (marked gpu, or with a --later-marks mark): "
                         "run them (gpu ones skip without CUDA), defer them to a later batch, "
                         "run only them, or auto: defer them when there is no CUDA GPU")
    group.addoption("--later-marks", default="gpu",
                    help="comma-separated marks of the tests graded later (default: gpu)")
    group.addoption("--train-on-cpu", action="store_true",
                    help="run the gpu tests' training on the CPU (grader check --train: an "
                         "estimate of the GPU run)")
    group.addoption("--grader-state", help="(internal) where to record outcomes")
    group.addoption("--no-landlock", action="store_true", help="(debug) no file-system sandbox")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "graded(points, function, visibility, name): a graded test")
    config.addinivalue_line("markers", "slow: long-running; left out by --fast")
    config.addinivalue_line("markers", "gpu: needs a CUDA GPU")
    config.stash[STATE_KEY] = {"records": {}, "workers": {}, "started": time.time()}
    config.pluginmanager.register(_CollectErrors(config), "grader-collect-errors")
    if settings is not None and _grading_run(config):
        # derandomized, no example database, no health checks: only where a grade is made
        # (installing the grader must not change how other projects' tests run)
        settings.load_profile("grader")
    name = config.getoption("assignment")
    if name and _only_default_args(config):
        config.args[:] = [str(load_pack(name).tests_dir)]


def _grading_run(config: pytest.Config) -> bool:
    """Whether this pytest session grades: asked to (--assignment, --submission, the state
    file), run in a student's folder (a grader.toml), or on a pack's tests."""
    if any(config.getoption(o) for o in ("assignment", "submission", "grader_state")):
        return True
    here = Path(config.invocation_params.dir).resolve()
    if (here / "grader.toml").is_file():
        return True
    paths = [here / a.split("::")[0] for a in config.args] or [here]
    packs = (packs_root() / "tests").resolve()
    for path in paths:
        path = path.resolve()
        if path == packs or packs in path.parents or path in packs.parents:
            return True
        if any((folder / "pack.toml").is_file() for folder in [path, *path.parents]):
            return True
    return False


def _only_default_args(config: pytest.Config) -> bool:
    """True when pytest was given no test paths (students running plain ``pytest``)."""
    return all(Path(a).resolve() == Path(config.invocation_params.dir).resolve()
               for a in config.args)


# --- collection -----------------------------------------------------------------------------
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    gpu_mode = _gpu_mode(config)
    later_marks = {"gpu", *filter(None, (config.getoption("later_marks") or "").split(","))}
    keep, dropped = [], []
    for item in items:
        mark = item.get_closest_marker("graded")
        hidden = mark is not None and mark.kwargs.get("visibility", "visible") != "visible"
        gpu = item.get_closest_marker("gpu") is not None
        later = any(item.get_closest_marker(m) for m in later_marks)
        if (config.getoption("public_only") and hidden) or (gpu_mode == "only" and not later):
            dropped.append(item)
            continue
        keep.append(item)
        if later and gpu_mode == "defer":
            item.add_marker(pytest.mark.skip(reason=DEFERRED))
        elif config.getoption("fast") and (item.get_closest_marker("slow") or gpu):
            item.add_marker(pytest.mark.skip(reason="not run: left out by --fast"))
        elif gpu and not cuda_available() and not config.getoption("train_on_cpu"):
            item.add_marker(pytest.mark.skip(reason="not run: needs a CUDA GPU and none is here"))
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = keep


def _gpu_mode(config: pytest.Config) -> str:
    """``auto`` (Gradescope): the later tests are deferred to a batch when there is no CUDA."""
    mode = config.getoption("gpu_tests") or "run"
    if mode == "auto":
        return "run" if cuda_available() else "defer"
    return mode


class _CollectErrors:
    """A pack test file that cannot be imported is the grader's failure, not the student's."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            _emit(self.config, {"event": "collect_error", "nodeid": report.nodeid,
                                "detail": str(report.longrepr)[-4000:]})


def pytest_collection_finish(session: pytest.Session) -> None:
    tests = []
    for number, item in enumerate(session.items, 1):
        meta = _meta(item, number)
        if meta:
            tests.append(meta)
    _emit(session.config, {"event": "collected", "tests": tests})


def _meta(item: pytest.Item, number: int) -> dict | None:
    mark = item.get_closest_marker("graded")
    if mark is None:
        return None
    kwargs = mark.kwargs
    if "points" not in kwargs or "function" not in kwargs:
        raise pytest.UsageError(f"{item.nodeid}: graded() needs points= and function=")
    doc = (getattr(item, "function", None).__doc__ or "").strip().splitlines()
    name = kwargs.get("name") or (doc[0] if doc else item.name)
    if "[" in item.name and not kwargs.get("name"):
        name += " " + item.name[item.name.index("["):]
    return {
        "nodeid": item.nodeid, "name": name, "points": float(kwargs["points"]),
        "function": kwargs["function"], "visibility": kwargs.get("visibility", "visible"),
        "number": str(number), "gpu": item.get_closest_marker("gpu") is not None,
        "slow": item.get_closest_marker("slow") is not None,
    }


# --- the student fixture ----------------------------------------------------------------------
class _SessionWorker:
    """One worker per (pack, submission) for the whole session, restarted after a crash."""

    def __init__(self, config: pytest.Config, pack: Pack) -> None:
        self.config = config
        self.pack = pack
        self.fatal: str | None = None
        try:
            submission, root, self.note = _resolve_submission(config, pack)
        except Exception as exc:  # noqa: BLE001 - not found, unreadable zip, ...
            self.fatal = f"Your submission could not be found or opened: {exc}"
            submission, root, self.note = Path(pack.submission_name), Path("."), ""
            _emit(config, {"event": "load", "fatal": self.fatal,
                           "status": getattr(exc, "status", "not loadable")})
        mode = config.getoption("load_mode") or pack.load_mode
        self.worker = Worker(submission, root, mode=mode, limits=pack.limits,
                             landlock=not config.getoption("no_landlock"),
                             load=pack.load_options)

    def ready(self) -> Worker:
        if self.fatal:
            raise SubmissionError(self.fatal, kind="load")
        if self.worker.alive:
            self.worker.request("reset", seed=0)
            return self.worker
        first = self.worker.load_report is None
        try:
            report = self.worker.start()
        except SubmissionError as exc:
            self.fatal = f"Your file could not be loaded. {exc.message}"
            if not first:
                self.fatal = f"The worker could not be restarted. {exc.message}"
            _emit(self.config, {"event": "load", "fatal": self.fatal,
                                "status": "not loadable" if first else "error"})
            raise SubmissionError(self.fatal, kind="load") from None
        if first:
            _emit(self.config, {"event": "load", "report": report, "note": self.note,
                                "isolation": self.worker.isolation})
        return self.worker


def _resolve_submission(config: pytest.Config, pack: Pack) -> tuple[Path, Path, str]:
    from grader.locate import locate_submission

    given = config.getoption("submission") or os.environ.get("GRADER_SUBMISSION")
    if not given:
        local = Path(config.invocation_params.dir) / pack.submission_name
        given = str(local) if local.exists() else str(pack.reference_dir / pack.submission_name)
    located = locate_submission(given, pack.submission_name)
    if located.cleanup:
        config.add_cleanup(located.cleanup)
    path, root = located.path, located.root
    if packs_root().resolve().is_relative_to(root.resolve()):
        # The worker may read the submission's folder: never let that be one that holds the
        # reference and the tests. Grade a private copy of the file instead.
        staging = Path(tempfile.mkdtemp(prefix="grader-submission-"))
        config.add_cleanup(lambda: shutil.rmtree(staging, ignore_errors=True))
        path = Path(shutil.copy2(path, staging / path.name))
        root = staging
    return path, root, located.note


def _pack_for(item: pytest.Item) -> Pack:
    name = item.config.getoption("assignment")
    if not name:
        for parent in Path(item.path).resolve().parents:
            if (parent / "pack.toml").is_file():
                name = parent.name
                break
    if not name:
        raise pytest.UsageError(f"{item.nodeid}: not inside an assignment pack (no pack.toml)")
    return load_pack(name)


@pytest.fixture
def student(request: pytest.FixtureRequest) -> Any:
    """The submission, loaded in a worker process and reset for this test."""
    state = request.config.stash[STATE_KEY]
    pack = _pack_for(request.node)
    holder = state["workers"].get(pack.name)
    if holder is None:
        holder = state["workers"][pack.name] = _SessionWorker(request.config, pack)
        request.config.add_cleanup(holder.worker.stop)
    worker = holder.ready()
    yield Student(worker, pack.name, pack.frameworks)
    if worker.alive:
        try:
            text, dropped = worker.request("output")
        except SubmissionError:
            return
        if text:
            state["records"].setdefault(request.node.nodeid, {})["printed"] = (text, dropped)


@pytest.fixture
def feedback() -> list[str]:
    """Lines (Markdown) a test wants students to read whatever its outcome, e.g. a curve."""
    return []


@pytest.fixture
def curves() -> list[dict]:
    """Training curves a test wants plotted in batch feedback: dicts with ``title``,
    ``x_label``, ``y_label``, ``series`` (name -> list of floats) and optional ``threshold``;
    ``x`` (values, default epochs 1, 2, ...), ``x_scale`` (``"log"``) and ``errors`` (name ->
    error bars, e.g. the std over replicates) for plots that are not per-epoch curves."""
    return []


@pytest.fixture(scope="session")
def training_device(request: pytest.FixtureRequest) -> str:
    """Where the gpu tests train: CUDA, or the CPU for ``grader check --train``."""
    return "cpu" if request.config.getoption("train_on_cpu") else "cuda"


@pytest.fixture(scope="session")
def mnist_pixels_on_gpu(training_device: str) -> Any:
    """MNIST on the training device with pixels in [0, 1] and not standardized, as
    notebooks load it (``x / 255``); skips, with the reason, where the data cannot be found."""
    from grader.data import DatasetError
    from grader.train import load_mnist_tensors

    try:
        return load_mnist_tensors(training_device, normalize=False)
    except DatasetError as exc:
        pytest.skip(f"not run: MNIST is not available where grading runs ({exc})")


@pytest.fixture
def pack(request: pytest.FixtureRequest) -> Pack:
    """The assignment pack the running test belongs to (settings, paths)."""
    return _pack_for(request.node)


# --- outcomes ---------------------------------------------------------------------------------
@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Any:
    report = yield
    if item.get_closest_marker("graded") is None:
        return report
    state = item.config.stash[STATE_KEY]
    record = state["records"].setdefault(item.nodeid, {})
    record.setdefault("duration", 0.0)
    record["duration"] += report.duration
    if report.skipped and "status" not in record:
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        record.update(status="skipped", message=str(reason).removeprefix("Skipped: "))
    elif report.failed and record.get("status") not in ("failed", "timeout", "error"):
        exc = call.excinfo.value if call.excinfo else None
        status = "timeout" if is_timeout(exc) else "failed" if report.when == "call" else "error"
        record.update(status=status, message=failure_message(exc, report))
        report.longrepr = f"[{record['status']}] {record['message']}"  # feedback, not source
    elif report.passed and report.when == "call":
        record.setdefault("status", "passed")
    if report.when == "teardown":
        notes = getattr(item, "funcargs", {}).get("feedback")
        if notes:
            record["notes"] = "\n".join(str(n) for n in notes)
        drawn = getattr(item, "funcargs", {}).get("curves")
        if drawn:
            record["curves"] = drawn
        _emit(item.config, {"event": "result", "nodeid": item.nodeid, **record})
    return report


def _emit(config: pytest.Config, event: dict) -> None:
    state = config.stash[STATE_KEY]
    state.setdefault("events", []).append(event)
    path = config.getoption("grader_state")
    if path:
        with open(path, "a", encoding="utf-8") as f:
            f.write(json.dumps(event, default=str) + "\n")
            f.flush()


def pytest_sessionfinish(session: pytest.Session) -> None:
    """The trusted process's own peak memory: what grading this hand-in cost the judge."""
    import resource

    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    _emit(session.config, {"event": "memory", "trusted_peak_mb": round(peak_kb / 1024, 1)})


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    if config.getoption("grader_state"):
        return
    from grader.report import results_from_events, score_table

    events = config.stash[STATE_KEY].get("events", [])
    if not any(e.get("event") == "result" for e in events):
        return
    results = results_from_events(events)
    terminalreporter.write_sep("=", "grade")
    terminalreporter.write_line(score_table(results))
