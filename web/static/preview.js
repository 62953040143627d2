// The channel settings' live preview: while the inventory values are edited, ask the server
// (which applies the same rules the sync engine does) what the sample SKUs would show.
(function () {
  "use strict";
  var form = document.getElementById("settings");
  var table = document.getElementById("preview");
  if (!form || !table) { return; }
  var status = document.getElementById("preview-status");
  var search = document.getElementById("preview-q");
  var body = table.querySelector("tbody");
  var timer = null;
  var latest = 0;

  function text(value) { return value === null || value === undefined ? "–" : String(value); }

  function cell(row, content, cls) {
    var td = document.createElement("td");
    td.textContent = content;
    if (cls) { td.className = cls; }
    row.appendChild(td);
  }

  function stock(levels) {
    if (!levels.length) { return "–"; }
    return levels.map(function (l) {
      return (l.name || l.location_id) + ": " + l.quantity + (l.active ? "" : " (inactive)");
    }).join(", ");
  }

  function render(data) {
    body.textContent = "";
    if (data.errors) {
      var names = Object.keys(data.errors);
      status.textContent = names.map(function (n) { return n + ": " + data.errors[n]; }).join("; ");
      status.className = "error";
      return;
    }
    status.className = "muted";
    status.textContent = "Store stock → what this shop would show with the values above (not saved yet).";
    if (!data.rows.length) {
      var empty = document.createElement("tr");
      cell(empty, "No linked SKU" + (search && search.value ? " matches" : " yet") + ".", "muted");
      empty.firstChild.colSpan = 5;
      body.appendChild(empty);
      return;
    }
    data.rows.forEach(function (r) {
      var tr = document.createElement("tr");
      tr.setAttribute("data-sku", r.sku);
      cell(tr, r.sku + (r.title ? " · " + r.title : ""));
      cell(tr, stock(r.stock));
      cell(tr, text(r.shown));
      cell(tr, text(r.quantity), r.changes ? "would-show changed" : "would-show");
      cell(tr, r.explanation);
      body.appendChild(tr);
    });
  }

  function refresh() {
    var params = new URLSearchParams(new FormData(form));
    params.delete("csrf_token");
    if (search && search.value) { params.set("q", search.value); }
    var ticket = ++latest;
    fetch(form.getAttribute("data-preview") + "?" + params.toString(), {
      headers: { "Accept": "application/json" }, credentials: "same-origin"
    }).then(function (response) {
      return response.json();
    }).then(function (data) {
      if (ticket === latest) { render(data); }
    }).catch(function () {
      if (ticket === latest) { status.textContent = "The preview could not be loaded."; }
    });
  }

  function soon() {
    if (timer) { clearTimeout(timer); }
    timer = setTimeout(refresh, 200);
  }

  form.addEventListener("input", soon);
  form.addEventListener("change", soon);
  if (search) { search.addEventListener("input", soon); }
  refresh();
})();
