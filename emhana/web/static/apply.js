// The apply form (pages/attachment/citizen.py). Choosing another person reloads the form by GET with what was
// typed, so the server checks at once that the applicant represents the person and shows the year's change
// quota and the reasons of a change outside the campaign before the rest is filled in. The language links
// carry what was typed too, so switching the language loses nothing.
(function () {
  "use strict";
  var form = document.getElementById("apply-form");
  var select = document.getElementById("person_id");
  if (!form || !select) { return; }
  function typed(lang) {
    var params = new URLSearchParams();
    new FormData(form).forEach(function (value, key) {
      if (key !== "csrf" && typeof value === "string" && value !== "") { params.append(key, value); }
    });
    if (lang) { params.append("lang", lang); }
    return select.getAttribute("data-check") + "?" + params.toString();
  }
  select.addEventListener("change", function () {
    window.location.assign(typed(document.documentElement.getAttribute("lang")));
  });
  document.querySelectorAll(".lang-switch a[hreflang]").forEach(function (link) {
    link.addEventListener("click", function (event) {
      event.preventDefault();
      window.location.assign(typed(link.getAttribute("hreflang")));
    });
  });
})();
