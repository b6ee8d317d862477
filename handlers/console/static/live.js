// Live notice: when the register changes after this page was rendered,
// say how many new changes there are. The page works without this file.
(function () {
  "use strict";
  var box = document.getElementById("live");
  if (!box || !window.EventSource) { return; }
  var base = parseInt(box.getAttribute("data-head"), 10) || 0;
  var es = new EventSource("/live");
  es.addEventListener("head", function (ev) {
    var head = parseInt(ev.data, 10);
    var n = head - base;
    if (n <= 0) { return; }
    box.textContent = "";
    var a = document.createElement("a");
    a.href = window.location.pathname + window.location.search;
    a.textContent = n === 1 ? "1 new change — reload to see it" : n + " new changes — reload to see them";
    box.appendChild(a);
    box.hidden = false;
  });
}());
