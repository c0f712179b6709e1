// The queue page: after "Move up" / "Move down" the page comes back at #entry-N; put keyboard focus on that
// row so the next move is one Tab away. The result itself is announced by the page's status message.
(function () {
  "use strict";
  var target = window.location.hash && document.getElementById(window.location.hash.slice(1));
  if (target && target.classList.contains("civic-queue__item")) {
    target.focus();
  }
})();
