"""results.json as Gradescope reads it: a test graded later, and files the schema refuses."""

from __future__ import annotations

import copy

import pytest

from grader import results
from grader.batch import grades
from grader.batch.merge import MISSING, merge_results
from grader.results import DEFERRED_PREFIX, InvalidResults, Results, validate


def _deferred() -> results.TestResult:
    return results.TestResult(name="accuracy on MNIST", max_score=0.0, status="deferred",
                              output="Graded later on a GPU …", visibility="after_published",
                              nodeid="tests/test_a.py::test_accuracy",
                              extra={"deferred_points": 2.0})


def test_a_test_graded_later_is_not_red_and_its_name_says_it_is_pending():
    """Gradescope's "Test case status": only "passed" or "failed", and by default a test
    whose max_score was awarded (0 of 0 is) passes. No status, so never red; the name is
    what the student reads on the test's line."""
    shapes = results.TestResult(name="shapes", max_score=1.0, score=1.0, status="passed")
    data = Results(tests=[_deferred(), shapes]).to_json()
    deferred, passed = data["tests"]
    assert "status" not in deferred
    assert deferred["name"] == DEFERRED_PREFIX + "accuracy on MNIST"
    assert deferred["score"] == deferred["max_score"] == 0
    assert deferred["extra_data"]["status"] == "deferred"
    assert passed["name"] == "shapes" and passed["status"] == "passed"
    for status in ("failed", "error", "skipped", "not run", "timeout"):
        entry = results.TestResult(name="x", max_score=1.0, status=status).to_json()
        assert (entry["name"], entry["status"]) == ("x", "failed")


def test_a_deferred_test_with_no_later_result_gets_its_own_name_back():
    now = Results(tests=[_deferred()]).to_json()
    merged, problems = merge_results(now, None)
    [test] = merged["tests"]
    assert test["name"] == "accuracy on MNIST"
    assert (test["score"], test["max_score"], test["status"]) == (0, 2.0, "failed")
    assert test["output"] == MISSING


def test_grade_columns_are_titled_by_the_test_s_own_name():
    """The CSV's column title comes from the first student who has the test: the same
    whether that student's test was graded then or deferred (its cell says "deferred")."""
    deferred = Results(tests=[_deferred()]).to_json()
    [(key, title)] = grades.test_columns([grades.Graded("alice", "ok", deferred)])
    assert (key, title) == ("tests/test_a.py::test_accuracy", "1. accuracy on MNIST")


VALID = {"score": 1.0, "tests": [{"name": "a", "score": 1.0, "max_score": 1.0,
                                  "status": "passed", "visibility": "visible"}]}


def _with(path: str, value):
    data = copy.deepcopy(VALID)
    *parents, last = path.split("/")
    target = data
    for part in parents:
        target = target[int(part) if part.isdigit() else part]
    target[last] = value
    return data


@pytest.mark.parametrize("data, where, says", [
    ({"output": "no score anywhere"}, "results", "'score' is a required property"),
    (_with("score", "1"), "score", "'1' is not of type 'number'"),
    (_with("tests/0/max_score", None), "tests/0/max_score", "None is not of type 'number'"),
    (_with("tests/0/name", 3), "tests/0/name", "3 is not of type 'string'"),
    (_with("tests", {"a": 1}), "tests", "is not of type 'array'"),
    (_with("tests/0/visibility", "sometimes"), "tests/0/visibility",
     "'sometimes' is not one of ['visible', 'hidden', 'after_due_date', 'after_published']"),
    (_with("stdout_visibility", "public"), "stdout_visibility", "'public' is not one of"),
    (_with("tests/0/status", "pending"), "tests/0/status",
     "'pending' is not one of ['passed', 'failed']"),
    (_with("tests/0/status", "error"), "tests/0/status", "'error' is not one of"),
    (_with("tests/0/score", float("nan")), "results hold a NaN", "NaN"),
], ids=["no score or tests", "score as text", "max_score null", "name a number",
        "tests an object", "bad visibility", "bad stdout visibility", "status pending",
        "status error", "NaN score"])
def test_invalid_results_are_refused_naming_the_problem(data, where, says):
    validate(VALID)
    with pytest.raises(InvalidResults) as refused:
        validate(data)
    message = str(refused.value)
    assert message.startswith(where), message
    assert says in message, message


def test_a_missing_score_names_both_ways_to_give_one():
    with pytest.raises(InvalidResults, match="^results: 'score' is a required property or "
                                             "'tests' is a required property$"):
        validate({"output": "x"})
