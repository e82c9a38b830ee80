/* Site sheet: the site's facts, score explanation, parcels and data vintages, read from the API. */
(function () {
  "use strict";
  var F = window.Foncier, map = F.map, t = F.t;
  var id = F.config.site_id;
  var facts = document.getElementById("site-facts");
  function dl(el, obj) {
    el.innerHTML = Object.keys(obj).map(function (k) {
      return "<dt>" + F.esc(t(k)) + "</dt><dd>" + F.esc(typeof obj[k] === "object" ? JSON.stringify(obj[k]) : obj[k]) + "</dd>";
    }).join("");
  }
  F.getJSON("/collections/sites/items/" + encodeURIComponent(id) + "?f=json").then(function (f) {
    var p = f.properties || {};
    document.getElementById("site-name").textContent = p.nom || id;
    document.title = (p.nom || id) + " · foncier";
    facts.outerHTML = F.factsHtml(p);
    document.getElementById("site-breakdown").innerHTML = F.breakdownHtml(p.breakdown) || t("none");
    var parcels = p.parcels || p.idus || p.parcel_ids || [];
    document.getElementById("site-parcels").innerHTML = parcels.length
      ? "<ul>" + parcels.map(function (x) { return "<li>" + F.esc(x.idu || x) + "</li>"; }).join("") + "</ul>" : t("none");
    var vintages = p.vintages && typeof p.vintages === "object" ? p.vintages : {};
    if (p.vintage) vintages.site = p.vintage;
    dl(document.getElementById("site-vintages"), vintages);
    var shape = L.geoJSON(p.perimeter || f, {
      interactive: false,
      style: { color: "#0b5394", weight: 3, fillOpacity: 0.1 },
      pointToLayer: function (g, ll) { return L.circleMarker(ll, { radius: 9, color: "#0b5394" }); },
    }).addTo(map);
    if (f.geometry && f.geometry.type === "Point") map.setView(shape.getBounds().getCenter(), 15);
    else map.fitBounds(shape.getBounds(), { maxZoom: 17 });
    document.body.setAttribute("data-loaded", "1");
  }).catch(function (e) {
    facts.innerHTML = '<dd class="error">' + F.esc(e.message) + "</dd>";
  });
})();
