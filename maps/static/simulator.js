/* The dashboard's ZAN simulator: pick sites or land units from the ranked candidates
 * (/territories/{kind}/{code}/candidates), the chart and the margin follow the answer of
 * POST /territories/{kind}/{code}/simulate (observed bars, scenario bars, envelope lines, the
 * year the envelope runs out). The scenario lives in the URL (#sim=...), so it can be shared. */
(function () {
  "use strict";
  var F = window.Foncier, t = F.t, C = F.config;
  var base = "/territories/" + encodeURIComponent(C.kind) + "/" + encodeURIComponent(C.code);
  var projects = [], chart = null, pending = null;
  var ENVELOPE_COLORS = { law: "#1a9850", territorialised: "#d73027", commune_guarantees: "#4575b4" };
  function el(id) { return document.getElementById(id); }
  function ha(v) { return F.num(v, 1) + " ha"; }

  function postJSON(url, body) {
    return fetch(url, { method: "POST", headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify(body) }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (b) {
        if (r.ok) return b;
        var e = new Error(url + ": HTTP " + r.status);
        e.status = r.status; e.detail = b && b.detail;
        throw e;
      });
    });
  }
  function draw(ans) {
    var years = ans.years.filter(function (y) { return y.year <= 2030; });
    var labels = years.map(function (y) { return String(y.year); });
    var datasets = [
      { type: "bar", label: t("sim_observed"), data: years.map(function (y) { return y.observed_ha; }), backgroundColor: "#e08214", stack: "s" },
      { type: "bar", label: t("sim_projects"), data: years.map(function (y) { return y.projects_ha + y.background_ha; }), backgroundColor: "#542788", stack: "s" },
      { type: "bar", label: t("sim_unknown"), data: years.map(function (y) { return y.projects_worst_ha - y.projects_ha; }), backgroundColor: "#b2abd2", stack: "s" },
      { type: "line", label: t("sim_cumulative"), data: years.map(function (y) { return y.cumulative_ha; }), borderColor: "#000", pointRadius: 2 },
    ];
    ans.envelopes.filter(function (e) { return e.period === "2021-2030"; }).forEach(function (e) {
      datasets.push({ type: "line", label: t("sim_envelope_" + e.name), data: labels.map(function () { return e.envelope_ha; }),
        borderColor: ENVELOPE_COLORS[e.name] || "#1a9850", borderDash: e.name === ans.main_envelope ? [] : [6, 4], pointRadius: 0 });
    });
    var s = ans.summary;
    if (s.exhaustion_year) {
      datasets.push({ type: "line", label: F.fill("sim_exhaustion_marker", { year: s.exhaustion_year }), showLine: false, pointRadius: 7,
        pointStyle: "crossRot", borderColor: "#d73027", data: years.map(function (y) { return y.year === s.exhaustion_year ? y.cumulative_ha : null; }) });
    }
    if (chart) chart.destroy();
    chart = new Chart(el("sim-chart"), { data: { labels: labels, datasets: datasets },
      options: { animation: false, responsive: true, scales: { x: { stacked: true }, y: { stacked: false, beginAtZero: true,
        title: { display: true, text: t("hectares") } } } } });
    var margin = el("sim-margin");
    margin.setAttribute("data-margin", String(s.margin_2030_ha));
    margin.className = s.margin_2030_ha < 0 ? "sim-margin negative" : "sim-margin";
    margin.textContent = F.fill("sim_margin", { ha: ha(s.margin_2030_ha), worst: ha(s.margin_2030_worst_ha), envelope: ha(s.envelope_ha) });
    el("sim-exhaustion").textContent = s.exhaustion_year
      ? F.fill("sim_exhausted", { year: s.exhaustion_year, worst: s.exhaustion_year_worst || s.exhaustion_year })
      : s.exhaustion_year_worst ? F.fill("sim_exhausted_if_unknown", { year: s.exhaustion_year_worst }) : t("sim_not_exhausted");
    el("sim-pene").textContent = s.pene_ha || s.pene_worst_ha ? F.fill("sim_pene", { ha: ha(s.pene_ha) }) : "";
    el("sim-assumption").textContent = ans.assumptions[1] || "";
  }
  function listProjects() {
    el("sim-projects").innerHTML = projects.length ? projects.map(function (p, i) {
      return '<li data-index="' + i + '">' + F.esc(p.label || p.site_id || p.land_unit_id) + " · " + F.esc(t("sim_from")) + " " + p.start_year +
        ' <button type="button" class="sim-remove" data-index="' + i + '">' + F.esc(t("sim_remove")) + "</button></li>";
    }).join("") : '<li class="empty">' + F.esc(t("sim_no_project")) + "</li>";
  }
  function run() {
    listProjects();
    var hash = projects.map(function (p) { return (p.site_id ? "s:" + p.site_id : "u:" + p.land_unit_id) + "@" + p.start_year; }).join(",");
    history.replaceState(null, "", hash ? "#sim=" + encodeURIComponent(hash) : location.pathname + location.search);
    var body = { projects: projects.map(function (p) { var q = Object.assign({}, p); return q; }) };
    var mine = pending = postJSON(base + "/simulate", body).then(function (ans) {
      if (mine !== pending) return;
      el("sim-error").textContent = "";
      draw(ans);
      document.body.setAttribute("data-sim", String(projects.length));
    }).catch(function (e) {
      el("sim-error").textContent = e.status === 404 ? t("sim_no_account") : F.errorText(e);
      document.body.setAttribute("data-sim", "error");
    });
  }
  function candidates() {
    F.getJSON(base + "/candidates?limit=30").then(function (d) {
      var rows = d.candidates || [];
      el("sim-candidates").innerHTML = rows.length ? rows.map(function (c, i) {
        var cost = c.cost_per_ha != null ? F.num(c.cost_per_ha, 2) : "0–" + F.num(c.cost_max_per_ha, 2);
        var name = c.name || (t("sim_land_unit") + " " + c.id);
        return '<li data-kind="' + c.kind + '" data-id="' + F.esc(c.id) + '">' + F.esc(name) +
          (c.brownfield ? ' <span class="badge">' + F.esc(t("sim_brownfield")) + "</span>" : "") +
          " · " + ha(c.area_ha) + " · " + F.esc(F.fill("sim_cost_per_ha", { cost: cost })) +
          ' <button type="button" class="sim-add" data-i="' + i + '">' + F.esc(t("sim_add")) + "</button></li>";
      }).join("") : '<li class="empty">' + F.esc(t("sim_no_candidate")) + "</li>";
      el("sim-candidates").onclick = function (ev) {
        var b = ev.target.closest("button.sim-add");
        if (!b) return;
        var c = rows[Number(b.getAttribute("data-i"))];
        projects.push(Object.assign({ start_year: Number(el("sim-year").value) || 2026, label: c.name || (t("sim_land_unit") + " " + c.id) }, c.project));
        run();
      };
    }).catch(function (e) { el("sim-error").textContent = F.errorText(e); });
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
    run();
  };
  fromHash();
  candidates();
  // A territory without a ZAN account (no ENAF flows loaded) has nothing to simulate: say so
  // rather than POST a request the API can only answer 404.
  fetch(base, { headers: { Accept: "application/json" } })
    .then(function (r) { return r.ok ? r.json() : {}; })
    .then(function (d) {
      if (d.zan) { run(); return; }
      el("sim-error").textContent = t("sim_no_account");
    })
    .catch(function () { run(); });
})();
