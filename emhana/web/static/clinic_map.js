/* The clinic search's map (templates/attachment/clinics.html): the search origin and the nearest participating
   sites over the vendored Leaflet. Without a configured tile source (EMHANA_MAP_TILE_URL) it draws an offline
   base: the settlements of the reference data as labelled points, a grid and a scale. A click on the map searches
   from that point through the page's own form. Progressive enhancement only: without this file the page is a
   form and a list. */
(function () {
  "use strict";
  var holder = document.getElementById("clinic-map");
  if (!holder || !holder.getAttribute("data-map") || !window.L) { return; }
  var data = JSON.parse(holder.getAttribute("data-map"));
  var L = window.L;
  document.documentElement.classList.add("js-map");

  function text(tag, value, className) {
    var node = document.createElement(tag);
    node.textContent = value;
    if (className) { node.className = className; }
    return node;
  }

  var map = L.map(holder, { zoomSnap: 0.5, attributionControl: true });
  map.attributionControl.setPrefix("Leaflet");
  if (data.tiles) {
    L.tileLayer(data.tiles, { attribution: data.attribution || "", maxZoom: 19 }).addTo(map);
  } else {
    holder.classList.add("offline");
    map.attributionControl.addAttribution(data.labels.scale + " GeoNames (CC BY 4.0)");
  }
  L.control.scale({ metric: true, imperial: false }).addTo(map);

  // The view first: Leaflet draws vector layers only on a map that has one.
  // The origin and the sites near it: a far site of the list (another city) does not shrink the map.
  var sites = data.sites || [];
  var reach = sites.length ? Math.max(3 * sites[0].d, 10) : 0;
  var points = (data.origin ? [[data.origin.lat, data.origin.lon]] : []).concat(
    sites.filter(function (s) { return s.d <= reach; }).map(function (s) { return [s.lat, s.lon]; }));
  if (points.length) {
    map.fitBounds(L.latLngBounds(points).pad(0.2), { maxZoom: 14 });
  } else {
    map.fitBounds([[40.5, 46.4], [55.5, 87.4]]);  // Kazakhstan's extent (reference/rules.py)
  }

  var places = L.layerGroup().addTo(map);
  (data.places || []).forEach(function (p) {
    L.circleMarker([p.lat, p.lon], {
      radius: 3, color: "#7b8a90", weight: 1, fillColor: "#7b8a90", fillOpacity: 0.7, interactive: false
    }).bindTooltip(text("span", p.name), {
      permanent: !data.tiles && p.town, direction: "right", className: "place-label", offset: [4, 0]
    }).addTo(places);
  });

  if (data.origin) {
    var o = data.origin;
    L.circleMarker([o.lat, o.lon], {
      radius: 9, color: "#8a5a17", weight: 2, fillColor: "#c9862b", fillOpacity: 0.9, bubblingMouseEvents: false
    }).bindTooltip(text("span", o.label)).addTo(map);
  }
  (data.sites || []).forEach(function (s) {
    var box = document.createElement("div");
    box.className = "site-popup";
    box.appendChild(text("strong", s.name));
    box.appendChild(text("div", s.km));
    box.appendChild(text("div", s.free));
    var link = text("a", data.labels.apply + " →");
    link.href = "#site-" + s.id;
    box.appendChild(link);
    var marker = L.circleMarker([s.lat, s.lon], {
      radius: 8, color: "#08514d", weight: 2, fillColor: "#0b6e69", fillOpacity: 0.85, bubblingMouseEvents: false
    }).bindPopup(box).bindTooltip(text("span", s.name));
    marker.addTo(map);
    var element = marker.getElement();
    if (element) { element.setAttribute("data-site", String(s.id)); }
  });

  var form = document.getElementById("point-form");
  if (!form) { return; }
  var hint = form.querySelector(".map-only");
  if (hint) { hint.hidden = false; }
  var status = form.querySelector("[data-geolocate-status]");
  map.on("click", function (event) {
    form.elements.lat.value = event.latlng.lat.toFixed(5);
    form.elements.lon.value = event.latlng.lng.toFixed(5);
    L.circleMarker(event.latlng, { radius: 9, color: "#8a5a17", fillColor: "#c9862b", fillOpacity: 0.5 }).addTo(map);
    if (status) { status.textContent = data.labels.picked; }
    form.submit();
  });
})();
