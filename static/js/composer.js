// The composer's safety nets. Everything works without them; they make sure nothing typed is lost.
//
// 1. A copy of the form in this browser (localStorage), written on every change, so a session that
//    expires (or a closed tab) never loses text, media or choices: when the page is opened again, it
//    offers to bring the copy back (the server re-renders it, media and all).
// 2. Autosave: every 10 seconds, when something changed, the draft is posted to the autosave address.
//    The first autosave of a new post creates the draft: the form then edits that draft.
// 3. The live check (htmx, see post_form.html) never uploads a chosen file: only the buttons do.
// 4. After a successful save, the post page tells this script to drop the copy.
// 5. A hashtag suggestion, when chosen, is added to the end of the text.
(function () {
  "use strict";

  // Words come translated from the page (templates/includes/js_text.html); English if it is missing.
  function uiText(key, fallback) {
    var holder = document.getElementById("civic-js-text");
    return (holder && holder.getAttribute("data-" + key)) || fallback;
  }

  var AUTOSAVE_EVERY_MS = 10000;
  var PREFIX = "civicpost.compose.";
  var SKIPPED = { csrfmiddlewaretoken: true, upload: true, upload_captions: true, media_action: true };

  function ready(fn) {
    if (document.readyState !== "loading") fn();
    else document.addEventListener("DOMContentLoaded", fn);
  }

  function storage() {
    try {
      var probe = PREFIX + "probe";
      window.localStorage.setItem(probe, "1");
      window.localStorage.removeItem(probe);
      return window.localStorage;
    } catch (error) {
      return null;
    }
  }

  function read(store, key) {
    try {
      return JSON.parse(store.getItem(key) || "null");
    } catch (error) {
      return null;
    }
  }

  function formValues(form) {
    var values = [];
    new FormData(form).forEach(function (value, name) {
      if (SKIPPED[name] || typeof value !== "string") return;
      values.push([name, value]);
    });
    return values;
  }

  function sameValues(a, b) {
    return JSON.stringify(a || []) === JSON.stringify(b || []);
  }

  function withoutFiles(form) {
    var body = new FormData(form);
    Object.keys(SKIPPED).forEach(function (name) {
      if (name !== "csrfmiddlewaretoken") body.delete(name);
    });
    return body;
  }

  function textOf(html) {
    var holder = new DOMParser().parseFromString(html, "text/html");
    var state = holder.querySelector("[data-autosave-state]");
    return { text: (holder.body.textContent || "").trim(), state: state ? state.getAttribute("data-autosave-state") : "" };
  }

  // --- The compose page --------------------------------------------------------------------------

  function initComposer(form) {
    var store = storage();
    var user = form.getAttribute("data-user");
    var key = PREFIX + user + "." + form.getAttribute("data-post");
    var draftKeyInput = form.querySelector("[data-draft-key]");
    var draftKey = draftKeyInput ? draftKeyInput.value : "";
    var status = form.querySelector("[data-autosave-status]");
    var dirty = false;
    var saving = false;

    function keep() {
      if (!store) return;
      try {
        store.setItem(key, JSON.stringify({ draftKey: draftKey, savedAt: Date.now(), values: formValues(form) }));
      } catch (error) {
        /* storage full or blocked: the server copy still helps */
      }
    }

    function say(message) {
      if (!status) return;
      status.textContent = message;
    }

    // Offer an older copy that differs from what the page shows.
    var box = document.querySelector("[data-composer-restore]");
    var earlier = store ? read(store, key) : null;
    if (earlier && box && earlier.draftKey !== draftKey && !sameValues(earlier.values, formValues(form))) {
      var when = new Date(earlier.savedAt);
      var text = box.querySelector("[data-restore-text]");
      if (text && !isNaN(when.getTime())) {
        text.textContent = text.textContent + " (" + when.toLocaleString() + ")";
      }
      box.hidden = false;
      box.querySelector("[data-restore-yes]").addEventListener("click", function () {
        // The server puts the copy back into the form, media included, without saving anything yet.
        var restore = document.createElement("form");
        restore.method = "post";
        restore.action = form.action;
        restore.enctype = "multipart/form-data";
        restore.hidden = true;
        var fields = earlier.values.concat([
          ["media_action", "restore"],
          ["csrfmiddlewaretoken", form.querySelector("[name=csrfmiddlewaretoken]").value],
        ]);
        fields.forEach(function (pair) {
          var input = document.createElement("input");
          input.type = "hidden";
          input.name = pair[0];
          input.value = pair[1];
          restore.appendChild(input);
        });
        document.body.appendChild(restore);
        restore.submit();
      });
      box.querySelector("[data-restore-no]").addEventListener("click", function () {
        store.removeItem(key);
        box.hidden = true;
        var heading = document.querySelector("h1");
        if (heading) {
          heading.setAttribute("tabindex", "-1");
          heading.focus();
        }
      });
      var heading = box.querySelector("[data-restore-heading]");
      if (heading && !document.querySelector("[data-error-summary]")) heading.focus();
    } else if (!earlier || earlier.draftKey === draftKey) {
      keep();
    }

    form.addEventListener("input", function () {
      dirty = true;
      keep();
    });
    form.addEventListener("change", function () {
      dirty = true;
      keep();
    });
    form.addEventListener("submit", keep);

    function autosave() {
      if (!dirty || saving || !form.hasAttribute("data-autosave")) return;
      saving = true;
      dirty = false;
      fetch(form.getAttribute("data-autosave-url"), {
        method: "POST",
        body: withoutFiles(form),
        credentials: "same-origin",
        headers: { "X-Requested-With": "XMLHttpRequest" },
      })
        .then(function (response) {
          if (response.redirected && response.url.indexOf("/accounts/") !== -1) {
            dirty = true;
            say(
              uiText(
                "session-ended",
                "Your session has ended, so this draft was not saved. What you typed is kept in this browser: " +
                  "sign in again and open this page to bring it back."
              )
            );
            return null;
          }
          var editUrl = response.headers.get("X-Civic-Edit-Url");
          if (editUrl) {
            // The first autosave made the draft: from now on this page edits it.
            var postId = response.headers.get("X-Civic-Post-Id");
            form.action = editUrl;
            form.setAttribute("data-autosave-url", response.headers.get("X-Civic-Autosave-Url"));
            form.setAttribute("data-post", postId);
            if (store) store.removeItem(key);
            key = PREFIX + user + "." + postId;
            keep();
            var leave = document.querySelector("[data-leave-link]");
            if (leave) {
              leave.href = editUrl.replace(/edit\/$/, "");
              leave.textContent = uiText("leave-saved", "Leave this page (the draft is saved)");
            }
            if (window.history && window.history.replaceState) window.history.replaceState(null, "", editUrl);
          }
          return response.text();
        })
        .then(function (html) {
          if (html === null || html === undefined) return;
          var reply = textOf(html);
          if (reply.state !== "saved") dirty = true;
          say(reply.text);
        })
        .catch(function () {
          dirty = true;
          say(
            uiText(
              "not-saved",
              "The draft could not be saved just now (no connection?). What you typed is kept in this browser."
            )
          );
        })
        .finally(function () {
          saving = false;
        });
    }

    window.setInterval(autosave, AUTOSAVE_EVERY_MS);
    form.addEventListener("civic:autosave-now", autosave);

    // After a media button, go to what changed (the new file's alt text, or the media heading).
    var focusId = form.getAttribute("data-focus");
    if (focusId && !document.querySelector("[data-error-summary]")) {
      var target = document.getElementById(focusId);
      if (target) target.focus();
    }
  }

  // Once the form is being sent, the page is about to be replaced: no more live checks.
  var leaving = false;
  document.addEventListener("submit", function (event) {
    if (event.target && event.target.matches && event.target.matches("form[data-composer]")) leaving = true;
  });
  document.addEventListener("htmx:before:request", function (event) {
    if (leaving) event.preventDefault();
  });

  // The live check must not upload a chosen file on every key press.
  document.addEventListener("htmx:config:request", function (event) {
    var ctx = event.detail && event.detail.ctx;
    var body = ctx && ctx.request && ctx.request.body;
    if (body && typeof body.delete === "function") {
      ["upload", "upload_captions", "media_action"].forEach(function (name) {
        body.delete(name);
      });
    }
  });

  // --- Hashtag suggestions: the chosen one goes to the end of the text ------------------------------
  // The suggestions are re-drawn by the live check, so the focus goes back to the text (at its end) and a
  // status line says what was added.
  document.addEventListener("click", function (event) {
    var button = event.target && event.target.closest ? event.target.closest("[data-hashtag]") : null;
    if (!button) return;
    var form = button.closest("form[data-composer]");
    var text = form ? form.querySelector("#id_text") : null;
    if (!text) return;
    var tag = button.getAttribute("data-hashtag");
    var before = text.value.replace(/\s+$/, "");
    text.value = before + (before ? " " : "") + tag;
    text.dispatchEvent(new Event("input", { bubbles: true }));
    text.focus();
    text.setSelectionRange(text.value.length, text.value.length);
    var status = document.querySelector("[data-hashtag-status]");
    if (status) {
      status.textContent = tag + " " + (status.getAttribute("data-added") || "was added to the end of the text.");
    }
  });

  // --- The post page after a save: drop the browser's copy ----------------------------------------

  function dropSavedCopy(marker) {
    var store = storage();
    if (!store) return;
    var saved = marker.getAttribute("data-composer-saved");
    var prefix = PREFIX + marker.getAttribute("data-user") + ".";
    var doomed = [];
    for (var i = 0; i < store.length; i++) {
      var name = store.key(i);
      if (name && name.indexOf(prefix) === 0) {
        var entry = read(store, name);
        if (entry && entry.draftKey === saved) doomed.push(name);
      }
    }
    doomed.forEach(function (name) {
      store.removeItem(name);
    });
  }

  ready(function () {
    var form = document.querySelector("form[data-composer]");
    if (form) initComposer(form);
    var marker = document.querySelector("[data-composer-saved]");
    if (marker) dropSavedCopy(marker);
  });
})();
