"""The grader's command line: grade, check, gradescope, build-autograder, batch, merge,
selftest, new-pack, audit and doctor."""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import sys
import time
import tomllib
import traceback
from pathlib import Path

from grader import __version__
from grader.batch.cluster import ClusterError
from grader.batch.roster import RosterError
from grader.canary import CanaryFailed, environment_problem_results, run_canary
from grader.devices import cuda_available
from grader.options import add_cli_options, cli_values
from grader.packs import PackNotFound, available_packs, load_pack
from grader.report import NOT_RUN_STATUSES, score_table
from grader.results import Results, failure_results, reserve_results, write_results
from grader.runner import GradeOptions, grade

DESCRIPTION = """\
Grade deep-learning homework (numpy, PyTorch, JAX, Keras) against an assignment pack.

students:     grader check [solution.py]        the public tests, on your own machine
TAs:          grader grade FILE | grader batch FOLDER --out DIR | grader selftest
instructors:  grader new-pack NAME --from solution.py   (start a pack)
              grader audit PACK                  (do the pack's tests catch mutants?)
              grader build-autograder --assignment PACK --out autograder.zip
Gradescope:   grader gradescope                  (what run_autograder calls)

Which pack grades a file: --assignment, else $GRADER_ASSIGNMENT, else a grader.toml beside
the file (or in a folder above it), else the only pack installed."""
ASSIGNMENT_HELP = ("the assignment pack (default: $GRADER_ASSIGNMENT, else `assignment` in a "
                   "grader.toml beside the submission or a folder above it, else the only "
                   "pack installed)")
GRADESCOPE_SUBMISSION = "/autograder/submission"
GRADESCOPE_RESULTS = "/autograder/results/results.json"


def _pack_name(given: str | None, submission: str | os.PathLike | None = None) -> str:
    """--assignment, else $GRADER_ASSIGNMENT, else a grader.toml beside the submission (or up
    to three folders above it, or here), else the only pack there is."""
    name = given or os.environ.get("GRADER_ASSIGNMENT")
    if name:
        return name
    found = _assignment_from_config(submission)
    if found:
        return found
    packs = available_packs()
    if len(packs) == 1:
        return packs[0]
    raise PackNotFound(f"say which assignment with --assignment (one of: {', '.join(packs)}), "
                       "or put `assignment = \"NAME\"` in a grader.toml beside the submission")


def _assignment_from_config(submission: str | os.PathLike | None) -> str | None:
    start = Path(submission).resolve() if submission else Path.cwd()
    folders = [start] if start.is_dir() else []
    folders += list(start.parents)[:4] + [Path.cwd()]
    for folder in folders:
        config = folder / "grader.toml"
        if config.is_file():
            with open(config, "rb") as f:
                value = tomllib.load(f).get("assignment")
            if isinstance(value, str):
                return value
    return None


def _missing(submission: str) -> bool:
    """Say so when the hand-in to grade does not exist (exit status 2 for the caller)."""
    if Path(submission).exists():
        return False
    print(f"grader: {submission}: no such file or folder", file=sys.stderr)
    return True


def cmd_grade(args: argparse.Namespace) -> int:
    if _missing(args.submission):
        return 2
    pack = load_pack(_pack_name(args.assignment, args.submission))
    options = GradeOptions(**cli_values(args, "grade"), overall_timeout_s=args.timeout)
    results = grade(args.submission, pack, options)
    _show(results, pack.title, args.submission)
    if results.extra_data.get("detail"):
        print("\n" + results.extra_data["detail"])
    if args.results:
        write_results(results.to_json(), args.results)
        print(f"Results written to {args.results}")
    return 2 if results.extra_data.get("grader_failed") else 0


def cmd_check(args: argparse.Namespace) -> int:
    if args.train is not None:
        return _check_train(args)
    args.public_only, args.fast, args.results, args.load_mode = True, not args.slow, None, None
    args.gpu_tests = "run"
    return cmd_grade(args)


TRAIN_INTRO = """\
Training with the grader's own trainer on this machine's CPU: your model, your training
settings, the grader's seeds and the full MNIST, exactly as the GPU run trains them. The
accuracies are an estimate of that run: a GPU rounds floating-point sums in another order, so
its numbers can differ slightly, and a model just at a threshold can land on either side of it.
The GPU run decides. Each bar is one run; its time left is measured on this machine."""


def _check_train(args: argparse.Namespace) -> int:
    """``grader check --train [PROBLEM]``: the pack's GPU training tests, run on the CPU."""
    if _missing(args.submission):
        return 2
    if args.train and not re.fullmatch(r"[\w.-]+", args.train):
        print(f"grader: --train {args.train!r}: give one problem's name or part of it "
              "(letters, digits, `_`, `-`, `.`), e.g. --train 2C.", file=sys.stderr)
        return 2
    pack = load_pack(_pack_name(args.assignment, args.submission))
    if not pack.has_gpu_tests:
        print(f"grader: {pack.name} trains nothing on a GPU; `grader check --slow` runs its "
              "real-data tests.", file=sys.stderr)
        return 2
    print(TRAIN_INTRO + "\n", flush=True)
    progress = os.dup(sys.stderr.fileno())
    try:
        options = GradeOptions(public_only=True, gpu_tests="only", train_on_cpu=True,
                               select=args.train or None, progress_fd=progress,
                               overall_timeout_s=args.timeout or 24 * 3600.0)
        results = grade(args.submission, pack, options)
    finally:
        os.close(progress)
    if not results.tests:
        print(f"grader: no training test of {pack.name} matches {args.train!r}.",
              file=sys.stderr)
        return 2
    _show(results, f"{pack.title}: estimate of the GPU run, trained on this CPU",
          args.submission)
    passed = [t for t in results.tests if t.status == "passed"]
    if passed:  # the numbers are the point of --train, passed or not
        print("\nWhat the runs reached:")
        for t in passed:
            print(f"\n## {t.number}. {t.name} ({t.score:g}/{t.max_score:g})\n{t.output}")
    return 2 if results.extra_data.get("grader_failed") else 0


def cmd_gradescope(args: argparse.Namespace) -> int:
    """What Gradescope's run_autograder calls. Writes results.json whatever happens."""
    started = time.monotonic()
    with contextlib.suppress(OSError):  # room for the results, taken before the run can fill
        reserve_results(args.results)  # the disk (run_autograder takes it first, usually)
    try:
        pack = load_pack(_pack_name(args.assignment, args.submission_dir))
        # No GPU on Gradescope: the later tests show as "graded later", 0/0, until merged.
        options = GradeOptions(**cli_values(args, "gradescope"))
        canary = run_canary(pack, options)  # cached when setup.sh's canary passed
        if canary.ok:
            data = grade(args.submission_dir, pack, options).to_json()
        else:
            data = environment_problem_results(canary).to_json()
    except Exception as exc:  # noqa: BLE001 - the results file must be written regardless
        data = failure_results(
            f"Autograder failed: {type(exc).__name__}: {exc}. Please tell the course staff.",
            traceback.format_exc(), time.monotonic() - started).to_json()
    write_results(data, args.results)
    detail = data.get("extra_data", {}).get("detail")
    if detail:  # the autograder's stdout: instructors see it, students do not
        print(detail)
    print(f"Results written to {args.results}: {data.get('score', 0)} points")
    return 0


def cmd_batch(args: argparse.Namespace) -> int:
    from grader.batch.run import BatchOptions, run_batch

    pack = load_pack(_pack_name(args.assignment, args.submissions))
    if (args.gpu or args.part == "later") and pack.has_gpu_tests and not args.cluster \
            and not cuda_available():
        print("grader: --gpu (--part later) grades the tests that need a CUDA GPU, and this "
              "machine has none (torch.cuda.is_available() is False): every one of them "
              "would be skipped and score 0. Run it on a GPU machine, or use --part cpu.",
              file=sys.stderr)
        return 2
    options = BatchOptions(part="later" if args.gpu else args.part, jobs=args.jobs,
                           cluster=args.cluster, gpu_fraction=args.gpu_fraction,
                           overall_timeout_s=args.timeout, fast=args.fast, force=args.force,
                           similarity=not args.no_similarity, progress=not args.quiet)
    try:
        summary = run_batch(args.submissions, pack, args.out, options)
    except CanaryFailed as exc:
        print(f"grader: the batch was stopped before grading anyone.\n{exc}",
              file=sys.stderr)
        return 3
    print(summary.describe())
    if not summary.rows:
        print(f"grader: no submissions found in {args.submissions}", file=sys.stderr)
        return 2
    return 0


def cmd_merge(args: argparse.Namespace) -> int:
    from grader.batch.merge import merge_folders

    title = load_pack(args.assignment).title if args.assignment else ""
    summary = merge_folders(Path(args.now), Path(args.later), Path(args.out), title)
    print(summary.describe())
    print(f"Grades: {Path(args.out) / 'grades.csv'}")
    return 1 if summary.problems else 0  # written, but some grades need a look


def cmd_audit(args: argparse.Namespace) -> int:
    """``grader audit PACK``: how many mutants of the reference the pack's tests catch."""
    from grader.audit.free import FreeEntryError
    from grader.audit.report import write_report
    from grader.audit.run import FREE, SURVIVED, audit_pack

    try:
        pack = load_pack(args.pack)
    except ValueError as exc:  # a pack.toml the audit cannot read: say where, not a traceback
        print(f"grader audit: {exc}", file=sys.stderr)
        return 2
    out = Path(args.out or f"audit-{pack.name}")

    def progress(outcome) -> None:  # noqa: ANN001 - grader.audit.run.Outcome
        if not args.quiet:
            print(f"{outcome.mutant.id:<18} line {outcome.mutant.line:<4} {outcome.status}"
                  + (f" by {outcome.killed_by}" if outcome.killed_by else ""),
                  file=sys.stderr, flush=True)

    try:
        audit = audit_pack(pack, sample_size=args.sample, seed=args.seed, jobs=args.jobs,
                           fast=not args.slow, timeout_s=args.timeout, progress=progress)
    except FreeEntryError as exc:
        print(f"grader audit: {exc}", file=sys.stderr)
        return 2
    md, js = write_report(audit, out)
    rate = audit.kill_rate
    equivalent = sum(o.status.startswith("equivalent") for o in audit.outcomes)
    print(f"{pack.name}: kill rate {'n/a' if rate is None else f'{rate:.1%}'} (killed "
          f"{audit.count('killed')}, survived {audit.count(SURVIVED)} of which {len(audit.gaps)} "
          f"unexplained and {audit.undecided} left to tests this run left out, timed out "
          f"{audit.count('timed out')}, errors {audit.count('error')}; "
          f"{equivalent} equivalent, {audit.count(FREE)} variants the handout allows) in "
          f"{audit.seconds:.1f} s"
          + ("" if audit.baseline.full_marks else
             "; the reference itself does not have full marks"))
    print(f"Report: {md} (and .html) and {js}")
    return 1 if audit.count("error") else 0


def cmd_doctor(args: argparse.Namespace) -> int:
    from grader.doctor import run

    return run(as_json=args.json, assignment=args.assignment)


def cmd_selftest(args: argparse.Namespace) -> int:
    from grader.selftest import render, run_selftest

    if args.gpu and not cuda_available():
        print("grader: selftest --gpu needs a CUDA GPU, and this machine has none.",
              file=sys.stderr)
        return 2
    checks = run_selftest([args.assignment] if args.assignment else None, gpu=args.gpu)
    print(render(checks))
    return 0 if all(c.ok for c in checks) else 1


def _show(results: Results, title: str, submission: str) -> None:
    print(f"{title}\nSubmission: {submission}\n")
    print(score_table(results))
    if results.output:
        print("\n" + results.output)
    failed = [t for t in results.tests if t.status not in ("passed", *NOT_RUN_STATUSES)]
    if failed:
        print("\nWhat went wrong:")
        for t in failed:
            print(f"\n## {t.number}. {t.name} ({t.score:g}/{t.max_score:g})\n{t.output}")
    not_run = [t for t in results.tests if t.status in NOT_RUN_STATUSES]
    if not_run:
        print("\nNot run here (no points lost or won):")
        for t in not_run:
            print(f"- {t.number}. {t.name}: {t.output.removeprefix('Not run: ')}")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="grader", description=DESCRIPTION,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version",
                        version=f"grader {__version__} (distributed as trustgrade)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    g = sub.add_parser("grade", help="grade one submission and print a score table")
    g.add_argument("submission", help="solution.py, a notebook, a folder or a zip")
    g.add_argument("--assignment", help=ASSIGNMENT_HELP)
    g.add_argument("--results", help="also write Gradescope-format JSON here")
    add_cli_options(g, "grade", "public_only", "fast", "load_mode")
    g.add_argument("--timeout", type=float, help="overall time limit in seconds")
    add_cli_options(g, "grade", "gpu_tests")  # after --timeout, where --help has it
    g.set_defaults(func=cmd_grade)

    c = sub.add_parser("check", help="students: run the public tests on your solution")
    c.add_argument("submission", nargs="?", default="solution.py")
    c.add_argument("--assignment", help=ASSIGNMENT_HELP)
    c.add_argument("--slow", action="store_true", help="include slow tests (real-data training)")
    c.add_argument("--train", nargs="?", const="", metavar="PROBLEM",
                   help="estimate the GPU-graded accuracy: train your models with the "
                        "grader's trainer on this CPU (only PROBLEM's, e.g. 2C, if given)")
    c.add_argument("--timeout", type=float)
    c.set_defaults(func=cmd_check)

    s = sub.add_parser("gradescope", help="Gradescope entry point: always writes results.json")
    s.add_argument("--submission-dir", default=GRADESCOPE_SUBMISSION)
    s.add_argument("--results", default=GRADESCOPE_RESULTS)
    s.add_argument("--assignment", help=ASSIGNMENT_HELP)
    add_cli_options(s, "gradescope")
    s.set_defaults(func=cmd_gradescope)

    from grader.autograder.build import add_build_parser

    add_build_parser(sub)

    b = sub.add_parser("batch", help="TAs: grade a whole class (Gradescope export or a folder)")
    b.add_argument("submissions", help="a Gradescope 'Export Submissions' folder, or a folder "
                                       "of files/folders named after the students")
    b.add_argument("--assignment", help=ASSIGNMENT_HELP)
    b.add_argument("--out", required=True, help="where grades.csv, results/, feedback/ go")
    b.add_argument("-j", "--jobs", type=int, default=2, help="submissions graded at once")
    b.add_argument("--part", choices=("all", "cpu", "later"), default="all",
                   help="all (default; later tests deferred without CUDA), cpu (what "
                        "Gradescope runs), later (only the tests graded later)")
    b.add_argument("--gpu", action="store_true", help="the same as --part later")
    b.add_argument("--cluster", help="a Dask scheduler address (tcp://host:8786)")
    b.add_argument("--gpu-fraction", type=float, default=0.25,
                   help="share of a GPU per training job on the cluster (default 0.25)")
    b.add_argument("--timeout", type=float, help="overall time limit per submission (s)")
    add_cli_options(b, "batch")
    b.add_argument("--force", action="store_true", help="regrade even what is up to date")
    b.add_argument("--no-similarity", action="store_true", help="skip the similarity report")
    b.add_argument("--quiet", action="store_true", help="no progress bar")
    b.set_defaults(func=cmd_batch)

    m = sub.add_parser("merge", help="merge submission-time results with the later batch")
    m.add_argument("now", help="results of the submission-time part (a batch --part cpu out)")
    m.add_argument("later", help="results of `grader batch --part later`")
    m.add_argument("--out", required=True)
    m.add_argument("--assignment", help="for the feedback pages' title")
    m.set_defaults(func=cmd_merge)

    t = sub.add_parser("selftest", help="TAs: grade each pack's reference and a known-weak "
                                         "file here, and check the verdicts")
    t.add_argument("--assignment", help="only this pack")
    t.add_argument("--gpu", action="store_true", help="with the GPU tests (needs CUDA)")
    t.set_defaults(func=cmd_selftest)

    n = sub.add_parser("new-pack", help="instructors: start a pack from a reference solution")
    n.add_argument("name", help="the pack's name (lowercase letters, digits and _)")
    n.add_argument("--from", dest="solution", required=True, type=Path,
                   help="the reference solution.py")
    n.add_argument("--title", help="the assignment's title (default: from the name)")
    n.add_argument("--root", type=Path, default=None,
                   help="the folder holding tests/, reference/ and student_template/ "
                        "(default: where the packs are)")
    n.set_defaults(func=cmd_new_pack)

    a = sub.add_parser("audit", help="instructors: mutation-test a pack's tests on its "
                                     "reference (which bugs would get full marks?)")
    a.add_argument("pack", help="the assignment pack")
    a.add_argument("--sample", type=int, help="grade only N mutants (taken in turn from "
                                              "each operator); default: all")
    a.add_argument("--seed", type=int, default=0, help="the sample's seed (default 0)")
    a.add_argument("-j", "--jobs", type=int, default=2, help="mutants graded at once")
    a.add_argument("--out", help="where audit.md, .html and .json go (default audit-PACK)")
    a.add_argument("--slow", action="store_true",
                   help="also run the slow and gpu tests (default: as `grade --fast`)")
    a.add_argument("--timeout", type=float, help="overall time limit per mutant (s; "
                                                 "default: the pack's)")
    a.add_argument("--quiet", action="store_true", help="no line per graded mutant")
    a.set_defaults(func=cmd_audit)

    d = sub.add_parser("doctor", help="what this machine can enforce around the worker")
    d.add_argument("--json", action="store_true", help="machine-readable output")
    d.add_argument("--assignment", help="also grade this pack's reference here (the canary); "
                                        "exit 1 if it loses points")
    d.set_defaults(func=cmd_doctor)
    return parser


def cmd_new_pack(args: argparse.Namespace) -> int:
    from grader.packs import packs_root
    from grader.scaffold import ScaffoldError, new_pack

    root = args.root or packs_root()
    try:
        made = new_pack(args.name, args.solution, root, args.title)
    except ScaffoldError as exc:
        print(f"grader: {exc}", file=sys.stderr)
        return 2
    print(f"Started pack {args.name} in {root}:")
    for path in made.files:
        print(f"  {path.relative_to(root)}")
    print(f"Next: write example_inputs in each tests/{args.name}/test_*.py, then run "
          f"`grader audit {args.name}` to see what the tests miss.")
    return 0


def _printable_streams() -> None:
    """Whatever this terminal can show, printing goes on: a character its encoding lacks
    (student text beyond ASCII on an ASCII or Latin-1 terminal, U+FFFD where a lone surrogate
    was) is written as an escape instead of ending the command with UnicodeEncodeError."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(AttributeError, ValueError):  # replaced, or not a text file
            stream.reconfigure(errors="backslashreplace")


def main(argv: list[str] | None = None) -> int:
    _printable_streams()
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (PackNotFound, RosterError, ClusterError) as exc:
        print(f"grader: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
