// Completions for the search box: asks /api/v1/search/suggest as the buyer types and fills the
// box's <datalist>. Without this script the box still searches.
(function () {
  "use strict";
  var boxes = document.querySelectorAll("input[type=search][list]");
  boxes.forEach(function (box) {
    var list = document.getElementById(box.getAttribute("list"));
    if (!list) return;
    var timer = null;
    var asked = "";
    box.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () {
        var q = box.value.trim();
        if (!q || q === asked) return;
        asked = q;
        fetch("/api/v1/search/suggest?q=" + encodeURIComponent(q), { headers: { Accept: "application/json" } })
          .then(function (r) { return r.ok ? r.json() : { suggestions: [] }; })
          .then(function (data) {
            if (box.value.trim() !== q) return; // the buyer typed on
            list.replaceChildren.apply(list, data.suggestions.map(function (s) {
              var option = document.createElement("option");
              option.value = s;
              return option;
            }));
          })
          .catch(function () {});
      }, 150);
    });
  });
})();
