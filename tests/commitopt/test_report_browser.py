"""The HTML report in headless Chromium: loads without console errors, every chart renders.

Chromium is driven over the DevTools protocol on a pipe (``--remote-debugging-pipe``: JSON
messages separated by NUL bytes on file descriptors 3 and 4), so no Python package is needed.
Debian's ``chromium`` package provides the browser (``apt-get install -y chromium``); the tests
install nothing. Without it they are skipped, unless ``COMMITOPT_REQUIRE_BROWSER`` is set (CI sets
it), in which case they fail. The screenshot is kept under ``tests/artifacts/`` (or
``$COMMITOPT_ARTIFACTS``) and its path printed.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import select
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from commitopt.report import build_report_data, write_report
from optimizer.policy import Policy
from planning.recommend import recommend
from pricing.embedded import load_embedded_catalog
from usage.synthetic import demo_usage

ARTIFACTS = Path(os.environ.get("COMMITOPT_ARTIFACTS") or Path(__file__).parents[1] / "artifacts")
TIMEOUT_S = 60.0

# What the page itself measures once loaded: every chart's SVG, its drawn paths and its box on
# the page, and any resource the page fetched (it must fetch none).
PAGE_PROBE = """JSON.stringify({
  charts: [...document.querySelectorAll('figure.chart')].map(f => {
    const svg = f.querySelector('svg');
    const box = svg ? svg.getBoundingClientRect() : {width: 0, height: 0};
    const drawn = svg ? [...svg.querySelectorAll('path')].filter(
      p => (p.getAttribute('d') || '').length > 10 && p.getBBox().width + p.getBBox().height > 0
    ).length : 0;
    return {id: f.id, svgs: f.querySelectorAll('svg').length, width: box.width,
            height: box.height, paths: drawn, texts: svg ? svg.querySelectorAll('text').length : 0};
  }),
  placeholders: [...document.querySelectorAll('figure.chart-empty')].map(f => f.id),
  resources: performance.getEntriesByType('resource').map(r => r.name),
  summaryRows: document.querySelectorAll('#summary tr[data-field]').length,
  title: document.title,
  width: document.documentElement.scrollWidth,
  height: document.documentElement.scrollHeight
})"""


def _chromium() -> str | None:
    return (
        os.environ.get("COMMITOPT_CHROMIUM")
        or shutil.which("chromium")
        or (shutil.which("chromium-browser"))
    )


@pytest.fixture(scope="module")
def chromium() -> str:
    path = _chromium()
    if path is None:
        if os.environ.get("COMMITOPT_REQUIRE_BROWSER"):
            pytest.fail("COMMITOPT_REQUIRE_BROWSER is set but chromium is not installed")
        pytest.skip("chromium is not installed (apt-get install -y chromium)")
    return path


@dataclass
class PageLoad:
    """What loading one page produced."""

    probe: dict[str, Any]
    problems: list[str]
    screenshot: bytes
    events: list[dict[str, Any]] = field(default_factory=list)


class DevTools:
    """A minimal Chrome DevTools protocol client over ``--remote-debugging-pipe``."""

    def __init__(self, chromium: str, profile: Path) -> None:
        to_child_read, self._write = os.pipe()
        self._read, from_child_write = os.pipe()

        def child_fds() -> None:  # the browser reads commands on fd 3 and answers on fd 4
            commands, answers = os.dup(to_child_read), os.dup(from_child_write)
            os.dup2(commands, 3)
            os.dup2(answers, 4)

        self.process = subprocess.Popen(
            [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
             "--disable-extensions", "--disable-background-networking", "--hide-scrollbars",
             "--remote-debugging-pipe", f"--user-data-dir={profile}", "--window-size=1280,900"],
            preexec_fn=child_fds,  # the test process runs no threads
            close_fds=False,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        os.close(to_child_read)
        os.close(from_child_write)
        self._buffer = b""
        self._next_id = 0
        self.events: list[dict[str, Any]] = []

    def close(self) -> None:
        with contextlib.suppress(OSError, EOFError, TimeoutError, RuntimeError):
            self.call("Browser.close")
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        os.close(self._write)
        os.close(self._read)

    def _receive(self, done: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
        deadline = time.monotonic() + TIMEOUT_S
        while True:
            while b"\0" in self._buffer:
                raw, self._buffer = self._buffer.split(b"\0", 1)
                message = json.loads(raw)
                if "method" in message:
                    self.events.append(message)
                if done(message):
                    return message
            ready, _, _ = select.select([self._read], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                raise TimeoutError("chromium did not answer in time")
            chunk = os.read(self._read, 1 << 20)
            if not chunk:
                raise EOFError("chromium closed the DevTools pipe")
            self._buffer += chunk

    def call(
        self, method: str, params: dict[str, Any] | None = None, session: str | None = None
    ) -> dict[str, Any]:
        self._next_id += 1
        ident = self._next_id
        message: dict[str, Any] = {"id": ident, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._write, json.dumps(message).encode() + b"\0")
        answer = self._receive(lambda m: m.get("id") == ident)
        if "error" in answer:
            raise RuntimeError(f"{method}: {answer['error']}")
        return dict(answer.get("result", {}))

    def wait_for(self, method: str) -> dict[str, Any]:
        seen = next((e for e in self.events if e.get("method") == method), None)
        return seen or self._receive(lambda m: m.get("method") == method)


def _problems(events: list[dict[str, Any]]) -> list[str]:
    """Console errors and warnings, uncaught exceptions, and browser log errors of the page."""
    found = []
    for event in events:
        method, params = event.get("method"), event.get("params", {})
        if method == "Runtime.consoleAPICalled" and params.get("type") in (
            "error", "warning", "assert"
        ):  # fmt: skip
            text = " ".join(str(a.get("value", a.get("description", ""))) for a in params["args"])
            found.append(f"console.{params['type']}: {text}")
        elif method == "Runtime.exceptionThrown":
            found.append(f"exception: {params['exceptionDetails'].get('text', '')}")
        elif method == "Log.entryAdded" and params["entry"]["level"] in ("error", "warning"):
            entry = params["entry"]
            found.append(f"log {entry['level']} ({entry.get('source')}): {entry.get('text')}")
    return found


def load_page(chromium: str, page: Path) -> PageLoad:
    """Open ``page`` in headless Chromium, wait for load, probe it and take a full screenshot."""
    with tempfile.TemporaryDirectory(prefix="commitopt-chromium-") as profile:
        browser = DevTools(chromium, Path(profile))
        try:
            target = browser.call("Target.createTarget", {"url": "about:blank"})["targetId"]
            session = browser.call("Target.attachToTarget", {"targetId": target, "flatten": True})[
                "sessionId"
            ]
            for domain in ("Page", "Runtime", "Log"):
                browser.call(f"{domain}.enable", session=session)
            browser.call("Page.navigate", {"url": page.resolve().as_uri()}, session)
            browser.wait_for("Page.loadEventFired")
            answer = browser.call(
                "Runtime.evaluate", {"expression": PAGE_PROBE, "returnByValue": True}, session
            )
            probe = json.loads(answer["result"]["value"])
            shot = browser.call(
                "Page.captureScreenshot",
                {"format": "png", "captureBeyondViewport": True,
                 "clip": {"x": 0, "y": 0, "width": probe["width"], "height": probe["height"],
                          "scale": 1}},
                session,
            )  # fmt: skip
            events = list(browser.events)
        finally:
            browser.close()
    return PageLoad(probe, _problems(events), base64.b64decode(shot["data"]), events)


@pytest.fixture(scope="module")
def demo_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo's report with every chart: its own frontier and 500 Monte Carlo paths."""
    catalog = load_embedded_catalog()
    run = recommend(demo_usage(), catalog, Policy())
    rng = np.random.default_rng(3)
    savings = run.summary["savings_vs_current_usd"] * rng.normal(1.0, 0.12, size=500)
    data = build_report_data(
        run,
        catalog=catalog,
        owned=(),
        plan_id="demo",
        monte_carlo={"savings_usd": savings, "horizon": "the data period",
                     "description": "Synthetic paths for the browser test."},
    )  # fmt: skip
    return write_report(data, tmp_path_factory.mktemp("report") / "report.html")


@pytest.fixture(scope="module")
def demo_load(chromium: str, demo_report: Path) -> Iterator[PageLoad]:
    load = load_page(chromium, demo_report)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    screenshot = ARTIFACTS / "report-demo.png"
    screenshot.write_bytes(load.screenshot)
    (ARTIFACTS / "report-demo.html").write_bytes(demo_report.read_bytes())
    print(f"\nreport screenshot: {screenshot}")
    yield load


def test_report_loads_without_console_errors(demo_load: PageLoad) -> None:
    assert demo_load.problems == []
    assert demo_load.probe["resources"] == []  # nothing fetched: the page is self-contained
    assert demo_load.probe["title"].startswith("Commitment purchase plan")
    assert demo_load.probe["summaryRows"] == 14


def test_every_chart_renders(demo_load: PageLoad) -> None:
    charts = {chart["id"]: chart for chart in demo_load.probe["charts"]}
    assert list(charts) == [
        "figure-hourly",
        "figure-frontier",
        "figure-utilization",
        "figure-cash-flow",
        "figure-distribution",
    ]
    assert demo_load.probe["placeholders"] == []
    for name, chart in charts.items():
        assert chart["svgs"] == 1, name
        assert chart["width"] > 600 and chart["height"] > 200, (name, chart)
        assert chart["paths"] >= 5 and chart["texts"] >= 5, (name, chart)


def test_screenshot_is_kept(demo_load: PageLoad) -> None:
    shot = ARTIFACTS / "report-demo.png"
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    width = int.from_bytes(shot.read_bytes()[16:20], "big")
    height = int.from_bytes(shot.read_bytes()[20:24], "big")
    assert width >= 1000 and height > 3000  # the whole page, not the first screen


def test_the_checks_catch_a_broken_page(chromium: str, tmp_path: Path) -> None:
    # The same checks must fail on a page that logs an error, throws, or fetches a resource
    # that our Content-Security-Policy blocks.
    page = tmp_path / "broken.html"
    page.write_text(
        '<!DOCTYPE html><html><head><meta http-equiv="Content-Security-Policy" '
        "content=\"default-src 'none'; script-src 'unsafe-inline'\"></head><body>"
        '<figure class="chart" id="empty"><svg width="10" height="10"></svg></figure>'
        '<img src="https://example.invalid/x.png">'
        "<script>console.error('boom'); undefinedFunction();</script></body></html>"
    )
    load = load_page(chromium, page)
    text = "\n".join(load.problems)
    assert "console.error: boom" in text
    assert "undefinedFunction" in text or "exception" in text
    assert "example.invalid" in text  # the CSP violation is reported
    assert load.probe["charts"][0]["paths"] == 0
