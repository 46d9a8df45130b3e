"""Which collected tests run: visible ones only (--public-only), the tests graded later
deferred or run alone (--gpu-tests, --later-marks), and the skips that say why a test did
not run here (--fast, no CUDA GPU)."""

from __future__ import annotations

import pytest

from grader.devices import cuda_available

DEFERRED = "deferred: graded later"


class Selection:
    """Drops and marks tests after collection, before any runs."""

    def pytest_collection_modifyitems(self, config: pytest.Config,
                                      items: list[pytest.Item]) -> None:
        mode = gpu_mode(config)
        later_marks = {"gpu", *filter(None, (config.getoption("later_marks") or "").split(","))}
        keep, dropped = [], []
        for item in items:
            mark = item.get_closest_marker("graded")
            hidden = mark is not None and mark.kwargs.get("visibility", "visible") != "visible"
            gpu = item.get_closest_marker("gpu") is not None
            later = any(item.get_closest_marker(m) for m in later_marks)
            if (config.getoption("public_only") and hidden) or (mode == "only" and not later):
                dropped.append(item)
                continue
            keep.append(item)
            if later and mode == "defer":
                item.add_marker(pytest.mark.skip(reason=DEFERRED))
            elif config.getoption("fast") and (item.get_closest_marker("slow") or gpu):
                item.add_marker(pytest.mark.skip(reason="not run: left out by --fast"))
            elif gpu and not cuda_available() and not config.getoption("train_on_cpu"):
                item.add_marker(pytest.mark.skip(
                    reason="not run: needs a CUDA GPU and none is here"))
        if dropped:
            config.hook.pytest_deselected(items=dropped)
            items[:] = keep


def gpu_mode(config: pytest.Config) -> str:
    """``auto`` (Gradescope): the later tests are deferred to a batch when there is no CUDA."""
    mode = config.getoption("gpu_tests") or "run"
    if mode == "auto":
        return "run" if cuda_available() else "defer"
    return mode
