/* The city's dashboard, enhanced: sort the matrix and search it by name without reloading.
   Without this script the same links and form work through the query string. */
(function () {
  "use strict";
  var table = document.getElementById("matrix-table");
  if (!table || !table.tBodies.length || !window.URL || !String.prototype.normalize) { return; }
  var body = table.tBodies[0];
  var rows = Array.prototype.filter.call(body.rows, function (row) { return row.hasAttribute("data-name"); });
  var count = document.getElementById("matrix-count");
  var search = document.getElementById("matrix-q");
  var form = search && search.form;
  var numeric = { name: true, percent: true, risk: true, days_left: true };

  function fold(text) {
    return text.replace(/đ/g, "d").replace(/Đ/g, "D").normalize("NFD")
      .replace(/[\u0300-\u036f]/g, "").toLowerCase().replace(/\s+/g, " ").trim();
  }

  function value(row, key) {
    var raw = row.getAttribute("data-" + key);
    return numeric[key] ? Number(raw) : raw;
  }

  function sortBy(key, descending) {
    var sign = descending ? -1 : 1;
    rows.sort(function (a, b) {
      var x = value(a, key), y = value(b, key);
      var order = x < y ? -1 : x > y ? 1 : 0;
      if (key === "name") { return sign * order; }
      return sign * order || value(a, "name") - value(b, "name");
    });
    rows.forEach(function (row) { body.appendChild(row); });
  }

  function showSorted(key, descending) {
    Array.prototype.forEach.call(table.querySelectorAll("th[data-sort]"), function (th) {
      var current = th.getAttribute("data-sort") === key;
      var link = th.querySelector("a");
      var url = new URL(link.href);
      url.searchParams.set("sort", th.getAttribute("data-sort"));
      url.searchParams.set("dir", current && !descending ? "desc" : "asc");
      link.href = url.toString();
      th.querySelector(".sort-icon").textContent = current ? (descending ? "▼" : "▲") : "↕";
      if (current) { th.setAttribute("aria-sort", descending ? "descending" : "ascending"); }
      else { th.removeAttribute("aria-sort"); }
    });
    if (form) {
      form.elements.sort.value = key;
      form.elements.dir.value = descending ? "desc" : "asc";
    }
  }

  table.tHead.addEventListener("click", function (event) {
    var link = event.target.closest("th[data-sort] a");
    if (!link || event.ctrlKey || event.metaKey || event.shiftKey) { return; }
    event.preventDefault();
    var url = new URL(link.href);
    var key = url.searchParams.get("sort") || "name";
    var descending = url.searchParams.get("dir") === "desc";
    sortBy(key, descending);
    showSorted(key, descending);
    var here = new URL(window.location.href);
    here.searchParams.set("sort", key);
    here.searchParams.set("dir", descending ? "desc" : "asc");
    window.history.replaceState(null, "", here.toString());
  });

  function filter() {
    var wanted = fold(search.value);
    var shown = 0;
    rows.forEach(function (row) {
      var match = !wanted || row.getAttribute("data-search").indexOf(wanted) !== -1 ||
        row.getAttribute("data-code").indexOf(wanted) === 0;
      row.hidden = !match;
      if (match) { shown += 1; }
    });
    if (count) {
      count.textContent = table.getAttribute("data-count-text").replace("{shown}", shown.toLocaleString("vi-VN"));
    }
  }

  if (search) { search.addEventListener("input", filter); }

  /* A cell's tooltip names its step as well as its state. */
  var stepHeads = table.tHead.rows.length > 1 ? table.tHead.rows[1].cells : [];
  var leading = table.tHead.rows[0].cells.length - (table.tHead.rows[0].querySelectorAll("th.phase").length);
  body.addEventListener("mouseover", function (event) {
    var link = event.target.closest("td.c a");
    if (!link || link.getAttribute("data-titled")) { return; }
    var head = stepHeads[link.parentNode.cellIndex - leading];
    if (head) { link.title = head.title + ": " + link.title; }
    link.setAttribute("data-titled", "1");
  });
}());
