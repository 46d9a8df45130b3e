"""Multi-problem notebooks: sections (each problem keeps its globals), old import paths
served by new modules, JAX results as data, and the code questions the worker answers."""

from __future__ import annotations

import ast
import textwrap

import numpy as np
import pytest

from grader.sandboxed.limits import Limits
from grader.sandboxed.submission.sections import SectionRule, parse_rules, split_sections
from grader.worker.client import SubmissionError, Worker
from grader.worker.proxy import Student

LIMITS = Limits(call_timeout_s=30, load_timeout_s=60, memory_mb=4096)
RULES = [SectionRule("problem1"), SectionRule("problem2", r"^\W*problem\s*2\b",
                                              ("lib.serial",))]
NOTEBOOK = '''\
"""# Problem 1"""
import numpy as np
lr = 0.1
def loss(x):
    return x * 2
def update(x):
    return x - lr * loss(x)
"""# **Problem 2**
Now a model."""
lr = 0.5
def loss(x):
    return x * 100
'''


def _split(code: str, rules=RULES, aliases=None):
    statements = ast.parse(code).body
    return split_sections(statements, code.splitlines(), aliases or {}, rules)


def test_a_heading_starts_a_section_even_inside_a_docstring():
    first, second = _split(NOTEBOOK)
    assert second.start_line == 8 and "heading at line 8" in second.found_by
    assert [type(s).__name__ for s in first.statements].count("FunctionDef") == 2
    assert isinstance(second.statements[0], ast.Expr)  # the markdown cell itself


def test_the_first_marked_call_starts_a_section_without_a_heading():
    code = "import lib as L\nx = 1\ninit, predict = L.serial(1)\ny = 2\n"
    first, second = _split(code, aliases={"L": "lib"})
    assert second.start_line == 3 and "`L.serial` call" in second.found_by
    assert len(first.statements) == 2


def test_the_earliest_marker_wins_and_calls_inside_functions_do_not_count():
    code = ("import lib\ndef build():\n    return lib.serial(1)\n# Problem 2\nz = 0\n"
            "m = lib.serial(2)\n")
    _, second = _split(code, aliases={"lib": "lib"})
    assert second.start_line == 4


def test_a_missing_section_is_empty():
    first, second = _split("a = 1\nb = 2\n")
    assert len(first.statements) == 2 and second.statements == [] and second.found_by == "not found"


def test_section_rules_are_validated():
    assert parse_rules(None) == []
    with pytest.raises(ValueError, match="no markers"):
        parse_rules([{"name": "a", "heading": "x"}])
    with pytest.raises(ValueError, match="unknown keys"):
        parse_rules([{"name": "a"}, {"name": "b", "header": "x"}])
    with pytest.raises(ValueError):
        parse_rules([{"name": "a"}, {"name": "b", "calls": "lib.serial"}])


@pytest.fixture
def start(tmp_path):
    workers = []

    def run(code: str, load: dict) -> Student:
        path = tmp_path / "solution.py"
        path.write_text(textwrap.dedent(code))
        worker = Worker(path, tmp_path, limits=LIMITS, load=load)
        workers.append(worker)
        worker.start()
        return Student(worker)

    yield run
    for worker in workers:
        worker.stop()


SECTIONS = {"sections": [{"name": "problem1"},
                         {"name": "problem2", "heading": r"^\W*problem\s*2\b"}]}


def test_each_section_keeps_its_own_globals(start):
    student = start(NOTEBOOK, SECTIONS)
    p1, p2 = student.section("problem1"), student.section("problem2")
    assert p1.update(1.0) == pytest.approx(1.0 - 0.1 * 2)  # Problem 1's loss and lr
    # Problem 2 reaches Problem 1's update, which still sees Problem 1's globals (as when the
    # notebook ran); Problem 2's own loss is the new one.
    assert p2.update(1.0) == pytest.approx(0.8) and p2.loss(1.0) == 100
    assert student.lr == 0.5 and p1.lr == 0.1
    assert student.sections()["problem2"]["line"] == 8
    with pytest.raises(SubmissionError, match="no section 'problem3'"):
        student.section("problem3")


def test_without_sections_the_file_is_one_namespace(start):
    student = start(NOTEBOOK, {})
    assert student.sections() == {}
    assert student.update(1.0) == pytest.approx(1.0 - 0.5 * 100)  # the notebook's trap


jax = pytest.importorskip("jax")

OLD_JAX = '''\
from jax.experimental import stax, optimizers
from jax.api import jit, grad
from jax.config import config
import jax
import jax.numpy as jnp
config.update("jax_enable_x64", False)
init_fun, predict = stax.serial(stax.Dense(3), stax.Relu)
opt_init, opt_update, get_params = optimizers.sgd(0.1)

@jit
def square(x):
    return jnp.sum(x ** 2)

def still_a_config():
    return jax.config.read("jax_enable_x64") is False

def mnist(create_outliers=False):
    return 1

train = mnist(create_outliers=True)
other = mnist()
'''
ALIASES = {"import_aliases": {"jax.experimental.stax": "jax.example_libraries.stax",
                              "jax.experimental.optimizers": "jax.example_libraries.optimizers",
                              "jax.api": "jax", "jax.config": "jax:config",
                              "colorsys": "math"},
           "call_modules": ["jax.example_libraries.stax", "jax.experimental.stax",
                            "jax.example_libraries.optimizers", "jax.experimental.optimizers"]}


def test_old_jax_paths_load_and_results_come_back_as_arrays(start):
    student = start(OLD_JAX, ALIASES)
    report = student.worker.load_report
    assert report["errors"] == [], report["errors"]
    assert {"predict", "opt_update", "square"} <= set(report["names"])
    value = student.square(np.arange(3.0))
    assert isinstance(value, np.ndarray) and float(value) == 5.0  # a jax.Array, sent as data
    assert student.still_a_config() is True  # jax.config is still the config object


def test_an_alias_never_hides_a_real_module(start):
    student = start("import colorsys\ndef hsv():\n    return colorsys.rgb_to_hsv(1, 0, 0)\n",
                    ALIASES)
    assert student.hsv() == (0.0, 1.0, 1)


def test_without_aliases_old_paths_fail_clearly(start):
    student = start(OLD_JAX, {})
    errors = "\n".join(student.worker.load_report["errors"])
    assert "jax.experimental.stax" in errors or "jax.api" in errors


def test_signatures_and_top_level_calls(start, tmp_path):
    student = start(OLD_JAX, {**ALIASES, **SECTIONS})
    module = student.section("problem1")
    signature = student.engine("describe_signature", module.handle("mnist"))
    assert signature == [{"name": "create_outliers", "kind": "positional", "default": True,
                          "value": False}]
    calls = student.engine("top_level_calls", module, "mnist")
    assert [c["kwargs"] for c in calls] == [{"create_outliers": True}, {}]
    assert calls[0]["line"] == 20 and "line 20" in calls[0]["where"]
    with pytest.raises(SubmissionError) as caught:
        student.engine("describe_signature", 3)
    assert caught.value.kind == "refused"
