/* The edit form of the dashboard's "Contrat" section, for keyed users: the key (kept in
 * sessionStorage only, the same entry as the simulator's) unlocks the territory's sheets in every
 * workflow state (GET /territories/ti/{id}/contract); an editor drafts or edits a sheet (POST /
 * PATCH /contracts/sheets) and submits it, a region admin validates it or sends it back with a
 * comment (/contracts/sheets/{id}/{move}); the API's refusals are shown in the page's language and
 * the sheet's history (GET .../history) is listed. A move reloads the public report above. */
(function () {
  "use strict";
  var F = window.Foncier, t = F.t, C = F.config;
  var KEY_STORE = "foncier.editorKey";
  var box = document.getElementById("ce"), section = document.getElementById("contract");
  if (!box || !section) return;
  var programme = Number(section.getAttribute("data-programme"));
  var sheets = {}, current = null;
  function $(id) { return document.getElementById(id); }
  function label(prefix, code) { var k = prefix + code; var v = t(k); return v === k ? code : v; }
  function key() { return $("ce-key").value.trim(); }
  function status(text) { $("ce-status").textContent = text || ""; }
  function error(text) { $("ce-error").textContent = text || ""; }

  function request(method, url, body) {
    var headers = { Accept: "application/json", "X-API-Key": key() };
    if (body) headers["Content-Type"] = "application/json";
    return fetch(url, { method: method, headers: headers, body: body ? JSON.stringify(body) : undefined }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (b) {
        if (r.ok) return b;
        var e = new Error(url + ": HTTP " + r.status);
        e.status = r.status;
        e.detail = b && b.detail != null ? (typeof b.detail === "string" ? b.detail : JSON.stringify(b.detail)) : "";
        throw e;
      });
    });
  }
  // The API's refusal in the page's language (its detail kept for a 400: the field at fault).
  function refusal(e, move) {
    if (e.status === 401) return t("ce_err_401");
    if (e.status === 403) return move === "validate" || move === "send-back" ? t("ce_err_403_admin") : t("ce_err_403_territory");
    if (e.status === 404) return t("ce_err_404");
    if (e.status === 400 || e.status === 422) return F.fill("ce_err_400", { detail: e.detail });
    return F.errorText(e);
  }
  function fail(move) { return function (e) { status(""); error(refusal(e, move)); box.setAttribute("data-busy", "0"); }; }

  function fillList(select) {
    var sel = $("ce-sheet");
    sel.length = 1;
    Object.keys(sheets).sort().forEach(function (id) {
      var s = sheets[id], o = document.createElement("option");
      o.value = id;
      o.textContent = s.code + " · " + s.title + " (" + label("wf:", s.workflow) + ")";
      sel.appendChild(o);
    });
    sel.value = select && sheets[select] ? select : "";
    pick();
  }
  function unlock(select) {
    var url = "/territories/ti/" + encodeURIComponent(C.code) + "/contract?programme=" + programme;
    box.setAttribute("data-busy", "1");
    return request("GET", url).then(function (d) {
      sheets = {};
      d.sheets.forEach(function (s) { sheets[s.id] = s; });
      $("ce-editor").hidden = false;
      fillList(select);
      box.setAttribute("data-busy", "0");
      box.setAttribute("data-unlocked", "1");
      return d;
    });
  }
  function onUnlock(ev) {
    ev.preventDefault();
    try { sessionStorage.setItem(KEY_STORE, key()); } catch (e) { /* storage refused: keep it in the field */ }
    error("");
    unlock().then(function (d) { status(F.fill("ce_unlocked", { n: d.sheets.length })); }, function (e) {
      $("ce-editor").hidden = true;
      box.setAttribute("data-unlocked", "0");
      fail("read")(e);
    });
  }

  function pick() {
    current = sheets[$("ce-sheet").value] || null;
    var s = current || {};
    $("ce-code").value = s.code || "";
    $("ce-code").disabled = !!current;
    $("ce-title-input").value = s.title || "";
    $("ce-axis").value = s.axis || $("ce-axis").options[0].value;
    $("ce-state").value = s.status || "idea";
    $("ce-due").value = s.due_on || "";
    $("ce-budget").value = s.budget_eur == null ? "" : s.budget_eur;
    $("ce-moves").hidden = !current;
    if (!current) return;
    $("ce-workflow").textContent = label("wf:", s.workflow);
    $("ce-workflow-comment").textContent = s.workflow_comment ? "« " + s.workflow_comment + " »" : "";
    showHistory(s.id);
  }
  function fields() {
    var budget = $("ce-budget").value;
    return {
      title: $("ce-title-input").value.trim(),
      axis: $("ce-axis").value,
      status: $("ce-state").value,
      due_on: $("ce-due").value || null,
      budget_eur: budget === "" ? null : Number(budget),
    };
  }
  function save(ev) {
    ev.preventDefault();
    error("");
    var body = fields(), done;
    box.setAttribute("data-busy", "1");
    if (!current) {
      body = Object.assign({ programme: programme, id_ti: C.code, code: $("ce-code").value.trim() }, body);
      done = request("POST", "/contracts/sheets", body).then(function (s) { return s.id; });
    } else {
      var changed = {};
      Object.keys(body).forEach(function (k) {
        var was = current[k] == null ? null : k === "budget_eur" ? Number(current[k]) : current[k];
        if (body[k] !== was) changed[k] = body[k];
      });
      if (!Object.keys(changed).length) { status(t("ce_unchanged")); box.setAttribute("data-busy", "0"); return; }
      done = request("PATCH", "/contracts/sheets/" + encodeURIComponent(current.id), changed).then(function () { return current.id; });
    }
    done.then(function (id) {
      return unlock(id).then(function () { status(F.fill("ce_saved", { id: id })); return F.contractReload(); });
    }).catch(fail("save"));
  }
  function move(name) {
    return function () {
      error("");
      if (!current) return;
      var comment = $("ce-comment").value.trim();
      if (name === "send-back" && !comment) { error(t("ce_err_comment")); return; }
      var id = current.id;
      box.setAttribute("data-busy", "1");
      request("POST", "/contracts/sheets/" + encodeURIComponent(id) + "/" + name, comment ? { comment: comment } : null)
        .then(function (r) {
          $("ce-comment").value = "";
          return unlock(id).then(function () {
            status(F.fill("ce_moved", { id: id, state: label("wf:", r.workflow) }));
            return F.contractReload();
          });
        }).catch(fail(name));
    };
  }

  // An audit row's changes in words: "Axe : Attirer ; Échéance : 2027-06-30", "État : soumise → validée".
  var FIELDS = { title: "ce_sheet_title", axis: "contract_axis", status: "ce_status", due_on: "ce_due",
    budget_eur: "ce_budget", workflow: "ce_workflow" };
  var VALUES = { axis: "axis:", status: "cs:", workflow: "wf:" };
  function value(k, v) { return v == null ? "∅" : VALUES[k] ? label(VALUES[k], v) : typeof v === "object" ? JSON.stringify(v) : v; }
  function change(c) {
    var parts = Object.keys(c.changes || {}).filter(function (k) {
      return ["comment", "id", "id_ti", "programme", "code"].indexOf(k) < 0;
    }).map(function (k) {
      var v = c.changes[k], name = FIELDS[k] ? t(FIELDS[k]) : k;
      if (v && typeof v === "object" && "new" in v) return name + " : " + value(k, v.old) + " → " + value(k, v.new);
      return name + " : " + value(k, v);
    });
    if (c.changes && c.changes.comment) parts.push("« " + c.changes.comment + " »");
    return parts.join(" ; ");
  }
  function showHistory(id) {
    var list = $("ce-history");
    list.innerHTML = "";
    request("GET", "/contracts/sheets/" + encodeURIComponent(id) + "/history").then(function (h) {
      if (!current || current.id !== id) return;
      var rows = h.changes.map(function (c) {
        return "<li><small>" + F.esc(new Date(c.at).toLocaleString(C.lang)) + "</small> " + F.esc(c.actor) + " · <strong>" +
          F.esc(label("ce_act:", c.action)) + "</strong> <small>" + F.esc(change(c)) + "</small></li>";
      }).concat(h.imports.map(function (r) {
        return "<li><small>" + F.esc(new Date(r.at).toLocaleString(C.lang)) + "</small> <strong>" + F.esc(t("ce_import")) +
          "</strong> <small>" + F.esc(r.source) + "</small></li>";
      }));
      list.innerHTML = rows.length ? rows.join("") : '<li class="empty">' + F.esc(t("ce_no_history")) + "</li>";
      list.setAttribute("data-count", String(rows.length));
    }).catch(fail("history"));
  }

  $("ce-unlock").addEventListener("submit", onUnlock);
  $("ce-sheet").addEventListener("change", function () { error(""); status(""); pick(); });
  $("ce-form").addEventListener("submit", save);
  $("ce-submit").addEventListener("click", move("submit"));
  $("ce-validate").addEventListener("click", move("validate"));
  $("ce-send-back").addEventListener("click", move("send-back"));
  try { $("ce-key").value = sessionStorage.getItem(KEY_STORE) || ""; } catch (e) { /* no storage */ }
})();
