// Writing posts and comments: Markdown toolbar, @mention / #topic autocomplete,
// more image slots, growing text areas, menus that close with Escape.
// Progressive enhancement only: every form works without this file.
(function () {
  "use strict";
  var script = document.currentScript;
  var SUGGEST_URL = (script && script.getAttribute("data-autocomplete-url")) || "/posts/autocomplete";
  var counter = 0;

  // --- Markdown toolbar -------------------------------------------------------------

  function replaceSelection(area, text, selectFrom, selectTo) {
    var start = area.selectionStart, end = area.selectionEnd;
    area.focus();
    area.setRangeText(text, start, end, "end");
    if (selectFrom !== undefined) area.setSelectionRange(start + selectFrom, start + selectTo);
    area.dispatchEvent(new Event("input", { bubbles: true }));
  }

  function wrap(area, before, after, placeholder) {
    var chosen = area.value.slice(area.selectionStart, area.selectionEnd) || placeholder;
    replaceSelection(area, before + chosen + after, before.length, before.length + chosen.length);
  }

  function prefixLines(area, prefix) {
    var value = area.value;
    var start = value.lastIndexOf("\n", area.selectionStart - 1) + 1;
    var end = area.selectionEnd;
    area.setSelectionRange(start, end);
    var lines = (value.slice(start, end) || "").split("\n");
    var text = lines.map(function (line) { return line.indexOf(prefix) === 0 ? line : prefix + line; }).join("\n");
    replaceSelection(area, text, text.length, text.length);
  }

  var actions = {
    bold: function (a) { wrap(a, "**", "**", "bold text"); },
    italic: function (a) { wrap(a, "_", "_", "italic text"); },
    code: function (a) {
      var chosen = a.value.slice(a.selectionStart, a.selectionEnd);
      if (chosen.indexOf("\n") >= 0) wrap(a, "```\n", "\n```", "code");
      else wrap(a, "`", "`", "code");
    },
    link: function (a) {
      var chosen = a.value.slice(a.selectionStart, a.selectionEnd) || "link text";
      var text = "[" + chosen + "](https://)";
      replaceSelection(a, text, chosen.length + 3, text.length - 1);
    },
    list: function (a) { prefixLines(a, "- "); },
    quote: function (a) { prefixLines(a, "> "); }
  };

  function initToolbar(bar) {
    if (bar.hasAttribute("data-ready")) return;
    bar.setAttribute("data-ready", "");
    bar.hidden = false;
    var buttons = Array.prototype.slice.call(bar.querySelectorAll("button[data-md]"));
    buttons.forEach(function (b, i) { b.tabIndex = i === 0 ? 0 : -1; });
    bar.addEventListener("keydown", function (event) {
      var index = buttons.indexOf(document.activeElement);
      if (index < 0) return;
      var next = null;
      if (event.key === "ArrowRight") next = (index + 1) % buttons.length;
      else if (event.key === "ArrowLeft") next = (index - 1 + buttons.length) % buttons.length;
      else if (event.key === "Home") next = 0;
      else if (event.key === "End") next = buttons.length - 1;
      if (next === null) return;
      event.preventDefault();
      buttons[index].tabIndex = -1;
      buttons[next].tabIndex = 0;
      buttons[next].focus();
    });
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-md-toolbar] button[data-md]");
    if (!button) return;
    var area = document.getElementById(button.closest("[data-md-toolbar]").getAttribute("data-md-toolbar"));
    var action = actions[button.getAttribute("data-md")];
    if (area && action) action(area);
  });

  document.addEventListener("keydown", function (event) {
    var area = event.target;
    if (!area || area.tagName !== "TEXTAREA") return;
    if ((event.ctrlKey || event.metaKey) && event.key === "Enter" && area.form) {
      event.preventDefault();
      var submit = area.form.querySelector("button[type=submit]:not([name=action])");
      if (submit) submit.click();
      return;
    }
    if (!(event.ctrlKey || event.metaKey) || event.altKey || !area.id) return;
    if (!document.querySelector('[data-md-toolbar="' + area.id + '"]')) return;
    var key = event.key.toLowerCase();
    var name = key === "b" ? "bold" : key === "i" ? "italic" : key === "k" ? "link" : null;
    if (name) { event.preventDefault(); actions[name](area); }
  });

  // --- growing text areas -----------------------------------------------------------

  function grow(area) {
    if (!area.hasAttribute("data-autogrow")) return;
    area.style.height = "auto";
    var wanted = area.scrollHeight + 2;
    area.style.height = Math.min(wanted, 480) + "px";
    // No scrollbar (and no room kept for one) until the text outgrows the box.
    area.style.overflowY = wanted > 480 ? "auto" : "hidden";
  }

  // --- @mention / #topic autocomplete -------------------------------------------------

  var TOKEN = /(^|[\s(\[])([@#])([^\s@#()\[\]]{1,60})$/;
  var state = null; // {area, list, items, active, token, timer, request}

  function announce(area, text) {
    var live = document.getElementById("live-status");
    if (!live) {
      live = document.createElement("p");
      live.id = "live-status";
      live.className = "visually-hidden";
      live.setAttribute("role", "status");
      document.body.appendChild(live);
    }
    live.textContent = text;
  }

  function ensureList(area) {
    var id = area.getAttribute("aria-controls");
    var list = id && document.getElementById(id);
    if (list) return list;
    list = document.createElement("ul");
    list.id = "suggestions-" + (++counter);
    list.className = "autocomplete";
    list.setAttribute("role", "listbox");
    list.setAttribute("aria-label", "Suggestions");
    list.hidden = true;
    area.parentElement.classList.add("autocomplete-anchor");
    area.parentElement.appendChild(list);
    area.setAttribute("aria-controls", list.id);
    area.setAttribute("aria-autocomplete", "list");
    list.addEventListener("mousedown", function (event) {
      var option = event.target.closest("li[role=option]");
      if (!option) return;
      event.preventDefault(); // keep focus in the text area
      choose(Number(option.getAttribute("data-index")));
    });
    return list;
  }

  function close() {
    if (!state) return;
    state.list.hidden = true;
    state.list.innerHTML = "";
    state.area.removeAttribute("aria-activedescendant");
    clearTimeout(state.timer);
    state = null;
  }

  function setActive(index) {
    var options = state.list.querySelectorAll("li[role=option]");
    options.forEach(function (li, i) { li.setAttribute("aria-selected", i === index ? "true" : "false"); });
    state.active = index;
    if (options[index]) {
      state.area.setAttribute("aria-activedescendant", options[index].id);
      options[index].scrollIntoView({ block: "nearest" });
    }
  }

  function choose(index) {
    if (!state || !state.items[index]) return;
    var area = state.area, token = state.token, value = state.items[index].value + " ";
    var caret = area.selectionStart;
    var from = caret - token.length;
    area.setRangeText(value, from, caret, "end");
    area.dispatchEvent(new Event("input", { bubbles: true }));
    announce(area, state.items[index].label + " inserted.");
    close();
    area.focus();
  }

  function render(area, list, items) {
    list.innerHTML = "";
    items.forEach(function (item, i) {
      var li = document.createElement("li");
      li.id = list.id + "-" + i;
      li.setAttribute("role", "option");
      li.setAttribute("aria-selected", "false");
      li.setAttribute("data-index", String(i));
      var strong = document.createElement("strong");
      strong.textContent = item.label;
      li.appendChild(strong);
      var detail = document.createElement("span");
      detail.textContent = item.value + (item.detail ? " · " + item.detail : "");
      li.appendChild(detail);
      list.appendChild(li);
    });
    list.hidden = items.length === 0;
  }

  function suggest(area) {
    var before = area.value.slice(0, area.selectionStart);
    var match = TOKEN.exec(before);
    if (!match || area.selectionStart !== area.selectionEnd) { close(); return; }
    var sigil = match[2], query = match[3];
    var list = ensureList(area);
    if (state && state.area !== area) close();
    if (!state) state = { area: area, list: list, items: [], active: -1, token: "", timer: null };
    state.token = sigil + query;
    clearTimeout(state.timer);
    var mine = state;
    state.timer = setTimeout(function () {
      var url = SUGGEST_URL + "?type=" + (sigil === "#" ? "topic" : "mention") + "&q=" + encodeURIComponent(query);
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (response) { return response.ok ? response.json() : { results: [] }; })
        .then(function (data) {
          if (state !== mine) return;
          var items = (data.results || []).filter(function (item) { return item.value; });
          mine.items = items;
          render(area, list, items);
          mine.active = -1;
          if (items.length) {
            setActive(0);
            announce(area, items.length + (items.length === 1 ? " suggestion" : " suggestions") + ". Use the up and down arrows, then Enter.");
          }
        })
        .catch(function () { /* suggestions are a nicety; typing goes on */ });
    }, 150);
  }

  document.addEventListener("input", function (event) {
    var area = event.target;
    if (!area || area.tagName !== "TEXTAREA") return;
    grow(area);
    if (area.hasAttribute("data-autocomplete")) suggest(area);
  });

  document.addEventListener("keydown", function (event) {
    if (!state || event.target !== state.area || state.list.hidden || !state.items.length) return;
    if (event.key === "ArrowDown") { event.preventDefault(); setActive((state.active + 1) % state.items.length); }
    else if (event.key === "ArrowUp") { event.preventDefault(); setActive((state.active - 1 + state.items.length) % state.items.length); }
    else if ((event.key === "Enter" || event.key === "Tab") && state.active >= 0) { event.preventDefault(); choose(state.active); }
    else if (event.key === "Escape") { event.preventDefault(); event.stopPropagation(); close(); }
  }, true);

  document.addEventListener("focusout", function (event) {
    if (state && event.target === state.area) setTimeout(function () { if (state && document.activeElement !== state.area) close(); }, 150);
  });

  // --- image slots ----------------------------------------------------------------

  function initImageButton(button) {
    var box = button.closest("details, form");
    if (!box) return;
    var update = function () { button.hidden = !box.querySelector("[data-image-slot][hidden]"); };
    if (!button.hasAttribute("data-ready")) {
      button.setAttribute("data-ready", "");
      button.addEventListener("click", function () {
        var slot = box.querySelector("[data-image-slot][hidden]");
        if (!slot) return;
        slot.hidden = false;
        var input = slot.querySelector("input[type=file]");
        if (input) input.focus();
        update();
      });
    }
    update();
  }

  // --- menus and reply boxes --------------------------------------------------------

  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    document.querySelectorAll("details.post-menu[open], details.reaction-menu[open]").forEach(function (menu) {
      menu.removeAttribute("open");
      var summary = menu.querySelector("summary");
      if (summary && menu.contains(document.activeElement)) summary.focus();
    });
  });

  document.addEventListener("click", function (event) {
    document.querySelectorAll("details.post-menu[open], details.reaction-menu[open]").forEach(function (menu) {
      if (!menu.contains(event.target)) menu.removeAttribute("open");
    });
  });

  function openTarget() {
    if (!location.hash) return;
    var target = document.getElementById(decodeURIComponent(location.hash.slice(1)));
    var box = target && target.closest("details.reply-box");
    if (box) {
      box.open = true;
      var area = box.querySelector("textarea");
      if (area) area.focus();
    }
  }

  // --- wiring -----------------------------------------------------------------------

  function init(root) {
    if (!root || !root.querySelectorAll) return;
    var selector = "[data-md-toolbar], [data-add-image], textarea[data-autogrow]";
    var scope = Array.prototype.slice.call(root.querySelectorAll(selector));
    if (root.matches && root.matches(selector)) scope.unshift(root);
    scope.forEach(function (el) {
      if (el.matches("[data-md-toolbar]")) initToolbar(el);
      else if (el.matches("[data-add-image]")) initImageButton(el);
      else if (el.matches("textarea[data-autogrow]")) grow(el);
    });
  }

  document.addEventListener("DOMContentLoaded", function () { init(document.body); openTarget(); });
  // htmx puts new cards, comments and forms in the page: wire them too.
  document.addEventListener("htmx:load", function (event) { init(event.target); });
  window.addEventListener("hashchange", openTarget);
})();
