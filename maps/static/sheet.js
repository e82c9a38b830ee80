/* Site sheet: the site's facts, readiness checklist (level, time to permit, evidence, freshness),
 * score explanation, parcels (map and list with surfaces) and data vintages, read from the API
 * (/collections/sites/items/{id}, /sites/{id}/checklist and /sites/{id}/parcels). */
(function () {
  "use strict";
  var F = window.Foncier, map = F.map, t = F.t;
  var id = F.config.site_id;
  var facts = document.getElementById("site-facts");
  var EXCLUDED = "#555555", NODATA = "#bdbdbd";
  function dl(el, obj) {
    el.innerHTML = Object.keys(obj).map(function (k) {
      return "<dt>" + F.esc(t(k)) + "</dt><dd>" + F.esc(typeof obj[k] === "object" ? JSON.stringify(obj[k]) : obj[k]) + "</dd>";
    }).join("");
  }
  function parcelColor(p) {
    if (p.excluded === true) return EXCLUDED;
    return p.score == null ? NODATA : F.bandColor(Number(p.score), F.config.bands);
  }
  function parcelTable(fc) {
    var withInside = fc.inside_ha != null;
    var head = "<tr><th>" + t("parcel") + "</th><th>" + t("surface_ha") + "</th>" +
      (withInside ? "<th>" + t("inside_ha") + "</th>" : "") + "<th>" + t("score") + "</th></tr>";
    var rows = fc.features.map(function (f) {
      var p = f.properties;
      return '<tr data-idu="' + F.esc(p.idu) + '"><td>' + F.esc(p.idu) + "</td><td>" + F.num(p.surface_ha, 2) + "</td>" +
        (withInside ? "<td>" + F.num(p.inside_ha, 2) + "</td>" : "") + "<td>" + F.scoreHtml(p) + "</td></tr>";
    }).join("");
    var total = '<tr class="total"><th>' + t("total") + " (" + fc.features.length + ")</th><th>" +
      F.num(fc.surface_ha, 2) + "</th>" + (withInside ? "<th>" + F.num(fc.inside_ha, 2) + "</th>" : "") + "<th></th></tr>";
    return '<table class="site-parcels"><thead>' + head + "</thead><tbody>" + rows + "</tbody><tfoot>" + total + "</tfoot></table>";
  }
  // The readiness checklist (/sites/{id}/checklist): level, time to permit, freshness, items.
  function dateText(v) { return v ? new Date(v).toLocaleDateString(F.config.lang) : "–"; }
  function freshnessHtml(fr) {
    if (fr.withdrawn_at) return '<p id="site-freshness" class="stale">' + F.esc(F.fill("withdrawn_on", { d: dateText(fr.withdrawn_at) })) + "</p>";
    if (fr.a_confirmer) {
      return '<p id="site-freshness" class="stale">' + F.staleBadge({ a_confirmer: true }) + " " + F.esc(
        fr.confirmed_at ? F.fill("expired_on", { d: dateText(fr.valid_until) }) : t("never_confirmed")) + "</p>";
    }
    return '<p id="site-freshness">' + F.esc(F.fill("confirmed_on", { d: dateText(fr.confirmed_at), until: dateText(fr.valid_until) })) + "</p>";
  }
  function itemRow(i) {
    var origin = i.origin === "computed" ? t("origin_computed") : i.origin === "missing" ? t("origin_missing") :
      i.origin === "not_computed" ? t("origin_not_computed") :
      i.origin === "override" ? F.fill("origin_override", { reason: i.reason || "" }) : "";
    var value = [i.value_label || i.value, i.quantity != null ? F.num(i.quantity) + " " + (i.unit || "") : ""]
      .filter(function (v) { return v; }).join(" · ");
    var ev = i.evidence || {};
    var links = [ev.href ? '<a class="evidence" href="' + F.esc(ev.href) + '" target="_blank" rel="noopener">' + F.esc(t("evidence_pdf")) + "</a>" : "",
      ev.url ? '<a class="evidence" href="' + F.esc(ev.url) + '" target="_blank" rel="noopener noreferrer">' + F.esc(t("evidence_link")) + "</a>" : ""]
      .filter(function (v) { return v; }).join(" ");
    return '<tr data-item="' + F.esc(i.item) + '"><td>' + F.esc(i.label) + '</td><td class="st-' + F.esc(i.status) + '">' +
      F.esc(t("st:" + i.status)) + '<span class="origin">' + F.esc(origin) + "</span></td><td>" + F.esc(value || "–") +
      "</td><td>" + (i.remaining_months ? F.esc(F.fill("months", { n: F.num(i.remaining_months, 0) })) : "–") + "</td><td>" +
      F.esc(i.date ? dateText(i.date) : "–") + "</td><td>" + F.esc(i.source || "–") + "</td><td>" + (links || "–") + "</td></tr>";
  }
  function renderChecklist(c) {
    var r = c.readiness;
    document.getElementById("site-readiness").innerHTML = "<p><strong>" + F.esc(F.fill("readiness_level", { n: r.level })) +
      " : " + F.esc(r.label) + '</strong> · <span id="time-to-permit">' +
      F.esc(F.fill("time_to_permit", { n: F.num(r.time_to_permit_months, 0) })) + '</span></p><p class="explanation">' +
      F.esc(r.explanation) + "</p>" + freshnessHtml(c.freshness);
    var head = ["checklist_item", "checklist_status", "value", "remaining", "checklist_date", "source", "evidence"]
      .map(function (k) { return "<th>" + F.esc(t(k)) + "</th>"; }).join("");
    document.getElementById("site-checklist").innerHTML = '<table class="checklist"><thead><tr>' + head + "</tr></thead><tbody>" +
      c.items.map(itemRow).join("") + "</tbody></table>";
    if (c.freshness.a_confirmer || c.freshness.withdrawn_at) {
      document.getElementById("site-badges").insertAdjacentHTML("beforeend",
        F.staleBadge({ a_confirmer: c.freshness.a_confirmer, withdrawn: !!c.freshness.withdrawn_at }));
    }
    document.body.setAttribute("data-checklist", "1");
  }
  var checklist = F.getJSON("/sites/" + encodeURIComponent(id) + "/checklist");
  var site = F.getJSON("/collections/sites/items/" + encodeURIComponent(id) + "?f=json");
  Promise.all([checklist, site]).then(function (r) { renderChecklist(r[0]); }).catch(function (e) {
    document.getElementById("site-checklist").innerHTML = '<p class="error">' + F.esc(F.errorText(e)) + "</p>";
  });
  var parcels = F.getJSON("/sites/" + encodeURIComponent(id) + "/parcels").catch(function (e) {
    // A site with no parcel: an empty list, said as such below.
    console.warn(e.message);
    return { features: [] };
  });
  Promise.all([site, parcels]).then(function (r) {
    var f = r[0], fc = r[1];
    var p = f.properties || {};
    var name = document.getElementById("site-name");
    name.textContent = p.nom || id;
    if (F.approximate(p)) {
      name.insertAdjacentHTML("beforeend", F.approxBadge(p));
      name.insertAdjacentHTML("afterend", '<p class="approx-note">' + F.esc(t("approx_hint")) + "</p>");
    }
    document.title = (p.nom || id) + " · foncier";
    facts.outerHTML = F.factsHtml(p);
    var empty = function (key) { return '<p class="empty">' + F.esc(t(key)) + "</p>"; };
    document.getElementById("site-breakdown").innerHTML = F.breakdownHtml(p.breakdown) || empty("no_breakdown");
    document.getElementById("site-parcels").innerHTML = fc.features.length ? parcelTable(fc) : empty("no_parcels");
    var vintages = p.vintages && typeof p.vintages === "object" ? p.vintages : {};
    if (p.vintage) vintages.site = p.vintage;
    var vl = document.getElementById("site-vintages");
    if (Object.keys(vintages).length) dl(vl, vintages); else vl.outerHTML = empty("no_vintages");
    var bounds = L.latLngBounds([]);
    if (fc.features.length) {
      var drawn = L.geoJSON(fc, {
        interactive: false,
        className: "site-parcel",
        style: function (g) { return { color: "#333333", weight: 1, fillColor: parcelColor(g.properties), fillOpacity: 0.6 }; },
      }).addTo(map);
      bounds.extend(drawn.getBounds());
    }
    var shape = L.geoJSON(p.perimeter || f, {
      interactive: false,
      style: { color: "#0b5394", weight: 3, fillOpacity: 0.1 },
      pointToLayer: function (g, ll) {
        return F.approximate(p)
          ? L.circleMarker(ll, { radius: 11, color: "#0b5394", weight: 2, dashArray: "3 3", fillOpacity: 0.15, className: "approx-marker" })
          : L.circleMarker(ll, { radius: 9, color: "#0b5394" });
      },
    }).addTo(map);
    bounds.extend(shape.getBounds());
    // Placed at its commune: the commune is what is known, so it is what the map frames.
    if (F.approximate(p)) return F.outlineCommune(map, p.insee, true).then(function (l) {
      if (!l) map.setView(bounds.getCenter(), 12);
      document.body.setAttribute("data-loaded", "1");
    });
    if (f.geometry && f.geometry.type === "Point" && !fc.features.length) map.setView(bounds.getCenter(), 15);
    else map.fitBounds(bounds, { maxZoom: 17, padding: [10, 10] });
    document.body.setAttribute("data-loaded", "1");
  }).catch(function (e) {
    facts.innerHTML = '<dd class="error">' + F.esc(F.errorText(e)) + "</dd>";
  });
})();
