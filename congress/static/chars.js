/* Under every textarea with a maxlength (a note, a reason, a comment): how many characters are
   left, updated as one types, so a long note is not cut without warning. The words come from this
   script's tag, in the page's language. */
(function () {
  "use strict";
  var script = document.currentScript;
  var one = script.getAttribute("data-one");
  var many = script.getAttribute("data-many");
  var numbers = new Intl.NumberFormat(document.documentElement.lang || "vi");

  function words(left) {
    return left === 1 ? one : many.replace("{count}", numbers.format(left));
  }

  function attach(area, index) {
    var limit = parseInt(area.getAttribute("maxlength"), 10);
    if (!(limit > 0)) {
      return;
    }
    var counter = document.createElement("small");
    counter.className = "chars-left";
    counter.id = (area.id || "text-" + index) + "-chars-left";
    area.insertAdjacentElement("afterend", counter);
    var described = area.getAttribute("aria-describedby");
    area.setAttribute("aria-describedby", described ? described + " " + counter.id : counter.id);

    function update() {
      var left = Math.max(limit - area.value.length, 0);
      counter.textContent = words(left);
      counter.classList.toggle("is-low", left <= limit / 10);
    }
    area.addEventListener("input", update);
    update();
  }

  document.querySelectorAll("textarea[maxlength]").forEach(attach);
})();
