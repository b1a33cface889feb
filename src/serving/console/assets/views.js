// The console's pages: environments, versions (paged), one version, live
// charts, the audit log (paged, with its verification) and pipeline runs.
// Actions call the management API (/api/v1) with the tab's token; a token
// below deployer sees no action button.
"use strict";
(function () {
  const C = window.Console;
  const h = C.h;
  const enc = encodeURIComponent;

  const badge = (text, kind) => h("span", {class: "badge " + (kind || text)}, text);
  const versionLink = (id) => id ? h("a", {href: "#/version/" + enc(id), class: "mono"}, id)
                                 : h("span", {class: "muted"}, "none");
  const time = (iso) => h("time", {datetime: iso, class: "muted"}, (iso || "").replace("T", " ").replace(/\.\d+Z$/, "Z"));
  function kv(pairs) {
    return h("dl", {class: "kv"}, pairs.filter(Boolean).flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]));
  }
  function table(headers, rows, attrs) {
    return h("div", {class: "table-wrap"},
             h("table", attrs || {}, h("thead", {}, h("tr", {}, headers.map((x) => h("th", {}, x)))),
               h("tbody", {}, rows)));
  }
  const num = (v, digits) => (v === null || v === undefined) ? "–" : Number(v).toFixed(digits === undefined ? 3 : digits);

  // --- actions (management API) -------------------------------------------
  function reasonInput() { return h("input", {id: "action-reason", placeholder: "reason (recorded in the history)", maxlength: 500}); }
  function reasonValue() { const r = document.getElementById("action-reason"); return r ? r.value.trim() : ""; }

  function promote(versionId, env) {
    C.modal(`Promote ${versionId} to ${env}`,
            h("div", {}, h("p", {}, "The registry checks the validation and, where the environment requires it, the signature before it makes this version active."),
              reasonInput()),
            async () => {
              const r = await C.call("POST", `/api/v1/environments/${enc(env)}/promote`,
                                     {version_id: versionId, reason: reasonValue()});
              C.flash(`promoted ${versionId} to ${env}` + (r.swap ? ` (this server: ${r.swap})` : ""));
              C.route();
            }, "Promote");
  }

  async function rollback(env) {
    const plan = await C.get(`/console/api/environments/${enc(env)}/rollback-plan`);
    if (!plan.target) {
      C.modal(`Roll back ${env}`, h("p", {class: "error"},
        `nothing to roll back to: no earlier version validated for ${env} was active before ` +
        (plan.active_version || "(none active)")), null);
      return;
    }
    const choice = h("select", {id: "rollback-to"},
      plan.candidates.map((c, i) => h("option", {value: c.version_id, selected: i === 0},
                                       `${c.version_id} (last active ${c.last_active_at})`)));
    const body = h("div", {},
      h("p", {}, "Plan:"),
      h("p", {class: "plan", id: "rollback-plan"}, `${env}: ${plan.active_version || "none"} → ${plan.target}`),
      h("label", {for: "rollback-to"}, "Roll back to"), choice, h("p"), reasonInput());
    choice.addEventListener("change", () => {
      document.getElementById("rollback-plan").textContent = `${env}: ${plan.active_version} → ${choice.value}`;
    });
    C.modal(`Roll back ${env}`, body, async () => {
      const r = await C.call("POST", `/api/v1/environments/${enc(env)}/rollback`,
                             {to: choice.value, reason: reasonValue()});
      C.flash(`rolled ${env} back to ${r.event.version_id}` + (r.swap ? ` (this server: ${r.swap})` : ""));
      C.route();
    }, "Roll back");
  }

  async function reload() {
    try {
      const r = await C.call("POST", "/api/v1/reload");
      C.flash(r.swapped ? "reloaded: serving a new version" : "reloaded: nothing new to serve");
    } catch (e) { C.flash(e.message, true); }
    C.route();
  }

  const actionButton = (label, action, attrs, f) => h("button", Object.assign({type: "button", "data-action": action,
    onclick: async () => { try { await f(); } catch (e) { C.flash(e.message, true); } }}, attrs || {}), label);

  // --- environments -------------------------------------------------------
  C.routes.environments = async () => {
    const data = await C.get("/console/api/environments");
    const cards = data.environments.map((e) => {
      const history = e.history.map((ev) => h("li", {class: ev.kind},
        h("strong", {}, ev.kind), " ", versionLink(ev.version_id),
        ev.previous_version_id ? [" (from ", versionLink(ev.previous_version_id), ")"] : null,
        h("br"), time(ev.created_at), " ", h("span", {class: "muted"}, "by " + ev.actor),
        ev.reason ? h("div", {class: "muted"}, "“" + ev.reason + "”") : null));
      const req = e.performance_requirements || {};
      const actions = [];
      if (C.canDeploy()) {
        if (e.active) actions.push(actionButton("Roll back…", "rollback", {class: "secondary", "data-env": e.name}, () => rollback(e.name)));
        if (e.served_here) actions.push(actionButton("Reload", "reload", {class: "secondary"}, reload));
      }
      return h("article", {class: "card env", "data-env": e.name},
        h("h2", {}, e.name, e.served_here ? h("span", {class: "muted"}, "  · served here") : null),
        kv([["active", versionLink(e.active)],
            ["accuracy ≥", num(req.accuracy, 2)],
            ["latency ≤", req.inference_time_ms === undefined ? "–" : req.inference_time_ms + " ms"],
            ["signature", e.requires_signature ? badge("required", "pending") : badge("not required", "")],
            ["trusted keys", e.trusted_keys.length ? e.trusted_keys.map((k) => h("div", {class: "mono"}, k)) : "none"]]),
        actions.length ? h("div", {class: "actions"}, actions) : null,
        h("h3", {}, `History (${e.history_total})`),
        history.length ? h("ol", {class: "timeline"}, history) : h("p", {class: "muted"}, "never promoted"));
    });
    return h("div", {}, h("h1", {}, "Environments"), h("div", {class: "grid"}, cards));
  };

  // --- versions (paged) ---------------------------------------------------
  const PAGE = 50;
  C.routes.versions = async (parts, params) => {
    const offset = Math.max(0, parseInt(params.get("offset") || "0", 10) || 0);
    const q = params.get("q") || "";
    const data = await C.get(`/console/api/versions?offset=${offset}&limit=${PAGE}` + (q ? "&q=" + enc(q) : ""));
    const rows = data.versions.map((v) => h("tr", {"data-version": v.version_id},
      h("td", {}, versionLink(v.version_id)),
      h("td", {class: "hide-narrow"}, v.model_type),
      h("td", {}, badge(v.validation_status)),
      h("td", {}, v.deployment_environments.join(", ") || "–"),
      h("td", {}, v.active_in.map((e) => badge(e, "ok"))),
      h("td", {class: "hide-narrow"}, num(v.declared_accuracy)),
      h("td", {class: "hide-narrow"}, time(v.creation_date))));
    const go = (o) => `#/versions?offset=${o}` + (q ? "&q=" + enc(q) : "");
    const input = h("input", {id: "version-search", type: "search", value: q, placeholder: "filter by id"});
    const form = h("form", {class: "search", onsubmit: (ev) => { ev.preventDefault(); location.hash = `#/versions?q=${enc(input.value.trim())}`; }},
      input, h("button", {type: "submit", class: "secondary"}, "Filter"));
    const last = Math.min(offset + data.versions.length, data.total);
    const pager = h("div", {class: "pager"},
      h("span", {id: "versions-range"}, data.total ? `${offset + 1}–${last} of ${data.total}` : "no versions"),
      offset > 0 ? h("a", {href: go(Math.max(0, offset - PAGE))}, "← newer") : null,
      last < data.total ? h("a", {href: go(offset + PAGE), id: "versions-next"}, "older →") : null);
    return h("div", {}, h("h1", {}, "Versions"), form, pager,
      table(["version", h("span", {class: "hide-narrow"}, "type"), "status", "validated for", "active in",
             h("span", {class: "hide-narrow"}, "accuracy (declared)"), h("span", {class: "hide-narrow"}, "registered")],
            rows, {id: "versions-table"}), pager.cloneNode(true));
  };

  // --- one version --------------------------------------------------------
  function metricsTable(version, validations) {
    // Declared (registered) beside what each validation measured.
    const rows = [];
    for (const val of validations) {
      for (const r of (val.result.rules || [])) {
        if (r.measured === null && r.declared === null && r.required === null) continue;
        rows.push(h("tr", {},
          h("td", {}, val.environment), h("td", {}, r.rule),
          h("td", {}, fmtValue(r.declared)), h("td", {}, fmtValue(r.measured)), h("td", {}, fmtValue(r.required)),
          h("td", {}, badge(r.outcome, {pass: "ok", fail: "bad"}[r.outcome] || "pending"))));
      }
    }
    const declared = Object.entries(version.performance_metrics || {}).map(([k, v]) => `${k} ${num(v)}`).join(", ");
    return h("div", {}, h("p", {}, "Declared at registration: ", declared || h("span", {class: "muted"}, "nothing")),
      rows.length ? table(["environment", "rule", "declared", "measured", "required", ""], rows, {id: "metrics-table"})
                  : h("p", {class: "muted"}, "not validated yet: nothing measured"));
  }
  function fmtValue(v) {
    if (v === null || v === undefined) return "–";
    if (typeof v === "number") return num(v);
    const s = typeof v === "object" ? JSON.stringify(v) : String(v);
    return s.length > 40 ? s.slice(0, 16) + "…" : s;
  }

  C.routes.version = async (parts) => {
    const id = parts[0];
    const d = await C.get(`/console/api/versions/${enc(id)}`);
    const v = d.version;
    const byEnv = Object.fromEntries(d.validations.map((x) => [x.environment, x]));
    const envRows = d.environments.map((e) => {
      const val = byEnv[e.name];
      const active = e.active === v.version_id;
      let action = null;
      if (C.canDeploy() && val && val.valid && !active)
        action = actionButton("Promote", "promote", {"data-env": e.name}, () => promote(v.version_id, e.name));
      return h("tr", {"data-env": e.name},
        h("td", {}, e.name),
        h("td", {}, val ? badge(val.valid ? "valid" : "invalid", val.valid ? "ok" : "bad") : badge("not validated", "pending")),
        h("td", {}, val ? [time(val.validated_at), " ", h("span", {class: "muted"}, "by " + val.actor)] : "–"),
        h("td", {}, val && val.override_reason ? val.override_reason : "–"),
        h("td", {}, active ? badge("active", "ok") : ""),
        h("td", {}, action));
    });
    const sigRows = d.signatures.map((s) => h("tr", {},
      h("td", {class: "mono"}, s.key_id), h("td", {}, s.actor), h("td", {}, time(s.signed_at)),
      h("td", {}, s.trusted_by.length ? s.trusted_by.join(", ") : badge("trusted nowhere", "pending"))));
    const fileRows = v.spatial_deploy.files.map((f) => h("tr", {},
      h("td", {class: "mono"}, f.path), h("td", {}, String(f.size)), h("td", {class: "mono"}, f.sha256)));
    const lin = d.lineage;
    const deployments = lin.deployments.map((ev) => h("li", {class: ev.kind},
      h("strong", {}, ev.kind), ` ${ev.environment}: `, versionLink(ev.previous_version_id), " → ", versionLink(ev.version_id),
      " ", time(ev.created_at), " ", h("span", {class: "muted"}, "by " + ev.actor)));
    return h("div", {"data-version": v.version_id},
      h("h1", {}, "Version ", h("span", {class: "mono"}, v.version_id), " ", badge(v.validation_status)),
      h("section", {class: "card"}, kv([["type", v.model_type], ["architecture", v.architecture],
        ["size", `${num(v.size_mb, 2)} MB`], ["checksum", h("span", {class: "mono"}, v.checksum)],
        ["registered", [time(v.creation_date), " by ", v.spatial_deploy.actor]], ["tags", v.tags.join(", ") || "–"]])),
      h("section", {class: "card"}, h("h2", {}, "Metrics: declared and measured"), metricsTable(v, d.validations)),
      h("section", {class: "card"}, h("h2", {}, "Validations and environments"),
        table(["environment", "validation", "when", "override", "", ""], envRows, {id: "env-table"})),
      h("section", {class: "card"}, h("h2", {}, "Signatures"),
        sigRows.length ? table(["key", "stored by", "when", "trusted by"], sigRows) : h("p", {class: "muted"}, "unsigned"),
        h("h3", {}, "Trusted keys per environment"),
        kv(d.environments.map((e) => [e.name, e.trusted_keys.length ? e.trusted_keys.join(", ") : "none" ]))),
      h("section", {class: "card"}, h("h2", {}, "Files and checksums"), table(["file", "bytes", "sha256"], fileRows)),
      h("section", {class: "card"}, h("h2", {}, "Lineage"),
        kv([["registered from", h("span", {class: "mono"}, lin.file_path)], ["by", lin.registered_by],
            ["checksum", h("span", {class: "mono"}, lin.checksum)]]),
        h("h3", {}, "Training"), h("pre", {}, JSON.stringify(lin.training_config, null, 2)),
        h("h3", {}, "Deployments"), deployments.length ? h("ol", {class: "timeline"}, deployments) : h("p", {class: "muted"}, "never active")));
  };

  // --- live ---------------------------------------------------------------
  C.routes.live = async () => {
    const root = h("div", {id: "live"});
    const draw = () => {
      if (!document.body.contains(root) && root.dataset.drawn) { C.Live.listeners.delete(draw); return; }
      root.dataset.drawn = "1";
      const L = C.Live;
      const versions = Object.keys(L.series);
      const mk = (key) => versions.map((v) => ({name: v, points: L.series[v][key]}));
      const served = L.status ? Object.entries(L.status.models || {}).map(([slot, m]) =>
        h("li", {}, `${slot}: `, versionLink(m.version), ` · ${(m.live && m.live.predictions) || 0} predictions, ` +
          `${(m.live && m.live.labelled) || 0} labelled in the window` + (m.live && m.live.alarm ? " · ALARM" : ""))) : [];
      root.replaceChildren(...[
        h("h1", {}, "Live"),
        h("p", {class: "muted"}, `Refreshed every ${L.interval / 1000} s while this page is open. ` +
          "Accuracy counts the predictions that POST /feedback labelled; drift is the Jensen-Shannon divergence of the predicted classes from the validation set's."),
        L.error ? h("p", {class: "error"}, L.error) : null,
        h("ul", {}, served),
        h("div", {class: "charts"},
          h("div", {class: "card"}, window.Charts.LineChart("live accuracy", mk("accuracy"), {min: 0, max: 1, empty: "no feedback yet"})),
          h("div", {class: "card"}, window.Charts.LineChart("drift score (JS divergence)", mk("drift"), {min: 0, max: 1})),
          h("div", {class: "card"}, window.Charts.LineChart("predictions per second", mk("rate"), {min: 0}))),
        window.Charts.Legend(versions.map((v) => ({name: v})))].filter(Boolean));
    };
    C.Live.listeners.add(draw);
    draw();
    return root;
  };

  // --- audit --------------------------------------------------------------
  C.routes.audit = async (parts, params) => {
    const offset = Math.max(0, parseInt(params.get("offset") || "0", 10) || 0);
    const data = await C.get(`/console/api/audit?offset=${offset}&limit=${PAGE}`);
    const status = h("p", {id: "audit-status", class: "muted"}, "verifying the hash chain…");
    C.get("/console/api/audit/verify").then((v) => {
      status.className = "";
      status.replaceChildren(v.ok ? badge("chain verified", "ok") : badge("chain BROKEN", "bad"), " ",
        v.ok ? `${v.records} records, head ${v.head.slice(0, 16)}…` : `at seq ${v.broken_seq}: ${v.problem}`,
        h("div", {class: "muted"}, v.more));
    }).catch((e) => { status.className = "error"; status.textContent = e.message; });
    const rows = data.records.map((r) => h("tr", {},
      h("td", {}, String(r.seq)), h("td", {}, time(r.time)), h("td", {}, r.actor), h("td", {}, r.action),
      h("td", {class: "mono"}, r.subject), h("td", {class: "mono hide-narrow"}, r.hash.slice(0, 12) + "…")));
    const last = Math.min(offset + data.records.length, data.total);
    const pager = h("div", {class: "pager"}, `${data.total ? offset + 1 : 0}–${last} of ${data.total}`,
      offset > 0 ? h("a", {href: `#/audit?offset=${Math.max(0, offset - PAGE)}`}, "← newer") : null,
      last < data.total ? h("a", {href: `#/audit?offset=${offset + PAGE}`}, "older →") : null);
    return h("div", {}, h("h1", {}, "Audit log"), h("section", {class: "card"}, status), pager,
      table(["seq", "time", "actor", "action", "subject", h("span", {class: "hide-narrow"}, "hash")], rows, {id: "audit-table"}));
  };

  // --- pipeline runs ------------------------------------------------------
  async function openRunFile(run, path, title) {
    const text = await C.text(`/console/api/runs/${enc(run)}/${path.split("/").map(enc).join("/")}`);
    let body;
    if (path.endsWith(".html")) {
      // Shown sandboxed: the report's own scripts (if any) do not run.
      const url = URL.createObjectURL(new Blob([text], {type: "text/html"}));
      body = h("iframe", {class: "report", sandbox: "", src: url, title: title});
    } else {
      body = h("pre", {}, text);
    }
    C.modal(title, body, null);
  }
  C.routes.runs = async () => {
    const data = await C.get("/console/api/runs");
    const cards = data.runs.map((r) => h("article", {class: "card", "data-run": r.run},
      h("h2", {}, r.run, " ", r.status ? badge(r.status) : badge("no report", "pending")),
      kv([["environment", r.environment || "–"], ["version", versionLink(r.version_id)],
          ["seconds", r.seconds === null ? "–" : num(r.seconds, 1)]]),
      r.report ? h("div", {class: "actions"}, actionButtonPlain("Open report", () => openRunFile(r.run, r.report, `report of ${r.run}`))) : null,
      r.stages.length ? table(["stage", "status", "s", "log"], r.stages.map((s) => h("tr", {},
        h("td", {}, s.name), h("td", {}, badge(s.status)), h("td", {}, num(s.seconds, 1)),
        h("td", {}, s.log ? h("button", {type: "button", class: "link", onclick: () => openRunFile(r.run, s.log, `${s.name} log`).catch((e) => C.flash(e.message, true))}, "log") : "–")))) : null));
    return h("div", {}, h("h1", {}, "Pipeline runs"),
      h("p", {class: "muted"}, `${data.total || 0} runs under ${data.runs_dir}` + (data.note ? ` (${data.note})` : "")), cards);
  };
  const actionButtonPlain = (label, f) => h("button", {type: "button", class: "secondary",
    onclick: async () => { try { await f(); } catch (e) { C.flash(e.message, true); } }}, label);
})();
