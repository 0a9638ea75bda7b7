/* The statistics page's heat map (Leaflet + leaflet-heat, served by this app; no inline script).
   #heat[data-url] names the JSON with the selection's findings summed on a grid:
   {"points": [[lat, lon, n], ...], "cell_m": m, "bounds": [[s, w], [n, e]], "total": n}.

   leaflet-heat adds up the weights that fall in one cell of radius/2 pixels and caps the sum at
   `max`; simpleheat then draws each sum as a blurred dot whose opacity is sum/max, and the
   opacities of overlapping dots add up. A fixed max would paint everything red when zoomed out
   (more findings per pixel) and everything pale when zoomed in, so after each zoom `max` becomes
   twice the largest of those sums (the overlap of neighbours makes up the rest): only the
   busiest places turn red, at every zoom. */
(function () {
  "use strict";
  var el = document.getElementById("heat");
  if (!el || !window.L || !L.heatLayer) { return; }
  var RADIUS = 14, MAX_ZOOM = 18;
  var note = document.getElementById("heat-note");
  var map = L.map(el, {scrollWheelZoom: false, maxZoom: MAX_ZOOM});
  var tiles = el.getAttribute("data-tiles");
  if (tiles) {
    L.tileLayer(tiles, {maxZoom: MAX_ZOOM, attribution: el.getAttribute("data-attribution") || ""}).addTo(map);
  }
  map.setView([62.0, 15.0], 5);  // Sweden, until the points arrive

  function largestSum(points) {
    // The same cells and zoom factor as leaflet-heat's _redraw.
    var zoom = map.getZoom(), cell = RADIUS / 2, sums = {}, key, i, p, values = [];
    var factor = 1 / Math.pow(2, Math.max(0, Math.min(MAX_ZOOM - zoom, 12)));
    for (i = 0; i < points.length; i++) {
      p = map.project([points[i][0], points[i][1]], zoom);
      key = Math.floor(p.x / cell) + ":" + Math.floor(p.y / cell);
      sums[key] = (sums[key] || 0) + points[i][2] * factor;
    }
    for (key in sums) { if (Object.prototype.hasOwnProperty.call(sums, key)) { values.push(sums[key]); } }
    // Headroom for the overlap: neighbouring dots add their opacity to the busiest one's.
    return values.length ? 2 * Math.max.apply(null, values) : 1;
  }

  fetch(el.getAttribute("data-url"), {credentials: "same-origin"})
    .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); })
    .then(function (body) {
      if (body.bounds) { map.fitBounds(body.bounds, {maxZoom: 16, padding: [16, 16]}); }
      var layer = L.heatLayer(body.points, {radius: RADIUS, blur: 12, minOpacity: 0.25,
        maxZoom: MAX_ZOOM, max: largestSum(body.points),
        gradient: {0.25: "#2c7bb6", 0.45: "#abd9e9", 0.65: "#ffffbf", 0.85: "#fdae61", 1.0: "#d7191c"}});
      layer.addTo(map);
      map.on("zoomend", function () { layer.setOptions({max: largestSum(body.points)}); });
      if (note) { note.textContent = el.getAttribute("data-note").replace("{cell}", body.cell_m); }
      el.setAttribute("data-loaded", String(body.points.length));
    })
    .catch(function () { if (note) { note.textContent += " (!)"; } });
})();
