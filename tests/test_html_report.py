"""``report --format html``: one self-contained page; checked as text here and in headless Chromium.

The browser tests drive the distribution's Chromium through its chromedriver with selenium (the ``test``
extra); they skip, saying why, where either is missing (CI installs ``chromium chromium-driver``). Set
``OSTRACK_EVAL_SCREENSHOTS=DIR`` to keep a copy of the screenshot there.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

from demo_runs import make_demo_runs
from ostrack_eval.cli.main import main

SECTIONS = ("tables", "plots-demo", "attributes-demo", "sequences-demo", "gap-demo", "lost-demo")
TRACKERS = ["ostrack-tiny", "identity", "drifter"]


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    base = tmp_path_factory.mktemp("html")
    runs = make_demo_runs(base)
    out = base / "demo.html"
    mp = pytest.MonkeyPatch()
    mp.setenv("OSTRACK_EVAL_CACHE", str(runs["cache"]))
    try:
        rc = main(["report", "--bench", "demo", "--tracker", *TRACKERS, "--results", str(runs["results"]),
                   "--format", "html", "--out", str(out), "--compare", "ostrack-tiny", "drifter"])
    finally:
        mp.undo()
    assert rc == 0
    return {"path": out, "text": out.read_text(encoding="utf-8"), "runs": runs}


def test_one_self_contained_file_with_every_section(page):
    text = page["text"]
    for section in SECTIONS:
        assert f'id="{section}"' in text
    # nothing is fetched: no external script, style sheet, image or font
    assert not re.search(r'(src|href)\s*=\s*"(https?:)?//', text)
    assert "<script src" not in text and 'rel="stylesheet"' not in text
    assert text.count("<svg") >= 4  # three curves + the gap chart, as vector graphics
    assert text.count('class="strip"') == 8 * len(TRACKERS)  # one IoU strip per sequence and tracker
    # drifter loses every demo target and the frames are on disk: a thumbnail each; the tracker that stays
    # on the target never appears (identity loses most of them too)
    captions = re.findall(r"<figcaption>[^<]*· (\S+) · frame \d+</figcaption>", text)
    assert captions.count("drifter") == 8 and "ostrack-tiny" not in captions
    assert text.count("data:image/jpeg;base64,") == len(captions)
    assert page["path"].stat().st_size < 5_000_000


def test_tables_mark_best_and_the_gap_adds_up(page):
    text = page["text"]
    assert re.search(r'<td class="best">\d+\.\d</td>', text)
    gap = text[text.index('id="gap-demo"'):text.index('id="lost-demo"')]
    total = float(re.search(r"<strong>([-+0-9.]+)</strong>", gap).group(1))
    contributions = [float(x) for x in re.findall(r'<td data-sort="([-0-9.]+)">[-0-9.]+</td></tr>', gap)]
    assert len(contributions) == 8 and sum(contributions) == pytest.approx(total, abs=0.01)


def test_labels_are_escaped(page, tmp_path, monkeypatch):
    monkeypatch.setenv("OSTRACK_EVAL_CACHE", str(page["runs"]["cache"]))
    out = tmp_path / "x.html"
    assert main(["report", "--bench", "demo", "--tracker", "ostrack-tiny", "identity", "--results",
                 str(page["runs"]["results"]), "--labels", "<script>alert(1)</script>", "b&c", "--format", "html",
                 "--out", str(out)]) == 0
    text = out.read_text()
    assert "<script>alert(1)</script>" not in text and "&lt;script&gt;alert(1)&lt;/script&gt;" in text


def test_html_needs_out_and_known_compare(page, monkeypatch, capsys):
    monkeypatch.setenv("OSTRACK_EVAL_CACHE", str(page["runs"]["cache"]))
    common = ["report", "--bench", "demo", "--tracker", *TRACKERS, "--results", str(page["runs"]["results"]),
              "--format", "html"]
    assert main(common) == 2
    assert "--format html needs --out" in capsys.readouterr().err
    assert main(common + ["--out", "/tmp/never.html", "--compare", "identity", "nope"]) == 2
    assert "--compare 'nope'" in capsys.readouterr().err


# ---- in a real browser ------------------------------------------------------------------------------------

def _browser_paths() -> tuple[str, str] | None:
    binary = next((p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None)
    driver = shutil.which("chromedriver")
    return (binary, driver) if binary and driver else None


@pytest.fixture(scope="module")
def browser():
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium not installed (pip install -e '.[test]')")
    from selenium.webdriver.chrome.service import Service

    paths = _browser_paths()
    if paths is None:
        pytest.skip("no chromium + chromedriver on PATH (Debian: apt-get install -y chromium chromium-driver)")
    options = webdriver.ChromeOptions()
    options.binary_location = paths[0]
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1280,1600"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(paths[1]), options=options)
    yield driver
    driver.quit()


def _rows(browser, table_id: str) -> list[str]:
    script = (f"return Array.from(document.querySelectorAll('#{table_id} tbody tr'))"
              ".filter(r => !r.hidden).map(r => r.cells[0].textContent);")
    return browser.execute_script(script)


def test_page_in_chromium(page, browser, tmp_path):
    from selenium.webdriver.common.by import By

    browser.get(page["path"].as_uri())
    assert browser.execute_script("return document.readyState") == "complete"
    errors = [e for e in browser.get_log("browser") if e["level"] in ("SEVERE", "ERROR")]
    assert errors == []
    for section in SECTIONS:
        el = browser.find_element(By.ID, section)
        assert el.is_displayed() and el.size["height"] > 50, section
    # every inline SVG was parsed as SVG and has a size
    sizes = browser.execute_script("return Array.from(document.querySelectorAll('svg')).map(s => s.getBBox().width)")
    assert len(sizes) >= 4 and min(sizes) > 0
    # every embedded image decoded
    broken = browser.execute_script("return Array.from(document.images).filter(i => !i.complete || "
                                    "i.naturalWidth === 0).length")
    assert broken == 0

    # sorting: by the drifter's score, ascending then descending
    table = "seqtable-demo"
    before = _rows(browser, table)
    header = browser.find_elements(By.CSS_SELECTOR, f"#{table} thead th")[3 + TRACKERS.index("drifter")]
    header.click()
    column = 3 + TRACKERS.index("drifter")
    script = (f"return Array.from(document.querySelectorAll('#{table} tbody tr'))"
              f".map(r => parseFloat(r.cells[{column}].dataset.sort));")
    values = browser.execute_script(script)
    assert values == sorted(values) and _rows(browser, table) != before
    header.click()
    values_desc = browser.execute_script(script)
    assert values_desc == sorted(values, reverse=True)

    # filtering: a sequence name leaves its row only; clearing brings all back
    box = browser.find_element(By.CSS_SELECTOR, f"input.filter[data-table='{table}']")
    name = before[0]
    box.send_keys(name)
    assert _rows(browser, table) == [name]
    assert browser.find_element(By.ID, f"count-{table}").text == f"1 of {len(before)} shown"
    box.clear()
    box.send_keys(" ")  # an input event with an empty query
    assert sorted(_rows(browser, table)) == sorted(before)

    assert [e for e in browser.get_log("browser") if e["level"] in ("SEVERE", "ERROR")] == []
    shot = tmp_path / "demo_report.png"
    browser.set_window_size(1280, 2400)
    assert browser.save_screenshot(str(shot)) and shot.stat().st_size > 10_000
    keep = os.environ.get("OSTRACK_EVAL_SCREENSHOTS")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, Path(keep) / shot.name)
    print(f"screenshot: {shot}")


def test_demo_command_writes_the_markdown_report_plots_and_the_page(page, tmp_path, monkeypatch, capsys):
    # the README's first command: the whole job on the demo, the browsable page included
    monkeypatch.setenv("OSTRACK_EVAL_CACHE", str(page["runs"]["cache"]))
    out = tmp_path / "reports"
    assert main(["demo", "--tracker", "identity", "--baseline", "", "--results", str(tmp_path / "results"),
                 "--out", str(out), "--device", "cpu"]) == 0
    printed = capsys.readouterr().out
    assert (out / "demo.md").is_file() and list(out.glob("*success*.png"))
    html = (out / "demo.html").read_text(encoding="utf-8")
    assert "identity" in html and 'id="sequences-demo"' in html and str(out / "demo.html") in printed
