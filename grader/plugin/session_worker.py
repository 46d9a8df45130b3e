"""The submission's worker process for a whole session: started on the first test that asks
for the ``student``, reset before each next one, restarted after a crash."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from grader.packs import Pack, packs_root
from grader.plugin.state import emit
from grader.worker.client import SubmissionError, Worker


class SessionWorker:
    """One worker per (pack, submission) for the whole session, restarted after a crash."""

    def __init__(self, config: pytest.Config, pack: Pack) -> None:
        self.config = config
        self.pack = pack
        self.fatal: str | None = None
        try:
            submission, root, self.note = resolve_submission(config, pack)
        except Exception as exc:  # noqa: BLE001 - not found, unreadable zip, ...
            self.fatal = f"Your submission could not be found or opened: {exc}"
            submission, root, self.note = Path(pack.submission_name), Path("."), ""
            emit(config, {"event": "load", "fatal": self.fatal,
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
            emit(self.config, {"event": "load", "fatal": self.fatal,
                               "status": "not loadable" if first else "error"})
            raise SubmissionError(self.fatal, kind="load") from None
        if first:
            emit(self.config, {"event": "load", "report": report, "note": self.note,
                               "isolation": self.worker.isolation})
        return self.worker


def resolve_submission(config: pytest.Config, pack: Pack) -> tuple[Path, Path, str]:
    """The file to grade and the folder the worker may read: --submission, else
    $GRADER_SUBMISSION, else the pack's file here, else the pack's reference."""
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
