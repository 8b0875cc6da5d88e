/* An import's page while the file is read or applied: follow the progress, then show the result. */
(function () {
  "use strict";
  var box = document.getElementById("import-job");
  if (!box) { return; }
  function poll() {
    fetch(box.dataset.status, {credentials: "same-origin"}).then(function (r) { return r.json(); }).then(function (s) {
      document.getElementById("job-progress").value = s.percent;
      document.getElementById("job-count").textContent = s.done + "/" + s.total;
      if (s.state === "queued" || s.state === "reading" || s.state === "applying") {
        setTimeout(poll, 1000);
      } else {
        window.location.assign(box.dataset.reload);
      }
    }).catch(function () { setTimeout(poll, 3000); });
  }
  poll();
}());
