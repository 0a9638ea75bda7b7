// The public enrolment page (/enrol#K7QM-2XPD): shows the code from the URL's fragment.
// The fragment never reaches the server, so the code stays out of its logs (see coord_devices.py).
(function () {
  "use strict";
  var ALPHABET = /^[23456789ABCDEFGHJKMNPQRSTUVWXYZ]{8}$/;  // sync_server.devices.CODE_ALPHABET
  var raw = decodeURIComponent(window.location.hash.replace(/^#/, "")).replace(/^code=/i, "");
  var code = raw.toUpperCase().replace(/[^0-9A-Z]/g, "");
  var ok = ALPHABET.test(code);
  if (ok) {
    document.getElementById("code").textContent = code.slice(0, 4) + "-" + code.slice(4);
  }
  document.getElementById("enrol").hidden = !ok;
  document.getElementById("no-code").hidden = ok;
  var link = document.getElementById("switch");
  if (link && ok) {
    link.href = link.getAttribute("href") + "#" + code;  // the other language keeps the code
  }
})();
