// The console's progressive enhancement. Every page works without this
// script; with it:
//
// - each row's "…" menu (a <details> disclosure without JavaScript) becomes
//   a WAI-ARIA menu button: a button that opens a menu of menuitems, one
//   menu open at a time; the arrow keys, Home and End move between the
//   items, Escape closes the menu and gives the focus back to its button,
//   and a click elsewhere closes it;
// - the Users tab gets a "select all on this page" box;
// - Copy buttons copy the field they name (data-copy) to the clipboard.
(function () {
  "use strict";
  var seq = 0;
  var open = null; // the open menu: {button, menu}

  function items(menu) {
    return Array.prototype.slice.call(menu.querySelectorAll('[role="menuitem"]'));
  }

  function close(restoreFocus) {
    if (!open) {
      return;
    }
    var o = open;
    open = null;
    o.menu.hidden = true;
    o.button.setAttribute("aria-expanded", "false");
    if (restoreFocus) {
      o.button.focus();
    }
  }

  function show(button, menu, which) {
    if (open && open.menu !== menu) {
      close(false);
    }
    open = { button: button, menu: menu };
    menu.hidden = false;
    button.setAttribute("aria-expanded", "true");
    var list = items(menu);
    if (list.length) {
      list[which === "last" ? list.length - 1 : 0].focus();
    }
  }

  // enhanceMenu turns one <details class="row-menu"> into a menu button.
  function enhanceMenu(details) {
    var summary = details.querySelector("summary");
    var list = details.querySelector("ul");
    if (!summary || !list) {
      return;
    }
    var id = "row-menu-" + ++seq;
    var wrap = document.createElement("div");
    wrap.className = details.className;
    var button = document.createElement("button");
    button.type = "button";
    button.className = "menu-button";
    button.textContent = summary.textContent;
    button.setAttribute("aria-label", summary.getAttribute("aria-label"));
    button.setAttribute("aria-haspopup", "menu");
    button.setAttribute("aria-expanded", "false");
    button.setAttribute("aria-controls", id);
    list.id = id;
    list.setAttribute("role", "menu");
    list.setAttribute("aria-label", summary.getAttribute("aria-label"));
    list.hidden = true;
    Array.prototype.forEach.call(list.children, function (li) {
      li.setAttribute("role", "none");
      var item = li.querySelector("a, button");
      if (item) {
        item.setAttribute("role", "menuitem");
        item.tabIndex = -1;
      }
    });
    wrap.appendChild(button);
    wrap.appendChild(list);
    details.replaceWith(wrap);

    button.addEventListener("click", function () {
      if (open && open.menu === list) {
        close(true);
      } else {
        show(button, list, "first");
      }
    });
    button.addEventListener("keydown", function (e) {
      if (e.key === "ArrowDown" || e.key === "ArrowUp") {
        e.preventDefault();
        show(button, list, e.key === "ArrowUp" ? "last" : "first");
      }
    });
    list.addEventListener("keydown", function (e) {
      var all = items(list);
      var i = all.indexOf(document.activeElement);
      var next = null;
      switch (e.key) {
        case "ArrowDown":
          next = all[(i + 1) % all.length];
          break;
        case "ArrowUp":
          next = all[(i - 1 + all.length) % all.length];
          break;
        case "Home":
          next = all[0];
          break;
        case "End":
          next = all[all.length - 1];
          break;
        case "Escape":
          e.preventDefault();
          close(true);
          return;
        case "Tab":
          close(false);
          return;
        default:
          return;
      }
      e.preventDefault();
      next.focus();
    });
  }

  // enhanceBulk adds "select all on this page" to the Users tab's table.
  function enhanceBulk(root) {
    var form = root.querySelector("form.bulk");
    var head = form && form.querySelector("th.select");
    if (!head || head.querySelector("input")) {
      return;
    }
    var all = document.createElement("input");
    all.type = "checkbox";
    all.setAttribute("aria-label", "Select all on this page");
    head.textContent = "";
    head.appendChild(all);
    var boxes = form.querySelectorAll('tbody input[name="user_ids"]');
    all.addEventListener("change", function () {
      Array.prototype.forEach.call(boxes, function (b) {
        b.checked = all.checked;
      });
    });
    var matching = form.querySelector('input[name="all"]');
    if (matching) {
      matching.addEventListener("change", function () {
        all.checked = matching.checked;
        Array.prototype.forEach.call(boxes, function (b) {
          b.checked = matching.checked;
        });
      });
    }
  }

  function enhanceCopy(root) {
    Array.prototype.forEach.call(root.querySelectorAll("button[data-copy]"), function (button) {
      var field = document.getElementById(button.getAttribute("data-copy"));
      if (!field) {
        return;
      }
      var said = document.createElement("span");
      said.className = "copy-status";
      said.setAttribute("role", "status");
      button.after(said);
      button.hidden = false;
      button.addEventListener("click", function () {
        var done = function () {
          said.textContent = "Copied";
          setTimeout(function () {
            said.textContent = "";
          }, 3000);
        };
        if (navigator.clipboard && navigator.clipboard.writeText) {
          navigator.clipboard.writeText(field.value).then(done, function () {
            field.select();
          });
        } else {
          field.select();
          document.execCommand("copy");
          done();
        }
      });
    });
  }

  function enhance(root) {
    Array.prototype.forEach.call(root.querySelectorAll("details.row-menu"), enhanceMenu);
    enhanceBulk(root);
    enhanceCopy(root);
  }

  document.addEventListener("click", function (e) {
    if (open && !open.menu.contains(e.target) && !open.button.contains(e.target)) {
      close(false);
    }
  });
  document.addEventListener("keydown", function (e) {
    if (e.key === "Escape" && open) {
      close(true);
    }
  });

  window.musterEnhance = enhance;
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () {
      enhance(document);
    });
  } else {
    enhance(document);
  }
})();

// The invite and edit forms' "Add a secondary team" leaves out the team
// chosen as Primary Team: a team is never both for one user. Without this
// script every other team is offered when the page loads, and the service
// drops a secondary team that is the primary one.
(function () {
  "use strict";
  var primary = document.getElementById("primary_team");
  var add = document.getElementById("add_secondary");
  if (!primary || !add) {
    return;
  }
  function leaveOutPrimary() {
    Array.prototype.forEach.call(add.options, function (o) {
      var isPrimary = o.value === primary.value;
      o.hidden = isPrimary;
      o.disabled = isPrimary;
      if (isPrimary && o.selected) {
        o.selected = false;
      }
    });
    if (add.selectedIndex < 0 || add.options[add.selectedIndex].disabled) {
      var first = Array.prototype.find.call(add.options, function (o) {
        return !o.disabled;
      });
      if (first) {
        first.selected = true;
      }
    }
  }
  primary.addEventListener("change", leaveOutPrimary);
  leaveOutPrimary();
})();

// An import in progress (BULK-1): without JavaScript the page reloads every
// two seconds (a meta refresh in <noscript>); with it, the progress bar and
// the count move in place, polled each second, and the page reloads once,
// for the result, when the import has ended.
(function () {
  "use strict";
  var box = document.querySelector("[data-import-progress]");
  if (!box || !window.fetch) {
    return;
  }
  var bar = box.querySelector("progress");
  var done = box.querySelector("[data-rows-done]");
  function poll() {
    fetch(box.getAttribute("data-import-progress"), { credentials: "same-origin", cache: "no-store" })
      .then(function (res) {
        return res.ok ? res.json() : null;
      })
      .then(function (p) {
        if (!p) {
          window.setTimeout(poll, 3000);
          return;
        }
        bar.value = p.percent;
        bar.textContent = p.percent + "%";
        done.textContent = p.rows_done;
        if (p.status === "done" || p.status === "failed") {
          window.location.reload();
          return;
        }
        window.setTimeout(poll, 1000);
      })
      .catch(function () {
        window.setTimeout(poll, 3000);
      });
  }
  window.setTimeout(poll, 1000);
})();
