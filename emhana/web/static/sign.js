/* emhana: the desk's "Sign with NCALayer" button (C-06, C-40). The bytes to sign come from the API, NCALayer on
   the user's computer (wss://127.0.0.1:13579) makes a detached CMS of them, and the CMS is posted back to the API,
   which verifies path and CRL before it stores it. Messages come translated in the button's data attributes. */
(function () {
  "use strict";
  var NCALAYER = "wss://127.0.0.1:13579/";
  var API = "/api/v1/signatures/medbook_entry/";

  function say(button, text, failed) {
    var status = document.querySelector("[data-sign-status='" + button.getAttribute("data-ncalayer-sign") + "']");
    if (status) {
      status.textContent = text;
      status.classList.toggle("alert", !!failed);
    }
  }

  function askNcaLayer(request) {
    return new Promise(function (resolve, reject) {
      var socket;
      var settled = false;
      function settle(fn, value) { if (!settled) { settled = true; fn(value); } }
      try {
        socket = new WebSocket(NCALAYER);
      } catch (e) {
        reject("unavailable");
        return;
      }
      socket.onopen = function () { socket.send(JSON.stringify(request)); };
      socket.onmessage = function (event) {
        var answer;
        try { answer = JSON.parse(event.data); } catch (e) { return; }
        if (answer.result && answer.result.version) { return; } /* NCALayer's greeting */
        socket.close();
        if (String(answer.code) === "200" && answer.responseObject) {
          settle(resolve, answer.responseObject);
        } else {
          settle(reject, answer.message === "action.canceled" ? "cancelled" : "failed");
        }
      };
      socket.onerror = function () { settle(reject, "unavailable"); };
      socket.onclose = function () { settle(reject, "unavailable"); };
    });
  }

  function key() {
    if (window.crypto && window.crypto.randomUUID) { return window.crypto.randomUUID(); }
    return "sign-" + Date.now() + "-" + Math.random().toString(36).slice(2);
  }

  function problem(response, lang) {
    return response.json().then(function (body) {
      return (body.messages && body.messages[lang]) || body.detail || null;
    }, function () { return null; });
  }

  function sign(button) {
    var id = button.getAttribute("data-ncalayer-sign");
    var lang = button.getAttribute("data-lang") || "ru";
    var headers = { "Accept": "application/json", "Accept-Language": lang };
    button.disabled = true;
    say(button, button.getAttribute("data-signing"), false);
    fetch(API + id + "/to-sign", { credentials: "same-origin", headers: headers })
      .then(function (response) {
        if (!response.ok) {
          return problem(response, lang).then(function (text) { throw new Error(text || ""); });
        }
        return response.json();
      })
      .then(function (toSign) {
        return askNcaLayer({ module: toSign.ncalayer.module, method: toSign.ncalayer.method, args: toSign.ncalayer.args })
          .then(null, function (reason) { throw new Error(button.getAttribute("data-" + reason) || ""); });
      })
      .then(function (cms) {
        return fetch(API + id, {
          method: "POST",
          credentials: "same-origin",
          headers: Object.assign({ "Content-Type": "application/json", "Idempotency-Key": key() }, headers),
          body: JSON.stringify({ cms: cms })
        });
      })
      .then(function (response) {
        if (response.ok) { window.location.reload(); return null; }
        return problem(response, lang).then(function (text) { throw new Error(text || ""); });
      })
      .then(null, function (error) {
        button.disabled = false;
        say(button, (error && error.message) || button.getAttribute("data-failed"), true);
      });
  }

  document.querySelectorAll("[data-ncalayer-sign]").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () { sign(button); });
  });
})();
