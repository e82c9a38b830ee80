/* "Exporter": downloads what the map shows (its bbox) with the page's filters, as GeoJSON, CSV
 * (French Excel: ; separator, decimal commas, VRAI/FAUX) or GeoPackage, from
 * /collections/{id}/export. The planner exports parcels (minimum score), the finder the kind
 * it searches (sites: minimum score and surface; land units: minimum surface). */
(function () {
  "use strict";
  var F = window.Foncier, map = F && F.map;
  if (!map) return;
  var fr = (F.config.lang || "fr") === "fr";
  var form = document.getElementById("filters");
  var FORMATS = [["gpkg", "GeoPackage"], ["geojson", "GeoJSON"], ["csv", fr ? "CSV (Excel)" : "CSV (Excel FR)"]];

  function num(name) {
    var el = form && form.elements[name];
    var v = el ? Number(String(el.value).trim().replace(",", ".")) : NaN;
    return el && el.value.trim() !== "" && v >= 0 ? v : null;
  }

  // The collection and CQL2 filter of the page's current filters.
  function target() {
    if (!form) {
      var s = F.filters.minScore;
      return { id: "parcels", filter: s > 0 ? ["score >= " + s] : [] };
    }
    var units = form.elements.kind.value === "land-units", filter = [];
    var surface = num("surface_min"), score = num("min_score");
    if (surface !== null) filter.push((units ? "area_ha" : "surface_ha") + " >= " + surface);
    if (score !== null && !units) filter.push("score >= " + score);
    return { id: units ? "land-units" : "sites", filter: filter };
  }

  F.exportUrl = function (fmt) {
    var b = map.getBounds(), t = target(), p = new URLSearchParams();
    p.set("format", fmt);
    p.set("bbox", [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map(function (v) {
      return v.toFixed(6);
    }).join(","));
    if (t.filter.length) { p.set("filter", t.filter.join(" AND ")); p.set("filter-lang", "cql2-text"); }
    if (fmt === "csv") { p.set("bom", "true"); p.set("decimal", "comma"); }
    return "/collections/" + t.id + "/export?" + p.toString();
  };

  var Control = L.Control.extend({
    options: { position: "bottomleft" },
    onAdd: function () {
      var box = L.DomUtil.create("div", "leaflet-bar export-control");
      var select = L.DomUtil.create("select", "", box);
      select.id = "export-format";
      select.setAttribute("aria-label", fr ? "Format du fichier" : "File format");
      FORMATS.forEach(function (f) {
        var o = L.DomUtil.create("option", "", select);
        o.value = f[0];
        o.textContent = f[1];
      });
      var button = L.DomUtil.create("button", "", box);
      button.type = "button";
      button.id = "export-button";
      button.textContent = fr ? "Exporter" : "Export";
      button.title = fr ? "Télécharger la vue et les filtres" : "Download the view and filters";
      L.DomEvent.disableClickPropagation(box);
      L.DomEvent.on(button, "click", function () {
        var a = document.createElement("a");
        a.href = F.exportUrl(select.value);
        a.download = "";
        document.body.appendChild(a);
        a.click();
        a.remove();
      });
      return box;
    },
  });
  new Control().addTo(map);
})();
