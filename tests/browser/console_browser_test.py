#!/usr/bin/env python3
"""The operator console (/console) in a real headless Chromium, against a
real `spatial serve` on 127.0.0.1 and a real SQLite registry.

The registry holds two validated versions (s1 active in development, s2 not)
and a pipeline run; tokens of each role come from `spatial token add`.
Chromium is driven over the DevTools protocol (tests/browser/cdp.py). What a
user would check is asserted: a bad token is refused with its message; the
pages show the registry's versions; a viewer sees no action button and a
direct promote with a viewer token is refused (403); a deployer's promote in
the page changes what /health serves, and a rollback shows its plan first;
after classifications with feedback the live charts draw non-empty series;
the page fits a phone's width; no script error is logged and no request
leaves 127.0.0.1. Screenshots go to --artifacts (in the build tree).

Skips only when chromium is not installed (scripts/install-deps.sh installs
it, with python3-websocket).
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cdp  # noqa: E402  pylint: disable=wrong-import-position

ARGS = None


def http(port, method, path, token=None, body=None, content_type=None):
    """(status, body text) of one request to the server."""
    req = urllib.request.Request("http://127.0.0.1:%d%s" % (port, path),
                                 data=body, method=method)
    if token:
        req.add_header("Authorization", "Bearer " + token)
    if content_type:
        req.add_header("Content-Type", content_type)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def classify(port, image_bytes):
    boundary = "consoletestboundary"
    body = (("--%s\r\nContent-Disposition: form-data; name=\"file\"; "
             "filename=\"p.png\"\r\nContent-Type: image/png\r\n\r\n")
            % boundary).encode() + image_bytes + (
                "\r\n--%s--\r\n" % boundary).encode()
    return http(port, "POST", "/classify", body=body,
                content_type="multipart/form-data; boundary=" + boundary)


@unittest.skipIf(cdp.find_chromium() is None,
                 "chromium is not installed: run scripts/install-deps.sh "
                 "(installs chromium and python3-websocket)")
class ConsoleBrowserTest(unittest.TestCase):

    @classmethod
    def spatial(cls, *args, check=True):
        r = subprocess.run([ARGS.binary] + list(args), cwd=cls.tmp,
                           capture_output=True, text=True, timeout=300)
        if check and r.returncode != 0:
            raise AssertionError("spatial %s: exit %d\n%s%s" % (
                " ".join(args), r.returncode, r.stdout, r.stderr))
        return r

    @classmethod
    def setUpClass(cls):
        cls._tmp = tempfile.TemporaryDirectory(prefix="console_browser_")
        cls.tmp = cls._tmp.name
        cls.artifacts = ARGS.artifacts
        os.makedirs(cls.artifacts, exist_ok=True)
        reg = os.path.join(cls.tmp, "registry.db")
        config = os.path.join(ARGS.source_dir, "config", "environments.json")
        bundle = os.path.join(ARGS.source_dir, "models", "spatial-pizza-v1")
        for args in (["register", bundle, "--version-id", "s1"],
                     ["register", bundle, "--version-id", "s2"],
                     ["validate", "s1", "--environment", "development"],
                     ["validate", "s2", "--environment", "development"],
                     ["promote", "s1", "--environment", "development",
                      "--reason", "first"]):
            cls.spatial("model", *args, "--registry", reg, "--config", config,
                        "--actor", "tester")
        tokens = os.path.join(cls.tmp, "tokens.json")
        cls.tokens = {}
        for role in ("viewer", "deployer"):
            out = cls.spatial("token", "add", "--name", role + "1", "--role",
                              role, "--file", tokens, "--registry", reg,
                              "--config", config, "--actor", "tester").stdout
            cls.tokens[role] = out.splitlines()[0].strip()
        # One pipeline run where the server looks for runs.
        os.symlink(os.path.join(ARGS.source_dir, "models"),
                   os.path.join(cls.tmp, "models"))
        os.symlink(os.path.join(ARGS.source_dir, "config"),
                   os.path.join(cls.tmp, "config"))
        cls.spatial("pipeline", "run", "--stages",
                    "environment-validation,spatial-tests", "--registry",
                    os.path.join(cls.tmp, "pipeline.db"), "--output",
                    os.path.join(cls.tmp, "output", "spatial_pipeline_runs"))
        # Labelled pizza images for traffic with feedback.
        cls.spatial("data", "render", "--out",
                    os.path.join(cls.tmp, "images"), "--per-class", "4",
                    "--size", "96", "--threads", "1")
        port_file = os.path.join(cls.tmp, "port")
        cls.server_log = open(os.path.join(cls.tmp, "serve.log"), "w")
        cls.server = subprocess.Popen(
            [ARGS.binary, "serve", "--registry", reg, "--config", config,
             "--environment", "development", "--address", "127.0.0.1",
             "--port", "0", "--port-file", port_file, "--workers", "1",
             "--tokens-file", tokens, "--poll-registry-s", "0"],
            cwd=cls.tmp, stdout=cls.server_log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        cls.port = None
        while time.monotonic() < deadline and cls.server.poll() is None:
            if os.path.exists(port_file):
                with open(port_file) as f:
                    text = f.read().strip()
                if text:
                    cls.port = int(text)
                    status, body = http(cls.port, "GET", "/health")
                    if status == 200 and "healthy" in body:
                        break
            time.sleep(0.1)
        if cls.port is None:
            cls.tearDownClass()
            raise AssertionError("spatial serve did not start")
        cls.origin = "http://127.0.0.1:%d" % cls.port
        cls.browser = cdp.Browser(os.path.join(cls.tmp, "profile"))

    @classmethod
    def tearDownClass(cls):
        if getattr(cls, "browser", None):
            cls.browser.close()
        if getattr(cls, "server", None) and cls.server.poll() is None:
            cls.server.terminate()
            cls.server.wait(timeout=30)
        cls.server_log.close()
        cls._tmp.cleanup()

    # --- helpers ---------------------------------------------------------
    def shot(self, name):
        return self.browser.screenshot(os.path.join(self.artifacts, name))

    def open_console(self):
        b = self.browser
        # A fresh page with nothing in this tab's storage.
        b.navigate(self.origin + "/console")
        b.evaluate("sessionStorage.clear(); true")
        b.navigate("about:blank")
        b.navigate(self.origin + "/console")
        b.wait_for("!document.getElementById('login').hidden", what="login")

    def sign_in(self, token):
        b = self.browser
        b.evaluate("document.getElementById('token').value = %s;"
                   "document.getElementById('sign-in').click(); true"
                   % json.dumps(token))

    def served(self):
        status, body = http(self.port, "GET", "/health")
        self.assertEqual(status, 200, body)
        return json.loads(body)["models"].get("spatial")

    def click(self, selector):
        self.browser.wait_for("!!document.querySelector(%s)"
                              % json.dumps(selector), what=selector)
        self.browser.evaluate("document.querySelector(%s).click(); true"
                              % json.dumps(selector))

    # --- tests, in order ---------------------------------------------------
    def test_1_bad_token_shows_an_error(self):
        b = self.browser
        self.open_console()
        self.sign_in("f" * 64)
        message = b.wait_for(
            "!document.getElementById('login-error').hidden && "
            "document.getElementById('login-error').textContent",
            what="the login error")
        self.assertIn("unknown token", message)
        self.assertTrue(b.evaluate("document.getElementById('nav').hidden"))
        self.assertIsNone(b.evaluate(
            "sessionStorage.getItem('spatial.console.token')"))
        self.shot("console_bad_token.png")

    def test_2_viewer_reads_but_has_no_buttons(self):
        b = self.browser
        self.open_console()
        self.sign_in(self.tokens["viewer"])
        b.wait_for("document.querySelector('[data-env=development]')",
                   what="the environments page")
        text = b.evaluate("document.getElementById('view').innerText")
        self.assertIn("development", text)
        self.assertIn("s1", text)
        self.assertEqual(b.evaluate(
            "document.querySelectorAll('button[data-action]').length"), 0)
        self.assertIn("viewer", b.evaluate(
            "document.getElementById('who').innerText"))
        # The token stays in this tab's sessionStorage, nowhere else.
        self.assertEqual(b.evaluate(
            "sessionStorage.getItem('spatial.console.token')"),
            self.tokens["viewer"])
        self.assertEqual(b.evaluate("localStorage.length"), 0)
        self.assertEqual(b.evaluate("document.cookie"), "")
        b.evaluate("location.hash = '#/versions'; true")
        b.wait_for("document.querySelectorAll('#versions-table tbody tr')"
                   ".length === 2", what="two versions listed")
        rows = b.evaluate("[...document.querySelectorAll('#versions-table "
                          "tbody tr')].map(r => r.dataset.version)")
        self.assertEqual(rows, ["s2", "s1"])  # newest first
        b.evaluate("location.hash = '#/version/s2'; true")
        b.wait_for("document.querySelector('[data-version=s2] #env-table')",
                   what="the version page")
        self.assertEqual(b.evaluate(
            "document.querySelectorAll('button[data-action]').length"), 0)
        # A direct action with the viewer's token is refused by the API.
        refused = b.evaluate(
            "fetch('/api/v1/environments/development/promote', {method: "
            "'POST', headers: {'Authorization': 'Bearer ' + sessionStorage."
            "getItem('spatial.console.token')}, body: JSON.stringify("
            "{version_id: 's2'})}).then(async r => [r.status, await r.text()])")
        self.assertEqual(refused[0], 403, refused)
        self.assertIn("has role viewer; this needs deployer", refused[1])
        self.assertEqual(self.served(), "s1")
        self.shot("console_viewer_version.png")

    def test_3_deployer_promotes_and_rolls_back(self):
        b = self.browser
        self.open_console()
        self.sign_in(self.tokens["deployer"])
        b.wait_for("document.querySelector('[data-env=development]')",
                   what="the environments page")
        b.evaluate("location.hash = '#/version/s2'; true")
        self.click("button[data-action=promote][data-env=development]")
        b.wait_for("!document.getElementById('modal').hidden", what="modal")
        b.evaluate("document.getElementById('action-reason').value = "
                   "'browser test'; document.getElementById('modal-confirm')"
                   ".click(); true")
        flash = b.wait_for("!document.getElementById('flash').hidden && "
                           "document.getElementById('flash').textContent",
                           what="the promote message")
        self.assertIn("promoted s2 to development", flash)
        self.assertEqual(self.served(), "s2")
        # The action is in the audit log, under the token's name, and the
        # chain verifies.
        b.evaluate("location.hash = '#/audit'; true")
        b.wait_for("document.getElementById('audit-status') && "
                   "document.getElementById('audit-status').innerText"
                   ".includes('chain verified')", what="audit verification")
        first = b.evaluate("[...document.querySelectorAll('#audit-table tbody "
                           "tr')[0].cells].map(c => c.innerText)")
        self.assertEqual(first[2:5], ["deployer1", "promote", "s2"])
        self.shot("console_audit.png")
        # Roll back: the plan is shown before anything changes.
        b.evaluate("location.hash = '#/'; true")
        self.click("button[data-action=rollback][data-env=development]")
        plan = b.wait_for("document.getElementById('rollback-plan') && "
                          "document.getElementById('rollback-plan')"
                          ".textContent", what="the rollback plan")
        self.assertEqual(plan, "development: s2 → s1")
        self.assertEqual(self.served(), "s2")
        self.shot("console_rollback_plan.png")
        b.evaluate("document.getElementById('modal-confirm').click(); true")
        b.wait_for("document.getElementById('flash').textContent.includes("
                   "'rolled development back to s1')", what="rollback message")
        self.assertEqual(self.served(), "s1")

    def test_4_live_charts_draw_after_traffic_with_feedback(self):
        b = self.browser
        self.open_console()
        self.sign_in(self.tokens["deployer"])
        b.wait_for("document.querySelector('[data-env=development]')")
        b.evaluate("location.hash = '#/live'; true")
        b.wait_for("document.querySelectorAll('svg.chart').length === 3",
                   what="three charts")
        images = os.path.join(self.tmp, "images")
        sent = 0
        for cls_name in sorted(os.listdir(images)):
            folder = os.path.join(images, cls_name)
            if not os.path.isdir(folder):
                continue
            for name in sorted(os.listdir(folder))[:4]:
                with open(os.path.join(folder, name), "rb") as f:
                    status, body = classify(self.port, f.read())
                self.assertEqual(status, 200, body)
                pid = json.loads(body)["prediction_id"]
                status, body = http(
                    self.port, "POST", "/feedback", self.tokens["deployer"],
                    json.dumps({"prediction_id": pid,
                                "true_class": cls_name}).encode(),
                    "application/json")
                self.assertEqual(status, 200, body)
                sent += 1
        self.assertGreaterEqual(sent, 12)
        # Each chart has a series for s1 with at least two points.
        counts = b.wait_for(
            "(() => { const c = [...document.querySelectorAll('svg.chart')]"
            ".map(s => Math.max(0, ...[...s.querySelectorAll('polyline')]"
            ".map(p => +p.dataset.points))); return c.every(n => n >= 2) "
            "&& c; })()", timeout=30, what="non-empty series in every chart")
        self.assertEqual(len(counts), 3)
        self.assertIn(self.served(), b.evaluate(
            "document.getElementById('live').innerText"))
        self.shot("console_live.png")

    def test_5_runs_and_phone_width(self):
        b = self.browser
        self.open_console()
        self.sign_in(self.tokens["viewer"])
        b.wait_for("document.querySelector('[data-env=development]')")
        b.evaluate("location.hash = '#/runs'; true")
        b.wait_for("document.querySelector('[data-run]')", what="a run")
        self.assertIn("passed", b.evaluate(
            "document.querySelector('[data-run]').innerText"))
        b.evaluate("[...document.querySelectorAll('[data-run] button')]"
                   ".find(x => x.textContent === 'Open report').click(); true")
        b.wait_for("document.querySelector('#modal iframe.report')",
                   what="the report frame")
        b.evaluate("document.getElementById('modal-cancel').click(); true")
        # A phone: nothing wider than the screen, the table scrolls inside.
        b.viewport(390, 844, mobile=True)
        try:
            for page in ("#/", "#/versions", "#/version/s1"):
                b.evaluate("location.hash = %s; true" % json.dumps(page))
                b.wait_for("document.getElementById('view')"
                           ".getAttribute('aria-busy') === 'false' && "
                           "document.getElementById('view').children.length")
                b.drain(0.3)
                width = b.evaluate("document.documentElement.scrollWidth")
                self.assertLessEqual(width, 390, page)
            self.shot("console_phone.png")
        finally:
            b.viewport(1280, 800, mobile=False)
        b.evaluate("location.hash = '#/'; true")
        b.wait_for("document.querySelector('[data-env=development]')")
        b.drain(0.5)
        self.shot("console.png")

    def test_6_no_script_errors_and_no_request_off_loopback(self):
        b = self.browser
        b.drain(0.5)
        self.assertEqual(b.script_errors(), [])
        urls = b.requested_urls()
        self.assertGreater(len(urls), 20)
        away = [u for u in urls if not (
            u.startswith(self.origin + "/") or u.startswith("blob:" +
                                                            self.origin)
            or u.startswith("data:") or u == "about:blank")]
        self.assertEqual(away, [])


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--source-dir", required=True)
    parser.add_argument("--binary", required=True)
    parser.add_argument("--artifacts", required=True)
    ARGS, rest = parser.parse_known_args()
    unittest.main(argv=[sys.argv[0]] + rest, verbosity=2)
