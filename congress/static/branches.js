/* The branch page, enhanced: the search filters the rows as one types. Without this script the
   same search works through the form (the address's "q"), answered by the server. */
(function () {
  "use strict";
  var search = document.getElementById("branch-q");
  var count = document.getElementById("branch-count");
  if (!search || !String.prototype.normalize) { return; }
  var rows = Array.prototype.slice.call(document.querySelectorAll("tr[data-search]"));

  /* as congress.text.fold: lower case, without diacritics ("Tứ Minh" -> "tu minh") */
  function fold(text) {
    return text.replace(/đ/g, "d").replace(/Đ/g, "D").normalize("NFD")
      .replace(/[\u0300-\u036f]/g, "").toLowerCase().replace(/\s+/g, " ").trim();
  }

  function filter() {
    var wanted = fold(search.value);
    var shown = 0;
    rows.forEach(function (row) {
      var match = !wanted || row.getAttribute("data-search").indexOf(wanted) !== -1;
      row.hidden = !match;
      if (match) { shown += 1; }
    });
    if (count) { count.textContent = count.getAttribute("data-text").replace("{shown}", shown.toLocaleString("vi-VN")); }
  }

  search.addEventListener("input", filter);
  if (search.value) { filter(); }
})();
