// The calendar on a phone. Loaded right after the filters (not deferred), so it runs before they are drawn:
// - the calendar opened without a choice of view (the menu link) shows the agenda, which reads better
//   than a month grid at that width, unless the person chose the month view on this device before.
(function () {
  "use strict";

  var KEY = "civicpost.calendarView";
  var phone = window.matchMedia && window.matchMedia("(max-width: 39.99em)").matches;

  function remembered() {
    try {
      return window.localStorage.getItem(KEY);
    } catch (error) {
      return null;
    }
  }

  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("[data-cal-view]");
    if (!link) return;
    try {
      window.localStorage.setItem(KEY, link.getAttribute("data-cal-view"));
    } catch (error) {
      // Private browsing without storage: the choice simply is not remembered.
    }
  });

  if (!phone) return;

  var agenda = document.querySelector('meta[name="civicpost-phone-view"]');
  if (agenda && remembered() !== "month") {
    window.location.replace(agenda.getAttribute("content"));
  }
})();
