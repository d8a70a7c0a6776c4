// Search as you type on the Users tab (CON-2). Without this script the
// search form works as a normal GET form; with it, typing in the search box
// fetches the same page and swaps in its results, keeping focus and caret.
(function () {
  "use strict";
  var form = document.querySelector("form[data-live-search]");
  var results = document.getElementById("results");
  if (!form || !results || !window.fetch || !window.DOMParser) {
    return;
  }
  var box = form.querySelector("input[type=search]");
  // Screen readers hear how many users a search shows, not the whole table.
  var status = document.createElement("p");
  status.className = "visually-hidden";
  status.setAttribute("role", "status");
  form.appendChild(status);
  var timer = null;
  var latest = 0;

  function update() {
    var query = new URLSearchParams(new FormData(form)).toString();
    var url = form.action + (query ? "?" + query : "");
    var mine = ++latest;
    results.setAttribute("aria-busy", "true");
    fetch(url, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (res) {
        if (!res.ok || res.redirected) {
          throw new Error("search: " + res.status);
        }
        return res.text();
      })
      .then(function (html) {
        if (mine !== latest) {
          return; // a later search is on its way
        }
        var fresh = new DOMParser().parseFromString(html, "text/html").getElementById("results");
        if (!fresh) {
          throw new Error("search: no results in the page");
        }
        results.innerHTML = fresh.innerHTML;
        if (window.musterEnhance) {
          window.musterEnhance(results);
        }
        var clear = document.getElementById("clear-filters");
        var freshClear = fresh.ownerDocument.getElementById("clear-filters");
        if (clear && freshClear) {
          clear.hidden = freshClear.hidden;
        }
        results.removeAttribute("aria-busy");
        var range = document.getElementById("range");
        var n = results.querySelectorAll("tbody tr").length;
        status.textContent = (n === 1 ? "1 user shown" : n + " users shown") + (range ? ", " + range.textContent : "");
        history.replaceState(null, "", url);
      })
      .catch(function () {
        // Fall back to the plain form: the server renders the page.
        form.submit();
      });
  }

  function later() {
    clearTimeout(timer);
    timer = setTimeout(update, 250);
  }

  box.addEventListener("input", later);
  form.querySelectorAll("select").forEach(function (s) {
    s.addEventListener("change", update);
  });
})();
