/* The regional overview of the Territoires d'industrie contracts: each territory's sheets by
 * status, funding committed / paid and overdue count, from /regions/{code}/contracts/report
 * (validated sheets; the example contract in its own badged table). */
(function () {
  "use strict";
  // A page without a map: foncier.js (loaded with the map's assets) is not here, so its few
  // helpers are written out, on the same window.FONCIER config.
  var C = window.FONCIER, M = C.messages;
  function t(k) { return M[k] != null ? M[k] : k; }
  var F = {
    esc: function (v) {
      return String(v == null ? "" : v).replace(/[&<>"']/g, function (c) {
        return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
      });
    },
    num: function (v, d) { return v == null ? "" : Number(v).toLocaleString(C.lang, { maximumFractionDigits: d }); },
    getJSON: function (url) {
      return fetch(url, { headers: { Accept: "application/json" } }).then(function (r) {
        if (!r.ok) { var e = new Error(r.statusText); e.status = r.status; throw e; }
        return r.json();
      });
    },
  };
  var COLS = ["sheets", "idea", "in_preparation", "committed", "done", "abandoned", "committed_eur", "paid_eur", "overdue"];
  function $(id) { return document.getElementById(id); }
  function rows(items) {
    return items.map(function (r) {
      return '<tr><th scope="row"><a href="/territoires/territoire-' + r.programme + "/" + encodeURIComponent(r.id_ti) +
        "?lang=" + C.lang + '">' + F.esc(r.ti_lib || r.id_ti) + "</a></th>" + COLS.map(function (k) {
          return "<td>" + F.esc(F.num(r[k], 0)) + "</td>";
        }).join("") + "</tr>";
    }).join("");
  }
  $("rc-print").addEventListener("click", function () { window.print(); });
  F.getJSON("/regions/" + encodeURIComponent(C.code) + "/contracts/report").then(function (d) {
    if (d.scope && d.scope.name) $("rc-name").textContent = t("rc_title") + " · " + d.scope.name;
    var real = d.real;
    $("rc-figures").innerHTML = [
      [t("rc_sheets"), F.num(real.sheets.total, 0)],
      [t("contract_committed") + " (€)", F.num(real.funding.committed_eur, 0)],
      [t("contract_paid") + " (€)", F.num(real.funding.paid_eur, 0)],
      [t("contract_overdue"), F.num(real.overdue.total, 0)],
    ].map(function (x) { return "<div><dt>" + F.esc(x[0]) + "</dt><dd>" + F.esc(x[1]) + "</dd></div>"; }).join("");
    $("rc-table").querySelector("tbody").innerHTML = rows(real.territories);
    $("rc-empty").hidden = real.territories.length > 0;
    if (d.example) {
      $("rc-example").hidden = false;
      var ex = $("rc-example-table");
      ex.insertBefore($("rc-table").querySelector("thead").cloneNode(true), ex.firstChild);
      ex.querySelector("tbody").innerHTML = rows(d.example.territories);
    }
    document.body.setAttribute("data-loaded", "1");
  }).catch(function (e) {
    $("rc-error").textContent = t(e && e.status === 404 ? "err_not_found" : "err_server");
    document.body.setAttribute("data-loaded", "1");
  });
})();
