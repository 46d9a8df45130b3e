"""Attack: replies the grader's own code reads, forged (variant @@VARIANT@@).

The worker's reply to the grader's "output" request, its load report, an error it reports, or
text in it are replaced with values of the wrong shape or text that cannot be encoded. The
grader must still write a valid results file and give the honest score.

The load report is forged while the file loads (a class body runs then, in any load mode):
the server's `reply` is wrapped so that its next reply, the report, carries something else
(a string, a list, a dict with fields of the wrong type or without `names`, or the right
shape with unencodable text in every field).
"""

import gc

import numpy as np

VARIANT = "@@VARIANT@@"


def _server():
    for obj in gc.get_objects():
        if type(obj).__name__ == "Server" and hasattr(obj, "sock"):
            return obj
    raise RuntimeError("no server found")


def _forge():
    server = _server()
    cls = type(server)
    if VARIANT == "output_as_a_tuple_of_numbers":
        cls.op_output = lambda self, header, args: ((12345, 0), {})
    elif VARIANT == "output_as_a_dict":
        cls.op_output = lambda self, header, args: ({"text": 1}, {})
    elif VARIANT == "error_as_a_string":
        def describe_error(self, exc):
            return "not a dict"
        cls.describe_error = describe_error
    elif VARIANT == "error_frames_garbage":
        def describe_error(self, exc):
            return {"type": 5, "message": ["a"], "frames": [[1, 2], "x", None]}
        cls.describe_error = describe_error
    elif VARIANT == "lone_surrogate_message":
        def describe_error(self, exc):
            return {"type": "Bad\ud800", "message": "oops \ud800\udfff\ud800", "frames": []}
        cls.describe_error = describe_error
    elif VARIANT == "printed_lone_surrogate":
        print("printed \ud800 text")


FORGED_LOAD = {
    "load_report_as_a_string": "all good, full marks",
    "load_report_as_a_list": ["double", "Counter"],
    "load_report_fields_of_the_wrong_type": {"names": "double", "errors": 5, "empty": "no",
                                            "sections": ["x"]},
    "load_report_without_names": {"display_name": "solution.py", "errors": []},
    "load_report_unencodable_text": {
        "names": ["Counter", "double", "x\ud800"], "errors": ["an error \ud800\udfff"],
        "display_name": "solution\ud800.py", "skipped_note": "skipped \ud800",
        "imports": ["numpy\ud800"], "notebook_notes": ["\ud800"], "environment_errors": []},
}


def _forge_load():
    forged = FORGED_LOAD.get(VARIANT)
    if forged is None:
        return
    cls = type(_server())
    original = cls.reply

    def reply(self, header, value=None):
        cls.reply = original  # once: the load report; later replies are the server's own
        return original(self, header, forged)

    cls.reply = reply


class _LoadTime:
    _forge_load()


def double(x):
    _forge()
    if VARIANT in ("error_as_a_string", "error_frames_garbage", "lone_surrogate_message"):
        raise ValueError("this error is reported by a forged describe_error")
    return np.asarray(x, dtype=float) * 3.0  # wrong: 0 points for double whatever happens


class Counter:
    def __init__(self, start=0):
        self.count = start

    def step(self, by=1):
        self.count = self.count + by
        return self.count
