/* Coordinator maps (Leaflet, served by this app). No inline script: everything comes from the
   map element's data- attributes.
   - #map[data-points]: every filtered finding, clustered (stays usable with 100,000 points).
   - .point-map[data-lat][data-lon]: one finding's position. */
(function () {
  "use strict";
  // One colour per category (walkaudit/categories.py), handed over by the page.
  var COLOURS = JSON.parse(document.body.getAttribute("data-category-colours") || "{}");

  function baseMap(el) {
    // maxZoom on the map itself: without a tile layer (WALKAUDIT_TILE_URL="") none would set
    // it, and markercluster refuses a map without one.
    var map = L.map(el, {preferCanvas: true, maxZoom: 19});
    var tiles = el.getAttribute("data-tiles");
    if (tiles) {
      L.tileLayer(tiles, {maxZoom: 19, attribution: el.getAttribute("data-attribution") || ""}).addTo(map);
    }
    return map;
  }

  function dot(code) {
    return L.divIcon({className: "wa-dot", iconSize: [18, 18],
      html: '<span style="background:' + (COLOURS[code] || "#555") + '"></span>'});
  }

  function clusterMap(el) {
    var status = document.getElementById("map-status");
    var labels = JSON.parse(el.getAttribute("data-labels") || "{}");
    var map = baseMap(el);
    map.setView([62.0, 15.0], 5);  // Sweden, until the points arrive
    status.textContent = "…";
    fetch(el.getAttribute("data-points"), {credentials: "same-origin"})
      .then(function (r) { return r.json(); })
      .then(function (body) {
        var pts = body.points;
        status.textContent = el.getAttribute("data-count").replace("{n}", pts.length.toLocaleString("sv-SE"))
          + (body.more ? " – " + el.getAttribute("data-too-many") : "");
        if (!pts.length) { el.setAttribute("data-loaded", "0"); return; }
        // Chunked loading keeps the page responsive with 100,000 points; the page counts as
        // loaded (data-loaded) only when the last chunk is in.
        var group = L.markerClusterGroup({chunkedLoading: true, chunkInterval: 100,
          showCoverageOnHover: false, maxClusterRadius: 60,
          chunkProgress: function (done, total) {
            // (Adding the layer to the map reports an empty pass first: wait for ours.)
            if (done === total && total === pts.length) {
              el.setAttribute("data-loaded", String(total));
            }
          }});
        var markers = new Array(pts.length);
        var bounds = L.latLngBounds([]);
        for (var i = 0; i < pts.length; i++) {
          markers[i] = marker(pts[i], labels);
          bounds.extend([pts[i][0], pts[i][1]]);
        }
        map.fitBounds(bounds, {maxZoom: 17, padding: [20, 20]});
        map.addLayer(group);
        group.addLayers(markers);
      })
      .catch(function (e) {
        status.textContent = el.getAttribute("data-failed");
        if (window.console) { console.error(e); }
      });
  }

  function marker(p, labels) {
    var m = L.marker([p[0], p[1]], {icon: dot(p[3]), title: (labels.categories || {})[p[3]] || p[3]});
    // The popup's link is made when it opens: 100,000 of them up front cost memory for nothing.
    m.bindPopup(function () { return popup(p, labels); });
    return m;
  }

  function popup(p, labels) {
    var a = document.createElement("a");
    a.href = "/c/findings/" + p[2];
    a.textContent = ((labels.categories || {})[p[3]] || p[3]) + " – " + ((labels.statuses || {})[p[4]] || p[4]);
    return a;
  }

  function pointMap(el) {
    var lat = parseFloat(el.getAttribute("data-lat")), lon = parseFloat(el.getAttribute("data-lon"));
    var map = baseMap(el);
    map.setView([lat, lon], 17);
    L.marker([lat, lon], {icon: dot(el.getAttribute("data-category"))}).addTo(map);
    var acc = parseFloat(el.getAttribute("data-accuracy"));
    if (acc > 0) { L.circle([lat, lon], {radius: acc, weight: 1, fillOpacity: 0.1}).addTo(map); }
    el.setAttribute("data-loaded", "1");
  }

  var cluster = document.getElementById("map");
  if (cluster && cluster.hasAttribute("data-points")) { clusterMap(cluster); }
  var singles = document.querySelectorAll(".point-map");
  for (var i = 0; i < singles.length; i++) { pointMap(singles[i]); }
})();
