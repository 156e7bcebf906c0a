// Runs before first paint so the chosen theme never flashes.
(function () {
  var t = localStorage.getItem("townhall-theme");
  if (t === "light" || t === "dark") document.documentElement.setAttribute("data-theme", t);
})();
