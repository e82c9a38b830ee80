/* Territory dashboard: the ZAN trajectory (yearly ENAF consumption 2009-latest, the 2021-2030
 * envelope and the projection), available hectares by score band and the sites, from
 * /territories/{kind}/{code}. */
(function () {
  "use strict";
  var F = window.Foncier, map = F.map, t = F.t, C = F.config;
  var OUTLINES = { epci: "epci", "territoire-2023": "territoires-2023", "territoire-2018": "territoires-2018" };

  // Yearly series as [[year, ha], ...] whether the API sends {"2009": ha} or [{year, ha}].
  function series(v) {
    if (!v) return [];
    if (Array.isArray(v)) return v.map(function (r) {
      return [Number(r.year), Number(r.consumed_ha != null ? r.consumed_ha : r.ha != null ? r.ha : r.value)];
    });
    return Object.keys(v).map(function (y) {
      var x = v[y];
      return [Number(y), Number(typeof x === "object" && x ? (x.consumed_ha != null ? x.consumed_ha : x.ha) : x)];
    });
  }
  function zanChart(d) {
    var zan = d.zan || {};
    var yearly = series(zan.years || zan.yearly || zan.series).sort(function (a, b) { return a[0] - b[0]; });
    var last = yearly.length ? yearly[yearly.length - 1][0] : 2021;
    var labels = [];
    for (var y = 2009; y <= Math.max(2030, last); y++) labels.push(String(y));
    var byYear = {};
    yearly.forEach(function (r) { byYear[r[0]] = r[1]; });
    var cum = 0, cumulative = [], projection = [];
    var recent = yearly.filter(function (r) { return r[0] >= 2021; });
    var pace = recent.length ? recent.reduce(function (s, r) { return s + r[1]; }, 0) / recent.length : 0;
    labels.forEach(function (l) {
      var y = Number(l);
      if (y < 2021) { cumulative.push(null); projection.push(null); return; }
      if (byYear[y] != null) { cum += byYear[y]; cumulative.push(cum); projection.push(y === last ? cum : null); }
      else { cumulative.push(null); cum += pace; projection.push(y <= 2030 ? cum : null); }
    });
    // The API's own projection (cumulative 2021-2030) wins over our straight line from the pace.
    if (zan.projection_2031_ha != null && last < 2030) {
      var start = cumulative[labels.indexOf(String(last))] || 0;
      labels.forEach(function (l, i) {
        var y = Number(l);
        if (y > last && y <= 2030) projection[i] = start + ((zan.projection_2031_ha - start) * (y - last)) / (2030 - last);
      });
    }
    var envelope = zan.envelope_ha;
    new Chart(document.getElementById("zan-chart"), {
      data: {
        labels: labels,
        datasets: [
          { type: "bar", label: t("consumption"), data: labels.map(function (l) { return byYear[l] != null ? byYear[l] : null; }), backgroundColor: "#e08214" },
          { type: "line", label: t("cumulative"), data: cumulative, borderColor: "#542788", spanGaps: false },
          { type: "line", label: t("projection"), data: projection, borderColor: "#542788", borderDash: [6, 4], spanGaps: true },
          { type: "line", label: t("envelope"), data: labels.map(function (l) { return Number(l) >= 2021 && Number(l) <= 2030 && envelope != null ? envelope : null; }),
            borderColor: "#1a9850", pointRadius: 0 },
        ],
      },
      options: { animation: false, responsive: true, scales: { y: { beginAtZero: true, title: { display: true, text: t("hectares") } } } },
    });
    var fig = document.getElementById("zan-figures");
    fig.innerHTML = ["reference_ha", "envelope_ha", "envelope_with_commune_guarantees_ha", "consumed_ha", "remaining_ha"]
      .filter(function (k) { return zan[k] != null; })
      .map(function (k) {
        var note = k === "envelope_ha" && zan.guaranteed ? " <small>(" + t("guaranteed_note") + ")</small>" : "";
        return "<div><dt>" + t(k) + "</dt><dd>" + F.num(zan[k], 1) + note + "</dd></div>";
      }).join("");
    coverage(zan.coverage);
  }
  function fill(key, values) {
    return t(key).replace(/\{(\w+)\}/g, function (_, k) { return values[k]; });
  }
  // A sum over some of the territory's communes is said to be one, with its sources.
  function coverage(c) {
    if (!c) return;
    var key = c.communes_with_flows < c.communes ? "partial_data" : "complete_data";
    var sources = (c.sources || []).map(function (s) { return F.esc(s.name) + (s.vintage ? " (" + F.esc(s.vintage) + ")" : ""); });
    var el = document.getElementById("zan-coverage");
    el.setAttribute("data-partial", key === "partial_data" ? "1" : "0");
    el.innerHTML = F.esc(fill(key, { n: F.num(c.communes_with_flows, 0), total: F.num(c.communes, 0) })) +
      (sources.length ? ". " + t("data_sources") + " : " + sources.join(", ") : "");
  }
  function landFigures(d) {
    var a = d.available_ha || {};
    var q = (a.to_qualify || {}).total || 0;
    document.getElementById("land-figures").innerHTML = F.esc(fill("available_total", { ha: F.num(a.total || 0, 1) })) +
      "<br>" + F.esc(fill("to_qualify", { ha: F.num(q, 1) }));
  }
  function bandChart(d) {
    // available_ha.by_zoning_and_score: {zone_class: {band: ha}} -> hectares per band.
    var byZone = (d.available_ha && d.available_ha.by_zoning_and_score) || {};
    var perBand = {};
    C.bands.forEach(function (x) { perBand[x.label] = 0; });
    Object.keys(byZone).forEach(function (z) {
      Object.keys(byZone[z]).forEach(function (band) { perBand[band] = (perBand[band] || 0) + Number(byZone[z][band]); });
    });
    var rows = Object.keys(perBand).sort().reverse().map(function (k) { return [k, perBand[k]]; });
    if (!rows.some(function (r) { return r[1] > 0; })) { emptyCard("band-chart", "no_band_data"); return; }
    var colors = {};
    C.bands.forEach(function (x) { colors[x.label] = x.color; });
    new Chart(document.getElementById("band-chart"), {
      type: "bar",
      data: { labels: rows.map(function (r) { return r[0]; }),
        datasets: [{ label: t("hectares"), data: rows.map(function (r) { return r[1]; }),
          backgroundColor: rows.map(function (r) { return colors[r[0]] || "#9e9e9e"; }) }] },
      options: { animation: false, plugins: { legend: { display: false } } },
    });
  }
  function sites(d) {
    var s = d.sites || [];
    if (s.features) s = s.features;
    document.getElementById("territory-sites").innerHTML = s.length ? s.map(function (r) {
      var p = r.properties || r, id = r.id != null ? r.id : p.id;
      return '<li><a href="/sites/' + encodeURIComponent(id) + "?lang=" + C.lang + '">' + F.esc(p.nom || id) + "</a> " +
        F.scoreHtml(p) + F.approxBadge(p) + "</li>";
    }).join("") : '<li class="empty">' + F.esc(t("no_sites")) + "</li>";
  }
  // A chart with nothing to draw is replaced by a sentence saying why.
  function emptyCard(canvasId, key) {
    var canvas = document.getElementById(canvasId);
    var p = document.createElement("p");
    p.className = "empty";
    p.id = canvasId + "-empty";
    p.textContent = t(key);
    canvas.replaceWith(p);
  }
  var url = "/territories/" + encodeURIComponent(C.kind) + "/" + encodeURIComponent(C.code);
  F.getJSON(url).then(function (d) {
    if (d.nom || d.name) document.getElementById("territory-name").textContent = t("dashboard") + " · " + (d.nom || d.name);
    if (d.zan) zanChart(d); else emptyCard("zan-chart", "no_zan");
    bandChart(d);
    landFigures(d);
    sites(d);
    document.body.setAttribute("data-loaded", "1");
  }).catch(function (e) {
    document.getElementById("zan-figures").innerHTML = '<p class="error">' + F.esc(F.errorText(e)) + "</p>";
  });
  var outline = OUTLINES[C.kind];
  if (outline) F.getJSON("/collections/" + outline + "/items/" + encodeURIComponent(C.code) + "?f=json").then(function (f) {
    var l = L.geoJSON(f, { interactive: false, style: { color: "#000", weight: 3, fill: false } }).addTo(map);
    map.fitBounds(l.getBounds());
  }).catch(function (e) { console.warn(e.message); });
})();
