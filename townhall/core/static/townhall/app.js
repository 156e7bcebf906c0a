// Small progressive enhancements; every page works without this file.
(function () {
  var order = ["auto", "light", "dark"];
  function current() { return document.documentElement.getAttribute("data-theme") || "auto"; }
  function label() {
    document.querySelectorAll("[data-theme-label]").forEach(function (el) { el.textContent = current(); });
  }
  document.addEventListener("click", function (event) {
    var btn = event.target.closest("[data-theme-toggle]");
    if (btn) {
      var next = order[(order.indexOf(current()) + 1) % order.length];
      document.documentElement.setAttribute("data-theme", next);
      if (next === "auto") localStorage.removeItem("townhall-theme"); else localStorage.setItem("townhall-theme", next);
      label();
    }
    var copy = event.target.closest("[data-copy]");
    if (copy && navigator.clipboard) {
      navigator.clipboard.writeText(copy.getAttribute("data-copy"));
      copy.textContent = "Copied";
    }
  });
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape") {
      document.querySelectorAll("details.usermenu[open]").forEach(function (d) { d.removeAttribute("open"); d.querySelector("summary").focus(); });
    }
  });
  document.addEventListener("DOMContentLoaded", label);
})();
