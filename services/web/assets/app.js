// Progressive enhancement only: every page works without this file.
// Filter selects submit their form as soon as they change.
"use strict";
document.addEventListener("change", function (event) {
  var target = event.target;
  if (target instanceof HTMLSelectElement && target.form && target.form.hasAttribute("data-autosubmit")) {
    target.form.submit();
  }
});

// The alerts inbox follows its live feed (Server-Sent Events from /alerts/live): when the
// alert stream records something, the list is fetched again and swapped in, and a status line
// (role=status, read out politely) says so. While someone is filling in a form of the list,
// nothing is swapped under them: the status line offers a button that reloads the list.
(function () {
  var live = document.getElementById("alerts-live");
  if (!live || typeof EventSource === "undefined" || !window.fetch || !window.DOMParser) {
    return;
  }
  var status = document.getElementById("alerts-status");
  var busy = false;
  var again = false;

  function editing() {
    var list = document.getElementById("alerts-list");
    if (!list) {
      return false;
    }
    var active = document.activeElement;
    if (active && list.contains(active) && /^(INPUT|TEXTAREA|SELECT)$/.test(active.tagName)) {
      return true;
    }
    if (list.querySelector("details[open], .field-error")) {
      return true;
    }
    var fields = list.querySelectorAll("input:not([type=hidden]), textarea");
    for (var i = 0; i < fields.length; i += 1) {
      if (fields[i].value !== fields[i].defaultValue) {
        return true;
      }
    }
    return false;
  }

  function offerReload() {
    status.textContent = live.getAttribute("data-new") + " ";
    var button = document.createElement("button");
    button.type = "button";
    button.textContent = live.getAttribute("data-reload");
    button.addEventListener("click", function () {
      refresh();
    });
    status.appendChild(button);
  }

  function refresh() {
    if (busy) {
      again = true;
      return;
    }
    busy = true;
    var url = "/alerts" + (location.pathname === "/alerts" ? location.search : "");
    fetch(url, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("HTTP " + response.status);
        }
        return response.text();
      })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html").getElementById("alerts-list");
        var list = document.getElementById("alerts-list");
        if (!fresh || !list) {
          throw new Error("no list");
        }
        list.replaceWith(document.importNode(fresh, true));
        status.textContent = live.getAttribute("data-updated");
      })
      .catch(function () {
        offerReload();
      })
      .then(function () {
        busy = false;
        if (again) {
          again = false;
          refresh();
        }
      });
  }

  var source = new EventSource(live.getAttribute("data-live"));
  // Says whether the feed is connected (for styles and tests): data-state="open" or "closed".
  source.addEventListener("open", function () {
    live.setAttribute("data-state", "open");
  });
  source.addEventListener("error", function () {
    live.setAttribute("data-state", "closed");
  });
  source.addEventListener("alerts", function () {
    if (editing()) {
      offerReload();
    } else {
      refresh();
    }
  });
  // Leaving the page closes the feed at once (no reconnection attempt while unloading).
  window.addEventListener("pagehide", function () {
    source.close();
  });
})();
