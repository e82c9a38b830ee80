/* foncier map pages: small helpers over Leaflet that read everything from the API.
 * Python (maps/layers.py) renders one call per layer: Foncier.vectorTiles(map, {...}), etc. */
(function () {
  "use strict";
  var F = (window.Foncier = window.Foncier || {});
  var CFG = window.FONCIER || { lang: "fr", messages: {}, bands: [] };
  var NODATA = "#9e9e9e";
  var EXCLUDED = "#4d4d4d";
  F.config = CFG;
  F.layers = [];
  F.filters = { minScore: 0 };

  F.t = function (key) {
    return (CFG.messages && CFG.messages[key]) || key;
  };
  F.esc = function (v) {
    return String(v == null ? "" : v).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  };
  // Codes the API returns (ZAN status, zone class, criterion) shown in the page's language.
  F.label = function (v) {
    var key = "v:" + v;
    return (CFG.messages && CFG.messages[key]) || v;
  };
  F.num = function (v, digits) {
    if (v == null || v === "" || isNaN(Number(v))) return v == null ? "–" : F.esc(F.label(v));
    return Number(v).toLocaleString(CFG.lang, { maximumFractionDigits: digits == null ? 2 : digits });
  };
  F.getJSON = function (url, signal) {
    return fetch(url, { headers: { Accept: "application/geo+json, application/json" }, signal: signal })
      .then(function (r) {
        if (!r.ok) throw new Error(url + ": HTTP " + r.status);
        return r.json();
      });
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

  /* --- point in polygon, to pick the parcel under a click among the bbox hits --- */
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
    "surface_dispo_ha", "contiguous_ha", "contenance_m2", "maturite", "cle_en_main", "friche", "maitrise_fonciere", "lib_com"];
  F.scoreHtml = function (p) {
    if (p.excluded === true) return '<span class="score-badge excluded">' + F.t("excluded") + "</span>";
    if (p.score == null) return '<span class="score-badge">' + F.t("no_score") + "</span>";
    var color = F.bandColor(Number(p.score), CFG.bands);
    return '<span class="score-badge" style="background:' + color + '">' + F.num(p.score, 0) + "/100</span>";
  };
  F.factsHtml = function (p) {
    var rows = FACTS.filter(function (k) { return k in p && k !== "score"; }).map(function (k) {
      var v = p[k];
      if (typeof v === "boolean") v = v ? "✓" : "–";
      else if (k === "envelope_share" && v != null) v = F.num(100 * v, 1) + " %";
      else v = F.num(v);
      return "<dt>" + F.esc(F.t(k)) + "</dt><dd>" + v + "</dd>";
    });
    return '<dl class="facts"><dt>' + F.t("score") + "</dt><dd>" + F.scoreHtml(p) + "</dd>" + rows.join("") + "</dl>";
  };
  F.breakdownHtml = function (b) {
    if (!b) return "";
    if (typeof b === "string") { try { b = JSON.parse(b); } catch (e) { return ""; } }
    var rows = Array.isArray(b) ? b : Object.keys(b).map(function (k) {
      var v = b[k];
      return v && typeof v === "object" ? Object.assign({ criterion: k }, v) : { criterion: k, value: v };
    });
    if (!rows.length) return "";
    var cell = function (v) { return typeof v === "number" ? F.num(v) : F.esc(typeof v === "object" && v ? JSON.stringify(v) : v); };
    return '<table class="breakdown"><thead><tr><th>' + F.t("criterion") + "</th><th>" + F.t("value") +
      "</th><th>" + F.t("weight") + "</th><th>" + F.t("contribution") + "</th></tr></thead><tbody>" +
      rows.map(function (r) {
        // An input the data did not give: said, never shown as a value like any other.
        var unknown = r.known === false ? ' <small class="unknown">(' + F.t("input_unknown") + ")</small>" : "";
        return "<tr><td>" + F.esc(F.label(r.criterion || r.name || r.kind || "")) + unknown + "</td><td>" + cell(r.value) +
          "</td><td>" + cell(r.weight) + "</td><td>" + cell(r.contribution) + "</td></tr>";
      }).join("") + "</tbody></table>";
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

  F.vectorTiles = function (map, o) {
    var paneName = "pane-" + o.collection;
    map.createPane(paneName).style.zIndex = o.bands ? 430 : 410;
    var st = o.style;
    var styleFn = function (p) {
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

  F.apiPoints = function (map, o) {
    var layer = L.geoJSON(null, {
      pointToLayer: function (f, latlng) {
        return L.circleMarker(latlng, { radius: 7, color: "#fff", weight: 1.5, fillColor: o.color,
          fillOpacity: 0.9, bubblingMouseEvents: false });
      },
      onEachFeature: function (f, l) {
        l.bindPopup(function () { return F.pointPopup(f, o); }, { maxWidth: 360, className: "point-popup" });
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
    var html = "<h3>" + F.esc(p[o.labelProperty] || id) + "</h3>" + F.factsHtml(p);
    if (o.link) html += '<p><a href="' + o.link + encodeURIComponent(id) + "?lang=" + CFG.lang + '">' + F.t("open_sheet") + "</a></p>";
    return html;
  };

  /* --- click on a parcel: ask the API for what is under the pointer --- */
  F.showParcelAt = function (map, latlng) {
    var d = 1e-6;
    var bbox = [latlng.lng - d, latlng.lat - d, latlng.lng + d, latlng.lat + d].map(function (v) { return v.toFixed(7); }).join(",");
    var items = function (c, limit) {
      if (!F.layerOf(c) && c !== "parcels") return Promise.resolve({ features: [] });
      return F.getJSON("/collections/" + c + "/items?f=json&limit=" + limit + "&bbox=" + bbox)
        .catch(function (e) { console.warn(e.message); return { features: [] }; });
    };
    var popup = L.popup({ maxWidth: 380, className: "parcel-popup" }).setLatLng(latlng)
      .setContent(F.t("loading")).openOn(map);
    Promise.all([items("parcels", 10), items("plu", 10), items("constraints", 20)]).then(function (r) {
      var parcels = r[0].features, x = latlng.lng, y = latlng.lat;
      var hit = parcels.filter(function (f) { return F.contains(f.geometry, x, y); })[0] || parcels[0];
      if (!hit) { map.closePopup(popup); return; }
      var p = hit.properties || {};
      var zones = r[1].features.filter(function (f) { return F.contains(f.geometry, x, y); }).map(function (f) {
        return F.esc(f.properties.libelle) + " (" + F.esc(f.properties.zone_class || f.properties.typezone) + ")";
      });
      if (!zones.length && p.zone_class) zones = [F.esc(p.zone_class)];
      var cons = r[2].features.filter(function (f) { return F.contains(f.geometry, x, y); }).map(function (f) {
        return F.esc(f.properties.kind) + (f.properties.name ? " : " + F.esc(f.properties.name) : "");
      });
      if (!cons.length && Array.isArray(p.constraints)) cons = p.constraints.map(F.esc);
      popup.setContent(
        '<div class="parcel-info" data-idu="' + F.esc(p.idu || hit.id) + '"><h3>' + F.t("parcel") + " " +
        F.esc(p.idu || hit.id) + "</h3>" + F.factsHtml(p) +
        "<h4>" + F.t("zoning") + "</h4><p>" + (zones.join(", ") || F.t("none")) + "</p>" +
        "<h4>" + F.t("constraints") + "</h4><p>" + (cons.join("<br>") || F.t("none")) + "</p>" +
        (p.breakdown ? "<h4>" + F.t("breakdown") + "</h4>" + F.breakdownHtml(p.breakdown) : "") + "</div>");
    });
  };

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
        list.innerHTML = "<li>" + F.t("loading") + "</li>";
        F.search(div.querySelector("input").value).then(function (hits) {
          list.innerHTML = hits.length ? "" : "<li>" + F.t("not_found") + "</li>";
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
          list.innerHTML = "<li>" + F.t("error") + "</li>";
        });
      });
      return div;
    };
    c.addTo(map);
  }

  function legendControl(map, o, parcels) {
    var c = L.control({ position: "bottomright" });
    c.onAdd = function () {
      var div = L.DomUtil.create("div", "legend");
      var html = "<h4>" + F.esc(o.legend_title) + "</h4>" + o.bands.map(function (b) {
        return '<div><i style="background:' + b.color + '"></i>' + F.esc(b.label) + "</div>";
      }).join("") + '<div><i style="background:' + NODATA + '"></i>' + F.t("no_score") + "</div>" +
        '<div><i style="background:' + EXCLUDED + '"></i>' + F.t("excluded") + "</div>";
      if (parcels) {
        html += '<label class="min-score">' + F.t("min_score") + ' <input type="range" min="0" max="100" step="5" value="' +
          F.filters.minScore + '"><output>' + F.filters.minScore + "</output></label>" +
          '<p class="zoom-hint">' + F.t("zoom_in") + "</p>";
      }
      div.innerHTML = html;
      L.DomEvent.disableClickPropagation(div);
      var range = div.querySelector("input[type=range]");
      if (range) range.addEventListener("change", function () {
        F.filters.minScore = Number(range.value);
        div.querySelector("output").textContent = range.value;
        parcels.layer.redraw();
        map.fire("foncier:state");
      });
      var hint = function () {
        var h = div.querySelector(".zoom-hint");
        if (h) h.hidden = map.getZoom() >= parcels.options.minZoom;
      };
      map.on("zoomend", hint);
      setTimeout(hint, 0);
      return div;
    };
    c.addTo(map);
  }

  /* --- map state in the URL hash: #map=z/lat/lng&layers=a,b&minscore=n --- */
  function readState() {
    var s = {};
    location.hash.replace(/^#/, "").split("&").forEach(function (kv) {
      var i = kv.indexOf("=");
      if (i > 0) s[decodeURIComponent(kv.slice(0, i))] = decodeURIComponent(kv.slice(i + 1));
    });
    return s;
  }
  function writeState(map, own) {
    var c = map.getCenter();
    var on = own.filter(function (l) { return map.hasLayer(l.layer); }).map(function (l) { return l.collection; });
    var hash = "#map=" + map.getZoom() + "/" + c.lat.toFixed(5) + "/" + c.lng.toFixed(5) +
      "&layers=" + on.join(",") + "&minscore=" + F.filters.minScore;
    history.replaceState(null, "", location.pathname + location.search + hash);
  }

  F.controls = function (map, o) {
    F.map = map;
    var own = F.layers.filter(function (l) { return l.map === map; });
    var parcels = own.filter(function (l) { return l.options.bands; })[0] || null;
    if (o.url_state) {
      var s = readState();
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
    var overlays = {};
    own.forEach(function (l) { overlays[l.name] = l.layer; });
    L.control.layers(null, overlays, { collapsed: false, position: "topright" }).addTo(map);
    if (o.bands && o.bands.length) legendControl(map, o, parcels);
    if (o.search && o.search.length) searchControl(map, o);
    var clickable = own.filter(function (l) { return l.options.clickable; })[0];
    if (clickable) map.on("click", function (e) {
      if (map.hasLayer(clickable.layer) && map.getZoom() >= clickable.options.minZoom) F.showParcelAt(map, e.latlng);
    });
    if (o.url_state) {
      var save = function () { writeState(map, own); };
      map.on("moveend overlayadd overlayremove foncier:state", save);
    }
    map.getContainer().setAttribute("data-ready", "1");
  };
})();
