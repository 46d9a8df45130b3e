"""Regenerate correct/notebook_colab.ipynb from the reference solution.

The reference is the course notebook as Colab's File > Download .py exports it: each markdown
cell became a top-level string. This script turns it back into the notebook: one markdown
cell per such string, the code between two of them as one code cell.

Run from anywhere:  python tests/engine/submissions/ece1513_a4/make_notebook.py
Cell ids and metadata are fixed, so the output is byte-for-byte reproducible.
"""
import ast
import pathlib

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

HERE = pathlib.Path(__file__).resolve().parent
REFERENCE = HERE.parents[3] / "reference" / "ece1513_a4" / "solution.py"
TARGET = HERE / "correct" / "notebook_colab.ipynb"
TITLE = "ECE1513 - Assignment 4"
TRAINING_LOG = ("Epoch 0 in 3.29 sec\nTraining set accuracy 0.9398333430290222\n"
                "Test set accuracy 0.9395000338554382\n")


def _markdown(node):
    return (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str))


def _code(lines):
    text = "\n".join(line.replace("  # noqa: E402", "") for line in lines)
    return text.strip("\n")


def cells_of(source):
    """(kind, text) for each cell of the exported file, in order."""
    lines = source.splitlines()
    cells, start = [], 1
    for node in ast.parse(source).body:
        if not _markdown(node):
            continue
        code = _code(lines[start - 1:node.lineno - 1])
        if code and not code.startswith("# -*- coding"):
            cells.append(("code", code))
        text = node.value.value.strip()
        if not cells:  # the export's docstring: the notebook's title, then the first cell
            text = text.rsplit("\n\n", 1)[-1]
        cells.append(("markdown", text))
        start = node.end_lineno + 1
    code = _code(lines[start - 1:])
    if code:
        cells.append(("code", code))
    return cells


def build():
    cells = []
    for i, (kind, text) in enumerate(cells_of(REFERENCE.read_text(encoding="utf-8"))):
        cell_id = f"cell-{i:02d}"
        if kind == "markdown":
            cells.append(new_markdown_cell(text, id=cell_id))
            continue
        outputs = []
        if text.startswith("num_epochs = 10\n"):  # Problem 1's training cell, as it ran
            outputs = [new_output("stream", name="stdout", text=TRAINING_LOG)]
        cells.append(new_code_cell(text, id=cell_id, execution_count=i, outputs=outputs))
    nb = new_notebook(cells=cells)
    nb.metadata = {
        "accelerator": "GPU",
        "colab": {"name": f"{TITLE}.ipynb", "provenance": []},
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
    }
    nbformat.validate(nb)
    return nb


def main():
    TARGET.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(build(), str(TARGET))
    print(f"wrote {TARGET}")


if __name__ == "__main__":
    main()
