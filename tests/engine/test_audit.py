"""``grader audit``: the operators' edits on small code (no grading), the classification of
a grade, and whole audits of the tiny ``mini`` pack, including a deliberately weakened copy
whose lost test must show up as survivors."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from grader import results as graded
from grader.audit import operators as ops
from grader.audit.explain import Graded, edited_names, explain
from grader.audit.given import given_ranges
from grader.audit.mutants import Mutant, enumerate_mutants, sample
from grader.audit.probes import ProbeFileError, first_difference, load_probes, run_probes
from grader.audit.reach import canary, loads_the_same
from grader.audit.report import render_markdown, write_report
from grader.audit.run import (
    GIVEN,
    SAME_OUTPUTS,
    SURVIVED,
    Baseline,
    _baseline,
    _grade_mutant,
    audit_pack,
    classify,
)
from grader.cli import build_parser
from grader.packs import load_pack

PACKROOT = Path(__file__).parent / "packroot"
SAMPLE, SEED = 4, 0


def edits(operator: type[ops.Operator], body: str) -> list[str]:
    """The changed lines of each mutant of ``def f(...)`` with ``body`` by ``operator``."""
    code = "import numpy as np\n\n\ndef f(x, W, b, n, cache):\n" + \
        "".join(f"    {line}\n" for line in body.splitlines())
    found = enumerate_mutants(code, operators=[operator]).gradable
    return [line[1:].strip() for m in found for line in m.diff.splitlines()
            if line.startswith("+") and not line.startswith("+++")]


@pytest.mark.parametrize("operator, body, expected", [
    (ops.SumMean, "return np.sum(x, axis=0)", ["return np.mean(x, axis=0)"]),
    (ops.SumMean, "return x.mean(dim=1)", ["return x.sum(dim=1)"]),
    (ops.Axis, "return np.sum(x, axis=0)", ["return np.sum(x, axis=1)"]),
    (ops.Axis, "return x.max(dim=-1)", ["return x.max(dim=0)"]),
    (ops.Transpose, "return x @ W.T", ["return x @ W", "return x @ W.T.T"]),
    (ops.Transpose, "return np.transpose(x)", ["return x"]),
    (ops.Sign, "x -= n", ["x += n"]),
    (ops.Sign, "return x - n", ["return n - x"]),
    (ops.Sign, "return -x", ["return x"]),
    (ops.DropBias, "return x @ W + b", ["return x @ W"]),
    (ops.DropBias, "return b + np.dot(x, W)", ["return np.dot(x, W)"]),
    (ops.ScaleConstant, "return 0.5 * x", ["return 1.0 * x", "return 0.25 * x"]),
    (ops.ScaleConstant, "return x[:3].reshape(-1, 4).sum(axis=1)",
     ["return x[:3].reshape(-1, 8).sum(axis=1)", "return x[:3].reshape(-1, 2).sum(axis=1)"]),
    (ops.SwapActivation, "return np.tanh(x)", ["return 0.5 * (1 + np.tanh(x / 2))"]),
    (ops.SwapActivation, "return np.maximum(0, x)", ["return x"]),
    (ops.SwapActivation, "return Dense(3, activation='relu')",
     ["return Dense(3, activation='linear')"]),
    (ops.SwapActivation, "return nn.ReLU()", ["return nn.Identity()"]),
    (ops.OffByOne, "return x[:n]", ["return x[:n - 1]"]),
    (ops.OffByOne, "return [x for i in range(0, n, 8)]",
     ["return [x for i in range(0, n - 1, 8)]", "return [x for i in range(0, n - n % 8, 8)]"]),
    (ops.Unstable, "return np.exp(x - x.max(axis=1, keepdims=True))", ["return np.exp(x)"]),
    (ops.FlipComparison, "return x > 0", ["return x >= 0"]),
    (ops.DerivativeAt, 'return n * act(cache["A1"], grad=True)',
     ["return n * act(cache['Z1'], grad=True)"]),
    (ops.DerivativeAt, "return relu_grad(a2)", ["return relu_grad(z2)"]),
    (ops.Arithmetic, "return x * W", ["return x / W"]),
])
def test_operators_make_the_intended_edit(operator, body, expected):
    assert edits(operator, body) == expected


def test_nothing_outside_loaded_code_or_in_docstrings_is_mutated():
    code = '"""Doc 2."""\nimport numpy as np\n\nprint(np.sum([2]))\n\n\ndef f(x):\n' \
           '    """Twice x, 2 times."""\n    return x\n'
    assert enumerate_mutants(code).mutants == []


def test_mutants_have_stable_ids_lines_functions_and_one_edit_diffs():
    code = "class Net:\n    def forward(self, x):\n        # keep this comment\n" \
           "        return np.sum(x, axis=1) * 2\n"
    first, again = enumerate_mutants(code), enumerate_mutants(code)
    assert [m.id for m in first.mutants] == [m.id for m in again.mutants]
    m = next(m for m in first.mutants if m.operator == "sum_mean")
    assert (m.id, m.line, m.function, m.note) == ("sum_mean-000", 4, "Net.forward",
                                                  "sum → mean")
    assert "# keep this comment" in m.source  # spliced, not re-unparsed
    assert "-        return np.sum(x, axis=1) * 2" in m.diff
    assert "+        return np.mean(x, axis=1) * 2" in m.diff
    assert len({m.source for m in first.mutants}) == len(first.mutants)


def test_the_sample_is_seeded_and_takes_every_operator_in_turn():
    mutants = enumerate_mutants((PACKROOT / "reference" / "mini" / "solution.py").read_text(
    )).gradable
    chosen = sample(mutants, 3, seed=1)
    assert [m.id for m in chosen] == [m.id for m in sample(mutants, 3, seed=1)]
    assert {m.operator for m in chosen} == {"sign", "constant", "arithmetic"}
    assert sample(mutants, None) == mutants


def _test(name: str, score: float, status: str = "passed") -> graded.TestResult:
    return graded.TestResult(name=name, max_score=1.0, score=score, status=status,
                             nodeid=f"t::{name}")


def test_a_grade_is_classified_against_the_reference():
    mutant = enumerate_mutants("def f(x):\n    return x > 2\n").gradable[0]
    base = Baseline(score=2, runnable_max=2, scores={"t::a": 1, "t::b": 1}, lost=[],
                    seconds=0)
    assert classify(mutant, graded.Results([_test("a", 1), _test("b", 1)]), base).status == \
        "survived"
    killed = classify(mutant, graded.Results([_test("a", 1), _test("b", 0, "failed")]), base)
    assert (killed.status, killed.killed_by) == ("killed", "b")
    assert classify(mutant, graded.Results([_test("a", 0, "timeout"), _test("b", 1)]),
                    base).status == "timed out"
    broken = graded.Results([_test("Autograder failed", 0, "error")],
                     extra_data={"grader_failed": True})
    assert classify(mutant, broken, base).status == "error"


def test_the_cli_audits_fast_by_default():
    args = build_parser().parse_args(["audit", "mini"])
    assert (args.pack, args.slow, args.jobs, args.sample, args.seed) == \
        ("mini", False, 2, None, 0)


def _audit(root: Path):
    with pytest.MonkeyPatch.context() as mp:  # the graders' subprocesses read it too
        mp.setenv("GRADER_PACKS_ROOT", str(root))
        return audit_pack(load_pack("mini"), sample_size=SAMPLE, seed=SEED, jobs=2)


@pytest.fixture(scope="module")
def mini_audit():
    return _audit(PACKROOT)


def test_an_audit_of_the_mini_pack_kills_mutants_and_reports_them(mini_audit, tmp_path):
    audit = mini_audit
    assert audit.baseline.full_marks and audit.baseline.score == 3
    graded = [o for o in audit.outcomes if o.status != "equivalent (same source)"]
    assert len(graded) == SAMPLE
    assert audit.count("killed") >= 1 and audit.count("error") == 0
    assert all(o.killed_by for o in graded if o.status == "killed")
    md, js = write_report(audit, tmp_path)
    text = md.read_text()
    page = (tmp_path / "audit.html").read_text()
    assert "<table>" in page and "Kill rate:" in page and "<script" not in page
    assert "Kill rate:" in text and "| constant |" in text
    data = json.loads(js.read_text())
    assert len(data["mutants"]) == len(audit.enumeration.mutants)
    assert data["kill_rate"] == audit.kill_rate
    statuses = {m["status"] for m in data["mutants"]}
    assert "killed" in statuses and statuses <= {"killed", "survived", "timed out",
                                                 "not sampled"}


def _weakened_copy(tmp_path: Path) -> Path:
    root = tmp_path / "packs"
    shutil.copytree(PACKROOT, root, ignore=shutil.ignore_patterns("__pycache__"))
    tests = root / "tests" / "mini" / "test_mini.py"
    code = tests.read_text()
    weak = code.replace('assert_allclose(student.double(x), 2 * x, name="double(x)")',
                        "assert student.double(x).shape == x.shape")
    weak = weak.replace('assert_allclose(student.double(np.ones((4, 1))), 2 * np.ones((4, 1)),'
                        ' name="double(x)")', "assert student.double(np.ones((4, 1))).ndim == 2")
    assert weak.count("assert_allclose(") == 0
    tests.write_text(weak)
    return root


def test_a_weakened_pack_is_caught(mini_audit, tmp_path):
    """The tests of ``double`` no longer check its values: its mutants must now survive."""
    weakened = _audit(_weakened_copy(tmp_path))
    assert weakened.baseline.full_marks
    assert weakened.kill_rate < mini_audit.kill_rate
    survivors = [o.mutant for o in weakened.outcomes if o.status == "survived"]
    assert any(m.function == "double" for m in survivors)
    report = render_markdown(weakened)
    assert "## Survivors" in report and "```diff" in report and "def double" in report


PROBES = """
import numpy as np


def probe_double(student):
    return student.double(np.arange(5.0) - 2)


def probe_counter(student):
    counter = student.Counter(start=2)
    return [counter.step(), counter.step(by=3)]
"""


def _with_probes(root: Path, probes: str = PROBES) -> None:
    (root / "tests" / "mini" / "probes.py").write_text(probes)
    with (root / "tests" / "mini" / "pack.toml").open("a") as toml:
        toml.write('\n[audit]\nprobes = "probes.py"\n')


def _hand_made(source: str, edit: tuple[str, str], function: str = "double") -> Mutant:
    assert edit[0] in source
    line = source[:source.index(edit[0])].count("\n") + 1
    return Mutant(id="hand-000", operator="hand", line=line, function=function,
                  note="by hand", source=source.replace(*edit), diff="")


def test_a_survivor_with_the_references_outputs_on_the_probes_is_equivalent(tmp_path):
    """In the weakened pack, ``x * 2`` (the same function) is equivalent on the probes;
    ``3 * x`` (a bug the weakened tests miss) survives, with the probe that tells it, as a
    gap; an edit in a branch no test takes survives, explained as untested."""
    root = _weakened_copy(tmp_path)
    _with_probes(root)
    solution = root / "reference" / "mini" / "solution.py"
    solution.write_text(solution.read_text().replace(
        "def double(x):\n", "def double(x):\n    if x is None:  # no test passes None\n"
        "        return None\n"))
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GRADER_PACKS_ROOT", str(root))
        pack = load_pack("mini")
        probes = load_probes(pack)
        assert list(probes) == ["probe_double", "probe_counter"]
        reference = pack.reference_dir / pack.submission_name
        source = reference.read_text()
        expected = run_probes(reference, pack, probes)
        assert first_difference(expected, expected) is None
        from grader.runner import GradeOptions, grade
        options = GradeOptions(fast=True)
        baseline = _baseline(grade(reference, pack, options), 0.0)
        same = _grade_mutant(_hand_made(source, ("2 * np.asarray(x)", "np.asarray(x) * 2")),
                             pack, options, baseline, tmp_path / "same", (probes, expected))
        bug = _grade_mutant(_hand_made(source, ("2 * np.asarray(x)", "3 * np.asarray(x)")),
                            pack, options, baseline, tmp_path / "bug", (probes, expected))
        unreached = _grade_mutant(
            _hand_made(source, ('return "plotted"', 'return "plot"'), "plot_something"),
            pack, options, baseline, tmp_path / "unreached", (probes, expected))
        untested = _grade_mutant(_hand_made(source, ("return None", "return 0")),
                                 pack, options, baseline, tmp_path / "untested",
                                 (probes, expected))
    assert baseline.full_marks
    assert same.status == SAME_OUTPUTS, same.message
    assert bug.status == SURVIVED and "differs on probe_double" in bug.message
    assert unreached.status == SURVIVED
    assert "no probe runs the edited statement (in `plot_something`)" in unreached.message
    # why each survived: the weakened tests run the bug and miss it (a gap); no test passes
    # None, so a copy raising before ``return 0`` keeps full marks (explained as untested)
    assert bug.explained == ""
    assert untested.status == SURVIVED
    assert "no test that ran executes the edited statement (in `double`)" in untested.explained


def test_an_edit_in_code_the_definitions_load_drops_is_not_loaded():
    pack = load_pack("ift6135_a1")
    source = "import numpy as np\n\ndef f(x):\n    return 2 * x\n\nprint(f(3))\nY = 4\n"
    assert loads_the_same(source, source.replace("print(f(3))", "print(f(4))"), pack)
    assert not loads_the_same(source, source.replace("2 * x", "3 * x"), pack)
    assert not loads_the_same(source, source.replace("Y = 4", "Y = 5"), pack)


def test_the_canary_raises_just_before_the_edited_statement():
    source = ('class A:\n    def f(self, data=None, k=3):\n        """doc"""\n'
              '        if data is None:\n            data = [0] * 400\n        return len(data)\n'
              '\nX = 2\n')

    def run(alarmed: str, *args) -> object:
        namespace: dict = {}
        exec(compile(alarmed, "m.py", "exec"), namespace)
        return namespace["A"]().f(*args)

    in_branch = canary(source, 5)  # `data = [0] * 400`: only without data
    assert run(in_branch, [1, 2]) == 2
    with pytest.raises(RuntimeError, match="probes reach"):
        run(in_branch)
    with pytest.raises(RuntimeError, match="probes reach"):  # the def line: on every call
        run(canary(source, 2), [1])
    assert canary(source, 8) is None


@pytest.mark.parametrize("a, b, where", [
    ({"p": [1.0, 2.0]}, {"p": [1.0, 2.0 + 1e-12]}, None),
    ({"p": [1.0, 2.0]}, {"p": [1.0, 2.1]}, "p[1]"),
    ({"p": {"w": [[1.0, 2.0]]}}, {"p": {"w": [[1.0], [2.0]]}}, "p['w']"),
    ({"p": ("raised", "ValueError")}, {"p": ["raised", "ValueError"]}, None),
    ({"p": ("raised", "ValueError")}, {"p": 3.0}, "p"),
    ({"p": "relu"}, {"p": "tanh"}, "p"),
    ({"p": {"a": 1}}, {"p": {"b": 1}}, "p: different keys"),
    ({"p": np.arange(3.0)}, {"p": None}, "p"),
    ({"p": np.array(["a", "b"])}, {"p": np.array(["a", "b"])}, None),
    ({"p": np.arange(3.0)}, {"p": "x"}, "p"),
])
def test_outputs_are_the_same_up_to_round_off_only(a, b, where):
    found = first_difference({k: _as_probe_output(v) for k, v in a.items()},
                             {k: _as_probe_output(v) for k, v in b.items()})
    assert (found is None) == (where is None)
    if where:
        assert found.startswith(where)


def _as_probe_output(value):
    from grader.audit.probes import _plain
    return _plain(value)


def test_a_probe_file_that_is_missing_or_empty_is_named(tmp_path):
    root = tmp_path / "packs"
    shutil.copytree(PACKROOT, root, ignore=shutil.ignore_patterns("__pycache__"))
    _with_probes(root, "X = 1\n")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GRADER_PACKS_ROOT", str(root))
        with pytest.raises(ProbeFileError, match="defines no probe_"):
            load_probes(load_pack("mini"))
        (root / "tests" / "mini" / "probes.py").unlink()
        with pytest.raises(ProbeFileError, match="no such file"):
            load_probes(load_pack("mini"))
        with (root / "tests" / "mini" / "pack.toml").open("a") as toml:
            toml.write('depth = 3\n')
        with pytest.raises(ValueError, match=r"\[audit\] takes only"):
            load_pack("mini")


def test_a_survivor_is_explained_only_by_what_the_pack_states():
    graded = {"train_loop": Graded(ran=5, left_out=5, left_out_tests=["reaches 97 %"]),
              "accuracy": Graded(ran=0), "BASELINE": Graded(ran=1), "loss (Problem 2)":
              Graded(ran=0.5)}
    source = "BASELINE = {'lr': 0.1}\nX = 1\n"
    assert "reaches 97 %" in explain(edited_names("NN.train_loop", source, 0), graded)
    assert edited_names("NN.Inner.step", source, 0) == {"NN.Inner.step", "step", "NN",
                                                        "NN.Inner"}  # a class's tests too
    assert "0 points only" in explain({"accuracy"}, graded)
    assert "no test of the pack grades `data_stream`" in explain({"data_stream"}, graded)
    assert explain(edited_names("<module>", source, 1), graded) == ""  # a gap
    assert "`X`" in explain(edited_names("<module>", source, 2), graded)
    assert explain({"loss"}, graded) == ""


def test_a_test_that_says_what_it_uses_explains_survivors_in_those_names():
    """A GPU test tagged with a builder also judges the training dict it names in ``uses``:
    an edit of that dict, left to the GPU test by --fast, is explained by it."""
    results = graded.Results(tests=[
        graded.TestResult(name="3G: reaches 98.5 %", max_score=2, status="skipped",
                          tags=["build_model_3g", "gpu"], extra={"uses": ["TRAINING_3G"]}),
        graded.TestResult(name="3G: settings are valid", max_score=1, status="passed",
                          score=1, tags=["TRAINING_3G"]),
    ])
    baseline = _baseline(results, 0.0)
    source = 'TRAINING_3G = {"step_size": 5, "gamma": 0.1}\n'
    why = explain(edited_names("<module>", source, 1), baseline.graded)
    assert "3G: reaches 98.5 %" in why and "left out" in why
    assert baseline.graded["TRAINING_3G"].ran == 1
    # without ``uses`` the same edit is a gap: the pack does not say the GPU test judges it
    del results.tests[0].extra["uses"]
    assert explain(edited_names("<module>", source, 1), _baseline(results, 0.0).graded) == ""


REFERENCE = '''import numpy as np

RATE = 0.1
EPOCHS = 10


def load():
    """Reads the data."""
    return np.zeros(3)  # given


class Net:
    LAYERS = 2

    def forward(self, x):
        return 2 * x

    def helper(self):
        return 1
'''
TEMPLATE = '''import numpy as np

RATE = 0.1
EPOCHS = None  # choose


def load():
    return np.zeros(3)


class Net:
    LAYERS = 2

    def forward(self, x):
        raise NotImplementedError("forward")

    def helper(self):
        return 1
'''


def test_code_the_template_holds_unchanged_is_given():
    """Whole defs by qualified name (docstrings and comments aside) and statements of the
    same scope; a stubbed body or a value left to the student is not given."""
    lines = REFERENCE.splitlines()
    given = [lines[a - 1].strip() for a, _ in given_ranges(REFERENCE, TEMPLATE)]
    assert given == ["import numpy as np", "RATE = 0.1", "def load():", "LAYERS = 2",
                     "def helper(self):"]
    assert given_ranges(REFERENCE, "def broken(:\n") == []
    assert given_ranges(REFERENCE, "") == []


def test_the_audit_samples_only_code_the_student_writes(tmp_path):
    """With a template that gives ``Counter`` unchanged, its mutants are reported as the
    handout's and none is graded; the sample is drawn from ``double`` and the rest."""
    root = tmp_path / "packs"
    shutil.copytree(PACKROOT, root, ignore=shutil.ignore_patterns("__pycache__"))
    reference = (root / "reference" / "mini" / "solution.py").read_text()
    template = root / "student_template" / "mini" / "solution.py"
    template.parent.mkdir(parents=True)
    template.write_text(reference.replace("return 2 * np.asarray(x)",
                                          'raise NotImplementedError("double")'))
    audit = _audit(root)
    given = [o for o in audit.outcomes if o.status == GIVEN]
    assert given and all(o.mutant.function.startswith("Counter") for o in given)
    graded_ones = [o for o in audit.outcomes if o.status not in (GIVEN, "equivalent (same source)")]
    assert len(graded_ones) == min(SAMPLE, audit.student_code) and audit.sampled == len(graded_ones)
    assert all(o.mutant.function == "double" for o in graded_ones)
    report = render_markdown(audit)
    assert "## Code the handout gives" in report and "`Counter.step`" in report


def test_survivors_left_to_tests_that_did_not_run_are_undecided():
    """Under --fast a survivor the GPU tests also grade is undecided: the headline rate
    counts it as not killed; the rate over the decided mutants leaves it out."""
    from grader.audit.explain import left_out_tests
    from grader.audit.mutants import Enumeration
    from grader.audit.run import KILLED, Audit, Outcome

    graded = {"build": Graded(ran=1, left_out=2, left_out_tests=["reaches 98 %"]),
              "loss": Graded(ran=1)}
    assert left_out_tests({"build"}, graded) == ["reaches 98 %"]
    assert left_out_tests({"loss"}, graded) == [] == left_out_tests({"other"}, graded)
    mutant = _hand_made("x = 1\n", ("x = 1", "x = 2"), "build")
    audit = Audit(pack="p", reference="r", fast=True, jobs=1, sample_size=None, seed=0,
                  baseline=Baseline(3, 3, {}, [], 0.0), enumeration=Enumeration(mutants=[]))
    audit.outcomes = [Outcome(mutant, KILLED, 2)] * 3 + [
        Outcome(mutant, SURVIVED, 3, undecided=True), Outcome(mutant, SURVIVED, 3)]
    assert audit.kill_rate == 3 / 5 and audit.undecided == 1
    assert audit.decided_kill_rate == 3 / 4
    assert "this run cannot decide them: over the mutants it could decide, the kill rate is " \
           "75.0%" in render_markdown(audit)


OWN_NAMES = '''
SWEEP = [1, 2, 3]  # the student's own: the list a notebook's loop would read
SCALE = 2  # the student's own, but double reads it
ASKED = 5  # the template asks for it
'''


def test_a_top_level_name_of_the_students_own_that_no_grade_reads_is_not_read(tmp_path):
    """A survivor editing a top-level variable the template does not ask for is equivalent
    when a copy without the assignment grades the same (SWEEP); not when the graded code reads
    it (SCALE: the copy breaks ``double``), when the template asks for it (ASKED: a name no
    test grades is a gap of the pack, not an equivalent), or when there is no template."""
    from grader.audit.given import handout_names
    from grader.audit.reach import without_binding
    from grader.audit.run import NOT_READ
    from grader.runner import GradeOptions, grade

    root = tmp_path / "packs"
    shutil.copytree(PACKROOT, root, ignore=shutil.ignore_patterns("__pycache__"))
    solution = root / "reference" / "mini" / "solution.py"
    source = solution.read_text().replace("import numpy as np\n",
                                          "import numpy as np\n" + OWN_NAMES, 1)
    source = source.replace("return 2 * np.asarray(x)", "return SCALE * np.asarray(x)")
    solution.write_text(source)
    template = root / "student_template" / "mini" / "solution.py"
    template.parent.mkdir(parents=True)
    template.write_text("import numpy as np\n\nASKED = None\n\n\ndef double(x):\n"
                        "    raise NotImplementedError\n")
    asked_for = handout_names(template)
    assert asked_for == {"np", "ASKED", "double"}
    assert handout_names(tmp_path / "none.py") is None
    sweep_line = source[:source.index("SWEEP =")].count("\n") + 1
    copy, bound = without_binding(source, sweep_line)
    assert bound == {"SWEEP"} and "SWEEP" not in copy and "SCALE = 2" in copy
    assert without_binding("x.y = 1\n", 1) is None and without_binding("f()\n", 1) is None
    assert without_binding("a, (b, c) = 1, (2, 3)\n", 1)[1] == {"a", "b", "c"}
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GRADER_PACKS_ROOT", str(root))
        pack = load_pack("mini")
        options = GradeOptions(fast=True)
        baseline = _baseline(grade(solution, pack, options), 0.0)

        def outcome(edit, asked=asked_for, where="here"):
            return _grade_mutant(_hand_made(source, edit, "<module>"), pack, options,
                                 baseline, tmp_path / where, ({}, {}), asked)

        sweep = outcome(("SWEEP = [1, 2, 3]", "SWEEP = [1, 2, 4]"), where="sweep")
        scale = outcome(("SCALE = 2 ", "SCALE = 2.0 "), where="scale")
        asked = outcome(("ASKED = 5", "ASKED = 6"), where="asked")
        no_template = outcome(("SWEEP = [1, 2, 3]", "SWEEP = [1, 2, 4]"), None, "none")
    assert baseline.full_marks
    assert sweep.status == NOT_READ and "a copy without this assignment" in sweep.message
    assert scale.status == SURVIVED and asked.status == SURVIVED
    assert asked.explained == "no test of the pack grades `ASKED`"
    assert no_template.status == SURVIVED


def test_a_survivor_in_code_the_handout_leaves_free_is_an_allowed_variant(tmp_path):
    """``[audit.free]`` names what the handout leaves to the student: a survivor there that
    the tests ran and scored as the reference is a variant, out of the rate like an
    equivalent; one that tests left out also grade stays undecided; code no entry covers
    keeps its gap."""
    from grader.audit.mutants import Enumeration
    from grader.audit.run import FREE, KILLED, Audit, Outcome
    from grader.runner import GradeOptions, grade

    root = _weakened_copy(tmp_path)
    why = "the handout asks for any function the tests accept"
    toml = root / "tests" / "mini" / "pack.toml"
    with toml.open("a") as f:
        f.write(f'\n[audit]\nfree = {{ double = "{why}", Counter = "{why}" }}\n')
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GRADER_PACKS_ROOT", str(root))
        pack = load_pack("mini")
        assert pack.audit_free == {"double": why, "Counter": why}
        reference = pack.reference_dir / pack.submission_name
        source = reference.read_text()
        options = GradeOptions(fast=True)
        baseline = _baseline(grade(reference, pack, options), 0.0)
        triple = _hand_made(source, ("2 * np.asarray(x)", "3 * np.asarray(x)"))
        variant = _grade_mutant(triple, pack, options, baseline, tmp_path / "variant")
        undecided = _grade_mutant(
            _hand_made(source, ("def __init__(self, start=0)", "def __init__(self, start=1)"),
                       "Counter.__init__"), pack, options, baseline, tmp_path / "undecided")
        toml.write_text(toml.read_text().replace(f'double = "{why}", ', ""))
        gap = _grade_mutant(triple, load_pack("mini"), options, baseline, tmp_path / "gap")
    assert variant.status == FREE and variant.explained == why
    assert undecided.status == SURVIVED and undecided.undecided
    assert gap.status == SURVIVED and gap.explained == ""  # only Counter is free now
    audit = Audit(pack="p", reference="r", fast=True, jobs=1, sample_size=None, seed=0,
                  baseline=baseline, enumeration=Enumeration(mutants=[]))
    audit.outcomes = [Outcome(variant.mutant, KILLED, 2), variant, undecided]
    assert audit.kill_rate == 1 / 2 and audit.gaps == []
    report = render_markdown(audit)
    assert "## Variants the handout allows (1)" in report and f"Allowed: {why}." in report


TWO_PROBLEMS = """import numpy as np

# Problem 1
def predict(x):
    return x

rate = 0.1

# Problem 2
predict = lambda x: 2 * x
rate = 0.5
"""


def test_a_free_entry_must_name_one_definition(monkeypatch):
    """An entry names one top-level binding, or one of a section's: never a same-named
    function elsewhere (a misspelt or ambiguous entry stops the audit, saying which lines)."""
    import dataclasses

    from grader.audit.free import FreeEntryError, resolve

    monkeypatch.setenv("GRADER_PACKS_ROOT", str(PACKROOT))
    pack = dataclasses.replace(load_pack("mini"), audit_free={"rate": "any rate"})
    with pytest.raises(FreeEntryError, match=r"binds `rate` at lines 7, 11: an entry must"):
        resolve(pack, TWO_PROBLEMS)
    with pytest.raises(FreeEntryError, match="binds no top-level `rates`"):
        resolve(dataclasses.replace(pack, audit_free={"rates": "x"}), TWO_PROBLEMS)
    sections = dataclasses.replace(pack, load_options={"sections": [
        {"name": "problem1"}, {"name": "problem2", "heading": r"^\W*problem\s*2\b"}]})
    with pytest.raises(FreeEntryError, match=r"name its section \(problem1.rate, problem2.rate"):
        resolve(sections, TWO_PROBLEMS)
    free = dataclasses.replace(sections, audit_free={"problem2.predict": "any",
                                                     "problem1.rate": "any"})
    assert [(f.key, f.first, f.last) for f in resolve(free, TWO_PROBLEMS)] == [
        ("problem2.predict", 10, 10), ("problem1.rate", 7, 7)]
    with pytest.raises(FreeEntryError, match="no section 'problem3'"):
        resolve(dataclasses.replace(sections, audit_free={"problem3.rate": "x"}),
                TWO_PROBLEMS)


def test_the_cli_names_a_bad_free_entry_without_grading(tmp_path, monkeypatch, capsys):
    from grader.cli import main

    root = tmp_path / "packs"
    shutil.copytree(PACKROOT, root, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setenv("GRADER_PACKS_ROOT", str(root))
    toml = root / "tests" / "mini" / "pack.toml"
    config = toml.read_text()
    toml.write_text(config + '\n[audit.free]\ndoubled = "any"\n')
    assert main(["audit", "mini", "--out", str(tmp_path / "out")]) == 2
    assert "[audit.free] doubled: the reference binds no top-level `doubled`" in \
        capsys.readouterr().err
    toml.write_text(config + '\n[audit]\nfree = ["double"]\n')
    assert main(["audit", "mini", "--out", str(tmp_path / "out")]) == 2
    assert "[audit] free must map top-level names" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
