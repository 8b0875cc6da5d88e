/* A background job's page (the ZIP of one document for every unit): follow its progress. */
(function () {
  "use strict";
  var box = document.getElementById("job");
  if (!box || box.dataset.poll !== "yes") { return; }
  function poll() {
    fetch(box.dataset.status, {credentials: "same-origin"}).then(function (r) { return r.json(); }).then(function (s) {
      document.getElementById("job-progress").value = s.percent;
      document.getElementById("job-count").textContent = s.done + "/" + s.total;
      var state = document.getElementById("job-state");
      if (s.state === "done") {
        state.textContent = "";
        var a = document.createElement("a");
        a.className = "button";
        a.href = s.download;
        a.textContent = box.dataset.labelDownload;
        state.appendChild(a);
        state.appendChild(document.createTextNode(" " + box.dataset.labelKept));
      } else if (s.state === "failed") {
        state.textContent = s.message || (box.dataset.labelFailed + " " + (s.error || ""));
      } else if (s.state === "expired") {
        window.location.reload();  /* the page says why and where to make it again */
      } else {
        setTimeout(poll, 1000);
      }
    }).catch(function () { setTimeout(poll, 3000); });
  }
  poll();
}());
