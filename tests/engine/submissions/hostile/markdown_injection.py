"""Attack: text that tries to become Markdown of its own in the feedback (variant @@VARIANT@@).

Exception messages, printed output and a fake crash tail carry backticks that would close the
grader's code spans and fences, then links, remote images (a beacon), headings that claim a
full score, and bold text. None of it may render as anything but text. `double` is wrong
whatever happens (its points go nowhere); `Counter` is right and keeps its point.
"""

import sys

import numpy as np

VARIANT = "@@VARIANT@@"
BEACON = "![pixel](http://127.0.0.1:9/@@MARKER@@.png)"
LINK = "[click here for your grade](http://127.0.0.1:9/@@MARKER@@)"
HEADING = "# Score: 89 / 89: all tests passed"
PAYLOAD = f"`` ` ``\n```\n{HEADING}\n\n{BEACON} {LINK} **bold** <img src=x onerror=alert(1)>\n```"


def double(x):
    if VARIANT == "exception_message":
        raise ValueError(f"` {BEACON} {LINK} `")
    if VARIANT == "multiline_exception":
        raise ValueError(PAYLOAD)
    if VARIANT == "printed_output":
        print(PAYLOAD)
        print("```")
    if VARIANT == "fake_crash_tail":
        sys.__stderr__.write("Fatal Python error: Segmentation fault\n" + PAYLOAD + "\n")
        sys.__stderr__.flush()
        import os
        os._exit(139)
    if VARIANT == "returned_string":
        return f"`{BEACON}`\n{HEADING}"
    if VARIANT == "class_name":
        return type(f"{LINK}`{BEACON}", (), {})()
    return np.asarray(x, dtype=float) * 3.0


class Counter:
    def __init__(self, start=0):
        self.count = start

    def step(self, by=1):
        self.count = self.count + by
        return self.count
