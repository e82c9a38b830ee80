/* The dashboard's "Contrat" section for a Territoire d'industrie: protocol, action sheets by
 * axis and status, funding committed vs paid per financer, overdue sheets and the sheets'
 * places on the dashboard's map, from /territories/ti/{id}/contract/report (validated sheets;
 * the example contract shown with its badge when the territory has no real one). */
(function () {
  "use strict";
  var F = window.Foncier, t = F.t, C = F.config;
  var STATUSES = ["idea", "in_preparation", "committed", "done", "abandoned"];
  var AXES = ["recruter", "innover", "attirer", "simplifier"];
  var section = document.getElementById("contract");
  if (!section) return;
  function $(id) { return document.getElementById(id); }
  function label(prefix, code) { var k = prefix + code; var v = t(k); return v === k ? code : v; }
  function protocol(p) {
    var el = $("contract-protocol");
    if (!p) { el.textContent = t("contract_no_protocol"); return; }
    var when = p.signed_on ? F.esc(p.signed_on) : F.esc(t("contract_not_signed"));
    var doc = p.document_url && /^https?:\/\//.test(p.document_url)
      ? ' · <a href="' + F.esc(p.document_url) + '" rel="noopener">' + F.esc(t("contract_document")) + "</a>" : "";
    el.innerHTML = "<strong>" + F.esc(t("contract_protocol")) + "</strong> " + (p.title ? "« " + F.esc(p.title) + " » " : "") +
      "(" + F.esc(label("ps:", p.status)) + " · " + when + ")" + doc;
  }
  function sheets(s) {
    var axes = AXES.filter(function (a) { return s.by_axis[a]; })
      .concat(Object.keys(s.by_axis).filter(function (a) { return AXES.indexOf(a) < 0; }));
    var head = "<tr><th scope=\"col\">" + F.esc(t("contract_axis")) + "</th>" + STATUSES.map(function (x) {
      return '<th scope="col">' + F.esc(label("cs:", x)) + "</th>";
    }).join("") + '<th scope="col">' + F.esc(t("contract_total")) + "</th></tr>";
    var rows = axes.map(function (a) {
      var r = s.by_axis[a];
      return '<tr><th scope="row">' + F.esc(label("axis:", a)) + "</th>" +
        STATUSES.map(function (x) { return "<td>" + (r[x] || 0) + "</td>"; }).join("") + "<td>" + r.total + "</td></tr>";
    });
    rows.push('<tr><th scope="row">' + F.esc(t("contract_total")) + "</th>" +
      STATUSES.map(function (x) { return "<td>" + (s.by_status[x] || 0) + "</td>"; }).join("") + "<td>" + s.total + "</td></tr>");
    $("contract-sheets").querySelector("thead").innerHTML = head;
    $("contract-sheets").querySelector("tbody").innerHTML = rows.join("");
  }
  var chart = null, marks = null;
  function funding(f) {
    var rows = f.by_financer, empty = $("contract-funding-empty");
    if (chart) { chart.destroy(); chart = null; }
    $("contract-funding").hidden = !rows.length;
    if (!rows.length) {
      if (!empty) {
        empty = document.createElement("p");
        empty.className = "empty"; empty.id = "contract-funding-empty"; empty.textContent = t("contract_no_funding");
        $("contract-funding").after(empty);
      }
      return;
    }
    if (empty) empty.remove();
    chart = new Chart($("contract-funding"), {
      type: "bar",
      data: { labels: rows.map(function (r) { return r.financer; }),
        datasets: [
          { label: t("contract_committed"), data: rows.map(function (r) { return r.committed_eur; }), backgroundColor: "#5e3c99" },
          { label: t("contract_paid"), data: rows.map(function (r) { return r.paid_eur; }), backgroundColor: "#1a9850" },
        ] },
      options: { animation: false, indexAxis: "y", responsive: true },
    });
  }
  function overdue(o) {
    $("contract-overdue").innerHTML = o.items.length ? o.items.map(function (r) {
      return "<li>" + F.esc(r.code) + " · " + F.esc(r.title) + " <small>(" + F.esc(label("cs:", r.status)) + ", " +
        F.esc(t("contract_due")) + " " + F.esc(r.due_on) + ")</small></li>";
    }).join("") : '<li class="empty">' + F.esc(t("contract_no_overdue")) + "</li>";
  }
  function places(items) {
    var drawn = items.filter(function (r) { return r.lat != null && r.lon != null; });
    $("contract-places").innerHTML = items.length ? items.map(function (r) {
      return "<li>" + F.esc(r.code) + " · " + F.esc(r.title) + " <small>(" + F.esc(r.place_type) + " " + F.esc(r.place_id) + ")</small></li>";
    }).join("") : '<li class="empty">' + F.esc(t("contract_no_places")) + "</li>";
    if (marks) { marks.remove(); marks = null; }
    if (!F.map || !drawn.length) return;
    marks = L.layerGroup().addTo(F.map);
    drawn.forEach(function (r) {
      L.circleMarker([r.lat, r.lon], { radius: 7, color: "#b35806", fillOpacity: 0.7, className: "contract-place" })
        .bindTooltip(r.code + " · " + r.title).addTo(marks);
    });
  }
  var url = "/territories/ti/" + encodeURIComponent(C.code) + "/contract/report?programme=" + section.getAttribute("data-programme");
  // Read (again, after a move in the edit form: contract_edit.js) the public report into the section.
  function load() {
    section.setAttribute("data-loaded", "0");
    return F.getJSON(url).then(function (d) {
      protocol(d.protocol);
      // The real contract when there is one; the example (badged) only when there is none.
      var part = d.real, example = false;
      if (!part.sheets.total && d.example) { part = d.example; example = true; }
      $("contract-example").hidden = !(example || (d.protocol && d.protocol.is_example));
      $("contract-empty").hidden = !!part.sheets.total;
      $("contract-body").hidden = !part.sheets.total;
      if (part.sheets.total) {
        $("contract-note").textContent = t("contract_public_note") + (example ? " " + t("contract_example_note") : "");
        sheets(part.sheets);
        funding(part.funding);
        overdue(part.overdue);
        places(part.places || []);
      }
      section.setAttribute("data-loaded", "1");
    }).catch(function (e) {
      $("contract-protocol").innerHTML = '<span class="error">' + F.esc(F.errorText(e)) + "</span>";
      section.setAttribute("data-loaded", "1");
    });
  }
  F.contractReload = load;
  load();
})();
