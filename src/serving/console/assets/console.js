// The console's core: the token (this tab's sessionStorage only), calls to
// this server, the router, the modal and the live poller. The pages are in
// views.js. Everything is built with textContent: nothing from the registry
// is ever parsed as HTML.
"use strict";
(function () {
  const KEY = "spatial.console.token";
  const $ = (id) => document.getElementById(id);

  // h("div", {class: "x", onclick: f}, child, "text", ...)
  function h(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
      else if (k === "class") e.className = v;
      else e.setAttribute(k, v === true ? "" : String(v));
    }
    for (const c of children.flat()) {
      if (c === undefined || c === null || c === false) continue;
      e.appendChild(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return e;
  }

  class ApiError extends Error {
    constructor(status, message) { super(message); this.status = status; }
  }

  const Console = {
    h, ApiError,
    session: null,
    token() { return sessionStorage.getItem(KEY); },

    async call(method, path, body) {
      const headers = {"Accept": "application/json"};
      const t = this.token();
      if (t) headers["Authorization"] = "Bearer " + t;
      if (body !== undefined) headers["Content-Type"] = "application/json";
      const r = await fetch(path, {method, headers, cache: "no-store",
                                   body: body === undefined ? undefined : JSON.stringify(body)});
      const text = await r.text();
      let j = null;
      try { j = text ? JSON.parse(text) : null; } catch (e) { j = null; }
      if (!r.ok) {
        if (r.status === 401 && path.startsWith("/console/api/")) this.signOut(false);
        throw new ApiError(r.status, (j && j.error) || `${r.status} ${r.statusText}`);
      }
      return j === null ? text : j;
    },
    get(path) { return this.call("GET", path); },
    async text(path) {
      const r = await fetch(path, {headers: {"Authorization": "Bearer " + this.token()},
                                   cache: "no-store"});
      const body = await r.text();
      if (!r.ok) {
        let msg = body;
        try { msg = JSON.parse(body).error; } catch (e) { /* plain text */ }
        throw new ApiError(r.status, msg);
      }
      return body;
    },

    async signIn(token) {
      sessionStorage.setItem(KEY, token);
      try {
        this.session = await this.get("/console/api/session");
      } catch (e) {
        sessionStorage.removeItem(KEY);
        this.session = null;
        throw e;
      }
    },
    signOut(clear) {
      sessionStorage.removeItem(KEY);
      this.session = null;
      Live.stop();
      this.showLogin(clear === false ? "the server no longer accepts this token; sign in again" : "");
    },
    canDeploy() { return !!(this.session && this.session.can_deploy); },

    showLogin(message) {
      $("login").hidden = false;
      $("nav").hidden = true;
      $("who").hidden = true;
      $("view").replaceChildren();
      const err = $("login-error");
      err.textContent = message || "";
      err.hidden = !message;
      $("token").focus();
    },
    showApp() {
      $("login").hidden = true;
      $("nav").hidden = false;
      $("who").hidden = false;
      const s = this.session;
      $("who-name").replaceChildren(s.name + " ", h("span", {class: "role"}, s.role));
      document.querySelector('[data-nav="live"]').hidden = !s.serving;
      if (s.serving) Live.start();
    },

    flash(message, isError) {
      const f = $("flash");
      f.textContent = message;
      f.className = isError ? "error" : "";
      f.hidden = false;
      clearTimeout(this.flashTimer);
      this.flashTimer = setTimeout(() => { f.hidden = true; }, isError ? 15000 : 8000);
    },

    // Opens the modal; `onConfirm` returns a promise (an error keeps the
    // modal open and shows its message); null: a view-only modal.
    modal(title, body, onConfirm, confirmLabel) {
      const m = $("modal");
      $("modal-title").textContent = title;
      $("modal-body").replaceChildren(body);
      const err = $("modal-error");
      err.hidden = true;
      const ok = $("modal-confirm");
      ok.hidden = !onConfirm;
      ok.disabled = false;
      ok.textContent = confirmLabel || "Confirm";
      $("modal-cancel").textContent = onConfirm ? "Cancel" : "Close";
      const close = () => { m.hidden = true; ok.onclick = null; };
      $("modal-cancel").onclick = close;
      ok.onclick = async () => {
        ok.disabled = true;
        try {
          await onConfirm();
          close();
        } catch (e) {
          err.textContent = e.message;
          err.hidden = false;
          ok.disabled = false;
        }
      };
      m.hidden = false;
    },

    routes: {},
    async route() {
      if (!this.session) return;
      const hash = location.hash.replace(/^#/, "") || "/";
      const [path, query] = hash.split("?");
      const params = new URLSearchParams(query || "");
      const parts = path.split("/").filter(Boolean);
      const name = parts[0] || "environments";
      const view = this.routes[name];
      document.querySelectorAll("nav a").forEach((a) =>
        a.classList.toggle("current", a.dataset.nav === name ||
                           (name === "version" && a.dataset.nav === "versions")));
      const root = $("view");
      if (!view) {
        root.replaceChildren(h("p", {class: "error"}, `no page '${name}'`));
        return;
      }
      root.setAttribute("aria-busy", "true");
      try {
        const content = await view(parts.slice(1).map(decodeURIComponent), params);
        root.replaceChildren(content);
      } catch (e) {
        if (this.session) root.replaceChildren(h("p", {class: "error"}, e.message));
      }
      root.setAttribute("aria-busy", "false");
      root.dataset.page = name;
    },
  };

  // Polls /status and /metrics while the page is open; keeps the last
  // LIVE_POINTS samples per served version: live accuracy, drift score and
  // predictions per second (from pizza_api_predictions_total).
  const LIVE_POINTS = 150;
  const Live = {
    timer: null,
    interval: 2000,
    series: {},  // version -> {accuracy, drift, rate: [[t, v]]}
    last: {},    // model_type -> [t, predictions]
    status: null,
    error: null,
    listeners: new Set(),
    start() {
      if (this.timer) return;
      this.poll();
      this.timer = setInterval(() => this.poll(), this.interval);
    },
    stop() { clearInterval(this.timer); this.timer = null; },
    push(version, key, t, v) {
      const s = this.series[version] || (this.series[version] = {accuracy: [], drift: [], rate: []});
      s[key].push([t, v]);
      if (s[key].length > LIVE_POINTS) s[key].shift();
    },
    async poll() {
      try {
        const [status, metrics] = await Promise.all([
          Console.get("/status"), Console.call("GET", "/metrics")]);
        const t = Date.now();
        const counts = {};
        for (const line of String(metrics).split("\n")) {
          const m = /^pizza_api_predictions_total\{model="([^"]*)",class="[^"]*"\} (\d+)/.exec(line);
          if (m) counts[m[1]] = (counts[m[1]] || 0) + Number(m[2]);
        }
        for (const m of Object.values(status.models || {})) {
          const live = m.live || {};
          if (live.accuracy !== null && live.accuracy !== undefined)
            this.push(m.version, "accuracy", t, live.accuracy);
          if (live.drift_score !== null && live.drift_score !== undefined)
            this.push(m.version, "drift", t, live.drift_score);
          const n = counts[m.model_type] || 0;
          const prev = this.last[m.model_type];
          if (prev && n >= prev[1]) this.push(m.version, "rate", t, (n - prev[1]) / ((t - prev[0]) / 1000));
          this.last[m.model_type] = [t, n];
        }
        this.status = status;
        this.error = null;
      } catch (e) {
        this.error = e.message;
      }
      for (const f of this.listeners) f();
    },
  };

  Console.Live = Live;
  window.Console = Console;

  async function boot() {
    $("login-form").addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const token = $("token").value.trim();
      $("sign-in").disabled = true;
      try {
        await Console.signIn(token);
        $("token").value = "";
        Console.showApp();
        await Console.route();
      } catch (e) {
        Console.showLogin(e.message);
      }
      $("sign-in").disabled = false;
    });
    $("sign-out").addEventListener("click", () => Console.signOut(true));
    window.addEventListener("hashchange", () => Console.route());
    if (Console.token()) {
      try {
        await Console.signIn(Console.token());
        Console.showApp();
        await Console.route();
        return;
      } catch (e) {
        Console.showLogin(e.message);
        return;
      }
    }
    Console.showLogin("");
  }
  document.addEventListener("DOMContentLoaded", boot);
})();
