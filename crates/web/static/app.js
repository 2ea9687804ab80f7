// Progressive enhancement only: every page works without this file.
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    // "Select all" for bulk refresh.
    var all = document.getElementById("select-all");
    if (all) {
      all.addEventListener("change", function () {
        document.querySelectorAll("#status-table tbody tr:not([hidden]) input[name=instance]")
          .forEach(function (box) { box.checked = all.checked; });
      });
    }
    // Ask before destructive forms.
    document.querySelectorAll("form[data-confirm]").forEach(function (form) {
      form.addEventListener("submit", function (event) {
        if (!window.confirm(form.getAttribute("data-confirm"))) { event.preventDefault(); }
      });
    });
    // Long uploads and imports: show that something is happening, and submit once.
    document.querySelectorAll("form[data-progress]").forEach(function (form) {
      form.addEventListener("submit", function () {
        var progress = form.querySelector(".progress");
        if (progress) { progress.hidden = false; }
        form.querySelectorAll("button[type=submit]").forEach(function (b) { b.disabled = true; });
      });
    });
    // Instant text filter of the status table (the GET form still works without JS).
    var q = document.getElementById("filter-q");
    var table = document.getElementById("status-table");
    if (q && table) {
      var rows = Array.prototype.slice.call(table.tBodies[0].rows);
      var texts = rows.map(function (row) { return row.textContent.toLowerCase(); });
      q.addEventListener("input", function () {
        var needle = q.value.trim().toLowerCase();
        rows.forEach(function (row, i) { row.hidden = needle !== "" && texts[i].indexOf(needle) < 0; });
      });
    }
    // Show only the login fields that apply.
    var kind = document.getElementById("login-kind");
    if (kind) {
      var sync = function () {
        var manual = kind.value === "manual";
        document.querySelectorAll("fieldset.pbx-login").forEach(function (f) { f.hidden = manual; });
        document.querySelectorAll("fieldset.manual").forEach(function (f) { f.hidden = !manual; });
      };
      kind.addEventListener("change", sync);
      sync();
    }
    // A new channel: show only the fields its kind uses.
    var channelKind = document.getElementById("channel-kind");
    if (channelKind) {
      var showKind = function () {
        document.querySelectorAll("#channel-form [data-kinds]").forEach(function (field) {
          field.hidden = field.getAttribute("data-kinds").split(" ").indexOf(channelKind.value) < 0;
        });
      };
      channelKind.addEventListener("change", showKind);
      showKind();
    }
  });
})();
