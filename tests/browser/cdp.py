"""A headless Chromium driven over the DevTools protocol (CDP).

Only Debian packages: chromium and python3-websocket. Chromium is started with
its own throw-away profile and no background networking; every event of the
page is kept, so that a test can ask afterwards which requests left the page
and which errors it logged.
"""
import base64
import json
import os
import shutil
import subprocess
import time
import urllib.request

import websocket  # python3-websocket


def find_chromium():
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    return None


class CdpError(Exception):
    pass


class Browser:
    """One Chromium process with one page, driven over CDP."""

    def __init__(self, profile_dir, width=1280, height=800):
        self.profile_dir = profile_dir
        self.events = []
        self._id = 0
        os.makedirs(profile_dir, exist_ok=True)
        # Its stderr (dbus complaints on a bare host) to a file: a pipe
        # nobody reads would fill and stall the browser.
        self.log_path = os.path.join(profile_dir, "chromium.log")
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            [find_chromium(), "--headless=new", "--no-sandbox", "--disable-gpu",
             "--no-first-run", "--no-default-browser-check",
             "--disable-extensions", "--disable-background-networking",
             "--disable-component-update", "--disable-sync",
             "--disable-default-apps", "--hide-scrollbars", "--mute-audio",
             "--remote-debugging-address=127.0.0.1",
             "--remote-debugging-port=0",
             "--user-data-dir=" + profile_dir,
             "--window-size=%d,%d" % (width, height), "about:blank"],
            stdout=subprocess.DEVNULL, stderr=self._log)
        port_file = os.path.join(profile_dir, "DevToolsActivePort")
        deadline = time.monotonic() + 30
        while not os.path.exists(port_file):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.close()
                with open(self.log_path, errors="replace") as f:
                    err = f.read()[-2000:]
                raise CdpError("chromium did not start: " + err)
            time.sleep(0.1)
        time.sleep(0.2)  # the file is written before its second line
        with open(port_file) as f:
            port = int(f.readline().strip())
        targets = json.load(urllib.request.urlopen(
            "http://127.0.0.1:%d/json/list" % port, timeout=10))
        page = [t for t in targets if t.get("type") == "page"][0]
        self.ws = websocket.create_connection(
            page["webSocketDebuggerUrl"], timeout=30, suppress_origin=True)
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.send(domain + ".enable")
        self.viewport(width, height, mobile=False)

    def close(self):
        if getattr(self, "ws", None):
            self.ws.close()
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()

    def _receive(self, timeout):
        self.ws.settimeout(timeout)
        try:
            msg = json.loads(self.ws.recv())
        except websocket.WebSocketTimeoutException:
            return None
        if "method" in msg:
            self.events.append(msg)
        return msg

    def send(self, method, params=None, timeout=30):
        self._id += 1
        want = self._id
        self.ws.send(json.dumps({"id": want, "method": method,
                                 "params": params or {}}))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            msg = self._receive(max(0.05, deadline - time.monotonic()))
            if msg and msg.get("id") == want:
                if "error" in msg:
                    raise CdpError("%s: %s" % (method, msg["error"]))
                return msg.get("result", {})
        raise CdpError("%s: no answer in %d s" % (method, timeout))

    def viewport(self, width, height, mobile):
        self.send("Emulation.setDeviceMetricsOverride",
                  {"width": width, "height": height, "deviceScaleFactor": 1,
                   "mobile": mobile})

    def navigate(self, url, timeout=30):
        self.send("Page.navigate", {"url": url})
        self.wait_for("document.readyState === 'complete'", timeout)

    def evaluate(self, expression):
        r = self.send("Runtime.evaluate",
                      {"expression": expression, "awaitPromise": True,
                       "returnByValue": True})
        if "exceptionDetails" in r:
            raise CdpError("%s: %s" % (expression[:120], json.dumps(
                r["exceptionDetails"])[:600]))
        return r["result"].get("value")

    def wait_for(self, expression, timeout=20, what=None):
        """Polls `expression` until it is truthy (bounded by `timeout`)."""
        deadline = time.monotonic() + timeout
        value = None
        # An element found counts as true (its value would be {}).
        wrapped = ("(() => { const v = (%s); return v instanceof Node || v;"
                   " })()" % expression)
        while time.monotonic() < deadline:
            value = self.evaluate(wrapped)
            if value:
                return value
            self._receive(0.2)
        raise AssertionError("timed out after %d s waiting for %s (last: %r)"
                             % (timeout, what or expression, value))

    def screenshot(self, path):
        r = self.send("Page.captureScreenshot", {"format": "png"})
        with open(path, "wb") as f:
            f.write(base64.b64decode(r["data"]))
        return path

    def drain(self, seconds=0.3):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self._receive(0.05)

    def requested_urls(self):
        return [e["params"]["request"]["url"] for e in self.events
                if e["method"] == "Network.requestWillBeSent"]

    def script_errors(self):
        """Exceptions and console.error calls, and logged errors that are not
        a failed request (a refused action is a 4xx the page expects)."""
        out = []
        for e in self.events:
            p = e.get("params", {})
            if e["method"] == "Runtime.exceptionThrown":
                out.append(json.dumps(p.get("exceptionDetails", {}))[:400])
            elif (e["method"] == "Runtime.consoleAPICalled"
                  and p.get("type") == "error"):
                out.append(json.dumps(p.get("args", []))[:400])
            elif (e["method"] == "Log.entryAdded"
                  and p["entry"].get("level") == "error"
                  and p["entry"].get("source") != "network"):
                out.append(p["entry"].get("text", "")[:400])
        return out
