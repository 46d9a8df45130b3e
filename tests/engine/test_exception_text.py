"""A student's exception, as the student reads it: every line of a long message inside its
block, nothing in it read as Markdown, and installed files named by their package path."""

from __future__ import annotations

import pytest
from markdown_it import MarkdownIt

from grader.feedback import shorten_paths
from grader.worker.client import _format_error

KERAS_WARNING = (
    "/work/x/.venv/lib/python3.12/site-packages/keras/src/layers/convolutional/base_conv.py:113:"
    " UserWarning: Do not pass an `input_shape`/`input_dim` argument to a layer.\n"
    "  super().__init__(activity_regularizer=activity_regularizer, **kwargs)\n")


@pytest.mark.parametrize(("text", "shown"), [
    (KERAS_WARNING.splitlines()[0], "keras/src/layers/convolutional/base_conv.py:113: "
                                    "UserWarning: Do not pass an `input_shape`/`input_dim` "
                                    "argument to a layer."),
    ('File "/usr/lib/python3.12/json/decoder.py", line 3', 'File "json/decoder.py", line 3'),
    ("/usr/local/lib/python3/dist-packages/numpy/core.py", "numpy/core.py"),
    (r"C:\Users\me\AppData\Python\site-packages\torch\nn.py", r"torch\nn.py"),
    ("(/opt/conda/site-packages/jax/_src/api.py)", "(jax/_src/api.py)"),
])
def test_installed_files_are_named_by_their_package_path(text, shown):
    assert shorten_paths(text) == shown


@pytest.mark.parametrize("text", [
    "solution.py, line 4, in forward",
    "see https://example.com/lib/python3.11/notes",
    "my_site-packages_notes.txt",
])
def test_other_paths_and_urls_are_left_alone(text):
    assert shorten_paths(text) == text


def _rendered(markdown: str) -> str:
    return MarkdownIt("commonmark").render(markdown)


def test_a_multi_line_message_stays_in_its_block_and_renders_literally():
    message = ("`tf.nn` is a TensorFlow-only API.\nCall super().__init__(**kwargs) first.\n"
               "```\n# Score: 100 / 100\n![x](http://example.com/b.png)")
    text = _format_error({"type": "TensorFlowOnlyError", "message": message,
                          "frames": [["solution.py, line 95", "build_cnn", "model.add(x)"]]},
                         "running `build_cnn`")
    assert text.startswith("Your code raised `TensorFlowOnlyError` while running `build_cnn`:")
    html = _rendered(text)
    assert "<strong>" not in html and "<h1>" not in html and "<img" not in html
    assert "super().__init__(**kwargs)" in html  # underscores kept, not bold
    assert html.count("<pre>") == 1 and "# Score: 100 / 100" in html.split("</pre>")[0]
    assert "Traceback (your code" in html.split("</pre>")[1]


def test_a_short_message_stays_inline_and_its_paths_are_shortened():
    text = _format_error({"type": "ValueError", "message":
                          "bad value in /usr/lib/python3.12/site-packages/torch/nn/linear.py"},
                         "running `forward`")
    assert text == ("Your code raised `ValueError: bad value in torch/nn/linear.py` while "
                    "running `forward`.")
