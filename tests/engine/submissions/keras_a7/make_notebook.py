"""Regenerate correct/notebook_colab.ipynb from the reference solution.

The reference is the course notebook as a .py file; its ``# ## ...`` comments are where the
notebook's markdown headings were. This script turns it back into a Colab notebook: one
markdown cell per heading, the code up to the next heading as one code cell, with a training
log as the output of the training cell, as a student's saved notebook has.

Run from anywhere:  python tests/engine/submissions/keras_a7/make_notebook.py
Cell ids and metadata are fixed, so the output is byte-for-byte reproducible.
"""
import pathlib

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

HERE = pathlib.Path(__file__).resolve().parent
REFERENCE = HERE.parents[3] / "reference" / "keras_a7" / "solution.py"
TARGET = HERE / "correct" / "notebook_colab.ipynb"
LOG = "Epoch 1/10\n469/469 - 2s - loss: 0.4101 - accuracy: 0.8822 - val_accuracy: 0.9361\n"


def cells(text: str) -> list:
    out, code = [], []
    body = text[text.index("# Import TensorFlow and Keras"):]  # not the reference's header
    for line in body.splitlines():
        if line.startswith("# ## "):
            if any(c.strip() for c in code):
                out.append(new_code_cell("\n".join(code).strip("\n")))
            out.append(new_markdown_cell("## " + line[5:]))
            code = []
        else:
            code.append(line)
    out.append(new_code_cell("\n".join(code).strip("\n")))
    for cell in out:
        if cell.cell_type == "code" and "model.fit(" in cell.source and not cell.outputs:
            cell.outputs = [new_output("stream", name="stdout", text=LOG)]
            cell.execution_count = 3
    return out


def main() -> None:
    notebook = new_notebook(cells=[new_markdown_cell("# Assignment 7: Neural networks with Keras"),
                                   *cells(REFERENCE.read_text(encoding="utf-8"))])
    notebook.metadata = {"accelerator": "GPU", "colab": {"provenance": []},
                         "kernelspec": {"display_name": "Python 3", "name": "python3"},
                         "language_info": {"name": "python"}}
    for i, cell in enumerate(notebook.cells):
        cell["id"] = f"cell-{i:02d}"
    nbformat.validate(notebook)
    TARGET.write_text(nbformat.writes(notebook) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
