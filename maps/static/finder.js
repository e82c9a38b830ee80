/* Site finder: the investor search (/search) over sites or land units (a toggle) as a ranked
 * list beside the map, and a compare view of sites (/sites/compare). The filters and the kind
 * live in the URL hash so a search can be shared. */
(function () {
  "use strict";
  var F = window.Foncier, map = F.map, t = F.t;
  var SEARCH_URL = "/search";
  var COMPARE_URL = "/sites/compare";
  var form = document.getElementById("filters");
  var list = document.getElementById("results");
  var count = document.getElementById("result-count");
  var compareBtn = document.getElementById("compare-btn");
  var compareBox = document.getElementById("compare");
  var compareHint = document.getElementById("compare-hint");
  var formError = document.getElementById("filters-error");
  var markers = L.featureGroup().addTo(map);
  // Form field -> the API's /search parameter.
  var FIELDS = { surface_min: "surface_min_ha", surface_max: "surface_max_ha", min_score: "min_score",
    zan_cost_max: "max_zan_cost_ha", max_permit: "max_time_to_permit_months" };
  var FLAGS = { turnkey: "turnkey_only", brownfield: "brownfield_only", no_hard_constraint: "no_hard_constraint",
    confirmed_only: "confirmed_only" };
  // Site-only filters (land units have no checklist and confirm nothing).
  var SITE_ONLY = ["turnkey", "brownfield", "confirmed_only", "min_readiness"];

  // The territory box takes any code: its length says which filter it is.
  function territoryParam(code) {
    if (/^\d{9}$/.test(code)) return "epci";
    if (/^(\d{2}|2[AB]|97\d)$/.test(code)) return "departement";
    return "territoire";
  }
  function kind() { return form.elements.kind.value === "land-units" ? "land-units" : "sites"; }
  // Land units are neither turnkey nor brownfields: those filters only apply to sites.
  function syncKind() {
    var units = kind() === "land-units";
    SITE_ONLY.forEach(function (k) { form.elements[k].disabled = units; });
    compareHint.hidden = units;
    compareBox.hidden = true;
  }
  function params() {
    var p = new URLSearchParams();
    if (kind() === "land-units") p.set("kind", "land-units");
    Object.keys(FIELDS).forEach(function (k) {
      var v = form.elements[k].value.trim().replace(",", ".");
      if (v !== "") p.set(FIELDS[k], v);
    });
    var code = form.elements.territory.value.trim();
    if (code) p.set(territoryParam(code), code);
    var level = form.elements.min_readiness;
    if (level.value !== "" && !level.disabled) p.set("min_readiness", level.value);
    Object.keys(FLAGS).forEach(function (k) {
      if (form.elements[k].checked && !form.elements[k].disabled) p.set(FLAGS[k], "true");
    });
    return p;
  }
  function fillForm(p) {
    Object.keys(FIELDS).forEach(function (k) { if (p.has(FIELDS[k])) form.elements[k].value = p.get(FIELDS[k]); });
    ["epci", "departement", "territoire"].forEach(function (k) { if (p.has(k)) form.elements.territory.value = p.get(k); });
    form.elements.min_readiness.value = p.get("min_readiness") || "";
    Object.keys(FLAGS).forEach(function (k) { form.elements[k].checked = p.get(FLAGS[k]) === "true"; });
    form.elements.kind.value = p.get("kind") === "land-units" ? "land-units" : "sites";
    syncKind();
  }
  // A result is a GeoJSON feature or a plain object; keep one shape for the list.
  function normalize(data) {
    var rows = data.features || data.results || data.sites || data.items || [];
    return rows.map(function (r) {
      var p = Object.assign({}, r.properties || r);
      p.id = r.id != null ? r.id : p.id || p.site_id;
      delete p.geometry;
      return { props: p, geometry: r.geometry || null, explanation: r.explanation || p.explanation };
    });
  }
  function selected() {
    return Array.prototype.map.call(list.querySelectorAll("input[type=checkbox]:checked"), function (c) { return c.value; });
  }
  function why(r) {
    var p = r.props;
    if (!r.explanation) return "";
    return '<br><small class="why">' + F.esc(F.explainText(p.score, p.excluded, r.explanation.breakdown)) + "</small>";
  }
  function item(r) {
    var p = r.props;
    var li = document.createElement("li");
    li.className = "result";
    if (p.kind === "land-unit") {
      li.classList.add("land-unit");
      li.dataset.unitId = p.id;
      li.innerHTML = "<strong>" + F.esc(t("land_unit") + " " + p.id) + "</strong> " + F.scoreHtml(p) + "<br><small>" +
        F.esc(p.commune || p.insee || "") + " · " + F.esc(t("contiguous_ha")) + " : " + F.num(p.contiguous_ha, 2) +
        (p.zone_class ? " · " + F.esc(F.label(p.zone_class)) : "") + "</small>" + why(r);
      return li;
    }
    li.dataset.siteId = p.id;
    if (F.approximate(p)) li.classList.add("approximate");
    li.innerHTML = '<label><input type="checkbox" value="' + F.esc(p.id) + '"> <a href="/sites/' +
      encodeURIComponent(p.id) + "?lang=" + F.config.lang + '">' + F.esc(p.nom || p.id) + "</a></label> " +
      F.scoreHtml(p) + F.readinessHtml(p) + F.approxBadge(p) + F.staleBadge(p) + "<br><small>" +
      F.esc(p.commune || p.lib_com || "") + " · " + F.num(p.surface_ha) + " ha" +
      (p.cle_en_main ? " · " + t("cle_en_main") : "") + (p.friche ? " · " + t("friche") : "") +
      (p.time_to_permit_months != null ? " · " + F.esc(F.fill("permit_in", { n: F.num(p.time_to_permit_months, 0) })) : "") +
      "</small>" + why(r);
    if (p.a_confirmer === true) li.classList.add("stale");
    return li;
  }
  function marker(r, i, li) {
    var p = r.props, approx = F.approximate(p), stale = p.a_confirmer === true;
    // A site to be confirmed: a paler marker, and said so in its tooltip.
    var fill = stale ? "#9e9ac8" : "#0b5394";
    var m = L.geoJSON(r.geometry, {
      pointToLayer: function (f, ll) {
        return approx
          ? L.circleMarker(ll, { radius: 11, color: fill, weight: 2, dashArray: "3 3", fillOpacity: 0.15, className: "approx-marker" })
          : L.circleMarker(ll, { radius: 8, color: "#fff", weight: 1.5, fillColor: fill, fillOpacity: 0.9,
            className: stale ? "stale-marker" : "" });
      },
    }).bindTooltip((i + 1) + ". " + (p.nom || p.id) + (approx ? " (" + t("approx") + ")" : "") +
      (stale ? " (" + t("stale") + ")" : ""));
    m.on("click", function () {
      li.scrollIntoView({ block: "nearest" });
      if (approx) F.outlineCommune(map, p.insee);
    });
    return m;
  }
  function render(rows, make) {
    list.innerHTML = "";
    markers.clearLayers();
    count.textContent = "(" + rows.length + ")";
    if (!rows.length) list.innerHTML = '<li class="empty" id="finder-empty">' + F.esc(t("finder_empty")) + "</li>";
    rows.forEach(function (r, i) {
      var li = (make || item)(r);
      list.appendChild(li);
      if (r.geometry) markers.addLayer(marker(r, i, li));
    });
    if (markers.getLayers().length) map.fitBounds(markers.getBounds(), { maxZoom: 12, padding: [20, 20] });
    compareBtn.disabled = true;
  }
  // The filters checked here, in the page's language: the browser's own messages would be in
  // the browser's language, the API's in English.
  function invalid() {
    var v = function (k) { return form.elements[k].value.trim().replace(",", "."); };
    var bad = Object.keys(FIELDS).filter(function (k) { return v(k) !== "" && !(Number(v(k)) >= 0); })[0];
    if (bad) return F.fill("err_number", { field: form.elements[bad].parentNode.firstChild.textContent.trim() });
    if (v("min_score") !== "" && Number(v("min_score")) > 100) return t("err_score_range");
    if (v("max_permit") !== "" && Number(v("max_permit")) > 240) return t("err_permit_range");
    if (v("surface_min") !== "" && v("surface_max") !== "" && Number(v("surface_min")) > Number(v("surface_max"))) {
      return t("err_surface_range");
    }
    var code = form.elements.territory.value.trim();
    if (code && !/^([0-9]{9}|[0-9]{2}|2[AB]|97[0-9]|ti-[0-9]{1,6})$/i.test(code)) return t("err_territory_code");
    return null;
  }
  function run() {
    var problem = invalid();
    formError.hidden = !problem;
    formError.textContent = problem || "";
    if (problem) return Promise.resolve();
    var p = params();
    history.replaceState(null, "", location.pathname + location.search + "#" + p.toString());
    list.innerHTML = "<li>" + t("loading") + "</li>";
    p.set("kind", kind());
    p.set("limit", "50");
    return F.getJSON(SEARCH_URL + "?" + p.toString()).then(function (data) { render(normalize(data)); })
      .catch(function (e) {
        count.textContent = "";
        list.innerHTML = '<li class="error">' + F.esc(F.errorText(e)) + "</li>";
      });
  }
  function compare() {
    var ids = selected();
    compareBox.hidden = false;
    compareBox.innerHTML = t("loading");
    F.getJSON(COMPARE_URL + "?ids=" + ids.map(encodeURIComponent).join(",")).then(function (data) {
      var rows = normalize(data);
      var keys = ["score", "readiness_level", "time_to_permit_months", "rail_km", "port_km", "freshness",
        "surface_ha", "surface_dispo_ha", "contiguous_ha", "zan_cost_ha", "land_status",
        "maturite", "cle_en_main", "friche", "lib_com"];
      var special = {
        score: function (p) { return F.scoreHtml(p); },
        readiness_level: function (p) { return p.readiness_level == null ? "–" : F.esc(F.fill("readiness_level", { n: p.readiness_level })); },
        rail_km: function (p) { return F.num(p.rail_km, 1); },
        port_km: function (p) { return F.num(p.port_km, 1); },
        // Freshness: the confirmation date, or "à confirmer" when never confirmed or expired.
        freshness: function (p) {
          return p.a_confirmer !== false ? '<span class="stale">' + F.esc(t("stale")) + "</span>"
            : F.esc(F.fill("confirmed_short", { d: String(p.confirmed_at || "").slice(0, 10) }));
        },
      };
      var cell = function (p, k) {
        if (special[k]) return special[k](p);
        return typeof p[k] === "boolean" ? (p[k] ? "✓" : "–") : F.num(p[k]);
      };
      compareBox.innerHTML = '<button type="button" class="close">×</button><h2>' + t("compare") + "</h2><table><thead><tr><th></th>" +
        rows.map(function (r) { return "<th>" + F.esc(r.props.nom || r.props.id) + "</th>"; }).join("") + "</tr></thead><tbody>" +
        keys.map(function (k) {
          return "<tr><th>" + F.esc(t(k === "readiness_level" ? "readiness_label" : k)) + "</th>" + rows.map(function (r) { return "<td>" + cell(r.props, k) + "</td>"; }).join("") + "</tr>";
        }).join("") + "</tbody></table>";
      compareBox.querySelector(".close").addEventListener("click", function () { compareBox.hidden = true; });
    }).catch(function (e) { compareBox.innerHTML = '<p class="error">' + F.esc(F.errorText(e)) + "</p>"; });
  }

  /* --- the investor's project (POST /search/match): kept in the query string, so its link
   * reopens the form and the ranking --- */
  var project = document.getElementById("project");
  var projectError = document.getElementById("project-error");
  var MATCH_URL = "/search/match";
  // Project field -> the profile's number field.
  var PNUM = { min_ha: "min_contiguous_ha", mw: "electricity_mw", water: "water_m3_day",
    rail_km: "rail_max_km", port_km: "port_max_km", permit: "max_time_to_permit_months" };
  var PTEXT = ["activity", "icpe", "seveso", "regions"];
  var MAX_CODES = ["rail_km", "port_km", "time_to_permit_months"];
  function pval(k) { return project.elements[k].value.trim().replace(",", "."); }
  function profile() {
    var body = {}, bad = null;
    Object.keys(PNUM).forEach(function (k) {
      if (pval(k) === "") return;
      if (!(Number(pval(k)) >= 0)) bad = bad || F.fill("err_number", { field: project.elements[k].parentNode.firstChild.textContent.trim() });
      body[PNUM[k]] = Number(pval(k));
    });
    if (body.rail_max_km != null) body.rail_needed = true;
    if (body.port_max_km != null) body.port_needed = true;
    var regions = project.elements.regions.value.split(/[\s,;]+/).filter(Boolean);
    if (regions.some(function (r) { return !/^\d{2}$/.test(r); })) bad = bad || t("err_territory_code");
    if (regions.length) body.regions = regions;
    if (project.elements.seveso.value !== "none") body.seveso = project.elements.seveso.value;
    var asked = Object.keys(body).length > 0;
    if (project.elements.icpe.value !== "none") body.icpe_regime = project.elements.icpe.value;
    if (project.elements.activity.value.trim()) body.activity = project.elements.activity.value.trim();
    return { body: body, problem: bad || (asked ? null : t("p_empty")) };
  }
  function projectQuery() {
    var q = new URLSearchParams(location.search);
    Object.keys(PNUM).concat(PTEXT).forEach(function (k) {
      var v = project.elements[k].value.trim();
      if (v !== "" && v !== "none") q.set(k, v); else q.delete(k);
    });
    return q;
  }
  function fillProject(q) {
    var any = false;
    Object.keys(PNUM).concat(PTEXT).forEach(function (k) {
      if (q.has(k)) { project.elements[k].value = q.get(k); any = true; }
    });
    return any;
  }
  function crit(c) {
    var label = t("c:" + c.code), u = t("u:" + c.code);
    if (c.code === "region") {
      return F.fill(c.state === "unknown" ? "m_region_unknown" : "m_region", { w: c.wanted.join(", "), o: c.offered });
    }
    if (c.code === "technological_risk" || c.code === "residential_zone") {
      if (c.state === "unknown") return F.fill("m_seveso_unknown", { what: label });
      return F.fill("m_seveso", { what: label, state: t(c.state === "met" ? "seveso_out" : "seveso_in") });
    }
    var v = { label: label, w: F.num(c.wanted), u: u, o: F.num(c.offered) };
    if (c.state === "unknown") return F.fill("m_unknown", v);
    return F.fill(MAX_CODES.indexOf(c.code) >= 0 ? "m_max" : "m_min", v);
  }
  function critList(cls, title, items) {
    if (!items.length) return "";
    return '<div class="' + cls + '"><small><strong>' + F.esc(t(title)) + "</strong></small><ul>" +
      items.map(function (c) { return "<li>" + F.esc(crit(c)) + "</li>"; }).join("") + "</ul></div>";
  }
  function matchItem(r) {
    var p = r.props, li = document.createElement("li");
    li.className = "result match";
    li.dataset.siteId = p.id;
    if (p.a_confirmer === true) li.classList.add("stale");
    li.innerHTML = '<label><input type="checkbox" value="' + F.esc(p.id) + '"> <a href="/sites/' +
      encodeURIComponent(p.id) + "?lang=" + F.config.lang + '">' + F.esc(p.nom || p.id) + "</a></label> " +
      '<span class="fit">' + F.esc(F.fill("fit", { n: F.num(p.fit, 0) })) + "</span>" + F.staleBadge(p) +
      "<br><small>" + F.esc(p.commune || p.insee || "") + "</small>" +
      critList("misses", "misses", p.misses) + critList("unknowns", "unknowns", p.unknown) +
      critList("meets", "meets", p.meets);
    return li;
  }
  function runMatch() {
    var pr = profile();
    projectError.hidden = !pr.problem;
    projectError.textContent = pr.problem || "";
    if (pr.problem) return Promise.resolve();
    var q = projectQuery();
    history.replaceState(null, "", location.pathname + "?" + q.toString() + location.hash);
    list.innerHTML = "<li>" + t("loading") + "</li>";
    return fetch(MATCH_URL + "?limit=100", { method: "POST", body: JSON.stringify(pr.body),
      headers: { "Content-Type": "application/json", Accept: "application/json" } })
      .then(function (r) {
        if (r.ok) return r.json();
        var e = new Error(MATCH_URL + ": HTTP " + r.status);
        e.status = r.status;
        throw e;
      })
      .then(function (data) {
        var rows = data.results.map(function (x) { return { props: x, geometry: x.geometry }; });
        render(rows, matchItem);
      })
      .catch(function (e) {
        count.textContent = "";
        list.innerHTML = '<li class="error">' + F.esc(F.errorText(e)) + "</li>";
      });
  }
  project.addEventListener("submit", function (ev) { ev.preventDefault(); runMatch(); });

  form.addEventListener("submit", function (ev) { ev.preventDefault(); run(); });
  list.addEventListener("change", function () {
    var n = selected().length;
    compareBtn.disabled = n < 2 || n > 5;
  });
  compareBtn.addEventListener("click", compare);
  form.addEventListener("change", function (ev) {
    if (ev.target.name === "kind") { syncKind(); run(); }
  });
  fillForm(new URLSearchParams(location.hash.replace(/^#/, "")));
  // A shared project link reopens its ranking; otherwise the filters' search.
  if (fillProject(new URLSearchParams(location.search))) runMatch(); else run();
})();
