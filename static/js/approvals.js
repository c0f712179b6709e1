// The approval queue's behaviours: a confirmation dialog before htmx sends a decision (htmx:confirm),
// "Select all", keyboard shortcuts (listed on the page, can be switched off) and announcements for screen
// readers. Without JavaScript the same buttons lead to a confirmation page.
(function () {
  "use strict";

  var STORE_KEY = "civicpost.queue.shortcuts";
  var dialog, live, current = null, pending = null;

  function ready(fn) {
    if (document.readyState !== "loading") fn();
    else document.addEventListener("DOMContentLoaded", fn);
  }

  function words(key, fallback) {
    return (dialog && dialog.getAttribute("data-" + key)) || fallback;
  }

  function fill(text, values) {
    return text.replace(/%\((\w+)\)s/g, function (_, name) {
      return String(values[name]);
    });
  }

  function announce(message) {
    if (!live) return;
    live.textContent = "";
    window.setTimeout(function () {
      live.textContent = message;
    }, 50);
  }

  function items() {
    return Array.prototype.slice.call(document.querySelectorAll("[data-queue-item]"));
  }

  function itemOf(element) {
    return element && element.closest ? element.closest("[data-queue-item]") : null;
  }

  function titleOf(item) {
    var title = item.querySelector(".civic-queue-item__title");
    return title ? title.textContent.trim() : "";
  }

  function selectedCount() {
    return document.querySelectorAll("[data-queue-select]:checked").length;
  }

  // --- The confirmation dialog -----------------------------------------------------------------------

  function openDialog(decision, titles, onConfirm, onCancel) {
    var many = titles.length !== 1;
    var heading = dialog.querySelector("[data-dialog-heading]");
    var list = dialog.querySelector("[data-dialog-posts]");
    var comment = dialog.querySelector("[data-dialog-comment]");
    var error = dialog.querySelector("[data-dialog-error]");
    var confirm = dialog.querySelector("[data-dialog-confirm]");
    var cancel = dialog.querySelector("[data-dialog-cancel]");
    var key = (decision === "changes" ? "changes-" : "approve-") + (many ? "many" : "one");
    heading.textContent = fill(words(key, ""), { count: titles.length });
    list.textContent = "";
    titles.forEach(function (title) {
      var li = document.createElement("li");
      li.textContent = title;
      list.appendChild(li);
    });
    comment.value = "";
    comment.required = decision === "changes";
    error.hidden = true;
    error.textContent = "";
    confirm.textContent = words(decision === "changes" ? "confirm-changes" : "confirm-approve", "OK");
    var finished = false;
    function close(result) {
      if (finished) return;
      finished = true;
      confirm.removeEventListener("click", onYes);
      cancel.removeEventListener("click", onNo);
      dialog.removeEventListener("close", onNo);
      if (dialog.open) dialog.close();
      if (result) onConfirm(comment.value.trim());
      else onCancel();
    }
    function onYes() {
      if (decision === "changes" && !comment.value.trim()) {
        error.textContent = words("comment-needed", "");
        error.hidden = false;
        comment.focus();
        announce(error.textContent);
        return;
      }
      close(true);
    }
    function onNo() {
      close(false);
    }
    confirm.addEventListener("click", onYes);
    cancel.addEventListener("click", onNo);
    dialog.addEventListener("close", onNo);
    dialog.showModal();
    (decision === "changes" ? comment : confirm).focus();
  }

  function onHtmxConfirm(event) {
    var form = event.target;
    if (!form || form.id !== "approval-form") return;
    var detail = event.detail || {};
    var ctx = detail.ctx || {};
    var submitter = (ctx.request && ctx.request.submitter) || document.activeElement;
    if (!submitter || !submitter.getAttribute || !submitter.getAttribute("data-decide")) return;
    event.preventDefault();
    var decision = submitter.getAttribute("data-decide");
    var titles;
    if (submitter.getAttribute("data-scope") === "selected") {
      titles = Array.prototype.map.call(document.querySelectorAll("[data-queue-select]:checked"), function (box) {
        return titleOf(itemOf(box));
      });
      if (!titles.length) {
        announce(words("none-selected", ""));
        detail.dropRequest();
        return;
      }
    } else {
      titles = [titleOf(itemOf(submitter))];
    }
    pending = itemOf(submitter);
    openDialog(
      decision,
      titles,
      function (comment) {
        if (ctx.request && ctx.request.body) {
          ctx.request.body.set("comment", comment);
          ctx.request.body.set("confirm", "1");
        }
        announce(words("sending", ""));
        detail.issueRequest();
      },
      function () {
        detail.dropRequest();
        if (submitter.isConnected) submitter.focus();
      }
    );
  }

  function afterSwap() {
    var region = document.getElementById("approval-region");
    if (!region) return;
    enhance(region);
    var result = region.querySelector("[data-queue-result]");
    if (result) {
      announce(result.textContent.replace(/\s+/g, " ").trim());
      result.focus();
    }
  }

  function onError(event) {
    var detail = event.detail || {};
    var status = (detail.response && detail.response.status) || (detail.ctx && detail.ctx.response && detail.ctx.response.status) || "";
    announce(fill(words("failed", ""), { status: status }));
  }

  // --- Selection and shortcuts -------------------------------------------------------------------------

  function enhance(root) {
    var all = root.querySelector("[data-queue-select-all]");
    if (all) {
      all.hidden = false;
      all.addEventListener("click", function () {
        var boxes = root.querySelectorAll("[data-queue-select]");
        var every = Array.prototype.every.call(boxes, function (b) {
          return b.checked;
        });
        boxes.forEach(function (b) {
          b.checked = !every;
        });
        announce(fill(words("selected", ""), { count: selectedCount() }));
      });
    }
    root.querySelectorAll("[data-queue-select]").forEach(function (box) {
      box.addEventListener("change", function () {
        announce(box.checked ? fill(words("selected", ""), { count: selectedCount() }) : words("unselected", ""));
      });
    });
    current = null;
  }

  function shortcutsOn() {
    var toggle = document.querySelector("[data-queue-shortcuts-toggle]");
    return !toggle || toggle.checked;
  }

  function typing(target) {
    if (!target || !target.tagName) return false;
    var tag = target.tagName.toLowerCase();
    return tag === "input" && target.type !== "checkbox" || tag === "textarea" || tag === "select" || target.isContentEditable;
  }

  function focusItem(item) {
    var list = items();
    current = item;
    item.focus();
    announce(fill(words("position", ""), { number: list.indexOf(item) + 1, total: list.length }) + " " + titleOf(item));
  }

  function onKey(event) {
    if (event.ctrlKey || event.metaKey || event.altKey || !shortcutsOn()) return;
    if ((dialog && dialog.open) || typing(event.target)) return;
    var list = items();
    if (!list.length) return;
    var here = itemOf(document.activeElement) || (current && current.isConnected ? current : null);
    var index = here ? list.indexOf(here) : -1;
    var key = event.key;
    if (key === "j" || key === "k") {
      var next = key === "j" ? Math.min(index + 1, list.length - 1) : Math.max(index - 1, 0);
      focusItem(list[next]);
    } else if (key === "x" && here) {
      var box = here.querySelector("[data-queue-select]");
      box.checked = !box.checked;
      box.dispatchEvent(new Event("change"));
    } else if ((key === "a" || key === "r") && here) {
      here.querySelector('[data-decide="' + (key === "a" ? "approve" : "changes") + '"]').click();
    } else if (key === "A") {
      var bulk = document.querySelector('[data-scope="selected"][data-decide="approve"]');
      if (bulk) bulk.click();
    } else {
      return;
    }
    event.preventDefault();
  }

  ready(function () {
    dialog = document.getElementById("approval-dialog");
    live = document.getElementById("approval-live");
    if (!dialog || typeof dialog.showModal !== "function") return;
    var help = document.querySelector("[data-queue-shortcuts]");
    var toggle = document.querySelector("[data-queue-shortcuts-toggle]");
    if (help) help.hidden = false;
    if (toggle) {
      try {
        toggle.checked = window.localStorage.getItem(STORE_KEY) !== "off";
      } catch (e) {
        /* storage blocked: shortcuts stay on */
      }
      toggle.addEventListener("change", function () {
        try {
          window.localStorage.setItem(STORE_KEY, toggle.checked ? "on" : "off");
        } catch (e) {
          /* nothing to keep */
        }
      });
    }
    var region = document.getElementById("approval-region");
    if (region) enhance(region);
    document.addEventListener("htmx:confirm", onHtmxConfirm);
    document.addEventListener("htmx:after:settle", afterSwap);
    document.addEventListener("htmx:error", onError);
    document.addEventListener("htmx:response:error", onError);
    document.addEventListener("keydown", onKey);
  });
})();
