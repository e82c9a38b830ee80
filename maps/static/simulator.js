/* The dashboard's ZAN simulator: pick sites or land units from the ranked candidates
 * (/territories/{kind}/{code}/candidates) or by a click on the map (a site's marker, else the land
 * unit under the pointer); the chart and the margin follow the answer of
 * POST /territories/{kind}/{code}/simulate (observed bars, scenario bars, envelope lines, the
 * year the envelope runs out). The scenario lives in the URL (#sim=...); saved with an editor
 * key (kept in sessionStorage only) it gets a link (#scenario=LINK) that opens it again. Printed,
 * the card is a one-page summary (print.css): chart, projects table, margin, vintages, assumptions. */
(function () {
  "use strict";
  var F = window.Foncier, t = F.t, C = F.config;
  var base = "/territories/" + encodeURIComponent(C.kind) + "/" + encodeURIComponent(C.code);
  var KEY_STORE = "foncier.editorKey";
  var projects = [], chart = null, pending = null, saved = null, answer = null;
  var ENVELOPE_COLORS = { law: "#1a9850", territorialised: "#d73027", commune_guarantees: "#4575b4" };
  function el(id) { return document.getElementById(id); }
  function ha(v) { return F.num(v, 1) + " ha"; }
  function status(text) { el("sim-status").textContent = text || ""; }

  function request(method, url, body, key) {
    var headers = { Accept: "application/json" };
    if (body) headers["Content-Type"] = "application/json";
    if (key) headers["X-API-Key"] = key;
    return fetch(url, { method: method, headers: headers, body: body ? JSON.stringify(body) : undefined }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (b) {
        if (r.ok) return b;
        var e = new Error(url + ": HTTP " + r.status);
        e.status = r.status; e.detail = b && b.detail;
        throw e;
      });
    });
  }
  function datasets(ans, years, labels) {
    var out = [
      { type: "bar", label: t("sim_observed"), data: years.map(function (y) { return y.observed_ha; }), backgroundColor: "#e08214", stack: "s" },
      { type: "bar", label: t("sim_projects"), data: years.map(function (y) { return y.projects_ha + y.background_ha; }), backgroundColor: "#542788", stack: "s" },
      { type: "bar", label: t("sim_unknown"), data: years.map(function (y) { return y.projects_worst_ha - y.projects_ha; }), backgroundColor: "#b2abd2", stack: "s" },
      { type: "line", label: t("sim_cumulative"), data: years.map(function (y) { return y.cumulative_ha; }), borderColor: "#000", pointRadius: 2 },
    ];
    ans.envelopes.filter(function (e) { return e.period === "2021-2030"; }).forEach(function (e) {
      out.push({ type: "line", label: t("sim_envelope_" + e.name), data: labels.map(function () { return e.envelope_ha; }),
        borderColor: ENVELOPE_COLORS[e.name] || "#1a9850", borderDash: e.name === ans.main_envelope ? [] : [6, 4], pointRadius: 0 });
    });
    var s = ans.summary;
    if (s.exhaustion_year) {
      out.push({ type: "line", label: F.fill("sim_exhaustion_marker", { year: s.exhaustion_year }), showLine: false, pointRadius: 7,
        pointStyle: "crossRot", borderColor: "#d73027", data: years.map(function (y) { return y.year === s.exhaustion_year ? y.cumulative_ha : null; }) });
    }
    return out;
  }
  function draw(ans) {
    answer = ans;
    var years = ans.years.filter(function (y) { return y.year <= 2030; });
    var labels = years.map(function (y) { return String(y.year); });
    if (chart) chart.destroy();
    chart = new Chart(el("sim-chart"), { data: { labels: labels, datasets: datasets(ans, years, labels) },
      options: { animation: false, responsive: true, maintainAspectRatio: false, scales: { x: { stacked: true }, y: { stacked: false, beginAtZero: true,
        title: { display: true, text: t("hectares") } } } } });
    var s = ans.summary, margin = el("sim-margin");
    margin.setAttribute("data-margin", String(s.margin_2030_ha));
    margin.className = s.margin_2030_ha < 0 ? "sim-margin negative" : "sim-margin";
    margin.textContent = F.fill("sim_margin", { ha: ha(s.margin_2030_ha), worst: ha(s.margin_2030_worst_ha), envelope: ha(s.envelope_ha) });
    el("sim-exhaustion").textContent = s.exhaustion_year
      ? F.fill("sim_exhausted", { year: s.exhaustion_year, worst: s.exhaustion_year_worst || s.exhaustion_year })
      : s.exhaustion_year_worst ? F.fill("sim_exhausted_if_unknown", { year: s.exhaustion_year_worst }) : t("sim_not_exhausted");
    el("sim-pene").textContent = s.pene_ha || s.pene_worst_ha ? F.fill("sim_pene", { ha: ha(s.pene_ha) }) : "";
    table(ans);
    facts(ans);
  }
  function projectName(p, i) {
    var given = projects[i] && projects[i].label;
    if (given) return given;
    if (p.kind === "site") return t("sim_site") + " " + p.ref;
    if (p.kind === "land_unit") return t("sim_land_unit") + " " + p.ref;
    return t(p.kind === "polygon" ? "sim_polygon" : "sim_parcel_list");
  }
  function range(min, max) {
    return F.num(min, 2) + (max > min ? " (" + F.fill("sim_worst", { ha: F.num(max, 2) }) + ")" : "");
  }
  // The printed table: one row per project, then the totals the margin is made of.
  function table(ans) {
    var rows = ans.projects.map(function (p, i) {
      return "<tr><td>" + F.esc(projectName(p, i)) + (p.pene ? " (PENE)" : "") + "</td><td>" + p.start_year + "</td><td>" +
        F.num(100 * p.share, 0) + " %</td><td>" + F.num(p.area_ha, 2) + "</td><td>" + range(p.cost_ha, p.cost_max_ha) +
        "</td><td>" + range(p.developed_ha, p.developed_max_ha) + "</td></tr>";
    });
    var s = ans.summary;
    rows.push('<tr class="total"><th scope="row" colspan="5">' + F.esc(t("sim_total")) + "</th><td>" +
      range(s.projects_ha, s.projects_worst_ha) + "</td></tr>");
    el("sim-table").querySelector("tbody").innerHTML = ans.projects.length ? rows.join("") :
      '<tr><td colspan="6">' + F.esc(t("sim_no_project")) + "</td></tr>";
  }
  // What the answer was computed on (the account's vintage and sources, the saved profile) and
  // the assumptions of the 2031-2050 envelopes.
  function facts(ans) {
    var a = ans.account || {};
    var sources = (a.sources || []).map(function (s) { return s.name + (s.vintage ? " " + s.vintage : ""); }).join(", ");
    var text = F.fill("sim_vintages", { vintage: a.vintage || "–", sources: sources || "–",
      computed: a.computed_at ? new Date(a.computed_at).toLocaleDateString(C.lang) : "–" });
    if (saved && saved.profile_version) text += " " + F.fill("sim_profile", { version: saved.profile_version });
    el("sim-vintages").textContent = text;
    el("sim-assumptions").innerHTML = "<li><strong>" + F.esc(t("sim_assumptions")) + "</strong></li>" +
      // The API states them in French; the page in its language (maps/i18n.py, same texts in French).
      (ans.assumptions || []).map(function (x, i) {
        var key = "sim_assumption_" + i;
        return "<li>" + F.esc(t(key) !== key ? t(key) : x) + "</li>";
      }).join("");
    el("sim-print-head").textContent = F.fill("sim_print_head", { date: new Date().toLocaleDateString(C.lang) }) +
      (saved ? " · " + F.fill("sim_scenario_named", { name: saved.name }) : "");
  }
  function listProjects() {
    el("sim-projects").innerHTML = projects.length ? projects.map(function (p, i) {
      return '<li data-index="' + i + '">' + F.esc(p.label || p.site_id || p.land_unit_id) + " · " + F.esc(t("sim_from")) + " " + p.start_year +
        ' <button type="button" class="sim-remove" data-index="' + i + '">' + F.esc(t("sim_remove")) + "</button></li>";
    }).join("") : '<li class="empty">' + F.esc(t("sim_no_project")) + "</li>";
  }
  function hashOf() {
    return projects.map(function (p) { return (p.site_id ? "s:" + p.site_id : "u:" + p.land_unit_id) + "@" + p.start_year; }).join(",");
  }
  // Simulate the scenario; ``added`` is the project just added (taken back out if refused).
  function run(added) {
    listProjects();
    if (!saved) {
      var hash = hashOf();
      history.replaceState(null, "", hash ? "#sim=" + encodeURIComponent(hash) : location.pathname + location.search);
    }
    var body = { projects: projects.map(function (p) { return Object.assign({}, p); }) };
    var mine = pending = request("POST", base + "/simulate", body).then(function (ans) {
      if (mine !== pending) return;
      el("sim-error").textContent = "";
      draw(ans);
      document.body.setAttribute("data-sim", String(projects.length));
    }).catch(function (e) {
      if (mine !== pending) return;
      if (added && e.status === 400 && projects.indexOf(added) >= 0) {
        projects.splice(projects.indexOf(added), 1);
        status(F.fill("sim_refused", { detail: e.detail || F.errorText(e) }));
        run();
        return;
      }
      el("sim-error").textContent = e.status === 404 ? t("sim_no_account") : F.errorText(e);
      document.body.setAttribute("data-sim", "error");
    });
  }
  // A change of scenario leaves the saved one: the URL says the scenario again, not the link.
  function edited() {
    if (saved) { saved = null; el("sim-share").hidden = true; }
  }
  function add(project, label) {
    var same = projects.filter(function (p) {
      return (project.site_id && p.site_id === project.site_id) || (project.land_unit_id && p.land_unit_id === project.land_unit_id);
    });
    if (same.length) { status(F.fill("sim_already", { name: label })); return; }
    var p = Object.assign({ start_year: Number(el("sim-year").value) || 2026, label: label }, project);
    projects.push(p);
    edited();
    status(F.fill("sim_added", { name: label }));
    run(p);
  }
  function candidates() {
    request("GET", base + "/candidates?limit=30").then(function (d) {
      var rows = d.candidates || [];
      el("sim-candidates").innerHTML = rows.length ? rows.map(function (c, i) {
        var cost = c.cost_per_ha != null ? F.num(c.cost_per_ha, 2) : "0–" + F.num(c.cost_max_per_ha, 2);
        var name = c.name || (t("sim_land_unit") + " " + c.id);
        return '<li data-kind="' + c.kind + '" data-id="' + F.esc(c.id) + '">' + F.esc(name) +
          (c.brownfield ? ' <span class="badge">' + F.esc(t("sim_brownfield")) + "</span>" : "") +
          " · " + ha(c.area_ha) + " · " + F.esc(F.fill("sim_cost_per_ha", { cost: cost })) +
          ' <button type="button" class="sim-add" data-i="' + i + '">' + F.esc(t("sim_add")) + "</button></li>";
      }).join("") : '<li class="empty">' + F.esc(t("sim_no_candidate")) + "</li>";
      // Projects from the URL carry no name: the candidate's, when it is one.
      var named = false;
      projects.forEach(function (p) {
        var c = !p.label && rows.filter(function (r) {
          return (p.site_id && r.project.site_id === p.site_id) || (p.land_unit_id && r.project.land_unit_id === p.land_unit_id);
        })[0];
        if (c) { p.label = c.name || (t("sim_land_unit") + " " + c.id); named = true; }
      });
      if (named) { listProjects(); if (answer) table(answer); }
      el("sim-candidates").onclick = function (ev) {
        var b = ev.target.closest("button.sim-add");
        if (!b) return;
        var c = rows[Number(b.getAttribute("data-i"))];
        add(c.project, c.name || (t("sim_land_unit") + " " + c.id));
      };
    }).catch(function (e) { el("sim-error").textContent = F.errorText(e); });
  }

  /* --- the map: a click on a site's marker adds the site, elsewhere the land unit under it --- */
  function picking() { return el("sim-pick").getAttribute("aria-pressed") === "true"; }
  function pointBox(latlng) {
    var m = F.map, q = m.latLngToContainerPoint(latlng);
    var a = m.containerPointToLatLng([q.x - 1, q.y + 1]), b = m.containerPointToLatLng([q.x + 1, q.y - 1]);
    return [a.lng, a.lat, b.lng, b.lat].map(function (v) { return v.toFixed(7); }).join(",");
  }
  function unitAt(latlng) {
    var url = "/collections/land-units/items?f=json&limit=10&bbox=" + pointBox(latlng);
    return request("GET", url).then(function (fc) {
      var hit = (fc.features || []).filter(function (f) { return F.contains(f.geometry, latlng.lng, latlng.lat); })[0];
      if (!hit) { status(t("sim_nothing_here")); return; }
      var id = Number(hit.id != null ? hit.id : hit.properties.id);
      add({ land_unit_id: id }, t("sim_land_unit") + " " + id);
    }).catch(function (e) { status(F.errorText(e)); });
  }
  function mapPicking() {
    var map = F.map;
    if (!map) return;
    // A site's marker: added instead of its facts popup while picking (foncier.js asks F.pick).
    F.pick = function (f, o) {
      if (!picking() || o.collection !== "sites") return false;
      var props = f.properties || {}, id = f.id != null ? f.id : props.id;
      if (id == null) return false;
      add({ site_id: String(id) }, props.nom || String(id));
      return true;
    };
    map.on("click", function (e) { if (picking()) unitAt(e.latlng); });
    el("sim-pick").onclick = function () {
      el("sim-pick").setAttribute("aria-pressed", picking() ? "false" : "true");
    };
  }

  /* --- save (editor key), share (#scenario=LINK), open a shared link --- */
  function shareLink(linkId) {
    return location.origin + location.pathname + location.search + "#scenario=" + encodeURIComponent(linkId);
  }
  function showSaved(s) {
    saved = s;
    el("sim-name").value = s.name;
    var link = shareLink(s.link_id);
    el("sim-link").href = link;
    el("sim-link").textContent = link;
    el("sim-share").hidden = false;
    history.replaceState(null, "", "#scenario=" + encodeURIComponent(s.link_id));
    status(F.fill("sim_saved", { name: s.name, date: new Date(s.created_at).toLocaleString(C.lang) }));
  }
  function save(ev) {
    ev.preventDefault();
    if (!projects.length) { status(t("sim_empty_save")); return; }
    var key = el("sim-key").value.trim();
    try { sessionStorage.setItem(KEY_STORE, key); } catch (e) { /* storage refused: keep it in the field */ }
    var body = { name: el("sim-name").value.trim(), projects: projects.map(function (p) { return Object.assign({}, p); }) };
    request("POST", base + "/scenarios", body, key).then(function (s) {
      el("sim-error").textContent = "";
      showSaved(s);
      draw(s.answer);
      document.body.setAttribute("data-saved", s.link_id);
    }).catch(function (e) {
      el("sim-error").textContent = e.status === 401 ? t("sim_key_unknown") : e.status === 403 ? t("sim_key_scope")
        : e.status === 400 ? F.fill("sim_refused", { detail: e.detail || "" }) : F.errorText(e);
    });
  }
  function openSaved(linkId) {
    request("GET", base + "/scenarios/" + encodeURIComponent(linkId) + "?recompute=true").then(function (s) {
      projects = (s.body.projects || []).map(function (p) { return Object.assign({}, p); });
      listProjects();
      showSaved(s);
      draw(s.answer);
      if (s.changed && s.current) status(F.fill("sim_changed", { ha: ha(s.current.summary.margin_2030_ha) }));
      document.body.setAttribute("data-sim", String(projects.length));
    }).catch(function (e) {
      el("sim-error").textContent = e.status === 404 || e.status === 400 ? t("sim_scenario_missing") : F.errorText(e);
      run();
    });
  }
  function fromHash() {
    var m = /[#&]sim=([^&]*)/.exec(location.hash);
    if (!m) return;
    decodeURIComponent(m[1]).split(",").forEach(function (x) {
      var r = /^([su]):(.+)@(\d{4})$/.exec(x);
      if (!r) return;
      var p = r[1] === "s" ? { site_id: r[2] } : { land_unit_id: Number(r[2]) };
      p.start_year = Number(r[3]);
      projects.push(p);
    });
  }

  if (!el("sim-chart")) return;
  el("sim-projects").onclick = function (ev) {
    var b = ev.target.closest("button.sim-remove");
    if (!b) return;
    projects.splice(Number(b.getAttribute("data-index")), 1);
    edited();
    status("");
    run();
  };
  el("sim-save").addEventListener("submit", save);
  el("sim-print").onclick = function () { window.print(); };
  try { el("sim-key").value = sessionStorage.getItem(KEY_STORE) || ""; } catch (e) { /* no storage */ }
  // Chart.js redraws the canvas at the paper's width before printing.
  window.addEventListener("beforeprint", function () { if (chart) chart.resize(); });
  mapPicking();
  var link = /[#&]scenario=([A-Za-z0-9_-]+)/.exec(location.hash);
  if (!link) fromHash();
  candidates();
  // A territory without a ZAN account (no ENAF flows loaded) has nothing to simulate: say so
  // rather than POST a request the API can only answer 404.
  fetch(base, { headers: { Accept: "application/json" } })
    .then(function (r) { return r.ok ? r.json() : {}; })
    .then(function (d) {
      if (!d.zan) { el("sim-error").textContent = t("sim_no_account"); return; }
      if (link) openSaved(link[1]); else run();
    })
    .catch(function () { run(); });
})();
