"""The worker: calls, limits, crashes and isolation, driven directly (no pytest inside)."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from grader.packs import load_pack
from grader.sandboxed.limits import Limits, landlock_abi
from grader.worker.client import SubmissionError, Worker, WorkerCrashed, WorkerTimeout
from grader.worker.proxy import Student

LIMITS = Limits(call_timeout_s=2, load_timeout_s=5, memory_mb=1024)
REFERENCE = load_pack("ift6135_a1").reference_dir / "solution.py"


def _worker(tmp_path: Path, code: str, **kwargs) -> Worker:
    path = tmp_path / "solution.py"
    path.write_text(code)
    worker = Worker(path, tmp_path, limits=kwargs.pop("limits", LIMITS), **kwargs)
    return worker


@pytest.fixture
def make(tmp_path):
    workers = []

    def start(code: str, **kwargs) -> tuple[Worker, Student]:
        worker = _worker(tmp_path, code, **kwargs)
        workers.append(worker)
        worker.start()
        return worker, Student(worker)

    yield start
    for w in workers:
        w.stop()


def test_calls_attributes_and_handles(make):
    worker, s = make(
        "import numpy as np\n"
        "class C:\n"
        "    def __init__(self, k=2):\n        self.k = k\n"
        "    def f(self, x):\n        return {'y': x * self.k, 't': (1, 2)}\n"
        "    def me(self):\n        return self\n"
    )
    c = s.C(k=3)
    out = c.f(np.arange(4.0))
    np.testing.assert_array_equal(out["y"], np.arange(4.0) * 3)
    assert out["t"] == (1, 2)
    assert c.k == 3
    c.k = 5
    assert c.f(1.0)["y"] == 5.0
    assert c.me().k == 5  # a returned object stays in the worker as a handle
    assert hasattr(c, "f") and not hasattr(c, "nope")
    assert worker.isolation  # recorded for results.json


def test_spy_records_argument_shapes(make):
    _, s = make(
        "class C:\n"
        "    def g(self, a, b):\n        return 0\n"
        "    def run(self, data):\n"
        "        for i in range(0, len(data), 2):\n            self.g(data[i:i + 2], b=i)\n"
    )
    import numpy as np_

    c = s.C()
    c.spy("g")
    c.run(np_.arange(10.0).reshape(5, 2))
    calls = c.spied("g")
    assert [call[0]["shape"] for call in calls] == [[2, 2], [2, 2], [1, 2]]
    assert calls[0][0]["row_sums"] == [1.0, 5.0]
    assert [call[-1]["b"] for call in calls] == [0, 2, 4]


def test_student_exception_names_the_line(make):
    _, s = make("def f(x):\n    y = x + 1\n    return y / 0\n")
    with pytest.raises(SubmissionError) as info:
        s.f(1)
    assert "ZeroDivisionError" in info.value.message
    assert "solution.py, line 3" in info.value.message


def test_missing_name_lists_what_is_defined(make):
    _, s = make("def forward(x):\n    return x\n")
    with pytest.raises(AttributeError) as info:
        s.NN()
    assert "defines no `NN`" in str(info.value) and "`forward`" in str(info.value)


def test_infinite_loop_times_out_and_worker_restarts(make):
    worker, s = make("def spin():\n    while True:\n        pass\n\ndef ok():\n    return 1\n")
    started = time.monotonic()
    with pytest.raises(WorkerTimeout) as info:
        s.spin()
    assert time.monotonic() - started < LIMITS.call_timeout_s + 3
    assert "did not finish within 2 s" in info.value.message
    with pytest.raises(WorkerCrashed):  # the same test cannot go on with a dead worker
        s.ok()
    worker.start()
    assert Student(worker).ok() == 1


def test_sigterm_ignored_still_stopped(make):
    _, s = make(
        "import signal, time\n"
        "def stubborn():\n"
        "    signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        "    while True:\n        time.sleep(0.01)\n"
    )
    started = time.monotonic()
    with pytest.raises(WorkerTimeout):
        s.stubborn()
    assert time.monotonic() - started < LIMITS.call_timeout_s + 3


def test_sys_exit_in_a_method_is_an_error_not_a_death(make):
    worker, s = make("import sys\ndef quit():\n    sys.exit(3)\ndef ok():\n    return 2\n")
    with pytest.raises(SubmissionError) as info:
        s.quit()
    assert "sys.exit(3)" in info.value.message
    assert worker.alive and s.ok() == 2


def test_os_exit_in_a_method_kills_only_that_call(make):
    worker, s = make("import os\ndef die():\n    os._exit(7)\n")
    with pytest.raises(WorkerCrashed) as info:
        s.die()
    assert "exit status 7" in info.value.message
    assert not worker.alive


def test_sys_exit_at_import_is_reported_and_skipped(tmp_path):
    worker = _worker(tmp_path, "def f():\n    return 1\n\nclass Bad:\n    raise SystemExit(2)\n",
                     )
    try:
        report = worker.start()
        assert Student(worker).f() == 1
        assert any("SystemExit" in e and "line 4" in e for e in report["errors"])
    finally:
        worker.stop()


def test_os_exit_at_import_fails_the_load(tmp_path):
    worker = _worker(tmp_path, "import os\nclass Bad:\n    os._exit(1)\n")
    with pytest.raises(WorkerCrashed) as info:
        worker.start()
    assert "loading your file" in info.value.message
    worker.stop()


def test_infinite_loop_at_import_fails_the_load_in_time(tmp_path):
    worker = _worker(tmp_path, "class Spin:\n    while True:\n        pass\n")
    started = time.monotonic()
    with pytest.raises(WorkerTimeout):
        worker.start()
    assert time.monotonic() - started < LIMITS.load_timeout_s + 4
    worker.stop()


def test_huge_allocation_is_a_memory_error(make):
    worker, s = make("import numpy as np\ndef big():\n    return np.ones(50 * 10**9 // 8)\n"
                     "def ok():\n    return 1\n")
    with pytest.raises(SubmissionError) as info:
        s.big()
    assert "MemoryError" in info.value.message
    assert worker.alive and s.ok() == 1


def test_huge_output_is_truncated(make):
    worker, s = make("def chatty():\n    print('x' * 100_000_000)\n    return 1\n")
    started = time.monotonic()
    assert s.chatty() == 1
    text, dropped = s.output()
    assert len(text) == LIMITS.output_kb * 1024 and dropped > 99_000_000
    assert time.monotonic() - started < 5


def test_c_level_crash_is_reported(make):
    worker, s = make("import ctypes\ndef crash():\n    return ctypes.string_at(0)\n")
    with pytest.raises(WorkerCrashed) as info:
        s.crash()
    assert "SIGSEGV" in info.value.message or "Fatal Python error" in info.value.message


def test_deep_recursion_is_an_error(make):
    worker, s = make("def down(n):\n    return down(n + 1)\n")
    with pytest.raises(SubmissionError) as info:
        s.down(0)
    assert "RecursionError" in info.value.message


def test_missing_package_fails_only_code_that_uses_it(make):
    worker, s = make(
        "import numpy as np\nimport tqdm_not_installed_here as tq\n"
        "from also_missing import thing\n"
        "def plain():\n    return np.ones(2)\n"
        "def fancy():\n    return tq.tqdm(range(3))\n"
    )
    np.testing.assert_array_equal(s.plain(), np.ones(2))
    with pytest.raises(SubmissionError) as info:
        s.fancy()
    assert "tqdm_not_installed_here" in info.value.message
    assert "not installed" in info.value.message
    errors = worker.load_report["errors"]
    assert any("also_missing" in e for e in errors)


def test_top_level_training_is_not_run(make):
    worker, s = make(
        "import numpy as np\nEPOCHS = 10\n"
        "def train():\n    raise RuntimeError('should not run')\n"
        "logs = train()\nprint('training...')\n"
    )
    assert s.EPOCHS == 10
    assert "logs = train()" in worker.load_report["skipped_note"]


def test_syntax_error_is_reported_with_the_line(tmp_path):
    worker = _worker(tmp_path, "def f(:\n    return 1\n")
    try:
        report = worker.start()
        assert "line 1" in report["syntax_error"]
        with pytest.raises(AttributeError) as info:
            Student(worker).f()
        assert "could not be loaded" in str(info.value)
    finally:
        worker.stop()


@pytest.mark.skipif(landlock_abi() < 1, reason="Landlock is not available on this kernel")
@pytest.mark.parametrize("target", [
    str(REFERENCE),
    str(REFERENCE.parents[2] / "tests" / "ift6135_a1" / "test_backward.py"),
], ids=["reference", "hidden-tests"])
def test_worker_cannot_read_reference_or_tests(make, target):
    _, s = make("def peek(path):\n    return open(path).read()[:50]\n")
    with pytest.raises(SubmissionError) as info:
        s.peek(target)
    # Landlock refuses (PermissionError); under bubblewrap the file is not even there.
    assert "PermissionError" in info.value.message or "FileNotFoundError" in info.value.message


@pytest.mark.skipif(landlock_abi() < 1, reason="Landlock is not available on this kernel")
def test_worker_cannot_import_the_reference_via_sys_path(make):
    root = str(REFERENCE.parents[2])
    _, s = make(
        "import sys, importlib\n"
        f"def sneak():\n    sys.path.insert(0, {root!r})\n"
        "    return importlib.import_module('reference.ift6135_a1.solution').NN.__name__\n"
    )
    with pytest.raises(SubmissionError) as info:
        s.sneak()
    assert any(e in info.value.message for e in
               ("PermissionError", "ModuleNotFoundError", "FileNotFoundError"))


@pytest.mark.skipif(landlock_abi() < 1, reason="Landlock is not available on this kernel")
def test_worker_cannot_write_outside_its_temp_dir(make, tmp_path):
    target = tmp_path / "forged.json"
    _, s = make(f"def forge():\n    open({str(target)!r}, 'w').write('{{}}')\n")
    with pytest.raises(SubmissionError) as info:
        s.forge()
    assert ("PermissionError" in info.value.message
            or "Read-only file system" in info.value.message) and not target.exists()


def test_without_landlock_the_level_says_so(make):
    worker, s = make("def f():\n    return 1\n", landlock=False)
    assert s.f() == 1
    assert worker.isolation["sandbox"] == "none"
    assert "rlimits only" in worker.isolation["summary"]


def test_a_method_that_timed_out_fails_fast_afterwards(make):
    worker, s = make("def spin():\n    while True:\n        pass\n\ndef ok():\n    return 1\n")
    with pytest.raises(WorkerTimeout):
        s.spin()
    worker.start()  # the next test gets a fresh worker...
    started = time.monotonic()
    with pytest.raises(WorkerTimeout) as info:
        Student(worker).spin()  # ...but the same loop is not waited for again
    assert time.monotonic() - started < 0.5
    assert "earlier test" in info.value.message
    assert Student(worker).ok() == 1  # and the worker is still usable
    with worker.time_limit(10):  # a longer limit than the one that ran out: tried again
        with pytest.raises(WorkerTimeout):
            worker.request("call", [[], {}], name="spin", timeout=2.5,
                           doing="running `spin`")


def test_engine_calls_are_limited_to_the_registry(make):
    _, s = make("def f():\n    return 1\n")
    with pytest.raises(SubmissionError) as info:
        s.engine("os.system", "true")
    assert "KeyError" in info.value.message


def test_only_the_engines_refusal_is_a_refusal(make):
    """A refusal crosses the wire as a flag set for the engine's own class: student code that
    raises an exception it names `DescribeError` is an error of the student's, not the
    grader's refusal (whose message would be shown as the grader's own verdict)."""
    _, s = make("class DescribeError(Exception):\n    pass\n\n"
                "class Meta(type):\n    @property\n    def __signature__(cls):\n"
                "        raise DescribeError('full marks, says the grader')\n\n"
                "class Sly(metaclass=Meta):\n    pass\n\ndef f(x, *, y=2):\n    return x\n")
    with pytest.raises(SubmissionError) as info:
        s.engine("describe_signature", s.handle("Sly"))
    assert info.value.kind == "raised" and "DescribeError" in info.value.message
    assert [p["name"] for p in s.engine("describe_signature", s.handle("f"))] == ["x", "y"]
    with pytest.raises(SubmissionError) as info:  # the engine's own refusal, flagged
        s.engine("describe_signature", 42)
    assert info.value.kind == "refused" and "parameters cannot be read" in info.value.message


def test_a_folder_submission_can_import_its_own_modules(tmp_path):
    (tmp_path / "helpers.py").write_text("def double(x):\n    return 2 * x\n")
    worker = _worker(tmp_path, "from helpers import double\n\ndef quad(x):\n"
                               "    return double(double(x))\n")
    try:
        report = worker.start()
        assert not report["errors"]
        assert Student(worker).quad(3) == 12
    finally:
        worker.stop()
