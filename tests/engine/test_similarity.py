"""The integrity report: disguised copies are found, honest work and the template are not."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest

from grader.batch import fingerprints
from grader.batch.fingerprints import fingerprint, merge_regions, normalise
from grader.batch.similarity import (
    SimilarityReport,
    read_solutions,
    similarity_report,
    solution_text,
)

HEADER = "import numpy as np\n\n\nclass MLP:\n"

SIGNATURES = {
    "relu": "    def relu(self, x, grad=False):\n",
    "softmax": "    def softmax(self, x):\n",
    "forward": "    def forward(self, x):\n",
    "backward": "    def backward(self, cache, labels):\n",
    "loss": "    def loss(self, prediction, labels):\n",
}

ALICE_BODIES = {
    "relu": """\
        # derivative of relu is a step
        if grad:
            return (x > 0).astype(x.dtype)
        return np.maximum(0, x)
""",
    "softmax": """\
        # subtract the row max for numerical stability
        shifted = x - np.max(x, axis=1, keepdims=True)
        exps = np.exp(shifted)
        return exps / np.sum(exps, axis=1, keepdims=True)
""",
    "forward": """\
        activations = [x]
        pre_activations = []
        for layer, (w, b) in enumerate(zip(self.weights, self.biases)):
            z = activations[-1] @ w + b
            pre_activations.append(z)
            if layer == len(self.weights) - 1:
                activations.append(self.softmax(z))
            else:
                activations.append(self.relu(z))
        return {"a": activations, "z": pre_activations}
""",
    "backward": """\
        grads_w, grads_b = [], []
        n = labels.shape[0]
        delta = (cache["a"][-1] - labels) / n
        for layer in reversed(range(len(self.weights))):
            grads_w.insert(0, cache["a"][layer].T @ delta)
            grads_b.insert(0, delta.sum(axis=0, keepdims=True))
            if layer > 0:
                back = delta @ self.weights[layer].T
                delta = back * self.relu(cache["z"][layer - 1], grad=True)
        return grads_w, grads_b
""",
    "loss": """\
        eps = 1e-12
        clipped = np.clip(prediction, eps, 1 - eps)
        return -np.mean(np.sum(labels * np.log(clipped), axis=1))
""",
}

# Written independently: same functions, same maths, different code.
CAROL_BODIES = {
    "relu": """\
        out = x.copy()
        if grad:
            out[x <= 0] = 0.0
            out[x > 0] = 1.0
        else:
            out[x < 0] = 0.0
        return out
""",
    "softmax": """\
        m = x.max(axis=-1)[:, None]
        e = np.exp(x - m)
        total = e.sum(axis=-1)[:, None]
        return e / total
""",
    "forward": """\
        cache = {"h0": x}
        h = x
        n_layers = len(self.weights)
        for i in range(n_layers):
            a = np.dot(h, self.weights[i]) + self.biases[i]
            cache[f"a{i + 1}"] = a
            h = self.softmax(a) if i == n_layers - 1 else self.relu(a)
            cache[f"h{i + 1}"] = h
        return cache
""",
    "backward": """\
        n_layers = len(self.weights)
        dw = [None] * n_layers
        db = [None] * n_layers
        grad_a = cache[f"h{n_layers}"] - labels
        for i in range(n_layers, 0, -1):
            dw[i - 1] = np.dot(cache[f"h{i - 1}"].T, grad_a) / labels.shape[0]
            db[i - 1] = np.mean(grad_a, axis=0, keepdims=True)
            if i > 1:
                grad_h = np.dot(grad_a, self.weights[i - 1].T)
                grad_a = grad_h * self.relu(cache[f"a{i - 1}"], grad=True)
        return dw, db
""",
    "loss": """\
        p = np.clip(prediction, 1e-9, None)
        per_example = -(labels * np.log(p)).sum(axis=1)
        return float(per_example.mean())
""",
}

# Alice's code disguised: names, comments, docstrings and strings changed, methods reordered.
BOB = '''\
import numpy as np


class MLP:
    def forward(self, inputs):
        outs = [inputs]
        pres = []
        for idx, (weight, bias) in enumerate(zip(self.weights, self.biases)):
            pre = outs[-1] @ weight + bias
            pres.append(pre)
            if idx == len(self.weights) - 1:
                outs.append(self.softmax(pre))
            else:
                outs.append(self.relu(pre))
        return {"acts": outs, "pre": pres}

    def relu(self, v, grad=False):
        if grad:
            return (v > 0).astype(v.dtype)
        return np.maximum(0, v)

    def loss(self, probs, targets):
        """Mean cross-entropy."""
        tiny = 1e-10
        safe = np.clip(probs, tiny, 1 - tiny)
        return -np.mean(np.sum(targets * np.log(safe), axis=1))

    def softmax(self, logits):
        # stable: take away the largest logit of each row
        centred = logits - np.max(logits, axis=1, keepdims=True)
        ex = np.exp(centred)
        return ex / np.sum(ex, axis=1, keepdims=True)

    def backward(self, memo, targets):
        """Gradients of every layer, last layer first."""
        gw, gb = [], []
        batch = targets.shape[0]
        err = (memo["acts"][-1] - targets) / batch
        for k in reversed(range(len(self.weights))):
            gw.insert(0, memo["acts"][k].T @ err)
            gb.insert(0, err.sum(axis=0, keepdims=True))
            if k > 0:
                upstream = err @ self.weights[k].T
                err = upstream * self.relu(memo["pre"][k - 1], grad=True)
        return gw, gb
'''

# What every student got: a data helper, the model's set-up and a training loop, plus stubs.
TEMPLATE = '''\
import gzip
import pickle

import numpy as np


def one_hot(y, n_classes=10):
    return np.eye(n_classes)[y]


def load_mnist(path="mnist.pkl.gz"):
    with gzip.open(path, "rb") as handle:
        train, valid, test = pickle.load(handle, encoding="latin1")
    return [(x.reshape(-1, 784), one_hot(y)) for x, y in (train, valid, test)]


class MLP:
    def __init__(self, sizes=(784, 128, 10), lr=0.01, batch_size=64, seed=0):
        rng = np.random.default_rng(seed)
        self.lr = lr
        self.batch_size = batch_size
        self.weights = [rng.normal(0, 0.01, (a, b)) for a, b in zip(sizes[:-1], sizes[1:])]
        self.biases = [np.zeros((1, b)) for b in sizes[1:]]

    def relu(self, x, grad=False):
        # WRITE CODE HERE
        raise NotImplementedError("relu")

    def softmax(self, x):
        # WRITE CODE HERE
        raise NotImplementedError("softmax")

    def forward(self, x):
        # WRITE CODE HERE
        raise NotImplementedError("forward")

    def backward(self, cache, labels):
        # WRITE CODE HERE
        raise NotImplementedError("backward")

    def loss(self, prediction, labels):
        # WRITE CODE HERE
        raise NotImplementedError("loss")

    def update(self, grads_w, grads_b):
        for layer, (gw, gb) in enumerate(zip(grads_w, grads_b)):
            self.weights[layer] -= self.lr * gw
            self.biases[layer] -= self.lr * gb

    def train_epoch(self, inputs, labels):
        order = np.random.permutation(len(inputs))
        losses = []
        for start in range(0, len(inputs), self.batch_size):
            batch = order[start : start + self.batch_size]
            cache = self.forward(inputs[batch])
            losses.append(self.loss(cache_output(cache), labels[batch]))
            self.update(*self.backward(cache, labels[batch]))
        return float(np.mean(losses))

    def accuracy(self, inputs, labels):
        probs = cache_output(self.forward(inputs))
        return float(np.mean(probs.argmax(axis=1) == labels.argmax(axis=1)))

    def fit(self, data, epochs=10, verbose=True):
        (train_x, train_y), (valid_x, valid_y), _ = data
        logs = {"train_loss": [], "valid_loss": [], "valid_accuracy": []}
        for epoch in range(epochs):
            logs["train_loss"].append(self.train_epoch(train_x, train_y))
            valid_probs = cache_output(self.forward(valid_x))
            logs["valid_loss"].append(self.loss(valid_probs, valid_y))
            logs["valid_accuracy"].append(self.accuracy(valid_x, valid_y))
            if verbose:
                print(f"epoch {epoch}: loss {logs['train_loss'][-1]:.4f}, "
                      f"accuracy {logs['valid_accuracy'][-1]:.3f}")
        return logs


def cache_output(cache):
    return cache["a"][-1] if isinstance(cache, dict) and "a" in cache else cache
'''


def standalone(bodies: dict[str, str]) -> str:
    """A bare class holding the five methods, in the template's order."""
    return HEADER + "\n".join(SIGNATURES[name] + body for name, body in bodies.items())


def fill(bodies: dict[str, str]) -> str:
    """The template with its stubs replaced by ``bodies``."""
    text = TEMPLATE
    for name, body in bodies.items():
        stub = f'        # WRITE CODE HERE\n        raise NotImplementedError("{name}")\n'
        assert stub in text
        text = text.replace(stub, body)
    return text


def line_of(text: str, needle: str) -> int:
    """1-based line of the only line containing ``needle``."""
    hits = [n for n, line in enumerate(text.split("\n"), 1) if needle in line]
    assert len(hits) == 1, (needle, hits)
    return hits[0]


ALICE = standalone(ALICE_BODIES)
CAROL = standalone(CAROL_BODIES)


def only_pair(report: SimilarityReport, a: str, b: str):
    found = [p for p in report.pairs if {p.a, p.b} == {a, b}]
    assert len(found) == 1, report.to_json()
    return found[0]


# --- normalisation ---------------------------------------------------------------------


def test_normalisation_ignores_names_comments_strings_and_layout() -> None:
    one = 'def f(x):\n    """Doc."""\n    y = np.exp(x)  # note\n    return y.T + 1, "a"\n'
    two = "def g(inp):\n    # other\n    out = np.exp(\n        inp)\n    return out.T + 7, 'bb'\n"
    assert normalise(one)[0] == normalise(two)[0]
    values, lines = normalise(one)
    assert "exp" in values and "T" in values and "def" in values and "return" in values
    assert "f" not in values and "x" not in values and "Doc" not in str(values)
    assert lines[values.index("return")] == 4


def test_broken_code_is_still_tokenised() -> None:
    broken = "def f(x:\n    return np.exp(x  # never closed\n"
    values, lines = normalise(broken)
    assert values[:4] == ["def", "V", "(", "V"] and "exp" in values
    assert lines[values.index("return")] == 2


# --- what is flagged -------------------------------------------------------------------


def test_disguised_copy_is_flagged_with_regions_on_the_right_lines() -> None:
    report = similarity_report({"alice": ALICE, "bob": BOB, "carol": CAROL})
    assert [(p.a, p.b) for p in report.pairs] == [("alice", "bob")]
    pair = report.pairs[0]
    assert pair.score >= 0.8 and pair.coverage_a >= 0.8 and pair.coverage_b >= 0.8
    # Bob reordered the methods, so each one is a region of its own, on its own lines.
    for name, alice_last, bob_last in [
        ("softmax", "return exps /", "return ex /"),
        ("forward", 'return {"a"', 'return {"acts"'),
        ("backward", "return grads_w", "return gw, gb"),
        ("loss", "return -np.mean", "return -np.mean"),
    ]:
        a0, a1 = line_of(ALICE, f"def {name}("), line_of(ALICE, alice_last)
        b0, b1 = line_of(BOB, f"def {name}("), line_of(BOB, bob_last)
        hits = [r for r in pair.regions if r[0] <= a1 and a0 < r[1]]
        assert len(hits) == 1, (name, pair.regions)
        r = hits[0]
        # A fingerprint may run on into the next "def", one blank line further.
        assert a0 - 2 <= r[0] <= a0 + 2 and a1 - 1 <= r[1] <= a1 + 2, (name, r)
        assert b0 - 2 <= r[2] <= b0 + 2 and b1 - 1 <= r[3] <= b1 + 2, (name, r)


def test_independent_solutions_are_not_flagged() -> None:
    report = similarity_report({"alice": ALICE, "carol": CAROL}, threshold=0.6)
    assert report.pairs == []
    low = similarity_report({"alice": ALICE, "carol": CAROL}, threshold=0.0)
    assert low.pairs == [] or low.pairs[0].score < 0.3  # far below, not just under the bar


def test_template_code_does_not_count() -> None:
    sources = {
        "dave": fill(ALICE_BODIES),
        "erin": fill(CAROL_BODIES),
        "frank": fill({n: b.replace("delta", "d_out").replace("# ", "# note: ")
                       for n, b in ALICE_BODIES.items()}),
        "gina": TEMPLATE,
        "hugo": TEMPLATE.replace("# WRITE CODE HERE", "# todo"),
    }
    without = similarity_report(sources, threshold=0.5)
    assert only_pair(without, "dave", "erin").score >= 0.5  # the shared template dominates
    report = similarity_report(sources, TEMPLATE)
    assert [(p.a, p.b) for p in report.pairs] == [("dave", "frank")]
    assert report.pairs[0].score >= 0.9
    assert report.too_small == ["gina", "hugo"]  # untouched templates never match each other
    first, last = line_of(TEMPLATE, "def relu"), line_of(sources["dave"], "def update")
    assert report.pairs[0].regions  # all inside the filled-in methods, none in given code
    assert all(first <= r[0] and r[1] <= last for r in report.pairs[0].regions)


def test_code_most_of_the_class_shares_does_not_count() -> None:
    shared = ALICE_BODIES["backward"]
    own = [
        {"relu": f"        return np.maximum({i}, x) * {i + 1} - x ** {i + 2}\n"} for i in range(12)
    ]
    sources = {f"s{i:02d}": standalone({**body, "backward": shared}) for i, body in
               enumerate(own)}
    assert similarity_report(sources, min_class=100).pairs  # counted when the class is small
    report = similarity_report(sources)
    assert report.pairs == []


# --- reading hand-ins ------------------------------------------------------------------


def test_notebook_and_py_with_the_same_code_match(tmp_path: Path) -> None:
    nb = nbformat.v4.new_notebook()
    imports, model = BOB.split("\n\n\n", 1)
    nb.cells = [
        nbformat.v4.new_markdown_cell("# Assignment 1"),
        nbformat.v4.new_code_cell("!pip install numpy\n%matplotlib inline"),
        nbformat.v4.new_code_cell(imports),
        nbformat.v4.new_markdown_cell("## The model"),
        nbformat.v4.new_code_cell(model),
    ]
    nbformat.write(nb, str(tmp_path / "bob.ipynb"))
    (tmp_path / "alice.py").write_text(ALICE, encoding="utf-8")
    with zipfile.ZipFile(tmp_path / "carol.zip", "w") as zf:
        zf.writestr("carol/solution.py", CAROL)
    texts = {sid: solution_text(tmp_path / name) for sid, name in
             [("alice", "alice.py"), ("bob", "bob.ipynb"), ("carol", "carol.zip")]}
    assert texts["carol"] == CAROL and "def softmax(self, logits)" in texts["bob"]
    report = similarity_report(texts)
    assert [(p.a, p.b) for p in report.pairs] == [("alice", "bob")]
    line = line_of(ALICE, "np.max(x, axis=1")
    (region,) = [r for r in report.pairs[0].regions if r[0] <= line <= r[1]]
    bob_lines = texts["bob"].split("\n")[region[2] - 1 : region[3]]
    assert bob_lines[0].strip() == "def softmax(self, logits):"  # combined-cell line numbers
    assert any(text.strip().startswith("centred = ") for text in bob_lines)


def test_unreadable_and_empty_submissions_are_listed(tmp_path: Path) -> None:
    (tmp_path / "good.py").write_text(ALICE, encoding="utf-8")
    (tmp_path / "copy.py").write_text(BOB, encoding="utf-8")
    (tmp_path / "broken.ipynb").write_text("{not json", encoding="utf-8")
    (tmp_path / "empty.py").write_text("", encoding="utf-8")
    (tmp_path / "bad.zip").write_bytes(b"PK\x03\x04 truncated")
    (tmp_path / "nothing").mkdir()
    paths = {p.stem: p for p in tmp_path.iterdir()}
    paths["missing"] = tmp_path / "missing.py"
    assert solution_text(paths["broken"]) == "" and solution_text(paths["missing"]) == ""
    texts, problems = read_solutions(paths)
    assert set(problems) == {"broken", "bad", "nothing", "missing"}
    report = similarity_report(texts, unreadable=problems)
    assert set(report.unreadable) == {"broken", "bad", "nothing", "missing", "empty"}
    assert "not a readable notebook" in report.unreadable["broken"]
    assert [(p.a, p.b) for p in report.pairs] == [("copy", "good")]
    assert report.compared == 2
    assert similarity_report({}).pairs == [] and similarity_report({"x": ""}).compared == 0
    nasty = {"a": "\x00\x00 def (((", "b": "'''never closed", "c": "\tif x:\n  y\n\tz\n"}
    assert similarity_report(nasty).pairs == []


# --- output ----------------------------------------------------------------------------


def test_same_input_gives_identical_json() -> None:
    sources = {"carol": CAROL, "bob": BOB, "alice": ALICE, "dave": fill(ALICE_BODIES)}
    first = json.dumps(similarity_report(sources, TEMPLATE).to_json(), sort_keys=True)
    shuffled = dict(reversed(list(sources.items())))
    second = json.dumps(similarity_report(shuffled, TEMPLATE).to_json(), sort_keys=True)
    assert first == second
    assert similarity_report(sources, TEMPLATE).to_markdown() == similarity_report(
        shuffled, TEMPLATE).to_markdown()


def test_markdown_and_json_show_pair_and_regions(tmp_path: Path) -> None:
    report = similarity_report({"alice": ALICE, "bob|x": BOB, "carol": CAROL},
                               unreadable={"zed": "zed.zip could not be unpacked"})
    json_path, md_path = report.write(tmp_path / "out")
    data = json.loads(json_path.read_text(encoding="utf-8"))
    assert data["threshold"] == 0.6 and data["unreadable"] == {"zed": report.unreadable["zed"]}
    (pair,) = data["pairs"]
    assert (pair["a"], pair["b"]) == ("alice", "bob|x") and pair["score"] >= 0.8
    assert pair["regions"] == [list(r) for r in report.pairs[0].regions]
    assert all(len(r) == 4 for r in pair["regions"])
    md = md_path.read_text(encoding="utf-8")
    assert "| 1 | `alice` | `bob\\|x` |" in md
    a0, a1, b0, b1 = report.pairs[0].regions[0]
    assert f"`alice` lines {a0}-{a1}, `bob\\|x` lines {b0}-{b1}" in md
    assert "exps = np.exp(shifted)" in md and "ex = np.exp(centred)" in md
    assert "zed.zip could not be unpacked" in md
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "similarity.json", "similarity.md"]


@pytest.mark.parametrize("k, window", [(8, 4), (12, 8), (16, 10)])
def test_copy_found_at_other_settings(k: int, window: int) -> None:
    report = similarity_report({"alice": ALICE, "bob": BOB, "carol": CAROL}, k=k, window=window)
    assert [(p.a, p.b) for p in report.pairs] == [("alice", "bob")]


def test_regions_follow_each_side_separately() -> None:
    a = {1: [(1, 2)], 2: [(2, 3)], 3: [(10, 11)], 4: [(11, 12)]}
    b = {1: [(20, 21)], 2: [(21, 22)], 3: [(3, 4)], 4: [(4, 5)]}
    assert merge_regions(a, b, [1, 2, 3, 4]) == [(1, 3, 20, 22), (10, 12, 3, 5)]


def test_fingerprints_do_not_depend_on_the_process() -> None:
    """Python's own str hash is salted per process; a report must not change between runs."""
    code = ("import sys; from grader.batch.fingerprints import fingerprint; "
            "print(sorted(fingerprint(sys.stdin.read(), 12, 8).spans.items()))")
    runs = {
        subprocess.run([sys.executable, "-c", code], input=ALICE, capture_output=True, text=True,
                       check=True, env={**os.environ, "PYTHONHASHSEED": seed}).stdout
        for seed in ("1", "2")
    }
    assert runs == {str(sorted(fingerprint(ALICE, 12, 8).spans.items())) + "\n"}


def test_large_class_counting_gives_the_same_report(monkeypatch: pytest.MonkeyPatch) -> None:
    """Beyond a few thousand students pairs are counted by sorting instead of in a table."""
    sources = {"alice": ALICE, "bob": BOB, "carol": CAROL, "dave": fill(ALICE_BODIES)}
    dense = similarity_report(sources, TEMPLATE, threshold=0.0).to_json()
    monkeypatch.setattr(fingerprints, "_DENSE_LIMIT", 0)
    monkeypatch.setattr(fingerprints, "_BLOCK", 3)
    assert similarity_report(sources, TEMPLATE, threshold=0.0).to_json() == dense
    assert len(dense["pairs"]) >= 3


def test_worker_processes_give_the_same_report(monkeypatch: pytest.MonkeyPatch) -> None:
    started = []

    class Recording(fingerprints.ProcessPoolExecutor):
        def __init__(self, *args, **kwargs) -> None:
            started.append(args)
            super().__init__(*args, **kwargs)

    sources = {"alice": ALICE, "bob": BOB, "carol": CAROL, "dave": fill(ALICE_BODIES)}
    alone = similarity_report(sources, TEMPLATE, threshold=0.0).to_json()
    monkeypatch.setattr(fingerprints, "_CHUNK", 1)
    monkeypatch.setattr(fingerprints, "ProcessPoolExecutor", Recording)
    assert similarity_report(sources, TEMPLATE, threshold=0.0, jobs=2).to_json() == alone
    assert started == ([(2,)] if sys.platform.startswith("linux") else [])


# --- student text in the report ---------------------------------------------------------
HOSTILE_NAMES = ["<img src=x onerror=alert(1)>", "<script>alert(1)</script>", "a`b``c",
                 "x|y|z", "line\n# Score: 100", "cr\r<img src=x onerror=alert(2)>"]


def _rendered(md: str) -> str:
    """The report as a Markdown renderer shows it (tables on, raw HTML passed through)."""
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark").enable("table").render(md)


def _assert_inert(md: str, pairs: int) -> str:
    """Nothing a student named becomes HTML, a heading or a table cell of its own."""
    import re

    html = _rendered(md)
    assert "<img" not in html and "<script" not in html, html
    assert re.findall(r"<h1>(.*?)</h1>", html) == ["Similarity report"], html
    for heading in re.findall(r"<h2>(.*?)</h2>", html):
        assert re.match(r"\d+\. <code>|Unreadable or empty|Too little code", heading), heading
    for heading in re.findall(r"<h3>(.*?)</h3>", html):
        assert heading.startswith("<code>"), heading
    body = html.split("<tbody>")[1].split("</tbody>")[0] if pairs else ""
    rows = re.findall(r"<tr>(.*?)</tr>", body, re.S)
    assert len(rows) == pairs and all(row.count("<td>") == 8 for row in rows), body
    return html


def test_student_names_stay_text_in_the_report(tmp_path: Path) -> None:
    """Ids (what a library caller passes) that hold HTML, backticks, pipes and line breaks:
    in the table, the headings, the excerpts, the unreadable and too-small lists."""
    copies = {name: ALICE if i % 2 else BOB for i, name in enumerate(HOSTILE_NAMES)}
    report = similarity_report({**copies, "tiny`|<b>\rx": "x = 1\n"},
                               unreadable={name + "!": f"{name}.zip: {name}"
                                           for name in HOSTILE_NAMES})
    assert len(report.pairs) == 15  # every copy with every other
    _, md_path = report.write(tmp_path)
    html = _assert_inert(md_path.read_text(encoding="utf-8"), 15)
    assert "&lt;img src=x onerror=alert(1)&gt;" in html  # shown, as text


def test_zip_members_and_hand_in_names_stay_text(tmp_path: Path) -> None:
    """A batch's own path: hand-ins found in a folder (their ids cleaned), the archives'
    names and member names quoted in why they could not be read."""
    from grader.batch.roster import discover

    folder = tmp_path / "hand-ins"
    folder.mkdir()
    (folder / "alice.py").write_text(ALICE, encoding="utf-8")
    (folder / "bob`|<img src=x onerror=alert(3)>.py").write_text(BOB, encoding="utf-8")
    for i, name in enumerate(HOSTILE_NAMES):
        with zipfile.ZipFile(folder / f"{name.replace('/', '_')}{i}.zip", "w") as zf:
            zf.writestr(f"{name.replace('/', '_')}.py", CAROL)  # two .py, no solution.py:
            zf.writestr(f"{HOSTILE_NAMES[i - 1].replace('/', '_')}-2.py", CAROL)  # ambiguous
    entries = discover(folder)
    texts, problems = read_solutions({e.student: e.path for e in entries})
    assert len(problems) == len(HOSTILE_NAMES), problems
    assert any("<script>" in why for why in problems.values())  # the names are quoted
    report = similarity_report(texts, unreadable=problems)
    _, md_path = report.write(tmp_path / "out")
    md = md_path.read_text(encoding="utf-8")
    _assert_inert(md, len(report.pairs))
    assert len(report.pairs) == 1 and "alert(3)" not in md.split("## Unreadable")[0]
