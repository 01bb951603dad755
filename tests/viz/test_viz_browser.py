"""The HTML page of ``graphc viz`` in a real headless Chromium (Selenium and chromedriver): it
loads with no console errors, its screenshot is not blank, clicking a node shows the node's
details, search highlights nodes by op name, and switching stages redraws. Skipped, with the
reason, where Chromium, chromedriver or Selenium is missing (``.ci/run`` installs them)."""

from __future__ import annotations

import shutil
import struct
import zlib

import numpy as np
import pytest

import graphc as gc
from graphc import viz

webdriver = pytest.importorskip("selenium.webdriver", reason="Selenium is not installed "
                                "(pip install selenium)")
CHROME = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which(
    "google-chrome")
DRIVER = shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(not (CHROME and DRIVER), reason="Chromium and chromedriver are "
                                "not installed (Debian: apt install chromium chromium-driver)")


def _pixels(png: bytes):
    """Rows of RGB(A) byte strings of a PNG (8-bit, colour types 2 and 6: what Chromium writes)."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, header = 8, b"", None
    while pos < len(png):
        n, kind = struct.unpack(">I4s", png[pos:pos + 8])
        chunk = png[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            header = struct.unpack(">IIBB", chunk[:10])
        elif kind == b"IDAT":
            idat += chunk
        pos += 12 + n
    width, height, depth, colour = header
    assert depth == 8 and colour in (2, 6)
    bpp = 3 if colour == 2 else 4
    raw, stride, rows, prev = zlib.decompress(idat), width * bpp, [], bytearray(width * bpp)
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1:start + 1 + stride])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b, c = prev[i], prev[i - bpp] if i >= bpp else 0
            p = a + b - c
            pred = {0: 0, 1: a, 2: b, 3: (a + b) // 2,
                    4: a if abs(p - a) <= abs(p - b) and abs(p - a) <= abs(p - c) else
                    (b if abs(p - b) <= abs(p - c) else c)}[kind]
            line[i] = (line[i] + pred) & 0xFF
        rows.append(bytes(line))
        prev = line
    return rows


@pytest.fixture(scope="module")
def browser():
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    opts = Options()
    opts.binary_location = CHROME
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1200,800"):
        opts.add_argument(a)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(DRIVER), options=opts)
    yield driver
    driver.quit()


def _page(tmp_path):
    def f(x, y):
        z = gc.while_loop(lambda c: c[0] < 3, lambda c: (c[0] + 1, np.sin(c[1]) * 2.0), (0, x))[1]
        return (z * y).sum()

    graphs = viz.stages(gc.function(gc.value_and_grad(f)).concrete(np.ones(3), np.ones(3)))
    return viz.write(str(tmp_path / "g.html"), graphs, "optimized", sources=[__file__])


def test_page_loads_draws_and_shows_a_nodes_details(browser, tmp_path):
    from selenium.webdriver.common.by import By

    browser.get("file://" + _page(tmp_path))
    errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert errors == []
    boxes = browser.find_elements(By.CSS_SELECTOR, "g.box")
    assert len(boxes) > 10
    rows = _pixels(browser.get_screenshot_as_png())
    assert len(set(rows)) > 50  # not blank: many distinct pixel rows
    sins = [b for b in boxes if b.get_attribute("data-op") == "sin"]
    assert sins
    browser.execute_script(
        "arguments[0].dispatchEvent(new MouseEvent('click', {bubbles: true}))", sins[0])
    details = browser.find_element(By.ID, "details").text
    assert "sin" in details and "f64[3]" in details and "np.sin(c[1]) * 2.0" in details
    assert "test_viz_browser.py:" in details


def test_search_and_stage_switch(browser, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    browser.get("file://" + _page(tmp_path))
    box = browser.find_element(By.ID, "q")
    box.send_keys("mul")
    hits = browser.find_elements(By.CSS_SELECTOR, "g.box.hit")
    assert hits and all("mul" in h.get_attribute("data-op") for h in hits)
    assert browser.find_element(By.ID, "hits").text == f"{len(hits)} matches"
    before = browser.find_element(By.ID, "summary").text
    Select(browser.find_element(By.ID, "stage")).select_by_value("plan")
    after = browser.find_element(By.ID, "summary").text
    assert after != before and "nodes" in after
    assert browser.find_elements(By.CSS_SELECTOR, "g.box[data-op='fused']")
    assert [e for e in browser.get_log("browser") if e["level"] == "SEVERE"] == []
