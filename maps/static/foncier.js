/* foncier map pages: small helpers over Leaflet that read everything from the API.
 * Python (maps/layers.py) renders one call per layer: Foncier.vectorTiles(map, {...}), etc.;
 * Foncier.controls adds the layer panel (basemaps, layers, legend), the search box, the scale,
 * and the click that shows the facts of what is under the pointer. */
(function () {
  "use strict";
  var F = (window.Foncier = window.Foncier || {});
  var CFG = window.FONCIER || { lang: "fr", messages: {}, bands: [] };
  var NODATA = "#9e9e9e";
  var EXCLUDED = "#4d4d4d";
  var SMALL = "(max-width: 640px)";
  F.config = CFG;
  F.layers = [];
  F.filters = { minScore: 0 };

  F.t = function (key) {
    return (CFG.messages && CFG.messages[key]) || key;
  };
  // "{n} communes" with its values filled in.
  F.fill = function (key, values) {
    return F.t(key).replace(/\{(\w+)\}/g, function (_, k) { return values[k] == null ? "" : values[k]; });
  };
  F.esc = function (v) {
    return String(v == null ? "" : v).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  };
  // Codes the API returns (ZAN status, zone class, criterion, constraint kind) in the page's language.
  F.label = function (v) {
    var key = "v:" + v;
    return (CFG.messages && CFG.messages[key]) || v;
  };
  F.num = function (v, digits) {
    if (v == null || v === "" || isNaN(Number(v))) return v == null ? "–" : F.esc(F.label(v));
    return Number(v).toLocaleString(CFG.lang, { maximumFractionDigits: digits == null ? 2 : digits });
  };
  F.small = function () { return window.matchMedia(SMALL).matches; };

  /* --- requests: an error says what happened in words a person can act on --- */
  F.getJSON = function (url, signal) {
    return fetch(url, { headers: { Accept: "application/geo+json, application/json" }, signal: signal })
      .then(function (r) {
        if (r.ok) return r.json();
        return r.json().catch(function () { return {}; }).then(function (body) {
          var e = new Error(url + ": HTTP " + r.status);
          e.status = r.status;
          e.detail = body && (body.description || body.detail || body.message);
          throw e;
        });
      });
  };
  F.errorText = function (e) {
    if (e && e.status === 404) return F.t("err_not_found");
    if (e && e.status === 429) return F.t("err_busy");
    if (e && e.status >= 400 && e.status < 500) return F.t("err_bad_request");
    if (e && e.status >= 500) return F.t("err_server");
    return F.t("err_network");
  };

  F.bandColor = function (score, bands) {
    for (var i = 0; i < bands.length; i++) if (score >= bands[i].min_score) return bands[i].color;
    return NODATA;
  };
  F.bboxParam = function (map, pad) {
    var b = pad ? map.getBounds().pad(pad) : map.getBounds();
    var c = function (v, lim) { return Math.max(-lim, Math.min(lim, v)).toFixed(6); };
    return [c(b.getWest(), 180), c(b.getSouth(), 85), c(b.getEast(), 180), c(b.getNorth(), 85)].join(",");
  };

  /* --- point in polygon, to pick the feature under a click among the bbox hits --- */
  function inRing(x, y, ring) {
    var inside = false;
    for (var i = 0, j = ring.length - 1; i < ring.length; j = i++) {
      var xi = ring[i][0], yi = ring[i][1], xj = ring[j][0], yj = ring[j][1];
      if ((yi > y) !== (yj > y) && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
    }
    return inside;
  }
  F.contains = function (geom, x, y) {
    if (!geom) return false;
    var polys = geom.type === "Polygon" ? [geom.coordinates] : geom.type === "MultiPolygon" ? geom.coordinates : [];
    return polys.some(function (p) {
      return inRing(x, y, p[0]) && !p.slice(1).some(function (h) { return inRing(x, y, h); });
    });
  };

  /* --- HTML of a feature's facts --- */
  var FACTS = ["score", "known_inputs", "zan_cost_ha", "zan_cost_max_ha", "land_status", "envelope_share", "surface_ha",
    "surface_dispo_ha", "contiguous_ha", "contenance_m2", "maturite", "cle_en_main", "friche", "maitrise_fonciere", "lib_com",
    "readiness_label", "time_to_permit_months", "rail_km", "port_km"];
  F.scoreHtml = function (p) {
    if (p.excluded === true) return '<span class="score-badge excluded">' + F.t("excluded") + "</span>";
    if (p.score == null) return '<span class="score-badge">' + F.t("no_score") + "</span>";
    var color = F.bandColor(Number(p.score), CFG.bands);
    return '<span class="score-badge" style="background:' + color + '">' + F.num(p.score, 0) + "/100</span>";
  };
  F.approximate = function (p) { return p && p.location_precision === "commune"; };
  F.approxBadge = function (p) {
    return F.approximate(p) ? ' <span class="approx-badge" title="' + F.esc(F.t("approx_hint")) + '">' +
      F.t("approx") + "</span>" : "";
  };
  // Availability freshness (issue 15): never confirmed or past its validity, or withdrawn.
  F.staleBadge = function (p) {
    if (p && p.withdrawn === true) return ' <span class="stale-badge withdrawn">' + F.t("withdrawn") + "</span>";
    return p && p.a_confirmer === true
      ? ' <span class="stale-badge" title="' + F.esc(F.t("stale_hint")) + '">' + F.t("stale") + "</span>" : "";
  };
  F.readinessHtml = function (p) {
    if (p.readiness_level == null) return "";
    return '<span class="readiness-badge level-' + Number(p.readiness_level) + '">' + F.esc(F.t("readiness")) + " " +
      Number(p.readiness_level) + "/3</span>";
  };
  F.factsHtml = function (p) {
    var rows = FACTS.filter(function (k) { return k in p && k !== "score"; }).map(function (k) {
      var v = p[k];
      if (typeof v === "boolean") v = v ? F.t("yes") : F.t("no");
      else if (k === "envelope_share" && v != null) v = F.num(100 * v, 1) + " %";
      else v = F.num(v);
      return "<dt>" + F.esc(F.t(k)) + "</dt><dd>" + v + "</dd>";
    });
    return '<dl class="facts"><dt>' + F.t("score") + "</dt><dd>" + F.scoreHtml(p) + "</dd>" + rows.join("") + "</dl>";
  };
  function breakdownRows(b) {
    if (!b) return [];
    if (typeof b === "string") { try { b = JSON.parse(b); } catch (e) { return []; } }
    return Array.isArray(b) ? b : Object.keys(b).map(function (k) {
      var v = b[k];
      return v && typeof v === "object" ? Object.assign({ criterion: k }, v) : { criterion: k, value: v };
    });
  }
  F.breakdownHtml = function (b) {
    var rows = breakdownRows(b);
    if (!rows.length) return "";
    var cell = function (v) {
      if (typeof v === "boolean") return v ? F.t("yes") : F.t("no");
      return typeof v === "number" ? F.num(v) : F.esc(typeof v === "object" && v ? JSON.stringify(v) : F.label(v));
    };
    return '<table class="breakdown"><thead><tr><th>' + F.t("criterion") + "</th><th>" + F.t("value") +
      "</th><th>" + F.t("weight") + "</th><th>" + F.t("contribution") + "</th></tr></thead><tbody>" +
      rows.map(function (r) {
        // An input the data did not give: said, never shown as a value like any other.
        var unknown = r.known === false ? ' <small class="unknown">(' + F.t("input_unknown") + ")</small>" : "";
        return "<tr><td>" + F.esc(F.label(r.criterion || r.name || r.kind || "")) + unknown + "</td><td>" + cell(r.value) +
          "</td><td>" + cell(r.weight) + "</td><td>" + cell(r.contribution) + "</td></tr>";
      }).join("") + "</tbody></table>";
  };
  // The API's one-line explanation, rebuilt from its codes in the page's language:
  // "Score 82/100 : zonage +40, coût ZAN −8".
  F.explainText = function (score, excluded, breakdown) {
    if (score == null) return F.t("no_score_yet");
    var parts = breakdownRows(breakdown).filter(function (r) { return r && r.criterion; })
      .sort(function (a, b) { return Math.abs(Number(b.contribution) || 0) - Math.abs(Number(a.contribution) || 0); })
      .slice(0, 4).map(function (r) {
        var c = Number(r.contribution) || 0;
        return F.label(r.criterion) + " " + (c >= 0 ? "+" : "−") + F.num(Math.abs(c), 0);
      });
    return F.t("score") + " " + F.num(score, 0) + "/100" + (excluded ? " (" + F.t("excluded_hard") + ")" : "") +
      (parts.length ? " : " + parts.join(", ") : "");
  };

  /* --- popups: a Leaflet popup on wide screens, a bottom sheet on phones --- */
  var sheet = null;
  function bottomSheet(map) {
    if (sheet) return sheet;
    sheet = L.DomUtil.create("section", "bottom-sheet", map.getContainer().parentNode);
    sheet.hidden = true;
    sheet.innerHTML = '<button type="button" class="sheet-close" aria-label="' + F.esc(F.t("close")) + '">×</button>' +
      '<div class="sheet-content"></div>';
    sheet.querySelector(".sheet-close").addEventListener("click", function () { sheet.hidden = true; });
    L.DomEvent.disableClickPropagation(sheet);
    L.DomEvent.disableScrollPropagation(sheet);
    return sheet;
  }
  F.show = function (map, latlng, html, className) {
    if (F.small()) {
      var s = bottomSheet(map);
      var box = s.querySelector(".sheet-content");
      s.className = "bottom-sheet " + (className || "");
      s.hidden = false;
      box.innerHTML = html;
      return { setContent: function (h) { box.innerHTML = h; }, close: function () { s.hidden = true; } };
    }
    var popup = L.popup({ maxWidth: 380, className: className || "" }).setLatLng(latlng).setContent(html).openOn(map);
    return { setContent: function (h) { popup.setContent(h); }, close: function () { map.closePopup(popup); } };
  };

  /* --- layers --- */
  function register(map, layer, o) {
    F.layers.push({ map: map, layer: layer, name: o.name, collection: o.collection, options: o });
    if (o.show) layer.addTo(map);
  }
  F.layerOf = function (collection) {
    for (var i = 0; i < F.layers.length; i++) if (F.layers[i].collection === collection) return F.layers[i];
    return null;
  };
  F.visible = function (l) {
    return !!l && l.map.hasLayer(l.layer) && l.map.getZoom() >= (l.options.minZoom || 0);
  };

  // VectorGrid 1.3.0 resolves a tile's fetch after its layer left the map (a layer hidden by the
  // URL state, a basemap switched away) and Leaflet then reads this._map: drop those late tiles.
  if (L.VectorGrid && !L.VectorGrid.prototype._foncierGuard) {
    var tileReady = L.VectorGrid.prototype._tileReady;
    L.VectorGrid.prototype._tileReady = function () {
      if (this._map) tileReady.apply(this, arguments);
    };
    L.VectorGrid.prototype._foncierGuard = true;
  }

  F.vectorTiles = function (map, o) {
    var paneName = "pane-" + o.collection;
    map.createPane(paneName).style.zIndex = o.points ? 440 : o.bands ? 430 : 410;
    var st = o.style;
    var styleFn = function (p) {
      if (o.points) {
        return { radius: 5, weight: 1, color: "#fff", fill: true, fillColor: st.color, fillOpacity: 0.85 };
      }
      var base = { weight: st.weight, color: st.color, fill: st.fill_opacity > 0 || !!o.bands,
        fillColor: st.color, fillOpacity: st.fill_opacity };
      if (o.bands) {
        var s = p[o.scoreProperty];
        if (s != null && Number(s) < F.filters.minScore) return [];
        base.fillColor = p.excluded === true ? EXCLUDED : s == null ? NODATA : F.bandColor(Number(s), o.bands);
      }
      return base;
    };
    var styles = {};
    styles[o.layer] = styleFn;
    // interactive: false -> VectorGrid 1.3.0 never calls L.DomEvent.fakeStop (gone in Leaflet 1.8).
    var layer = L.vectorGrid.protobuf(o.url, {
      vectorTileLayerStyles: styles, interactive: false, minZoom: o.minZoom, maxZoom: 22,
      pane: paneName, rendererFactory: L.svg.tile,
    });
    layer.on("tileload", function (e) {
      e.tile.setAttribute && e.tile.setAttribute("data-collection", o.collection);
    });
    register(map, layer, o);
    return layer;
  };

  // A site placed at its commune: a hollow dashed ring, never a precise dot.
  function pointMarker(f, latlng, o) {
    var p = f.properties || {};
    if (F.approximate(p)) {
      return L.circleMarker(latlng, { radius: 11, color: o.color, weight: 2, dashArray: "3 3", fillColor: o.color,
        fillOpacity: 0.15, bubblingMouseEvents: false, className: "approx-marker" });
    }
    return L.circleMarker(latlng, { radius: 7, color: "#fff", weight: 1.5, fillColor: o.color,
      fillOpacity: 0.9, bubblingMouseEvents: false });
  }
  F.apiPoints = function (map, o) {
    var layer = L.geoJSON(null, {
      pointToLayer: function (f, latlng) { return pointMarker(f, latlng, o); },
      onEachFeature: function (f, l) {
        l.on("click", function (e) {
          // A page that picks points (the dashboard's simulator) takes the click instead.
          if (F.pick && F.pick(f, o)) return;
          F.show(map, e.latlng, F.pointPopup(f, o), "point-popup");
          if (F.approximate(f.properties)) F.outlineCommune(map, f.properties.insee);
        });
      },
    });
    var ctrl = null;
    var refresh = function () {
      if (!map.hasLayer(layer) || map.getZoom() < o.minZoom) { layer.clearLayers(); return; }
      if (ctrl) ctrl.abort();
      ctrl = new AbortController();
      var url = "/collections/" + o.collection + "/items?f=json&limit=500&bbox=" + F.bboxParam(map, 0.1);
      F.getJSON(url, ctrl.signal).then(function (fc) {
        layer.clearLayers();
        layer.addData(fc);
        layer.fire("foncier:loaded", { count: fc.features.length });
      }).catch(function (e) { if (e.name !== "AbortError") console.warn(e.message); });
    };
    map.on("moveend", refresh);
    layer.on("add", refresh);
    register(map, layer, o);
    return layer;
  };

  F.pointPopup = function (f, o) {
    var p = f.properties || {};
    var id = f.id != null ? f.id : p[o.idProperty];
    var html = "<h3>" + F.esc(p[o.labelProperty] || id) + F.approxBadge(p) + F.staleBadge(p) + "</h3>" +
      (F.approximate(p) ? '<p class="approx-note">' + F.t("approx_hint") + "</p>" : "") + F.factsHtml(p);
    if (o.link) html += '<p><a href="' + o.link + encodeURIComponent(id) + "?lang=" + CFG.lang + '">' + F.t("open_sheet") + "</a></p>";
    return html;
  };

  // The outline of the commune an approximate site is placed at (dashed, not filled).
  var communeOutline = null;
  F.outlineCommune = function (map, insee, fit) {
    if (!insee) return Promise.resolve(null);
    return F.getJSON("/collections/communes/items/" + encodeURIComponent(insee) + "?f=json").then(function (f) {
      if (communeOutline) map.removeLayer(communeOutline);
      communeOutline = L.geoJSON(f, { interactive: false, className: "commune-outline",
        style: { color: "#0b5394", weight: 2, dashArray: "6 4", fillOpacity: 0.05 } }).addTo(map);
      if (fit) map.fitBounds(communeOutline.getBounds());
      return communeOutline;
    }).catch(function (e) { console.warn(e.message); return null; });
  };

  /* --- click: ask the API for what is under the pointer, in every clickable layer shown --- */
  function tolerance(map, latlng, px) {
    var p = map.latLngToContainerPoint(latlng);
    var a = map.containerPointToLatLng([p.x - px, p.y + px]), b = map.containerPointToLatLng([p.x + px, p.y - px]);
    return [a.lng, a.lat, b.lng, b.lat].map(function (v) { return v.toFixed(7); }).join(",");
  }
  function items(c, bbox, limit) {
    return F.getJSON("/collections/" + c + "/items?f=json&limit=" + limit + "&bbox=" + bbox)
      .then(function (fc) { return fc.features || []; })
      .catch(function (e) { console.warn(e.message); return []; });
  }
  function dl(rows) {
    var html = rows.filter(function (r) { return r[1] != null && r[1] !== ""; }).map(function (r) {
      return "<dt>" + F.esc(F.t(r[0])) + "</dt><dd>" + r[1] + "</dd>";
    }).join("");
    return '<dl class="facts">' + html + "</dl>";
  }
  function link(url, text) {
    return /^https?:\/\//.test(url || "") ? '<a href="' + F.esc(url) + '" target="_blank" rel="noopener">' + F.esc(text) + "</a>" : null;
  }
  F.fricheHtml = function (f) {
    var p = f.properties || {};
    var src = link(p.source, p.source) || (p.source ? F.esc(p.source) : null);
    return '<div class="friche-info" data-id="' + F.esc(p.site_id || f.id) + '"><h3>' + F.t("friche") + " · " +
      F.esc(p.nom || p.site_id || f.id) + "</h3>" + dl([
        ["statut", F.esc(p.statut)], ["friche_type", F.esc(p.type)],
        ["surface_ha", p.surface_m2 != null ? F.num(p.surface_m2 / 10000, 2) : null],
        ["pollution", F.esc(p.pollution)], ["urba_zone_type", F.esc(p.urba_zone_type)],
        ["owner_type", p.owner_type ? F.esc(F.t("owner:" + p.owner_type)) : null],
        ["insee", F.esc(p.insee)], ["source", src],
        ["source_link", link("https://cartofriches.cerema.fr/cartofriches/", "Cartofriches (Cerema)")],
      ]) + "</div>";
  };
  F.pluHtml = function (f) {
    var p = f.properties || {};
    return '<div class="plu-info"><h3>' + F.t("plu_zone") + " " + F.esc(p.libelle) + "</h3>" + dl([
      ["typezone", F.esc(p.typezone)], ["libelong", F.esc(p.libelong)], ["zone_class", F.esc(F.label(p.zone_class))],
      ["destdomi", F.esc(p.destdomi)], ["datappro", F.esc(p.datappro)], ["insee", F.esc(p.insee)],
    ]) + "</div>";
  };
  F.constraintHtml = function (f) {
    var p = f.properties || {};
    return '<div class="constraint-info"><h3>' + F.esc(F.label(p.kind)) + "</h3>" + dl([
      ["name", F.esc(p.name)], ["source", F.esc(p.source)], ["vintage", F.esc(p.vintage)],
    ]) + "</div>";
  };
  function parcelHtml(hit, zones, cons) {
    var p = hit.properties || {};
    var zoneText = zones.map(function (f) {
      return F.esc(f.properties.libelle) + " (" + F.esc(F.label(f.properties.zone_class || f.properties.typezone)) + ")";
    });
    if (!zoneText.length && p.zone_class) zoneText = [F.esc(F.label(p.zone_class))];
    var consText = cons.map(function (f) {
      return F.esc(F.label(f.properties.kind)) + (f.properties.name ? " : " + F.esc(f.properties.name) : "");
    });
    if (!consText.length && Array.isArray(p.constraints)) consText = p.constraints.map(function (k) { return F.esc(F.label(k)); });
    return '<div class="parcel-info" data-idu="' + F.esc(p.idu || hit.id) + '"><h3>' + F.t("parcel") + " " +
      F.esc(p.idu || hit.id) + "</h3>" + F.factsHtml(p) +
      "<h4>" + F.t("zoning") + "</h4><p>" + (zoneText.join(", ") || F.t("none_f")) + "</p>" +
      "<h4>" + F.t("constraints") + "</h4><p>" + (consText.join("<br>") || F.t("none_f")) + "</p>" +
      (p.breakdown ? "<h4>" + F.t("breakdown") + "</h4>" + F.breakdownHtml(p.breakdown) : "") + "</div>";
  }
  F.identify = function (map, latlng) {
    var x = latlng.lng, y = latlng.lat;
    var exact = tolerance(map, latlng, 0.5), near = tolerance(map, latlng, 8);
    var on = function (c) { return F.visible(F.layerOf(c)); };
    var parcelsOn = on("parcels");
    var ask = function (c, bbox, limit, wanted) { return wanted ? items(c, bbox, limit) : Promise.resolve([]); };
    var inside = function (fs) { return fs.filter(function (f) { return F.contains(f.geometry, x, y); }); };
    var zoningWanted = parcelsOn || on("plu"), consWanted = parcelsOn || on("constraints");
    var box = null;
    var timer = setTimeout(function () { box = F.show(map, latlng, F.t("loading"), "parcel-popup"); }, 150);
    return Promise.all([ask("parcels", exact, 10, parcelsOn), ask("friches", near, 5, on("friches")),
      ask("plu", exact, 10, zoningWanted && F.layerOf("plu")), ask("constraints", exact, 20, consWanted && F.layerOf("constraints"))])
      .then(function (r) {
        clearTimeout(timer);
        var parcel = inside(r[0])[0] || null, friches = r[1], zones = inside(r[2]), cons = inside(r[3]);
        var parts = [];
        if (parcel) parts.push(parcelHtml(parcel, zones, cons));
        friches.forEach(function (f) { parts.push(F.fricheHtml(f)); });
        if (!parcel && on("plu")) zones.forEach(function (f) { parts.push(F.pluHtml(f)); });
        if (!parcel && on("constraints")) cons.forEach(function (f) { parts.push(F.constraintHtml(f)); });
        if (!parts.length) { if (box) box.close(); return null; }
        var html = parts.join("");
        if (box) box.setContent(html); else box = F.show(map, latlng, html, "parcel-popup");
        return box;
      });
  };
  F.showParcelAt = F.identify;

  /* --- search: a commune, EPCI, territory, département or region by name or code (/places) --- */
  F.search = function (q) {
    q = q.trim();
    if (!q) return Promise.resolve([]);
    // The server matches accents, case and hyphens away and ranks; the page only lists.
    return F.getJSON("/places?limit=10&q=" + encodeURIComponent(q)).then(function (r) { return r.places; });
  };
  // "Saint-Étienne (commune 42218)", with the kind in the page's language.
  F.placeText = function (h) {
    var kind = F.t("place_" + h.kind);
    return h.name ? h.name + " (" + kind + " " + h.code + ")" : kind.charAt(0).toUpperCase() + kind.slice(1) + " " + h.code;
  };
  var highlight = null;
  var placeSeq = 0;
  function outline(map, feature) {
    if (highlight) map.removeLayer(highlight);
    highlight = L.geoJSON(feature, { interactive: false, style: { color: "#000", weight: 3, fill: false, dashArray: "6 4" } }).addTo(map);
  }
  F.zoomTo = function (map, feature) {
    outline(map, feature);
    map.fitBounds(highlight.getBounds());
  };
  // Zoom to a hit's bbox (CRS84), then outline it when its collection is one the box draws.
  F.zoomToPlace = function (map, hit, targets) {
    var seq = ++placeSeq;
    if (highlight) { map.removeLayer(highlight); highlight = null; }
    var b = hit.bbox;
    if (b) map.fitBounds([[b[1], b[0]], [b[3], b[2]]]);
    var drawn = (targets || []).some(function (t) { return t.collection === hit.collection; });
    if (!drawn) return Promise.resolve();
    return F.getJSON("/collections/" + hit.collection + "/items/" + encodeURIComponent(hit.code) + "?f=json")
      .then(function (f) {
        if (seq !== placeSeq || !f.geometry) return;  // another hit was chosen meanwhile
        if (b) outline(map, f); else F.zoomTo(map, f);
      })
      .catch(function (e) { console.warn(e.message); });
  };

  function searchControl(map, o) {
    var c = L.control({ position: "topleft" });
    c.onAdd = function () {
      var div = L.DomUtil.create("div", "leaflet-bar search-box");
      div.innerHTML = '<form><input type="search" name="q" maxlength="100" placeholder="' + F.esc(o.search_placeholder) +
        '" aria-label="' + F.t("search") + '"><button type="submit">' + F.t("search") + '</button></form><ul class="search-results"></ul>';
      L.DomEvent.disableClickPropagation(div);
      L.DomEvent.disableScrollPropagation(div);
      var list = div.querySelector("ul");
      div.querySelector("form").addEventListener("submit", function (ev) {
        ev.preventDefault();
        var q = div.querySelector("input").value;
        if (!q.trim()) { list.innerHTML = '<li class="empty">' + F.t("search_empty") + "</li>"; return; }
        list.innerHTML = "<li>" + F.t("loading") + "</li>";
        F.search(q).then(function (hits) {
          list.innerHTML = hits.length ? "" : '<li class="empty">' + F.t("not_found") + "</li>";
          hits.forEach(function (h, i) {
            var li = document.createElement("li");
            var btn = document.createElement("button");
            btn.type = "button";
            btn.textContent = F.placeText(h);
            btn.setAttribute("data-kind", h.kind);
            btn.setAttribute("data-code", h.code);
            btn.addEventListener("click", function () { F.zoomToPlace(map, h, o.search); });
            li.appendChild(btn);
            list.appendChild(li);
            if (i === 0) F.zoomToPlace(map, h, o.search);
          });
        }).catch(function (e) {
          console.warn(e.message);
          list.innerHTML = '<li class="error">' + F.errorText(e) + "</li>";
        });
      });
      return div;
    };
    c.addTo(map);
  }

  /* --- the layer panel: basemaps, every layer with its key and minimum zoom, the score legend --- */
  // The scale of zoom z at the map's latitude, said as 1:68 000.
  function scaleWords(map, z) {
    var d = 559082264 / Math.pow(2, z) * Math.cos(map.getCenter().lat * Math.PI / 180);
    var p = Math.pow(10, Math.floor(Math.log10(d)) - 1);
    return "1:" + (Math.round(d / p) * p).toLocaleString(CFG.lang);
  }
  function swatch(o) {
    if (o.bands) return '<i class="swatch fill" style="background:linear-gradient(90deg,' +
      o.bands.map(function (b) { return b.color; }).join(",") + ')"></i>';
    if (o.points || o.color) return '<i class="swatch point" style="background:' + (o.color || o.style.color) + '"></i>';
    var st = o.style;
    return st.fill_opacity > 0
      ? '<i class="swatch fill" style="border-color:' + st.color + ";background:" + st.color + '59"></i>'
      : '<i class="swatch line" style="border-color:' + st.color + '"></i>';
  }
  function scoreLegend(o) {
    return '<div class="legend"><h4>' + F.esc(o.legend_title) + "</h4>" + o.bands.map(function (b) {
      return '<div><i style="background:' + b.color + '"></i>' + F.esc(b.label) + "</div>";
    }).join("") + '<div><i style="background:' + NODATA + '"></i>' + F.t("no_score") + "</div>" +
      '<div><i style="background:' + EXCLUDED + '"></i>' + F.t("excluded") + "</div>" +
      '<label class="min-score">' + F.t("min_score") + ' <input type="range" min="0" max="100" step="5" value="' +
      F.filters.minScore + '"><output>' + F.filters.minScore + "</output></label></div>";
  }
  function layerRow(l, o) {
    var withLegend = l.options.bands && o.bands && o.bands.length;
    return '<li data-collection="' + F.esc(l.collection) + '"><label><input type="checkbox" value="' + F.esc(l.collection) +
      '"> ' + swatch(l.options) + " " + F.esc(l.name) + "</label>" +
      (l.options.minZoom ? '<small class="min-zoom"></small>' : "") + (withLegend ? scoreLegend(o) : "") + "</li>";
  }
  F.layerPanel = function (map, o, own, bm) {
    var c = L.control({ position: "topright" });
    var div = L.DomUtil.create("div", "layer-panel");
    var radios = o.basemaps.map(function (b) {
      return '<label><input type="radio" name="basemap" value="' + b.id + '"> ' + F.esc(F.t(b.label_key)) + "</label>" +
        basemapLegend(b);
    }).join("");
    div.innerHTML = '<button type="button" class="panel-toggle" aria-expanded="true">' + F.t("layers_legend") + "</button>" +
      '<div class="panel-body"><h4>' + F.t("basemap") + '</h4><div class="basemaps">' + radios + "</div>" +
      '<p class="basemap-notice" hidden></p><h4>' + F.t("layers") + '</h4><ul class="layer-list">' +
      own.map(function (l) { return layerRow(l, o); }).join("") + "</ul></div>";
    L.DomEvent.disableClickPropagation(div);
    L.DomEvent.disableScrollPropagation(div);
    var toggle = div.querySelector(".panel-toggle");
    var collapse = function (yes) {
      div.classList.toggle("collapsed", yes);
      toggle.setAttribute("aria-expanded", yes ? "false" : "true");
    };
    toggle.addEventListener("click", function () { collapse(!div.classList.contains("collapsed")); });
    // Open only where the map has room for it (not on phones, nor on a sheet's small map).
    var room = map.getSize().y;
    div.style.maxHeight = Math.max(room - 70, 120) + "px";
    collapse(F.small() || room < 560);
    var notice = div.querySelector(".basemap-notice");
    var api = {
      selectBasemap: function (id, message) {
        Object.keys(bm.layers).forEach(function (k) { if (k !== id && map.hasLayer(bm.layers[k])) map.removeLayer(bm.layers[k]); });
        if (!map.hasLayer(bm.layers[id])) bm.layers[id].addTo(map);
        div.querySelector("input[name=basemap][value='" + id + "']").checked = true;
        notice.hidden = !message;
        notice.textContent = message || "";
        map.getContainer().setAttribute("data-basemap", id);
        map.fire("baselayerchange");
      },
    };
    Array.prototype.forEach.call(div.querySelectorAll("input[name=basemap]"), function (r) {
      r.addEventListener("change", function () { api.selectBasemap(r.value); });
    });
    var sync = function () {
      own.forEach(function (l) {
        var li = div.querySelector("li[data-collection='" + l.collection + "']");
        li.querySelector("input").checked = map.hasLayer(l.layer);
        var mz = l.options.minZoom || 0, hint = li.querySelector(".min-zoom");
        var out = map.getZoom() < mz;
        li.classList.toggle("out-of-zoom", out);
        if (hint) hint.textContent = F.fill(out ? "min_zoom_out" : "min_zoom", { z: mz, scale: scaleWords(map, mz),
          n: mz - map.getZoom() });
      });
    };
    Array.prototype.forEach.call(div.querySelectorAll(".layer-list > li > label input"), function (box) {
      box.addEventListener("change", function () {
        var l = own.filter(function (x) { return x.collection === box.value; })[0];
        if (box.checked) l.layer.addTo(map); else map.removeLayer(l.layer);
        map.fire("foncier:state");
      });
    });
    var range = div.querySelector("input[type=range]");
    var parcels = own.filter(function (l) { return l.options.bands; })[0];
    if (range && parcels) range.addEventListener("change", function () {
      F.filters.minScore = Number(range.value);
      div.querySelector("output").textContent = range.value;
      parcels.layer.redraw();
      map.fire("foncier:state");
    });
    map.on("zoomend layeradd layerremove", sync);
    c.onAdd = function () { return div; };
    c.addTo(map);
    sync();
    api.selectBasemap(bm.current());
    return api;
  };

  /* --- basemaps: web tiles while they answer, our own layers otherwise --- */
  var RAIL_STYLE = { weight: 1.5, color: "#4a4a4a", dashArray: "7 3", opacity: 0.9 };
  // The offline basemap's key: what its lines mean.
  function basemapLegend(b) {
    if (b.url) return "";
    return '<small class="basemap-legend"><svg width="26" height="8" aria-hidden="true"><line x1="1" y1="4" x2="25" y2="4" ' +
      'stroke="' + RAIL_STYLE.color + '" stroke-width="2" stroke-dasharray="' + RAIL_STYLE.dashArray + '"/></svg> ' +
      F.esc(F.t("legend_rail")) + "</small>";
  }
  function offlineBasemap(map, o) {
    map.createPane("pane-basemap").style.zIndex = 150;
    var land = L.vectorGrid.protobuf("/collections/communes/tiles/WebMercatorQuad/{z}/{x}/{y}", {
      vectorTileLayerStyles: { communes: { weight: 0.6, color: "#b8b2a7", fill: true, fillColor: "#f3efe6", fillOpacity: 1 } },
      interactive: false, pane: "pane-basemap", rendererFactory: L.svg.tile, maxZoom: 22,
    });
    land.on("tileload", function (e) { e.tile.setAttribute && e.tile.setAttribute("data-collection", "basemap-offline"); });
    // Rail lines from our own layer (issue 13), drawn over the communes, under every layer.
    var rail = L.vectorGrid.protobuf("/collections/rail-lines/tiles/WebMercatorQuad/{z}/{x}/{y}", {
      vectorTileLayerStyles: { "rail-lines": RAIL_STYLE },
      interactive: false, pane: "pane-basemap", rendererFactory: L.svg.tile, maxZoom: 22,
    });
    rail.on("tileload", function (e) { e.tile.setAttribute && e.tile.setAttribute("data-collection", "basemap-rail"); });
    var labels = L.layerGroup();
    var ctrl = null;
    var refresh = function () {
      if (!map.hasLayer(group) || map.getZoom() < o.label_zoom) { labels.clearLayers(); return; }
      if (ctrl) ctrl.abort();
      ctrl = new AbortController();
      F.getJSON("/collections/communes/items?f=json&limit=300&properties=nom&bbox=" + F.bboxParam(map), ctrl.signal)
        .then(function (fc) {
          labels.clearLayers();
          fc.features.forEach(function (f) {
            var c = L.geoJSON(f).getBounds().getCenter();
            L.marker(c, { interactive: false, keyboard: false, pane: "pane-basemap",
              icon: L.divIcon({ className: "commune-label", html: F.esc(f.properties.nom), iconSize: null }) }).addTo(labels);
          });
        }).catch(function (e) { if (e.name !== "AbortError") console.warn(e.message); });
    };
    var group = L.layerGroup([land, rail, labels]);
    group.on("add", refresh);
    map.on("moveend", refresh);
    return group;
  }
  F.basemaps = function (map, list, wanted, onFallback) {
    var layers = {};
    list.forEach(function (b) {
      if (!b.url) { layers[b.id] = offlineBasemap(map, { attribution: b.attribution, label_zoom: 10 }); return; }
      var l = L.tileLayer(b.url, { maxZoom: 22, maxNativeZoom: b.max_zoom });
      var loaded = 0, failed = 0;
      l.on("tileload", function () { loaded += 1; });
      // The tile host does not answer (offline, blocked, down): fall back so the map is never blank.
      l.on("tileerror", function () {
        failed += 1;
        // Deferred: Leaflet still reads this._map after firing tileerror.
        if (failed >= 2 && loaded === 0 && map.hasLayer(l)) setTimeout(function () { if (map.hasLayer(l)) onFallback(b); }, 0);
      });
      layers[b.id] = l;
    });
    var current = layers[wanted] ? wanted : list[0].id;
    if (navigator.onLine === false && layers.offline) current = "offline";
    layers[current].addTo(map);
    return { layers: layers, list: list, current: function () {
      for (var id in layers) if (map.hasLayer(layers[id])) return id;
      return null;
    } };
  };

  /* --- credits: each source of what is on the map, once, whichever layers draw from it --- */
  function credits(map, own, bm) {
    var lines = [];
    var add = function (text) {
      (text || "").split(" · ").forEach(function (c) { if (c && lines.indexOf(c) < 0) lines.push(c); });
    };
    var id = bm.current();
    bm.list.forEach(function (b) { if (b.id === id) add(b.attribution); });
    own.forEach(function (l) { if (F.visible(l)) add(l.options.attribution); });
    var ctrl = map.attributionControl;
    (ctrl._foncier || []).forEach(function (c) { ctrl.removeAttribution(c); });
    ctrl._foncier = lines.map(F.esc);
    ctrl._foncier.forEach(function (c) { ctrl.addAttribution(c); });
  }

  /* --- map state in the URL hash: #map=z/lat/lng&layers=a,b&minscore=n&basemap=id --- */
  F.readState = function () {
    var s = {};
    location.hash.replace(/^#/, "").split("&").forEach(function (kv) {
      var i = kv.indexOf("=");
      if (i > 0) s[decodeURIComponent(kv.slice(0, i))] = decodeURIComponent(kv.slice(i + 1));
    });
    return s;
  };
  function writeState(map, own, bm) {
    var c = map.getCenter();
    var on = own.filter(function (l) { return map.hasLayer(l.layer); }).map(function (l) { return l.collection; });
    var hash = "#map=" + map.getZoom() + "/" + c.lat.toFixed(5) + "/" + c.lng.toFixed(5) +
      "&layers=" + on.join(",") + "&minscore=" + F.filters.minScore + "&basemap=" + (bm.current() || "");
    history.replaceState(null, "", location.pathname + location.search + hash);
  }

  F.controls = function (map, o) {
    F.map = map;
    var own = F.layers.filter(function (l) { return l.map === map; });
    var s = F.readState();
    if (o.url_state) {
      if (s.minscore) F.filters.minScore = Number(s.minscore) || 0;
      if (s.layers != null) {
        var wanted = s.layers.split(",");
        own.forEach(function (l) {
          if (wanted.indexOf(l.collection) >= 0) l.layer.addTo(map); else map.removeLayer(l.layer);
        });
      }
      var v = (s.map || "").split("/").map(Number);
      if (v.length === 3 && v.every(isFinite)) map.setView([v[1], v[2]], v[0]);
    }
    map.attributionControl.setPrefix('<a href="/sources" target="_blank">' + F.esc(F.t("sources")) + '</a> · <a href="https://leafletjs.com">Leaflet</a>');
    // Phones: the credits take the map's full width, so the scale sits just above them.
    var phone = window.matchMedia("(max-width: 640px)").matches;
    L.control.scale({ imperial: false, metric: true, position: phone ? "bottomright" : "bottomleft" }).addTo(map);
    var panel = null;
    var bm = F.basemaps(map, o.basemaps, (o.url_state && s.basemap) || o.default_basemap, function (b) {
      if (panel) panel.selectBasemap("offline", F.fill("basemap_unreachable", { name: F.t(b.label_key) }));
    });
    panel = F.layerPanel(map, o, own, bm);
    if (o.search && o.search.length) searchControl(map, o);
    var clickable = own.filter(function (l) { return l.options.clickable; });
    if (clickable.length) map.on("click", function (e) {
      if (clickable.some(F.visible)) F.identify(map, e.latlng);
    });
    var credit = function () { credits(map, own, bm); };
    map.on("zoomend layeradd layerremove baselayerchange", credit);
    credit();
    if (o.url_state) {
      var save = function () { writeState(map, own, bm); };
      map.on("moveend overlayadd overlayremove baselayerchange foncier:state", save);
    }
    map.getContainer().setAttribute("data-ready", "1");
  };
})();
