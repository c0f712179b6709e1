// The shared calendar's behaviours: drag a post (or a draft from the side panel) to another day (or
// hour, in the week view) and the keyboard way to do the same (each movable post has a "Move" button,
// each draft a "Place on a day" button, that opens a small form).
// Both post to the reschedule endpoint; the result is announced in the page's live region and the
// calendar region is refreshed from the server (the same address with HX-Request, as htmx does).
(function () {
  "use strict";

  // Words come translated from the page (templates/includes/js_text.html); English if it is missing.
  function uiText(key, fallback) {
    var holder = document.getElementById("civic-js-text");
    return (holder && holder.getAttribute("data-" + key)) || fallback;
  }

  var dialog, form, errorBox, errorText, live, dragged;

  function ready(fn) {
    if (document.readyState !== "loading") fn();
    else document.addEventListener("DOMContentLoaded", fn);
  }

  function csrfToken() {
    var field = document.querySelector("[data-move-form] [name=csrfmiddlewaretoken]");
    if (field) return field.value;
    var match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }

  function announce(message, isError) {
    if (!live) return;
    live.classList.toggle("civic-cal-live--error", !!isError);
    live.classList.toggle("civic-cal-live--ok", !isError);
    // Clear first so the same words twice are still announced.
    live.textContent = "";
    window.setTimeout(function () {
      live.textContent = message;
    }, 50);
  }

  function enableMoveButtons(root) {
    (root || document).querySelectorAll("[data-move][hidden]").forEach(function (button) {
      button.hidden = false;
    });
  }

  function refreshRegion(focusPostId) {
    var region = document.getElementById("calendar-region");
    if (!region) return Promise.resolve();
    return fetch(window.location.href, { headers: { "HX-Request": "true" }, credentials: "same-origin" })
      .then(function (response) {
        return response.ok ? response.text() : Promise.reject(response.status);
      })
      .then(function (html) {
        var holder = document.createElement("div");
        holder.innerHTML = html;
        var fresh = holder.querySelector("#calendar-region");
        if (!fresh) return;
        region.replaceWith(fresh);
        enableMoveButtons(fresh);
        if (focusPostId) {
          var link = fresh.querySelector('[data-post-id="' + focusPostId + '"] .civic-cal-chip__link');
          if (link) link.focus();
        }
      })
      .catch(function () {
        window.location.reload();
      });
  }

  // Posts the move; resolves to the endpoint's JSON answer {ok, message, needs_override, status}.
  function sendMove(url, fields) {
    var body = new FormData();
    Object.keys(fields).forEach(function (key) {
      if (fields[key] !== undefined && fields[key] !== null) body.append(key, fields[key]);
    });
    return fetch(url, {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { "X-CSRFToken": csrfToken(), Accept: "application/json" },
    }).then(function (response) {
      return response
        .json()
        .catch(function () {
          return {
            ok: false,
            message: uiText("calendar-error", "The calendar could not be updated (error %(status)s).").replace(
              "%(status)s",
              String(response.status)
            ),
          };
        });
    });
  }

  // --- The Move form (keyboard and pointer) ----------------------------------------------------

  function showDialogError(message) {
    if (!errorBox) return;
    errorText.textContent = message;
    errorBox.hidden = !message;
  }

  function openMoveDialog(chip, options) {
    if (!dialog) return;
    options = options || {};
    form.action = chip.getAttribute("data-move-url");
    form.setAttribute("data-post-id", chip.getAttribute("data-post-id"));
    dialog.querySelector("[data-move-summary]").textContent = chip.getAttribute("data-summary") || "";
    form.elements.date.value = options.date || chip.getAttribute("data-date") || "";
    form.elements.time.value = options.time || chip.getAttribute("data-time") || "";
    if (form.elements.override_reason) form.elements.override_reason.value = "";
    showDialogError(options.error || "");
    dialog.returnFocusTo = chip.querySelector("[data-move]") || chip.querySelector("a");
    if (typeof dialog.showModal === "function") dialog.showModal();
    else dialog.setAttribute("open", "");
    var first = options.focusReason && form.elements.override_reason ? form.elements.override_reason : form.elements.date;
    first.focus();
  }

  function closeMoveDialog(restoreFocus) {
    if (!dialog) return;
    if (typeof dialog.close === "function" && dialog.open) dialog.close();
    else dialog.removeAttribute("open");
    if (restoreFocus && dialog.returnFocusTo && document.contains(dialog.returnFocusTo)) {
      // A month or week line's Move button is in its preview, drawn only while the line has the focus:
      // focus the line's link first, so the button can take the focus.
      var line = dialog.returnFocusTo.closest(".civic-cal-line");
      var link = line && line.querySelector(".civic-cal-chip__link");
      if (link) link.focus();
      dialog.returnFocusTo.focus();
    }
  }

  function submitMoveForm(event) {
    event.preventDefault();
    var postId = form.getAttribute("data-post-id");
    if (!form.elements.date.value || !form.elements.time.value) {
      showDialogError(
        !form.elements.date.value ? uiText("choose-date", "Choose the new date.") : uiText("choose-time", "Choose the new time.")
      );
      (form.elements.date.value ? form.elements.time : form.elements.date).focus();
      return;
    }
    var fields = {
      date: form.elements.date.value,
      time: form.elements.time.value,
      override_reason: form.elements.override_reason ? form.elements.override_reason.value : "",
    };
    sendMove(form.action, fields).then(function (answer) {
      if (answer.ok) {
        closeMoveDialog(false);
        announce(answer.message, false);
        refreshRegion(postId);
      } else {
        showDialogError(answer.message);
        if (answer.needs_override && form.elements.override_reason) form.elements.override_reason.focus();
        else form.elements.date.focus();
      }
    });
  }

  // --- Drag and drop -------------------------------------------------------------------------

  function dropTarget(element) {
    return element && element.closest ? element.closest("[data-drop-date]") : null;
  }

  function onDragStart(event) {
    var chip = event.target.closest && event.target.closest('[data-post-id][draggable="true"]');
    if (!chip) return;
    dragged = chip;
    chip.classList.add("civic-cal-chip--dragging");
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", chip.getAttribute("data-post-id"));
  }

  function onDragEnd() {
    if (dragged) dragged.classList.remove("civic-cal-chip--dragging");
    document.querySelectorAll(".civic-cal-drop-over").forEach(function (el) {
      el.classList.remove("civic-cal-drop-over");
    });
    dragged = null;
  }

  function onDragOver(event) {
    var target = dropTarget(event.target);
    if (!target || !dragged) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = "move";
    if (!target.classList.contains("civic-cal-drop-over")) {
      document.querySelectorAll(".civic-cal-drop-over").forEach(function (el) {
        el.classList.remove("civic-cal-drop-over");
      });
      target.classList.add("civic-cal-drop-over");
    }
  }

  function onDrop(event) {
    var target = dropTarget(event.target);
    var chip = dragged;
    if (!target || !chip) return;
    event.preventDefault();
    onDragEnd();
    var date = target.getAttribute("data-drop-date");
    var time = chip.getAttribute("data-time") || "09:00";
    var hour = target.getAttribute("data-drop-hour");
    if (hour !== null) {
      // The week view's rows are hours: keep the minutes, take the row's hour.
      time = ("0" + hour).slice(-2) + ":" + time.split(":")[1];
    }
    if (date === chip.getAttribute("data-date") && time === chip.getAttribute("data-time")) return;
    announce(uiText("moving", "Moving the post…"), false);
    sendMove(chip.getAttribute("data-move-url"), { date: date, time: time }).then(function (answer) {
      if (answer.ok) {
        announce(answer.message, false);
        refreshRegion(null);
      } else if (answer.needs_override) {
        // An approver may still schedule into a blackout: ask for the reason in the Move form.
        announce(answer.message, true);
        openMoveDialog(chip, { date: date, time: time, error: answer.message, focusReason: true });
      } else {
        announce(answer.message, true);
      }
    });
  }

  ready(function () {
    dialog = document.getElementById("calendar-move-dialog");
    live = document.getElementById("calendar-live");
    if (dialog) {
      form = dialog.querySelector("[data-move-form]");
      errorBox = dialog.querySelector("[data-move-error]");
      errorText = dialog.querySelector("[data-move-error-text]");
      form.addEventListener("submit", submitMoveForm);
      dialog.querySelector("[data-move-cancel]").addEventListener("click", function () {
        closeMoveDialog(true);
      });
      dialog.addEventListener("cancel", function (event) {
        event.preventDefault();
        closeMoveDialog(true);
      });
    }
    enableMoveButtons(document);
    document.addEventListener("click", function (event) {
      var button = event.target.closest && event.target.closest("[data-move]");
      if (!button) return;
      var chip = button.closest("[data-post-id]");
      if (chip) openMoveDialog(chip);
    });
    // A click on a day's free space starts a post on that day (the day's "+" link is the keyboard way).
    document.addEventListener("click", function (event) {
      var cell = event.target.closest && event.target.closest("[data-new-post]");
      if (!cell || event.target.closest("a, button, li, input, p")) return;
      window.location.href = cell.getAttribute("data-new-post");
    });
    // Escape hides a post's preview until the pointer or the focus leaves it (WCAG 1.4.13).
    document.addEventListener("keydown", function (event) {
      if (event.key !== "Escape" || (dialog && dialog.open)) return;
      var line = event.target.closest && event.target.closest(".civic-cal-line");
      if (line) line.classList.add("civic-cal-line--dismissed");
    });
    function undismiss(event) {
      document.querySelectorAll(".civic-cal-line--dismissed").forEach(function (line) {
        if (!line.contains(event.target)) line.classList.remove("civic-cal-line--dismissed");
      });
    }
    document.addEventListener("focusin", undismiss);
    document.addEventListener("mouseover", undismiss);
    document.addEventListener("dragstart", onDragStart);
    document.addEventListener("dragend", onDragEnd);
    document.addEventListener("dragover", onDragOver);
    document.addEventListener("drop", onDrop);
  });
})();
