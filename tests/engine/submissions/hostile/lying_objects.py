"""Attack: return objects that lie in comparisons (variant @@VARIANT@@).

Every value here converts to the wrong number (0); only its comparisons claim to be right.
"""

import numpy as np

VARIANT = "@@VARIANT@@"


class Liar:
    """Equal to everything, close to everything, true, and 0 when converted."""

    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False

    def __lt__(self, other):
        return False

    __gt__ = __le__ = __ge__ = __lt__

    def __bool__(self):
        return True

    def __hash__(self):
        return 0

    def __abs__(self):
        return 0

    def __sub__(self, other):
        return 0

    __rsub__ = __add__ = __radd__ = __sub__

    def __float__(self):
        return 0.0

    def __int__(self):
        return 0

    def __array__(self, dtype=None, copy=None):
        return np.zeros(1)


class SecondCallFlip:
    """__array__ is wrong (zeros) the first time and right only from the second call on."""

    def __init__(self, value):
        self.value = np.asarray(value, dtype=float)
        self.calls = 0

    def __array__(self, dtype=None, copy=None):
        self.calls += 1
        return np.zeros_like(self.value) if self.calls == 1 else 2 * self.value

    def __eq__(self, other):
        return True


class EqFloat(float):
    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False

    __hash__ = float.__hash__

    def __repr__(self):
        return "6"

    __str__ = __repr__


class EqInt(int):
    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False

    __hash__ = int.__hash__

    def __abs__(self):
        return 10**40  # tries to push the wire onto its float() path

    def __float__(self):
        return 0.0

    def __repr__(self):
        return "6"

    __str__ = __repr__


class EqArray(np.ndarray):
    def __eq__(self, other):
        return np.ones(self.shape, dtype=bool)

    def __ne__(self, other):
        return np.zeros(self.shape, dtype=bool)

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        return np.ones(np.shape(inputs[0]), dtype=bool) if ufunc.nout == 1 else None

    def __array_function__(self, func, types, args, kwargs):
        return True


class LyingDtypeArray(np.ndarray):
    """Object data that claims to be float64 with the expected shape."""

    @property
    def dtype(self):
        return np.dtype(np.float64)


class EqFloat64(np.float64):
    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False

    __hash__ = np.float64.__hash__


def _fake(x):
    shape = np.shape(x)
    if VARIANT == "eq_true":
        return Liar()
    if VARIANT == "array_second_call":
        return SecondCallFlip(x)
    if VARIANT == "float_subclass":
        return EqFloat(0.0)
    if VARIANT == "int_subclass":
        return EqInt(0)
    if VARIANT == "ndarray_subclass":
        return np.zeros(shape).view(EqArray)
    if VARIANT == "lying_dtype":
        return np.array([object()] * int(np.prod(shape)), dtype=object).reshape(shape).view(
            LyingDtypeArray)
    if VARIANT == "float64_subclass":
        return EqFloat64(0.0)
    if VARIANT == "wire_tags":
        return {"$nd": 0, "$obj": 1, "type": "ndarray"}
    raise ValueError(VARIANT)


def double(x):
    return _fake(x)


class Counter:
    def __init__(self, start=0):
        self.count = _fake(start)

    def step(self, by=1):
        self.count = _fake(by)
        return self.count
