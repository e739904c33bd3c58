"""Regenerate the README's screenshots: a demo instance, Debian's chromium, a few pages.

.venv/bin/python docs/screenshots/take.py
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from playwright.sync_api import sync_playwright

HERE = Path(__file__).resolve().parent
PAGES = [
    ("home", "/"),
    ("organization", "/organizations/2/"),
    ("audit", "/audit/"),
    ("profile", "/accounts/profile/"),
]
# Long pages: one element each, not the whole page.
SECTIONS = [
    ("contract", "/contracts/1/", "main"),
    ("contract-levels", "/contracts/1/", "#levels"),
    ("contract-calendars", "/contracts/1/", "#calendars"),
    ("report", "/reports/1/", "main"),
    ("inventory", "/inventory/", "main"),
    ("audit-report", "/inventory/audit/2/", "main"),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main() -> int:
    home = tempfile.mkdtemp(prefix="infogerance-shots-")
    env = {**os.environ, "INFOGERANCE_HOME": home}
    exe = [sys.executable, "-m", "infogerance"]
    subprocess.run([*exe, "demo"], env=env, check=True, capture_output=True)
    port = free_port()
    server = subprocess.Popen(
        [*exe, "serve", "--port", str(port), "--workers", "1"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(base + "/healthz", timeout=1)
                break
            except OSError:
                time.sleep(0.2)
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path="/usr/bin/chromium",
                args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
            )
            page = browser.new_page(viewport={"width": 1280, "height": 800}, locale="fr-FR")
            page.goto(base + "/accounts/login/")
            page.screenshot(path=str(HERE / "login.png"))
            page.fill("input[name=username]", "admin@nordline.example")
            page.fill("input[name=password]", "demo-infogerance")
            page.click("main form button[type=submit]")
            page.wait_for_url(base + "/")
            for name, path in PAGES:
                page.goto(base + path)
                page.screenshot(path=str(HERE / f"{name}.png"), full_page=True)
            for name, path, selector in SECTIONS:
                page.goto(base + path)
                if selector == "main":
                    page.screenshot(path=str(HERE / f"{name}.png"))
                else:
                    page.locator(selector).screenshot(path=str(HERE / f"{name}.png"))
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=20)
    print(f"screenshots written to {HERE}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
