/* On a wide screen, open the menu and the filters that a phone keeps folded (<details
   class="open-wide">). Without JavaScript they stay folded and open with a click. */
(function () {
  "use strict";
  var wide = window.matchMedia("(min-width: 48rem)");
  function apply() {
    document.documentElement.classList.toggle("wide", wide.matches);
    var boxes = document.querySelectorAll("details.open-wide");
    for (var i = 0; i < boxes.length; i++) {
      if (wide.matches) { boxes[i].open = true; }
    }
  }
  apply();
  if (wide.addEventListener) { wide.addEventListener("change", apply); }
})();
