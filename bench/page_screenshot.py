"""Screenshot a student's feedback page in a headless browser at 1200 px, and say where its
parts land: the score, the first failing test's link, its details and the full table.

    python bench/page_screenshot.py                     # grades a known wrong file first
    python bench/page_screenshot.py --results r.json    # a results.json you already have
    python bench/page_screenshot.py --out shot.png
    python bench/page_screenshot.py --fold              # only the first 800 px, as a screen shows

Needs Playwright (``pip install playwright``), which is not a dependency of the grader, and a
Chromium: Playwright's own (``playwright install chromium``, a download from Playwright's
servers), else one on PATH (Debian: ``apt-get install chromium-headless-shell``), or
``--browser PATH``. The numbers printed are the check: on a summary-first page the first
failure's link is above the fold (< 800 px) however many tests there are.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from grader.batch.pages import render_html

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = ROOT / "tests/engine/submissions/ift6135_a1/wrong/stub_all_zero.py"
PARTS = {"score": ".score", "first failing link": "ul.failing a",
         "first failure's details": "h3[id^=test-]", "all tests table": "#all-tests"}


def results_of(args: argparse.Namespace, tmp: Path) -> dict:
    if args.results:
        return json.loads(Path(args.results).read_text(encoding="utf-8"))
    out = tmp / "results.json"
    subprocess.run([sys.executable, "-m", "grader", "grade", str(args.submission), "--assignment",
                    args.assignment, "--fast", "--results", str(out)], check=True,
                   stdout=subprocess.DEVNULL)
    return json.loads(out.read_text(encoding="utf-8"))


SYSTEM_CHROMIUM = ("chromium-headless-shell", "chromium", "chromium-browser", "google-chrome")


def launch(playwright, executable: str | None):
    """``executable`` if given, else Playwright's own Chromium, else a Chromium on PATH."""
    from playwright.sync_api import Error

    if executable:
        return playwright.chromium.launch(executable_path=executable)
    try:
        return playwright.chromium.launch()
    except Error:
        found = next(filter(None, map(shutil.which, SYSTEM_CHROMIUM)), None)
        if found is None:
            raise
        print(f"Playwright's own Chromium is not installed; using {found}")
        return playwright.chromium.launch(executable_path=found)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results")
    parser.add_argument("--submission", default=str(DEFAULT))
    parser.add_argument("--assignment", default="ift6135_a1")
    parser.add_argument("--out", default="feedback_page_1200px.png")
    parser.add_argument("--width", type=int, default=1200)
    parser.add_argument("--browser", help="a Chromium executable to drive")
    parser.add_argument("--fold", action="store_true",
                        help="shoot the first screen (800 px high) only, not the whole page")
    args = parser.parse_args()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        print("needs Playwright: pip install playwright && playwright install chromium")
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        page_file = Path(tmp) / "page.html"
        results = results_of(args, Path(tmp))
        page_file.write_text(render_html(results, student="student", title="Feedback"),
                             encoding="utf-8")
        with sync_playwright() as p:
            browser = launch(p, args.browser)
            page = browser.new_page(viewport={"width": args.width, "height": 800})
            page.goto(page_file.as_uri())
            print(f"{len(results.get('tests', []))} tests, page {args.width} px wide")
            for label, selector in PARTS.items():
                box = page.locator(selector).first.bounding_box() \
                    if page.locator(selector).count() else None
                print(f"  {label:26} " + (f"y = {box['y']:.0f} px" if box else "absent"))
            page.screenshot(path=args.out, full_page=not args.fold)
            browser.close()
    print(f"screenshot: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
