"""Loading hand-ins: locating the file, reading it, and keeping only definitions."""

from __future__ import annotations

import ast
import stat
import zipfile
from pathlib import Path

import nbformat
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from grader import locate as locate_module
from grader.locate import SubmissionNotFound, locate_submission
from grader.sandboxed.submission import (
    Prepared,
    Source,
    SubmissionUnreadable,
    describe_skipped,
    prepare,
    read_source,
)
from grader.sandboxed.submission.source import neutralise_magics

# --- helpers ---------------------------------------------------------------------------


def write(path: Path, text: str = "x = 1\n") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def notebook(path: Path, cells: list[tuple[str, str]]) -> Path:
    """Write a v4 notebook; each cell is (kind, source) with kind 'code' or 'markdown'."""
    nb = nbformat.v4.new_notebook()
    make = {"code": nbformat.v4.new_code_cell, "markdown": nbformat.v4.new_markdown_cell}
    nb.cells = [make[kind](src) for kind, src in cells]
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(path))
    return path


def make_zip(path: Path, entries: dict[str, str]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, text in entries.items():
            zf.writestr(zipfile.ZipInfo(name), text)
    return path


def py_source(text: str, name: str = "solution.py") -> Source:
    return Source(text=text, display_name=name, line_map=None, magics=[])


def kept_lines(prepared: Prepared, source: Source) -> list[str]:
    lines = source.text.split("\n")
    return [lines[s.lineno - 1].strip() for s in prepared.statements]


def skipped_lines(prepared: Prepared) -> list[str]:
    return [s.summary for s in prepared.skipped]


# --- locate ----------------------------------------------------------------------------


def test_py_file_is_itself(tmp_path: Path) -> None:
    path = write(tmp_path / "mine.py")
    found = locate_submission(path)
    assert found.path == path
    assert found.root == tmp_path
    assert found.cleanup is None


def test_folder_with_nested_solution(tmp_path: Path) -> None:
    write(tmp_path / "sub" / "hw1" / "solution.py")
    write(tmp_path / "sub" / "hw1" / "helpers.py")
    found = locate_submission(tmp_path / "sub")
    assert found.path == tmp_path / "sub" / "hw1" / "solution.py"
    assert found.note == "hw1/solution.py from folder sub/"


def test_folder_with_only_a_notebook(tmp_path: Path) -> None:
    notebook(tmp_path / "sub" / "hw1.ipynb", [("code", "x = 1")])
    write(tmp_path / "sub" / ".ipynb_checkpoints" / "hw1-checkpoint.ipynb")
    found = locate_submission(tmp_path / "sub")
    assert found.path.name == "hw1.ipynb"
    assert "only notebook" in found.note


def test_ambiguous_folder_names_candidates(tmp_path: Path) -> None:
    write(tmp_path / "sub" / "a.py")
    write(tmp_path / "sub" / "b.py")
    with pytest.raises(SubmissionNotFound) as info:
        locate_submission(tmp_path / "sub")
    message = str(info.value)
    assert "a.py" in message and "b.py" in message and "solution.py" in message


def test_symlink_leaving_the_folder_is_ignored(tmp_path: Path) -> None:
    outside = write(tmp_path / "outside" / "secret.py")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "solution.py").symlink_to(outside)
    with pytest.raises(SubmissionNotFound):
        locate_submission(tmp_path / "sub")


def test_zip_ignores_macosx_junk_and_cleans_up(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "submission.zip", {
        "__MACOSX/._solution.py": "\x00\x05junk",
        "hw1/solution.py": "x = 1\n",
    })
    found = locate_submission(archive)
    assert found.path.read_text() == "x = 1\n"
    assert found.note == "hw1/solution.py from submission.zip"
    assert found.cleanup is not None
    found.cleanup()
    assert not found.root.exists()


def test_zip_extracts_to_given_folder(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "s.zip", {"solution.ipynb": "{}"})
    found = locate_submission(archive, extract_to=tmp_path / "out")
    assert found.path == tmp_path / "out" / "solution.ipynb"


@pytest.mark.parametrize("bad_name", ["../evil.py", "/abs/evil.py", "a/../../evil.py"])
def test_zip_with_escaping_names_is_rejected(tmp_path: Path, bad_name: str) -> None:
    archive = make_zip(tmp_path / "s.zip", {"solution.py": "x = 1\n", bad_name: "boom"})
    with pytest.raises(SubmissionNotFound, match="evil.py"):
        locate_submission(archive, extract_to=tmp_path / "out" / "inner")
    assert not (tmp_path / "evil.py").exists()
    assert not (tmp_path / "out" / "evil.py").exists()


def test_zip_symlink_entry_is_skipped_and_reported(tmp_path: Path) -> None:
    archive = tmp_path / "s.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("solution.py", "x = 1\n")
        link = zipfile.ZipInfo("data.py")
        link.create_system = 3
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        zf.writestr(link, "/etc/passwd")
    found = locate_submission(archive)
    assert found.path.name == "solution.py"
    assert "symlink" in found.note and "data.py" in found.note
    assert not (found.root / "data.py").exists()
    found.cleanup()


def test_zip_over_size_cap_is_rejected(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(locate_module, "MAX_ZIP_BYTES", 10_000)
    archive = tmp_path / "bomb.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("solution.py", "x = 1\n")
        zf.writestr("zeros.bin", b"\0" * 50_000)
    assert archive.stat().st_size < 10_000
    with pytest.raises(SubmissionNotFound, match="MB"):
        locate_submission(archive)


def test_zip_size_is_enforced_while_streaming(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Declared sizes can lie, so the byte count during extraction is the real guard."""
    monkeypatch.setattr(locate_module, "MAX_ZIP_BYTES", 10_000)
    monkeypatch.setattr(locate_module, "_check_zip_limits", lambda *args: None)
    archive = tmp_path / "bomb.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("zeros.bin", b"\0" * 50_000)
    with pytest.raises(SubmissionNotFound, match="more than"):
        locate_submission(archive, extract_to=tmp_path / "out")


def test_zip_with_too_many_files_is_rejected(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(locate_module, "MAX_ZIP_FILES", 5)
    archive = make_zip(tmp_path / "s.zip", {f"f{i}.txt": "" for i in range(6)})
    with pytest.raises(SubmissionNotFound, match="entries"):
        locate_submission(archive)


def test_damaged_zip_is_reported_not_raised_raw(tmp_path: Path) -> None:
    archive = tmp_path / "s.zip"
    archive.write_bytes(b"PK\x03\x04 definitely not a zip")
    with pytest.raises(SubmissionNotFound, match="could not be unpacked"):
        locate_submission(archive)


def test_missing_path(tmp_path: Path) -> None:
    with pytest.raises(SubmissionNotFound, match="does not exist"):
        locate_submission(tmp_path / "nope")


# --- reading ---------------------------------------------------------------------------


def test_notebook_line_mapping(tmp_path: Path) -> None:
    path = notebook(tmp_path / "solution.ipynb", [
        ("markdown", "# Homework 1"),
        ("code", "import math"),
        ("code", "x = 1\ny = 2\n"),
    ])
    source = read_source(path)
    lines = source.text.split("\n")
    assert source.where(lines.index("y = 2") + 1) == "solution.ipynb, cell 3, line 2"
    assert source.where(lines.index("import math") + 1) == "solution.ipynb, cell 2, line 1"


def test_notebook_syntax_error_names_cell(tmp_path: Path) -> None:
    path = notebook(tmp_path / "solution.ipynb", [
        ("markdown", "text"),
        ("code", "def f():\n    return 1"),
        ("code", "x = 1\nfor i in range(10)\n    pass"),
    ])
    source = read_source(path)
    prepared = prepare(source)
    broken = [s for s in prepared.skipped if s.kind == "syntax error"]
    assert len(broken) == 1
    assert "cell 3, line 2" in broken[0].detail
    assert "for i in range(10)" in broken[0].detail


def test_notebook_magics_are_removed(tmp_path: Path) -> None:
    path = notebook(tmp_path / "solution.ipynb", [
        ("code", "!pip install torch\n%matplotlib inline\nimport math"),
        ("code", "%%capture\n!pip install tqdm\nprint('noise')"),
        ("code", "def f(x):\n    %time g(x)\n    return x"),
    ])
    source = read_source(path)
    removed = [text for _, text in source.magics]
    assert removed == ["!pip install torch", "%matplotlib inline", "%%capture", "%time g(x)"]
    assert "print('noise')" not in source.text
    prepared = prepare(source)
    assert prepared.syntax_error is None
    assert [getattr(s, "name", None) for s in prepared.statements][-1] == "f"
    note = describe_skipped(prepared, source)
    assert "`!pip install torch`" in note and "(whole cell)" in note
    assert "solution.ipynb, cell 2, line 1" in note


def test_notebook_broken_scratch_cell_is_dropped_alone(tmp_path: Path) -> None:
    path = notebook(tmp_path / "solution.ipynb", [
        ("code", "import numpy as np"),
        ("code", "def relu(x):\n    return np.maximum(x, 0)"),
        ("code", "scratch = (1, 2\nprint(scratch"),
        ("code", "class Model:\n    pass"),
    ])
    source = read_source(path)
    prepared = prepare(source)
    assert prepared.syntax_error is None
    names = [getattr(s, "name", None) for s in prepared.statements]
    assert names == [None, "relu", "Model"]
    broken = [s for s in prepared.skipped if s.kind == "syntax error"]
    assert [source.where(s.lineno) for s in broken] == ["solution.ipynb, cell 3, line 1"]
    assert "cannot compile" in describe_skipped(prepared, source)


def test_notebook_compile_error_drops_only_that_statement(tmp_path: Path) -> None:
    path = notebook(tmp_path / "solution.ipynb", [
        ("code", "def f():\n    return 1"),
        ("code", "return 5"),
    ])
    prepared = prepare(read_source(path), mode="all")
    assert prepared.syntax_error is None
    assert [type(s).__name__ for s in prepared.statements] == ["FunctionDef"]
    assert prepared.skipped[0].kind == "syntax error"


def test_malformed_notebook_is_unreadable(tmp_path: Path) -> None:
    path = write(tmp_path / "solution.ipynb", '{"cells": [')
    with pytest.raises(SubmissionUnreadable, match="solution.ipynb"):
        read_source(path)


def test_colab_py_export_with_shell_lines_parses(tmp_path: Path) -> None:
    path = write(tmp_path / "solution.py", (
        "# -*- coding: utf-8 -*-\n"
        "!pip install x\n"
        "import math\n"
        "if True:\n"
        "    !pip install y\n"
        "def f():\n"
        "    %timeit math.sqrt(2)\n"
        "msg = ('%d items'\n"
        "       % 3)\n"
        'doc = """\n'
        "!not a command\n"
        '"""\n'
    ))
    source = read_source(path)
    assert source.magics == [(2, "!pip install x"), (5, "!pip install y"),
                             (7, "%timeit math.sqrt(2)")]
    assert "    pass  # removed: !pip install y" in source.text
    assert "       % 3)" in source.text and "\n!not a command\n" in source.text
    prepared = prepare(source, mode="all")
    assert prepared.syntax_error is None
    assert len(prepared.statements) == 5


def test_non_utf8_file_and_bom(tmp_path: Path) -> None:
    latin = tmp_path / "latin.py"
    latin.write_bytes("name = 'café'\n".encode("latin-1"))
    source = read_source(latin)
    assert "café" in source.text
    assert source.notes and "Latin-1" in source.notes[0]
    assert prepare(source).syntax_error is None
    bom = tmp_path / "bom.py"
    bom.write_bytes(b"\xef\xbb\xbfx = 1\n")
    assert read_source(bom).text == "x = 1\n"


# --- definitions filter ----------------------------------------------------------------

COLAB_SCRIPT = '''\
"""Automatically generated by Colaboratory."""
import numpy as np
import torch
import matplotlib.pyplot as plt
from tqdm import tqdm
try:
    import tqdm
except ImportError:
    tqdm = None

EPS = 1e-8
DIMS = (784, 256)
rng = np.random.default_rng(0)


class NN:
    def __init__(self, data=None):
        self.data = data

    def train_loop(self, n):
        return n


def relu(x):
    return np.maximum(x, EPS)


data = load_mnist()
nn = NN(data=data)
nn.train_loop(10)
for epoch in range(3):
    print(epoch)
plt.show()
np.random.seed(1)
x = [i for i in range(3)]
X_train = data["x"]
if __name__ == "__main__":
    nn.train_loop(100)
'''


def test_realistic_colab_script() -> None:
    source = py_source(COLAB_SCRIPT)
    prepared = prepare(source)
    kept = kept_lines(prepared, source)
    for line in ["import torch", "try:", "EPS = 1e-8", "DIMS = (784, 256)",
                 "rng = np.random.default_rng(0)", "class NN:", "def relu(x):"]:
        assert line in kept
    kinds = {s.summary: s.kind for s in prepared.skipped}
    assert kinds == {
        "data = load_mnist()": "assignment from a call",
        "nn = NN(data=data)": "assignment from a call",
        "nn.train_loop(10)": "call",
        "for epoch in range(3):": "loop",
        "plt.show()": "call",
        "np.random.seed(1)": "call",
        "x = [i for i in range(3)]": "assignment with a comprehension",
        'X_train = data["x"]': "depends on skipped code",
        'if __name__ == "__main__":': "main block",
    }
    assert prepared.module_aliases["np"] == "numpy"
    assert prepared.module_aliases["plt"] == "matplotlib.pyplot"
    note = describe_skipped(prepared, source, limit=3)
    assert note.startswith("Loaded definitions only; skipped 9 top-level statements")
    assert "solution.py, line 28 `data = load_mnist()`" in note
    assert "(+6 more)" in note and "inside functions or the class" in note


def test_kept_statements_keep_line_numbers() -> None:
    source = py_source(COLAB_SCRIPT)
    prepared = prepare(source)
    module = ast.Module(body=prepared.statements, type_ignores=[])
    code = compile(module, "solution.py", "exec")
    functions = {c.co_name: c for c in code.co_consts if hasattr(c, "co_firstlineno")}
    assert functions["relu"].co_firstlineno == 24


def test_try_keeps_handlers_but_not_their_side_effects() -> None:
    source = py_source(
        "import subprocess\n"
        "try:\n"
        "    import tqdm\n"
        "except ImportError:\n"
        "    subprocess.check_call(['pip', 'install', 'tqdm'])\n"
        "    tqdm = None\n"
    )
    prepared = prepare(source)
    handler = prepared.statements[1].handlers[0]
    assert [type(s).__name__ for s in handler.body] == ["Pass", "Assign"]
    assert prepared.skipped[0].summary.startswith("subprocess.check_call")


def test_allowlist_limits() -> None:
    text = (
        "import numpy as np\n"
        "import os\n"
        "import torch\n"
        "from math import sqrt\n"
        "ROOT = os.path.join('a', 'b')\n"
        "R2 = sqrt(2)\n"
        "W = np.zeros(3).astype(np.float32)\n"
        "SEP = ', '.join(['a', 'b'])\n"
        "CWD = os.getcwd()\n"
        "ARR = np.load('w.npy')\n"
        "DEV = torch.device('cpu')\n"
        "def list(x):\n"
        "    return x\n"
        "L = list(3)\n"
    )
    source = py_source(text)
    kept = kept_lines(prepare(source), source)
    assert {"ROOT = os.path.join('a', 'b')", "R2 = sqrt(2)",
            "W = np.zeros(3).astype(np.float32)", "SEP = ', '.join(['a', 'b'])"} <= set(kept)
    assert not {"CWD = os.getcwd()", "ARR = np.load('w.npy')", "DEV = torch.device('cpu')",
                "L = list(3)"} & set(kept)
    extended = prepare(source, extra_modules=frozenset({"torch"}))
    assert "DEV = torch.device('cpu')" in kept_lines(extended, source)


def test_dependencies_on_skipped_names() -> None:
    text = (
        "import collections\n"
        "data = load()\n"
        "USE_GPU = False\n"
        "if USE_GPU:\n"
        "    device = 'cuda'\n"
        "else:\n"
        "    device = 'cpu'\n"
        "z = (w := 5) + w\n"
        "class Config:\n"
        "    K = 3\n"
        "    J = K + 1\n"
        "    def method(self, a=K):\n"
        "        return not_needed_until_called\n"
        "class Broken:\n"
        "    rows = data\n"
        "def train(model=data):\n"
        "    pass\n"
        "counts = collections.defaultdict(lambda: 0)\n"
    )
    source = py_source(text)
    prepared = prepare(source)
    kept = kept_lines(prepared, source)
    assert {"if USE_GPU:", "z = (w := 5) + w", "class Config:",
            "counts = collections.defaultdict(lambda: 0)"} <= set(kept)
    kinds = {s.summary: s.kind for s in prepared.skipped}
    assert kinds["class Broken:"] == "depends on skipped code"
    assert kinds["def train(model=data):"] == "depends on skipped code"


PY_SNIPPETS = [
    "import numpy as np", "import torch", "from math import *", "x = 1", "y = x + 1",
    "z = np.zeros(3)", "w = torch.zeros(3)", "def f(a=x):", "    return a", "class K:",
    "    v = y", "    pass", "for i in range(3):", "    print(i)", "if x:", "else:",
    "try:", "except Exception:", "finally:", "    import tqdm", "    tqdm = None",
    "!pip install q", "    %time f()", "while True:", "    break", "return 1",
    "from __future__ import annotations", "with open('f') as h:", "async def g():",
    "    await g()", "del x", "global x", "@f", "lambda: 0", "t = [i for i in x]",
    "u = (v := 3)", '"""doc"""', "if __name__ == '__main__':", "    main()",
]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(PY_SNIPPETS), max_size=12))
def test_kept_statements_always_compile(snippets: list[str]) -> None:
    lines, _ = neutralise_magics(snippets)
    prepared = prepare(py_source("\n".join(lines) + "\n"))
    if prepared.syntax_error is None:
        compile(ast.Module(body=prepared.statements, type_ignores=[]), "s.py", "exec")
        assert not any(isinstance(s, ast.For | ast.While | ast.With)
                       for s in prepared.statements)


def test_syntax_error_message() -> None:
    text = "import math\n\n\nfor i in range(10)\n    pass\n"
    prepared = prepare(py_source(text))
    assert prepared.statements == []
    assert prepared.syntax_error is not None
    assert prepared.syntax_error.startswith("SyntaxError: invalid syntax (solution.py, line 4)")
    assert "`for i in range(10)`" in prepared.syntax_error
    assert "expected ':'" in prepared.syntax_error


def test_compile_error_in_py_is_a_syntax_error() -> None:
    prepared = prepare(py_source("def f():\n    pass\nreturn 3\n"), mode="all")
    assert prepared.statements == []
    assert "solution.py, line 3" in (prepared.syntax_error or "")


def test_nul_bytes() -> None:
    prepared = prepare(py_source("x = 1\ny = 2\x00\n"))
    assert prepared.statements == []
    assert "NUL" in (prepared.syntax_error or "") and "line 2" in (prepared.syntax_error or "")


@pytest.mark.parametrize("text", ["(" * 100_000, "-" * 100_000 + "1", "x" + ".a" * 100_000])
def test_absurd_nesting_does_not_crash(text: str) -> None:
    prepared = prepare(py_source(text))
    assert prepared.statements == []
    assert (prepared.syntax_error or "").startswith("SyntaxError")


def test_long_flat_expression_is_analysed_without_recursion() -> None:
    source = py_source("X = " + " + ".join(["1"] * 5000) + "\n")
    assert len(prepare(source).statements) in (0, 1)


def test_all_mode_keeps_everything() -> None:
    source = py_source(COLAB_SCRIPT)
    prepared = prepare(source, mode="all")
    assert prepared.skipped == []
    assert len(prepared.statements) == len(ast.parse(COLAB_SCRIPT).body)


def test_from_future_in_a_later_cell_is_hoisted(tmp_path: Path) -> None:
    path = notebook(tmp_path / "solution.ipynb", [
        ("code", "import math"),
        ("code", "from __future__ import annotations\ndef f(x: Later) -> Later:\n    return x"),
    ])
    prepared = prepare(read_source(path))
    assert prepared.syntax_error is None
    assert [type(s).__name__ for s in prepared.statements] == [
        "ImportFrom", "Import", "FunctionDef"]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text())
def test_prepare_never_raises_on_text(text: str) -> None:
    source = py_source(text)
    prepared = prepare(source)
    assert isinstance(prepared, Prepared)
    assert isinstance(describe_skipped(prepared, source), str)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.text(), min_size=1, max_size=4))
def test_prepare_never_raises_on_notebook_cells(cells: list[str]) -> None:
    lines: list[str] = []
    line_map: list[tuple[int, int]] = []
    for number, cell in enumerate(cells, start=1):
        for index, line in enumerate(cell.split("\n"), start=1):
            lines.append(line)
            line_map.append((number, index))
    source = Source("\n".join(lines), "solution.ipynb", line_map, [])
    prepared = prepare(source)
    assert isinstance(prepared, Prepared)
    assert isinstance(describe_skipped(prepared, source), str)
