// A walk's map: the route walked as a line and the findings as numbered pins (the numbers of
// the protocol). Data from the JSON endpoint in data-src; texts come translated from the
// server. No inline script (CSP): this file is loaded with Leaflet from /static.
(function () {
  "use strict";
  var box = document.getElementById("walk-map");
  if (!box || !window.L) { return; }

  function message(text) {
    box.textContent = "";
    var p = document.createElement("p");
    p.className = "map-message";
    p.textContent = text;
    box.appendChild(p);
  }

  function popup(f, labels) {
    // Built from DOM nodes, never from HTML strings: notes are typed by people.
    var div = document.createElement("div");
    div.className = "walk-popup";
    var h = document.createElement("h4");
    h.textContent = f.title;
    div.appendChild(h);
    [f.note, f.owner + " · " + f.status].forEach(function (text) {
      if (!text) { return; }
      var p = document.createElement("p");
      p.textContent = text;
      div.appendChild(p);
    });
    var a = document.createElement("a");
    a.href = f.url;
    a.textContent = labels.open;
    div.appendChild(a);
    return div;
  }

  function draw(data) {
    if (!data.route.length && !data.findings.length) {
      message(box.dataset.empty);
      return;
    }
    var map = L.map(box, { scrollWheelZoom: false });
    if (box.dataset.tiles) {
      L.tileLayer(box.dataset.tiles, {
        maxZoom: 19, attribution: box.dataset.attribution || ""
      }).addTo(map);
    }
    var bounds = L.latLngBounds([]);
    if (data.route.length) {
      var line = L.polyline(data.route, { color: "#1565c0", weight: 4, opacity: 0.8 }).addTo(map);
      bounds.extend(line.getBounds());
    }
    data.findings.forEach(function (f) {
      var icon = L.divIcon({
        className: "", iconSize: [26, 26], iconAnchor: [13, 13],
        html: '<span class="walk-pin sev-' + f.severity.replace(/[^a-z]/g, "") + '">' +
              String(Number(f.n)) + "</span>"
      });
      L.marker([f.lat, f.lon], { icon: icon, title: f.title, alt: f.title })
        .bindPopup(popup(f, data.labels)).addTo(map);
      bounds.extend([f.lat, f.lon]);
    });
    map.fitBounds(bounds.pad(0.15), { maxZoom: 18 });
  }

  fetch(box.dataset.src, { credentials: "same-origin", headers: { Accept: "application/json" } })
    .then(function (r) {
      if (!r.ok) { throw new Error(String(r.status)); }
      return r.json();
    })
    .then(draw)
    .catch(function () { message(box.dataset.failed); });
})();
