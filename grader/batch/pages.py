"""Per-student feedback pages (Markdown and self-contained HTML) for batch grading.

A TA forwards these pages to students, so they show every test (the page is sent after
grading: hidden ones too, not called hidden), the summary first, and the training curves a
test recorded in ``extra_data["curves"]``.
Test outputs quote text printed by student code: the HTML page renders them with raw HTML
disabled and only harmless link schemes, so a submission cannot inject script into the page.
"""

from __future__ import annotations

import base64
import hashlib
import html
import io
import math
import re
import unicodedata
from pathlib import Path
from typing import Any

from markdown_it import MarkdownIt
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from grader.files import write_atomically

__all__ = ["curves_of", "plot_curves", "render_html", "render_markdown", "safe_name",
           "write_feedback"]

MAX_ROWS = 30  # longer curves are subsampled in the value tables (the PNG shows every point)
# The page loads nothing from anywhere (no beacon can tell anyone it was opened) and runs
# nothing: inline style, data: images only.
CSP = ("default-src 'none'; img-src data:; style-src 'unsafe-inline'; base-uri 'none'; "
       "form-action 'none'")


def _validate_link(url: str) -> bool:
    """No links and no images out of the page: the feedback's Markdown never needs one, and
    one that came from a student's text could track or mislead whoever opens the page."""
    return url.strip().startswith("#")


_MD = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table")
_MD.validateLink = _validate_link  # type: ignore[method-assign]


def _num(x: Any) -> str:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return "–"
    return "–" if math.isnan(v) else format(v, ".4g")


def _floats(values: Any) -> list[float]:
    """Curve values as floats, with None and anything non-numeric as NaN (a gap in the plot)."""
    out = []
    for v in values if isinstance(values, (list, tuple)) else []:
        try:
            out.append(float(v))
        except (TypeError, ValueError):
            out.append(math.nan)
    return out


def _status(test: dict) -> str:
    return str((test.get("extra_data") or {}).get("status") or test.get("status", "failed"))


def _cell(text: Any) -> str:
    """Text safe inside a Markdown table cell."""
    return " ".join(str(text).split()).replace("|", "\\|")


_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})(.*)$")


def _fenced(output: str) -> str:
    """Close a code fence left open, so one test's output cannot swallow the rest of the page.

    Fences are matched as CommonMark does: a block opened by N backticks (or tildes) is closed
    only by a line of at least N of the same character and nothing else, so the longer fences
    the feedback puts around quoted text (holding a line of ```) are not miscounted."""
    open_fence = ""
    for line in output.splitlines():
        match = _FENCE.match(line)
        if not match:
            continue
        fence, rest = match.groups()
        if not open_fence:
            if not (fence[0] == "`" and "`" in rest):  # an info string may not hold a backtick
                open_fence = fence
        elif fence[0] == open_fence[0] and len(fence) >= len(open_fence) and not rest.strip():
            open_fence = ""
    return f"{output}\n{open_fence}" if open_fence else output


def curves_of(results: dict) -> list[tuple[str, dict, dict]]:
    """(key, test, curve) for every curve, in test order; keys are ``curve-0``, ``curve-1``..."""
    found = []
    for test in results.get("tests", []):
        for curve in (test.get("extra_data") or {}).get("curves") or []:
            if isinstance(curve, dict):
                found.append((f"curve-{len(found)}", test, curve))
    return found


def _curve_table(curve: dict) -> tuple[list[str], list[list[str]]]:
    """Header and rows (x, then one column per series), subsampled to at most MAX_ROWS."""
    series = {str(k): _floats(v) for k, v in (curve.get("series") or {}).items()}
    n = max((len(v) for v in series.values()), default=0)
    rows = list(range(n))
    if n > MAX_ROWS:
        rows = sorted({round(i * (n - 1) / (MAX_ROWS - 1)) for i in range(MAX_ROWS)})
    xs = _floats(curve.get("x") or [])
    errors = {str(k): _floats(v) for k, v in (curve.get("errors") or {}).items()}
    header = [str(curve.get("x_label") or "epoch"), *series]

    def cell(name: str, values: list[float], i: int) -> str:
        if i >= len(values):
            return "–"
        spread = errors.get(name, [])
        return _num(values[i]) + (f" ± {_num(spread[i])}" if i < len(spread) else "")

    body = [[_num(xs[i]) if i < len(xs) else str(i + 1),
             *(cell(name, v, i) for name, v in series.items())] for i in rows]
    return header, body


def _summary(results: dict) -> tuple[float, float, list[dict]]:
    tests = [t for t in results.get("tests", []) if isinstance(t, dict)]
    score = results.get("score")
    if not isinstance(score, (int, float)):
        score = sum(float(t.get("score", 0)) for t in tests)
    return float(score), sum(float(t.get("max_score", 0)) for t in tests), tests


def _label(test: dict) -> str:
    """A test's name as the student reads it. The page is the student's own feedback, sent
    after grading: every test is on it, and none is called hidden."""
    return str(test.get("name", "(unnamed)"))


def _anchor(test: dict, index: int) -> str:
    """A stable id for a test's section, for the links of the summary."""
    return "test-" + (re.sub(r"[^\w-]+", "-", str(test.get("number") or "")).strip("-")
                      or str(index))


def _lost(test: dict) -> str:
    return f"{_num(test.get('score', 0))} / {_num(test.get('max_score', 0))}"


def _meta(results: dict) -> str:
    extra = results.get("extra_data") or {}
    parts = [f"grader {extra['grader_version']}" if extra.get("grader_version") else "",
             f"submission sha256 {str(extra['submission_sha256'])[:12]}"
             if extra.get("submission_sha256") else "",
             f"seeds: {_seeds(extra['seeds'])}" if extra.get("seeds") else ""]
    return "; ".join(p for p in parts if p)


def _seeds(seeds: object) -> str:
    """``{"mnist.seed": 0, ...}`` as "mnist.seed 0, ..." (a page, not a Python repr)."""
    if isinstance(seeds, dict):
        return ", ".join(f"{k} {v}" for k, v in seeds.items())
    return str(seeds)


def render_markdown(results: dict, *, student: str, title: str,
                    images: dict[str, str] | None = None) -> str:
    """The page as Markdown, summary first: the score, what to fix first, the failing tests;
    then each failure's details, the curves (tabulated too, so it reads without images) and
    the full table."""
    score, max_score, tests = _summary(results)
    lines = [f"# {title}", "", f"**Student:** {student}  ", f"**Score:** {_num(score)} / "
             f"{_num(max_score)}"]
    if meta := _meta(results):
        lines += ["", f"_{meta}_"]
    if overview := str(results.get("output") or "").strip():
        lines += ["", _fenced(overview)]
    failed = [t for t in tests if _status(t) != "passed"]
    if failed:
        lines += ["", "## Tests that did not pass", ""]
        lines += [f"- {_cell(t.get('number', ''))} {_cell(_label(t))}: {_lost(t)} "
                  f"({_cell(_status(t))})" for t in failed]
    for t in failed:
        num = f"{t['number']} " if t.get("number") else ""
        output = str(t.get("output") or "").strip() or "_(no output)_"
        lines += ["", f"### {num}{_label(t)} ({_status(t)})", "", _fenced(output)]
    curves = curves_of(results)
    if curves:
        lines += ["", "## Training curves"]
    for key, test, curve in curves:
        name = f"{test.get('name', '')}: {curve.get('title', key)}"
        lines += ["", f"### {name}", ""]
        if images and key in images:
            alt = re.sub(r"[\[\]]", "", _cell(curve.get("title", key)))
            lines += [f"![{alt}](<{images[key]}>)", ""]
        if curve.get("threshold") is not None:
            lines += [f"Threshold: {_num(curve['threshold'])}", ""]
        header, body = _curve_table(curve)
        lines += ["| " + " | ".join(map(_cell, header)) + " |", "|" + "---|" * len(header)]
        lines += ["| " + " | ".join(row) + " |" for row in body]
    lines += ["", "## All tests", "", "| # | Test | Points | Status |", "|---|---|---|---|"]
    for t in tests:
        lines.append(f"| {_cell(t.get('number', ''))} | {_cell(_label(t))} | {_lost(t)} | "
                     f"{_cell(_status(t))} |")
    return "\n".join(lines) + "\n"


def _figure_png(curve: dict) -> bytes:
    buf = io.BytesIO()
    _figure(curve).savefig(buf, format="png")
    return buf.getvalue()


def _figure(curve: dict) -> Figure:
    """Drawn with the object API (no pyplot global state), so threads can plot at once. A
    training series is drawn over the others (zorder): on a model that fits, the validation
    line lies on it and would hide it."""
    fig = Figure(figsize=(6, 3.5), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    drawn = False
    xs = _floats(curve.get("x") or [])  # default: epochs 1, 2, ...
    errors = curve.get("errors") or {}
    for name, values in (curve.get("series") or {}).items():
        ys = _floats(values)
        on_top = {"zorder": 3} if "train" in str(name).lower() else {"zorder": 2}
        if ys:
            x = xs[:len(ys)] if len(xs) >= len(ys) else list(range(1, len(ys) + 1))
            spread = _floats(errors.get(name) or [])
            if len(spread) == len(ys):  # e.g. mean ± std over replicates
                ax.errorbar(x, ys, yerr=spread, marker="o", capsize=3, label=str(name),
                            **on_top)
            else:
                ax.plot(x, ys, marker="." if len(ys) < 40 else None, label=str(name), **on_top)
            drawn = True
    thr = curve.get("threshold")
    if isinstance(thr, (int, float)) and math.isfinite(thr):
        ax.axhline(thr, linestyle="--", color="gray", label=f"threshold {thr:g}")
        drawn = True
    if drawn:
        ax.legend(loc="best", fontsize="small")
    else:
        ax.text(0.5, 0.5, "no data", ha="center", va="center", transform=ax.transAxes)
    ax.set_title(str(curve.get("title", "")))
    ax.set_xlabel(str(curve.get("x_label") or "epoch"))
    ax.set_ylabel(str(curve.get("y_label") or ""))
    if curve.get("x_scale") == "log" and xs and min(xs) > 0:
        ax.set_xscale("log")
    elif not xs:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # epochs are whole numbers
    ax.grid(True, alpha=0.3)
    fig.tight_layout()
    return fig


def plot_curves(curve: dict, path: Path) -> Path:
    """Write one curve as a small PNG (dashed threshold line, legend, axis labels)."""
    return write_atomically(Path(path), _figure_png(curve))


_CSS = """body{font-family:system-ui,sans-serif;max-width:60em;margin:2em auto;padding:0 1em;
color:#222;line-height:1.45}table{border-collapse:collapse;margin:.5em 0}
th,td{border:1px solid #ccc;padding:.25em .6em;text-align:left}th{background:#f3f3f3}
pre{background:#f6f8fa;padding:.6em;overflow-x:auto}code{background:#f6f8fa}
.passed{color:#1a7f37}.failed,.error,.timeout{color:#cf222e}.meta{color:#666}
.output{border-left:3px solid #ddd;padding-left:1em}img{max-width:100%}
.score{font-size:1.25em}.overview{background:#fff8c5;padding:.2em 1em;border-radius:4px}
.failing li{margin:.2em 0}"""


def _html_table(header: list[str], rows: list[list[str]], classes: list[str] | None = None,
                markdown_columns: tuple[int, ...] = ()) -> str:
    """A table of escaped text; the cells of ``markdown_columns`` are rendered as inline
    Markdown (test names hold `code`), with raw HTML off and no links out, as everywhere."""
    e = html.escape
    head = "".join(f"<th>{e(h)}</th>" for h in header)
    attrs = [f' class="{e(c)}"' for c in classes] if classes else [""] * len(rows)

    def cell(i: int, text: str) -> str:
        return _MD.renderInline(text) if i in markdown_columns else e(text)
    body = "".join(f"<tr{a}>" + "".join(f"<td>{cell(i, c)}</td>" for i, c in enumerate(row))
                   + "</tr>" for a, row in zip(attrs, rows, strict=True))
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def render_html(results: dict, *, student: str, title: str,
                images: dict[str, str] | None = None) -> str:
    """A self-contained page: inline CSS, PNGs as data URIs, student text never raw HTML.

    Summary first (score, what to fix first, the failing tests as links to their details),
    then the details, the curves and the full table. ``images`` maps curve keys to PNG files
    to embed; curves without one are plotted here.
    """
    e = html.escape
    score, max_score, tests = _summary(results)
    parts = [f"<h1>{e(title)}</h1>", f'<p class="score"><strong>Student:</strong> '
             f"{e(student)}<br><strong>Score:</strong> {_num(score)} / {_num(max_score)}</p>"]
    if meta := _meta(results):
        parts.append(f'<p class="meta">{e(meta)}</p>')
    if overview := str(results.get("output") or "").strip():
        parts.append(f'<div class="overview">{_MD.render(_fenced(overview))}</div>')
    numbered = list(enumerate(tests))
    failed = [(i, t) for i, t in numbered if _status(t) != "passed"]
    if failed:
        items = "".join(
            f'<li><a href="#{e(_anchor(t, i))}">{e(str(t.get("number", "")))} '
            f'{_MD.renderInline(_label(t))}</a>: {e(_lost(t))} '
            f'(<span class="{e(_css_class(t))}">{e(_status(t))}</span>)</li>'
            for i, t in failed)
        parts += ["<h2>Tests that did not pass</h2>", f'<ul class="failing">{items}</ul>']
    for i, t in failed:
        num = f"{e(str(t['number']))} " if t.get("number") else ""
        output = str(t.get("output") or "").strip() or "_(no output)_"
        parts += [f'<h3 id="{e(_anchor(t, i))}">{num}{_MD.renderInline(_label(t))} '
                  f'(<span class="{e(_css_class(t))}">{e(_status(t))}</span>)</h3>',
                  f'<div class="output">{_MD.render(_fenced(output))}</div>']
    curves = curves_of(results)
    if curves:
        parts.append("<h2>Training curves</h2>")
    for key, test, curve in curves:
        png = Path(images[key]).read_bytes() if images and key in images else _figure_png(curve)
        alt = str(curve.get("title", key))
        parts += [f"<h3>{_MD.renderInline(str(test.get('name', '')))}: {e(alt)}</h3>",
                  f'<img alt="{e(alt)}" src="data:image/png;base64,'
                  f'{base64.b64encode(png).decode("ascii")}">']
        if curve.get("threshold") is not None:
            parts.append(f"<p>Threshold: {_num(curve['threshold'])}</p>")
        parts.append(_html_table(*_curve_table(curve)))
    rows = [[str(t.get("number", "")), _label(t), _lost(t), _status(t)] for t in tests]
    parts += ['<h2 id="all-tests">All tests</h2>',
              _html_table(["#", "Test", "Points", "Status"], rows,
                          [_css_class(t) for t in tests], markdown_columns=(1,))]
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
            f'<meta name="referrer" content="no-referrer">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{e(title)}: {e(student)}</title><style>{_CSS}</style></head>\n<body>\n"
            + "\n".join(parts) + "\n</body></html>\n")


def _css_class(test: dict) -> str:
    return "_".join(_status(test).split())


def safe_name(student: str) -> str:
    """A readable file name for a student id: no separators, no ``..``, no leading dot.

    A changed id gets a short hash of the original, so ``a/b`` and ``a_b`` never collide.
    """
    name = unicodedata.normalize("NFKC", str(student))
    name = re.sub(r"[^\w.@+-]+", "_", name)
    name = re.sub(r"\.{2,}", ".", name).strip("._-")[:80] or "student"
    if name != student:
        name += "-" + hashlib.sha256(str(student).encode("utf-8")).hexdigest()[:8]
    return name


def write_feedback(results: dict, out_dir: Path, student: str, title: str) -> tuple[Path, Path]:
    """Write ``<student>.md``, ``<student>.html`` and ``<student>_files/curve-<i>.png``."""
    out_dir, base = Path(out_dir), safe_name(student)
    files = out_dir / f"{base}_files"
    rel: dict[str, str] = {}
    absolute: dict[str, str] = {}
    for key, _, curve in curves_of(results):
        png = plot_curves(curve, files / f"{key}.png")
        rel[key], absolute[key] = f"{files.name}/{png.name}", str(png)
    if files.is_dir():  # drop plots left by an earlier run that had more curves
        for old in files.glob("curve-*.png"):
            if old.stem not in rel:
                old.unlink(missing_ok=True)
    md = write_atomically(out_dir / f"{base}.md", render_markdown(
        results, student=student, title=title, images=rel).encode("utf-8"))
    page = write_atomically(out_dir / f"{base}.html", render_html(
        results, student=student, title=title, images=absolute).encode("utf-8"))
    return md, page
