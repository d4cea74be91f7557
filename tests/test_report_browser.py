"""The report in a real browser: headless Chromium opens ``index.html``.

Builds a small report (fidelity quick, claim L6, a compare file written by the test), loads it
in headless Chromium driven over the Chrome DevTools protocol (``--remote-debugging-pipe``,
standard library only: no selenium, no websocket client) and asserts that

* every embedded figure loaded and decoded (``img.complete`` with a natural size),
* every formula is laid out as MathML (each ``<math>`` has a box; in every ``<mfrac>`` the
  numerator sits above the denominator, which plain text would not do),
* the page made no request other than ``file:`` and ``data:`` URLs,
* the console stayed clean: no console errors, no uncaught exceptions, no error-level log
  entries (a blocked network load would be one, via the page's Content-Security-Policy),

and saves a full-page screenshot next to the report (``<tmp>/report/screenshot.png``; set
``DNN_MOMENTS_BROWSER_ARTIFACTS=DIR`` to copy the report and screenshot to DIR).

Skipped, with the reason, when Chromium is absent (``.ci/run`` installs the Debian package).
"""

from __future__ import annotations

import base64
import json
import os
import select
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome")
TIMEOUT = 60.0


def _chromium() -> str | None:
    env = os.environ.get("DNN_MOMENTS_CHROMIUM")
    if env:
        return env if shutil.which(env) else None
    for c in CHROMIUM_CANDIDATES:
        path = shutil.which(c)
        if path:
            return path
    return None


class DevTools:
    """Minimal Chrome DevTools protocol client over ``--remote-debugging-pipe``.

    Chromium reads NUL-terminated JSON messages on fd 3 and writes them on fd 4.
    """

    def __init__(self, binary: str, profile: Path) -> None:
        cmd_r, self._cmd_w = os.pipe()
        self._res_r, res_w = os.pipe()

        def _fds() -> None:  # runs in the child before exec
            os.dup2(cmd_r, 3)
            os.dup2(res_w, 4)

        args = [binary, "--headless", "--remote-debugging-pipe", "--no-sandbox",
                "--disable-gpu", "--no-first-run", "--no-default-browser-check",
                "--disable-extensions", "--disable-background-networking", "--disable-sync",
                "--disable-component-update", "--disable-default-apps", "--mute-audio",
                "--hide-scrollbars", f"--user-data-dir={profile}", "about:blank"]
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                     pass_fds=(3, 4), preexec_fn=_fds)  # noqa: PLW1509
        os.close(cmd_r)
        os.close(res_w)
        self._buf = b""
        self._next_id = 0
        self.events: list[dict[str, Any]] = []

    def _read_message(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no answer from chromium over the DevTools pipe")
            ready, _, _ = select.select([self._res_r], [], [], left)
            if ready:
                chunk = os.read(self._res_r, 1 << 20)
                if not chunk:
                    err = self.proc.stderr.read().decode(errors="replace") if \
                        self.proc.poll() is not None else ""
                    raise RuntimeError(f"chromium closed the DevTools pipe: {err[-2000:]}")
                self._buf += chunk
        raw, self._buf = self._buf.split(b"\0", 1)
        return json.loads(raw)

    def send(self, method: str, params: dict | None = None, session: str | None = None,
             timeout: float = TIMEOUT) -> dict[str, Any]:
        """Send a command and return its result (events seen meanwhile go to ``events``)."""
        self._next_id += 1
        msg: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self._cmd_w, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            m = self._read_message(deadline)
            if m.get("id") == self._next_id:
                if "error" in m:
                    raise RuntimeError(f"{method}: {m['error']}")
                return m.get("result", {})
            if "method" in m:
                self.events.append(m)

    def wait_event(self, method: str, session: str, timeout: float = TIMEOUT
                   ) -> dict[str, Any]:
        """Wait for event ``method`` of ``session`` (also looks at events already seen)."""
        for m in self.events:
            if m.get("method") == method and m.get("sessionId") == session:
                return m
        deadline = time.monotonic() + timeout
        while True:
            m = self._read_message(deadline)
            if "method" in m:
                self.events.append(m)
                if m["method"] == method and m.get("sessionId") == session:
                    return m

    def close(self) -> None:
        """Close the browser (then kill it if it lingers)."""
        try:
            self.send("Browser.close", timeout=10)
        except (RuntimeError, TimeoutError, OSError):
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        for fd in (self._cmd_w, self._res_r):
            try:
                os.close(fd)
            except OSError:
                pass
        if self.proc.stderr:
            self.proc.stderr.close()


# Evaluated in the page after load: what was rendered.
CHECK_SCRIPT = r"""
(() => {
  const imgs = [...document.querySelectorAll('img')];
  const maths = [...document.querySelectorAll('math')];
  const fracs = [...document.querySelectorAll('mfrac')].map(f => {
    const [num, den] = f.children;
    const a = num.getBoundingClientRect(), b = den.getBoundingClientRect();
    return a.bottom <= b.top + 1;
  });
  return {
    title: document.title,
    figures: imgs.filter(i => i.classList.contains('report-figure')).length,
    images: imgs.map(i => ({alt: i.alt, complete: i.complete, w: i.naturalWidth,
                            h: i.naturalHeight, scheme: i.src.split(':')[0]})),
    maths: maths.length,
    mathBoxes: maths.filter(m => m.getBoundingClientRect().height > 0).length,
    fractionsStacked: fracs.filter(x => x).length,
    fractions: fracs.length,
    summaryRows: document.querySelectorAll('#summary-table tr').length - 1,
    verdicts: [...document.querySelectorAll('#summary-table .verdict')].map(v => v.textContent),
    links: [...document.querySelectorAll('a[href]')].map(a => a.getAttribute('href')),
    ids: [...document.querySelectorAll('[id]')].map(x => x.id),
  };
})()
"""


def _console_errors(events: list[dict[str, Any]], session: str) -> list[str]:
    errs = []
    for m in events:
        if m.get("sessionId") != session:
            continue
        p = m.get("params", {})
        if m["method"] == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
            errs.append("console: " + " ".join(str(a.get("value", a.get("description", "")))
                                               for a in p.get("args", [])))
        elif m["method"] == "Runtime.exceptionThrown":
            errs.append("exception: " + json.dumps(p.get("exceptionDetails", {}))[:500])
        elif m["method"] == "Log.entryAdded" and p.get("entry", {}).get("level") == "error":
            e = p["entry"]
            errs.append(f"log ({e.get('source')}): {e.get('text')} {e.get('url', '')}")
    return errs


def _write_compare_file(path: Path) -> None:
    """A moments-dnns-format file (no metadata, bn_ff file name): chi and moments at 4 locs."""
    rng = np.random.default_rng(0)
    depth = np.arange(1, 201)
    arrays: dict[str, np.ndarray] = {"depth": depth, "res_depth": np.array(0)}
    log_chi = np.cumsum(0.19 + 0.02 * rng.standard_normal((5, depth.size)), axis=1)
    for k, loc in enumerate(("loc1", "loc2", "loc3", "loc4")):
        arrays[f"chi_{loc}"] = np.exp(log_chi + 0.1 * k)
        arrays[f"nu1_abs_signal_{loc}"] = 0.79 + 0.01 * rng.standard_normal((5, depth.size))
        arrays[f"mu4_signal_{loc}"] = 3 + 0.1 * rng.standard_normal((5, depth.size))
        arrays[f"reff_signal_{loc}"] = np.full((5, depth.size), -1.0)
    np.savez(path, **arrays)


@pytest.mark.slow
def test_report_opens_in_headless_chromium(tmp_path: Path) -> None:
    binary = _chromium()
    if binary is None:
        pytest.skip("chromium is not installed (Debian package 'chromium'; .ci/run installs "
                    "it): the report's browser check cannot run")
    from reports.report import build_report
    from verify.cache import SimulationCache

    compare = tmp_path / "bn_ff_old_run.npz"
    _write_compare_file(compare)
    out = tmp_path / "report"
    index = build_report("quick", "L6", out, 0, cache=SimulationCache(), compare=[compare],
                         progress=False)
    assert index == out / "index.html"

    browser = DevTools(binary, tmp_path / "profile")
    try:
        target = browser.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = browser.send("Target.attachToTarget",
                               {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network"):
            browser.send(f"{domain}.enable", session=session)
        browser.send("Emulation.setDeviceMetricsOverride",
                     {"width": 1200, "height": 900, "deviceScaleFactor": 1, "mobile": False},
                     session=session)
        browser.send("Page.navigate", {"url": index.resolve().as_uri()}, session=session)
        browser.wait_event("Page.loadEventFired", session)
        decoded = browser.send("Runtime.evaluate", {
            "expression": "Promise.all([...document.images].map(i => i.decode().then("
                          "() => true, () => false)))",
            "awaitPromise": True, "returnByValue": True}, session=session)
        page = browser.send("Runtime.evaluate", {"expression": CHECK_SCRIPT,
                                                 "returnByValue": True}, session=session)
        metrics = browser.send("Page.getLayoutMetrics", session=session)
        size = metrics["cssContentSize"]
        shot = browser.send("Page.captureScreenshot", {
            "format": "png", "captureBeyondViewport": True,
            "clip": {"x": 0, "y": 0, "width": size["width"], "height": size["height"],
                     "scale": 1}}, session=session)
        browser.send("Runtime.evaluate", {"expression": "1"}, session=session)  # drain events
    finally:
        browser.close()

    screenshot = out / "screenshot.png"
    screenshot.write_bytes(base64.b64decode(shot["data"]))
    print(f"screenshot: {screenshot}")
    artifacts = os.environ.get("DNN_MOMENTS_BROWSER_ARTIFACTS")
    if artifacts:
        shutil.copytree(out, artifacts, dirs_exist_ok=True)

    result = page["result"]["value"]
    assert all(decoded["result"]["value"]), "an image failed to decode"
    # Figures: L6 has one panel (with the compare file overlaid) + the compare file's panels.
    n_svg = len(list((out / "figures").glob("*.svg")))
    assert result["figures"] == n_svg >= 2, result
    for img in result["images"]:
        assert img["complete"] and img["w"] > 0 and img["h"] > 0, img
        assert img["scheme"] == "data", img
    # Math: every formula has a box and every fraction is stacked (MathML layout, not text).
    assert result["maths"] >= 1 and result["mathBoxes"] == result["maths"], result
    assert result["fractions"] >= 1 and result["fractionsStacked"] == result["fractions"]
    assert result["summaryRows"] == 1 and result["verdicts"] == ["PASS"], result
    assert "compared" in result["ids"] and "claim-L6" in result["ids"]
    ids = set(result["ids"])
    for href in result["links"]:
        assert href.startswith("#") and href[1:] in ids, href
    requests = [m["params"]["request"]["url"] for m in browser.events
                if m.get("method") == "Network.requestWillBeSent"]
    assert requests and all(u.split(":")[0] in ("file", "data") for u in requests), requests
    errors = _console_errors(browser.events, session)
    assert not errors, errors
    assert screenshot.stat().st_size > 10_000
    assert screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
