"""Feedback pages for batch grading: content, PNG curves, safe HTML and safe file names."""

from __future__ import annotations

import base64
import math
import re
import threading
from pathlib import Path

import pytest

from grader.batch.pages import (
    curves_of,
    plot_curves,
    render_html,
    render_markdown,
    safe_name,
    write_feedback,
)
from grader.results import Results
from grader.results import TestResult as Graded

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
HOSTILE = ("<script>alert(1)</script>\n\n<img src=x onerror=alert(1)>\n\n"
           "[x](javascript:alert(1)) [y](JaVaScRiPt:alert(2)) [z](&#106;avascript:alert(3))")
CURVE = {"title": "2C, seed 0", "x_label": "epoch", "y_label": "accuracy",
         "series": {"test accuracy": [0.95, 0.97, 0.981], "train accuracy": [0.9, 0.96, 0.99]},
         "threshold": 0.975}


def make_results(curves: list[dict] | None = None, output: str = "Accuracy **0.91** < 0.975"):
    tests = [
        Graded(name="1A forward", max_score=2, score=2, status="passed", number="1.1"),
        Graded(name="2C training", max_score=3, score=0, status="failed", number="2.1",
                   output=output),
        Graded(name="3 secret", max_score=1, score=0, status="timeout", number="3.1",
                   visibility="hidden", output="ran out of time"),
    ]
    data = Results(tests=tests, extra_data={"grader_version": "0.1.0",
                                            "submission_sha256": "ab" * 32}).to_json()
    if curves is not None:
        data["tests"][1]["extra_data"]["curves"] = curves
    return data


def test_markdown_header_table_and_failures():
    md = render_markdown(make_results(), student="alice", title="Set 4")
    assert md.startswith("# Set 4\n")
    assert "alice" in md and "**Score:** 2 / 6" in md
    assert "| 1.1 | 1A forward | 2 / 2 | passed |" in md
    assert "| 2.1 | 2C training | 0 / 3 | failed |" in md
    assert "Accuracy **0.91** < 0.975" in md  # the failed test's output, verbatim
    assert "### 2.1 2C training (failed)" in md
    assert "ran out of time" in md and "(timeout)" in md
    assert "### 1.1" not in md  # passed tests get no section
    assert "grader 0.1.0" in md and "abababababab" in md
    assert "Training curves" not in md and "![" not in md


def test_hidden_tests_are_listed_without_a_hidden_label():
    """The page is the student's own feedback, sent after grading: no row calls a test
    hidden (18 rows did on a real page)."""
    md = render_markdown(make_results(), student="a", title="t")
    page = render_html(make_results(), student="a", title="t")
    assert "| 3.1 | 3 secret | 0 / 1 | timeout |" in md
    assert "<td>3 secret</td>" in page
    assert "hidden" not in md.lower() and "hidden from students" not in page


def test_summary_comes_first_with_links_to_each_failure():
    data = make_results()
    data["output"] = "**Start here:** several tests fail for the same reason."
    page = render_html(data, student="a", title="t")
    order = [page.index(x) for x in ("Score:", "Start here", "Tests that did not pass",
                                     'href="#test-2-1"', '<h3 id="test-2-1">', "All tests")]
    assert order == sorted(order), order
    for target in re.findall(r'href="#([^"]+)"', page):
        assert f'id="{target}"' in page  # every summary link lands on its section
    md = render_markdown(data, student="a", title="t")
    assert md.index("Start here") < md.index("- 2.1 2C training: 0 / 3 (failed)") \
        < md.index("### 2.1 2C training") < md.index("## All tests")


def test_markdown_in_test_names_renders_in_cells_and_headings():
    data = make_results()
    data["tests"][1]["name"] = "`softmax(x)` rows sum to 1"
    page = render_html(data, student="a", title="t")
    assert "<td><code>softmax(x)</code> rows sum to 1</td>" in page
    assert '<h3 id="test-2-1">2.1 <code>softmax(x)</code> rows sum to 1' in page
    assert "`softmax" not in page


def test_markdown_curves_images_and_value_table():
    md = render_markdown(make_results([CURVE]), student="bob", title="T",
                         images={"curve-0": "bob_files/curve-0.png"})
    assert "## Training curves" in md and "### 2C training: 2C, seed 0" in md
    assert "![2C, seed 0](<bob_files/curve-0.png>)" in md
    assert "| epoch | test accuracy | train accuracy |" in md
    assert "| 1 | 0.95 | 0.9 |" in md and "| 3 | 0.981 | 0.99 |" in md
    assert "Threshold: 0.975" in md
    no_images = render_markdown(make_results([CURVE]), student="bob", title="T")
    assert "![" not in no_images and "| 2 | 0.97 | 0.96 |" in no_images


def test_long_curves_are_subsampled_but_keep_the_ends():
    curve = {"title": "long", "series": {"loss": [float(i) for i in range(200)]}}
    md = render_markdown(make_results([curve]), student="a", title="t")
    rows = re.findall(r"^\| (\d+) \| [^|]+ \|$", md, flags=re.M)
    assert 2 <= len(rows) <= 30
    assert rows[0] == "1" and rows[-1] == "200"


def test_nan_none_and_uneven_series_are_tabulated():
    curve = {"title": "gaps", "series": {"a": [1.0, None, math.nan, "x"], "b": [0.5]}}
    md = render_markdown(make_results([curve]), student="a", title="t")
    assert "| 1 | 1 | 0.5 |" in md and "| 2 | – | – |" in md and "| 4 | – | – |" in md


@pytest.mark.parametrize("curve", [
    CURVE,
    {"title": "nan", "series": {"loss": [math.nan, None, 1.0, math.inf, 0.5]}, "threshold": 1},
    {"title": "all nan", "series": {"loss": [None, math.nan]}},
    {"title": "empty", "series": {"loss": []}},
    {"title": "nothing"},
    {"title": "sweep", "x": [1e-6, 1e-4, 1e-3], "x_scale": "log",
     "series": {"mean": [0.981, 0.984, 0.979]}, "errors": {"mean": [0.001, 0.0004, 0.002]}},
    {"title": "bad errors", "x": [1, 2], "series": {"m": [0.5, 0.6]}, "errors": {"m": ["x"]}},
])
def test_plot_curves_writes_png(tmp_path: Path, curve: dict):
    path = plot_curves(curve, tmp_path / "sub" / "c.png")
    assert path == tmp_path / "sub" / "c.png"
    assert path.read_bytes().startswith(PNG_MAGIC)
    assert [p.name for p in path.parent.iterdir()] == ["c.png"]  # no temp file left behind


def test_sweep_table_shows_x_values_and_error_bars():
    results = make_results([{"title": "2.4 sweep", "x_label": "factor",
                             "x": [1e-6, 1e-3], "x_scale": "log",
                             "series": {"mean": [0.9812, 0.9797]},
                             "errors": {"mean": [0.0007, 0.0011]}}])
    text = render_markdown(results, student="alice", title="T")
    assert "| factor | mean |" in text and "| 1e-06 | 0.9812 ± 0.0007 |" in text, text


def test_plot_curves_is_safe_in_threads(tmp_path: Path):
    errors: list[BaseException] = []

    def work(i: int) -> None:
        try:
            plot_curves(CURVE, tmp_path / f"{i}.png")
        except BaseException as exc:  # pragma: no cover - only on failure
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert all((tmp_path / f"{i}.png").read_bytes().startswith(PNG_MAGIC) for i in range(6))


def test_html_embeds_pngs_and_is_self_contained():
    page = render_html(make_results([CURVE, {"title": "b", "series": {}}]), student="carol",
                       title="Set 4")
    uris = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    assert len(uris) == 2
    assert all(base64.b64decode(u).startswith(PNG_MAGIC) for u in uris)
    assert "<style>" in page and "<link" not in page and "<script" not in page
    assert "<td>0.981</td>" in page and "Score:</strong> 2 / 6" in page
    assert "<strong>0.91</strong> &lt; 0.975" in page  # Markdown output converted to HTML


def test_html_uses_given_image_files(tmp_path: Path):
    png = plot_curves({"title": "x", "series": {"a": [1, 2]}}, tmp_path / "given.png")
    page = render_html(make_results([CURVE]), student="a", title="t",
                       images={"curve-0": str(png)})
    assert base64.b64encode(png.read_bytes()).decode() in page


def test_hostile_output_is_escaped_in_html():
    page = render_html(make_results(output=HOSTILE), student="<b>x</b>",
                       title="<script>t</script>")
    assert "<script" not in page.lower()
    assert "<img src=x" not in page and "onerror=alert(1)>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    # the javascript: links stay plain text, never anchors; the page's own links stay inside
    assert all(h.startswith("#test-") for h in re.findall(r'<a href="([^"]*)"', page))
    assert not re.search(r'href="\s*javascript', page, flags=re.I)
    assert "<b>x</b>" not in page and "&lt;b&gt;x&lt;/b&gt;" in page


def test_html_loads_and_links_nothing_outside_the_page():
    page = render_html(make_results(output="see [docs](https://example.org/a) and "
                                           "![x](https://example.org/beacon.png)"),
                       student="a", title="t")
    assert "example.org/a\"" not in page and "<img src=\"https" not in page
    assert all(h.startswith("#") for h in re.findall(r'<a href="([^"]*)"', page))
    assert "Content-Security-Policy" in page and "default-src 'none'" in page


def test_unclosed_fence_cannot_swallow_the_page():
    md = render_markdown(make_results([CURVE], output="```\nTraceback ..."), student="a",
                         title="t")
    before, _, after = md.partition("Traceback ...")
    assert after.lstrip("\n").startswith("```")
    page = render_html(make_results([CURVE], output="```\nTraceback ..."), student="a",
                       title="t")
    assert '<h3 id="test-3-1">3.1 3 secret' in page and "<h2>Training curves</h2>" in page


def test_no_curves_means_no_images(tmp_path: Path):
    data = make_results()
    assert curves_of(data) == []
    assert "data:image" not in render_html(data, student="a", title="t")
    md_path, html_path = write_feedback(data, tmp_path, "dave", "Set 4")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dave.html", "dave.md"]
    assert "![" not in md_path.read_text() and "<img" not in html_path.read_text()


def test_write_feedback_files(tmp_path: Path):
    data = make_results([CURVE, {"title": "loss", "series": {"loss": [2.0, 1.0]}}])
    md_path, html_path = write_feedback(data, tmp_path / "out", "erin", "Set 4")
    assert (md_path, html_path) == (tmp_path / "out" / "erin.md", tmp_path / "out" / "erin.html")
    pngs = sorted((tmp_path / "out" / "erin_files").iterdir())
    assert [p.name for p in pngs] == ["curve-0.png", "curve-1.png"]
    assert all(p.read_bytes().startswith(PNG_MAGIC) for p in pngs)
    md = md_path.read_text(encoding="utf-8")
    assert "(<erin_files/curve-0.png>)" in md and "(<erin_files/curve-1.png>)" in md
    page = html_path.read_text(encoding="utf-8")
    assert page.count("data:image/png;base64,") == 2 and "erin_files" not in page
    assert not [p for p in (tmp_path / "out").rglob(".*")]  # no temp files left

    write_feedback(make_results([CURVE]), tmp_path / "out", "erin", "Set 4")  # fewer curves now
    assert [p.name for p in (tmp_path / "out" / "erin_files").iterdir()] == ["curve-0.png"]


def test_write_feedback_uses_a_safe_name(tmp_path: Path):
    md_path, html_path = write_feedback(make_results(), tmp_path, "../../etc/passwd", "t")
    assert md_path.parent == tmp_path and html_path.parent == tmp_path
    assert md_path.name.startswith("etc_passwd-") and md_path.suffix == ".md"
    assert "../../etc/passwd" in md_path.read_text()  # the page still shows the real id


@pytest.mark.parametrize("student, expected", [
    ("alice", "alice"),
    ("alice.smith@uni.edu", "alice.smith@uni.edu"),
    ("s-123_x", "s-123_x"),
    ("José", "José"),
])
def test_safe_name_keeps_ordinary_ids(student: str, expected: str):
    assert safe_name(student) == expected


@pytest.mark.parametrize("student", [
    "../x", "a/b", "a\\b", "..", ".", ".hidden", "a..b", "", "   ", "a b", "x\x00y", "/abs",
    "C:\\evil", "a/../../b", "-rf", "x" * 500,
])
def test_safe_name_is_safe(student: str):
    name = safe_name(student)
    assert name and not name.startswith((".", "-"))
    assert "/" not in name and "\\" not in name and ".." not in name and "\x00" not in name
    assert " " not in name and ":" not in name and len(name) <= 100
    assert name != student


def test_safe_name_is_readable_and_does_not_collide():
    assert safe_name("a/b").startswith("a_b-")
    assert safe_name("a b").startswith("a_b-")
    assert len({safe_name(s) for s in ("a/b", "a_b", "a b", "a\\b", "a:b")}) == 5
    assert safe_name("a/b") == safe_name("a/b")  # stable across runs


def test_html_links_only_within_the_page():
    page = render_html(make_results(output="[a](ms-msdt:x) [b](vbscript:x) [c](data:text/html,x) "
                                           "[d](mailto:ta@uni.edu) [e](notes/hw.md) [f](#tests)"),
                       student="a", title="t")
    hrefs = re.findall(r'<a href="([^"]*)"', page)
    assert [h for h in hrefs if not h.startswith("#test-")] == ["#tests"]


def test_threshold_is_drawn(tmp_path: Path):
    import matplotlib.image

    without = {k: v for k, v in CURVE.items() if k != "threshold"}
    a = matplotlib.image.imread(plot_curves(CURVE, tmp_path / "a.png"))
    b = matplotlib.image.imread(plot_curves(without, tmp_path / "b.png"))
    assert a.shape == b.shape == (350, 600, 4)  # 6 x 3.5 in at 100 dpi
    assert (a != b).any()


@pytest.mark.parametrize("errors", [False, True], ids=["lines", "error bars"])
def test_the_training_line_is_drawn_over_the_validation_line(monkeypatch, errors):
    """Where a model fits, the validation line lies on the training line: the training line
    is drawn last, over it, though it comes first in the series. Checked by the order in
    which matplotlib draws the lines."""
    from grader.batch.pages import _figure

    values = [0.9, 0.96, 0.99]
    curve = {"series": {"train accuracy": values, "validation accuracy": values},
             "threshold": 0.975,
             **({"errors": {"train accuracy": [0.01] * 3, "validation accuracy": [0.01] * 3}}
                if errors else {})}
    ax = _figure(curve).axes[0]
    # each series' artists: its line, or an error bar's line, caps and bars
    parts = {line: line.get_label() for line in ax.get_lines()}
    for container in ax.containers:
        data, caps, bars = container.lines
        parts.update({a: container.get_label() for a in (data, *caps, *bars)})
    drawn: list[str] = []
    for artist, name in parts.items():
        def draw(renderer, name=name, draw=artist.draw):
            drawn.append(name)
            return draw(renderer)
        monkeypatch.setattr(artist, "draw", draw)
    ax.figure.canvas.draw()
    series = [name for name in drawn if name in curve["series"]]
    assert set(series) == set(curve["series"]), drawn
    assert series == sorted(series, key="train accuracy".__eq__), drawn  # validation first


def test_a_quoted_line_of_backticks_does_not_open_a_block_over_the_page():
    """The feedback quotes a student's message in a fence longer than any line inside it;
    the page must not count that inner ``` as a fence left open."""
    from markdown_it import MarkdownIt

    from grader.feedback import block

    output = "Your code raised `ValueError`:\n" + block("```\nprint(1)")
    md = render_markdown(make_results(output=output), student="a", title="t")
    html = MarkdownIt("commonmark").enable("table").render(md)
    assert "<table>" in html.split("All tests")[1]  # the full table is still a table
    assert md.count("````") == 2


def test_the_seeds_line_reads_as_words_not_a_python_dict():
    from grader.batch.pages import _meta

    line = _meta({"extra_data": {"grader_version": "0.1.0", "submission_sha256": "ab" * 32,
                                 "seeds": {"hypothesis": "derandomize", "mnist.seed": 0}}})
    assert line == ("grader 0.1.0; submission sha256 abababababab; "
                    "seeds: hypothesis derandomize, mnist.seed 0")
