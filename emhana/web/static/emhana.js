/* emhana: progressive enhancement only; every page works without this file. */
(function () {
  "use strict";
  if (!("geolocation" in navigator)) { return; }
  document.querySelectorAll("[data-geolocate]").forEach(function (button) {
    var form = button.form;
    var status = form.querySelector("[data-geolocate-status]");
    button.hidden = false;
    button.addEventListener("click", function () {
      navigator.geolocation.getCurrentPosition(function (pos) {
        form.elements.lat.value = pos.coords.latitude.toFixed(5);
        form.elements.lon.value = pos.coords.longitude.toFixed(5);
        form.submit();
      }, function () {
        if (status) { status.textContent = button.getAttribute("data-error"); }
      }, { timeout: 10000, maximumAge: 600000 });
    });
  });
})();
