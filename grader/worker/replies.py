"""What the trusted side accepts from the worker: every reply checked, every text made safe.

The worker is untrusted, so a reply the grader's own code reads (the load report, the output
it captured, an error it describes) is validated against a JSON Schema before use: a forged
shape stops the worker with a clear message instead of crashing the grader. And every string
that came from the worker is made safe to print and to encode: a lone surrogate (``\\ud800``)
becomes U+FFFD, so that no terminal, log or results file can fail on it.
"""

from __future__ import annotations

from typing import Any

import jsonschema
from jsonschema import Draft202012Validator

__all__ = ["InvalidReply", "check", "clean"]


class InvalidReply(ValueError):
    """A reply of the wrong shape: the worker is stopped and the test fails."""


_TEXT = {"type": "string"}
_TEXTS = {"type": "array", "items": _TEXT}
SCHEMAS: dict[str, dict[str, Any]] = {
    "error": {
        "type": "object",
        "required": ["type", "message"],
        "properties": {
            "type": _TEXT, "message": _TEXT, "refused": {"type": "boolean"},
            "frames": {"type": "array", "items": {"type": "array", "items": _TEXT,
                                                  "minItems": 3, "maxItems": 3}},
        },
    },
    "load": {
        "type": "object",
        "required": ["names"],
        "properties": {
            "display_name": _TEXT, "syntax_error": {"type": ["string", "null"]},
            "empty": {"type": "boolean"}, "skipped_note": _TEXT, "errors": _TEXTS,
            "environment_errors": _TEXTS, "names": _TEXTS, "imports": _TEXTS,
            "notebook_notes": _TEXTS,
            "sections": {"type": "object", "additionalProperties": {
                "type": "object", "properties": {"names": _TEXTS, "where": _TEXT,
                                                 "found_by": _TEXT}}},
        },
    },
    "output": {"type": "array", "prefixItems": [_TEXT, {"type": "integer", "minimum": 0}],
               "minItems": 2, "maxItems": 2},
    "hello": {"type": "object", "properties": {"isolation": {"type": ["object", "string"]}}},
}

# Tuples arrive from the wire as tuples: they are JSON arrays too.
_checker = Draft202012Validator.TYPE_CHECKER.redefine(
    "array", lambda _checker, value: isinstance(value, list | tuple))
_Validator = jsonschema.validators.extend(Draft202012Validator, type_checker=_checker)
_VALIDATORS = {kind: _Validator(schema) for kind, schema in SCHEMAS.items()}


def check(kind: str, value: Any) -> Any:
    """``value`` if it has the shape of a ``kind`` reply, else :class:`InvalidReply`."""
    error = next(_VALIDATORS[kind].iter_errors(value), None)
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "the reply"
        raise InvalidReply(f"its {kind} reply is malformed at {where}: {error.message[:200]}")
    return value


def clean(value: Any) -> Any:
    """``value`` with every string safe to encode (lone surrogates replaced), in containers
    too; arrays and numbers pass through."""
    if isinstance(value, str):
        return "".join("\ufffd" if "\ud800" <= c <= "\udfff" else c for c in value) \
            if _has_surrogate(value) else value
    if isinstance(value, list):
        return [clean(v) for v in value]
    if isinstance(value, tuple):
        return tuple(clean(v) for v in value)
    if isinstance(value, dict):
        return {clean(k): clean(v) for k, v in value.items()}
    return value


def _has_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False
