// CivicPost's own small behaviours. Everything works without them; they only help.
(function () {
  "use strict";

  function ready(fn) {
    if (document.readyState !== "loading") fn();
    else document.addEventListener("DOMContentLoaded", fn);
  }

  ready(function () {
    // After a refused form, move focus to the list of problems so screen readers announce it.
    var summary = document.querySelector("[data-error-summary]");
    if (summary) summary.focus();

    // On the compose page, say which time zone applies to the chosen department.
    var select = document.querySelector("[data-department-select]");
    var zoneLabel = document.querySelector("[data-zone-label]");
    if (select && zoneLabel) {
      var update = function () {
        var option = select.options[select.selectedIndex];
        var zone = option && option.getAttribute("data-zone");
        if (zone) zoneLabel.textContent = zone;
      };
      select.addEventListener("change", update);
      update();
    }
  });
})();
