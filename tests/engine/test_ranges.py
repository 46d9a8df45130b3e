"""The one home of range checks: what it accepts, what it refuses, and what the refusal says.

Every number the trusted side reads from a description goes through these checks, so each
refusal must name the place, the allowed range and the value, and be raised as the caller's
own exception class.
"""

from __future__ import annotations

import math
from functools import partial

import pytest

from grader import ranges


class Refused(ValueError):
    """A caller's own exception class."""


class Keyed(ValueError):
    """A caller's exception that takes more than the message (as ``SettingsError`` does)."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key


number = partial(ranges.number, where="`rate`", error=Refused)
integer = partial(ranges.integer, where="`units`", error=Refused)
pair = partial(ranges.int_pair, where="`kernel_size`", low=1, high=28, error=Refused)


@pytest.mark.parametrize("value", [True, False, math.nan, math.inf, -math.inf, "0.5", None,
                                   [0.5], 1 + 0j])
def test_a_number_of_the_wrong_kind_is_refused_naming_place_range_and_value(value):
    with pytest.raises(Refused) as err:
        number(value, low=0, high=1)
    assert str(err.value) == (f"`rate` must be a finite number in [0, 1], "
                              f"not `{value!r}`.")


@pytest.mark.parametrize(("value", "ends", "accepted"), [
    (0, {}, True), (1, {}, True),
    (0, {"low_open": True}, False), (1e-12, {"low_open": True}, True),
    (1, {"high_open": True}, False), (0.999, {"high_open": True}, True),
    (0.5, {"low_open": True, "high_open": True}, True),
    (-1e-9, {}, False), (1.0000001, {}, False),
])
def test_bounds_are_open_or_closed_as_asked(value, ends, accepted):
    if accepted:
        assert number(value, low=0, high=1, **ends) == value
        assert type(number(value, low=0, high=1, **ends)) is float
    else:
        with pytest.raises(Refused):
            number(value, low=0, high=1, **ends)


@pytest.mark.parametrize(("ends", "value", "message"), [
    ({}, 1.5, "`rate` must be in [0, 1], not 1.5."),
    ({"low_open": True}, 0, "`rate` must be in (0, 1], not 0."),
    ({"high_open": True}, 1.0, "`rate` must be in [0, 1), not 1."),
    ({"low_open": True, "high_open": True}, 1.0000001, "`rate` must be in (0, 1), "
                                                      "not 1.0000001."),
])
def test_an_out_of_range_number_names_the_interval_and_the_exact_value(ends, value, message):
    with pytest.raises(Refused) as err:
        number(value, low=0, high=1, **ends)
    assert str(err.value) == message


def test_bounds_and_values_are_written_as_a_student_would():
    assert ranges.interval(0.0, 10.0, low_open=True) == "(0, 10]"
    assert ranges.interval(1e-12, 1e6) == "[1e-12, 1000000]"
    assert ranges.interval(0, 0.99, high_open=True) == "[0, 0.99)"
    assert ranges.number_text(10**400) == "a 1329-bit integer"
    assert ranges.number_text(1e300) == "1e+300"


def test_a_huge_integer_is_compared_exactly_and_described_not_written_out():
    with pytest.raises(Refused, match=r"must be in \[0, 10\], not a 1329-bit integer\.$"):
        number(10**400, low=0, high=10)
    with pytest.raises(Refused, match="not a 1329-bit integer"):
        integer(10**400, low=1, high=8192)
    assert ranges.is_number(10**400)
    assert number(10**18, low=0, high=1e19) == 1e18


def test_a_refused_value_cannot_break_out_of_its_code_span():
    with pytest.raises(Refused) as err:
        number("`](http://x)", low=0, high=1)
    assert "``'`](http://x)'``" in str(err.value)
    with pytest.raises(Refused) as err:
        number("x" * 500, low=0, high=1)
    assert len(str(err.value)) < 150 and "…" in str(err.value)


def test_positive_excludes_zero_only():
    assert ranges.positive(1e6, "`clipnorm`", 1e6, error=Refused) == 1e6
    with pytest.raises(Refused, match=r"`clipnorm` must be in \(0, 1000000\], not 0\."):
        ranges.positive(0, "`clipnorm`", 1e6, error=Refused)


@pytest.mark.parametrize(("value", "shown"), [
    (True, "`True`"), (3.0, "`3.0`"), ("3", "`'3'`"), (None, "`None`"),
])
def test_an_integer_of_the_wrong_kind_is_refused(value, shown):
    with pytest.raises(Refused) as err:
        integer(value, low=1, high=8192)
    assert str(err.value) == f"`units` must be a whole number from 1 to 8192, not {shown}."


def test_an_integer_out_of_range_names_the_range():
    assert integer(1, low=1, high=8192) == 1 and integer(8192, low=1, high=8192) == 8192
    for value in (0, 8193):
        with pytest.raises(Refused, match=rf"from 1 to 8192, not {value}\.$"):
            integer(value, low=1, high=8192)


@pytest.mark.parametrize(("value", "single", "expected"), [
    ([3, 3], False, (3, 3)), ((1, 28), False, (1, 28)), (3, True, (3, 3)),
    ([2, 5], True, (2, 5)),
])
def test_pair_forms(value, single, expected):
    assert pair(value, single=single) == expected


@pytest.mark.parametrize(("value", "single"), [
    (3, False), ([3], False), ([3, 3, 3], False), ([0, 3], False), ([3, 29], False),
    ([True, 3], False), ([3.0, 3], False), ("33", False), (None, True), (29, True),
    (True, True), ([3, None], True),
])
def test_pairs_refused(value, single):
    with pytest.raises(Refused) as err:
        pair(value, single=single)
    message = str(err.value)
    assert message.startswith("`kernel_size` must be ")
    assert "from 1 to 28" in message and "2-D image" in message
    assert message.endswith(f"not {ranges.shown(value)}.")
    assert ("or two of them" in message) == single


def test_the_caller_chooses_the_exception():
    with pytest.raises(Keyed) as err:
        ranges.number(True, "Setting `lr`", 0, 10, low_open=True, error=partial(Keyed, "lr"))
    assert err.value.key == "lr"
    assert str(err.value) == "Setting `lr` must be a finite number in (0, 10], not `True`."


def test_predicates():
    assert ranges.is_integer(3) and not ranges.is_integer(True) and not ranges.is_integer(3.0)
    assert ranges.is_number(3) and ranges.is_number(-0.5)
    assert not any(ranges.is_number(v) for v in (True, math.nan, math.inf, "1", None))
    assert ranges.within(0, 0, 1) and not ranges.within(0, 0, 1, low_open=True)
    assert ranges.is_integer_in(0, 0, 28) and ranges.is_integer_in(28, 0, 28)
    assert not any(ranges.is_integer_in(v, 0, 28) for v in (-1, 29, True, 3.0, "3", None))
