/* emhana: sign in with EDS, and sign a portal application, through NCALayer (issue 16, item 6).
   Same protocol as sign.js: NCALayer on the person's computer (wss://127.0.0.1:13579) makes a detached CMS of the
   base64 bytes the server gives, and the form posts the CMS back; the server verifies path and CRL.
   Sign-in: POST /login/eds/challenge (one-time, five minutes) -> NCALayer -> POST /login/eds.
   Apply form: POST /attachment/apply/to-sign (the form's fields) -> NCALayer -> the form is submitted with the CMS.
   Application: GET /attachment/applications/{id}/to-sign -> NCALayer -> POST .../signature.
   Messages come translated in the form's data attributes. */
(function () {
  "use strict";
  var NCALAYER = "wss://127.0.0.1:13579/";

  function say(form, text, failed) {
    var status = form.querySelector("[data-eds-status]");
    if (status) {
      status.textContent = text || "";
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

  function json(response) {
    if (!response.ok) { throw new Error(""); }
    return response.json();
  }

  function run(form, button, getToSign, fill) {
    var texts = button.hasAttribute("data-signing") ? button : form; /* where the translated messages are */
    button.disabled = true;
    say(form, texts.getAttribute("data-signing"), false);
    getToSign()
      .then(function (toSign) {
        return askNcaLayer({
          module: toSign.ncalayer.module, method: toSign.ncalayer.method, args: toSign.ncalayer.args
        }).then(function (cms) { fill(toSign, cms); form.submit(); }, function (reason) {
          throw new Error(texts.getAttribute("data-" + reason) || "");
        });
      })
      .then(null, function (error) {
        button.disabled = false;
        say(form, (error && error.message) || texts.getAttribute("data-failed"), true);
      });
  }

  document.querySelectorAll("form[data-eds-login]").forEach(function (form) {
    var button = form.querySelector("[data-eds-button]");
    if (!button) { return; }
    button.hidden = false;
    button.addEventListener("click", function () {
      run(form, button, function () {
        var body = new URLSearchParams();
        body.set("csrf", form.querySelector("input[name='csrf']").value);
        return fetch("/login/eds/challenge", {
          method: "POST", credentials: "same-origin", body: body,
          headers: { "Accept": "application/json", "Accept-Language": form.getAttribute("data-lang") || "ru" }
        }).then(json);
      }, function (toSign, cms) {
        form.querySelector("input[name='challenge']").value = toSign.challenge;
        form.querySelector("input[name='cms']").value = cms;
      });
    });
  });

  /* The apply form: NCALayer signs what the application will be (POST /attachment/apply/to-sign with the form's
     fields), then the form is submitted with the CMS; the server files and verifies in one unit of work. */
  document.querySelectorAll("[data-eds-apply]").forEach(function (button) {
    var form = button.closest("form");
    if (!form) { return; }
    button.hidden = false;
    button.addEventListener("click", function () {
      if (!form.reportValidity()) { return; }
      run(form, button, function () {
        var body = new URLSearchParams(new FormData(form));
        body.delete("cms");
        return fetch("/attachment/apply/to-sign", {
          method: "POST", credentials: "same-origin", body: body,
          headers: { "Accept": "application/json", "Accept-Language": button.getAttribute("data-lang") || "ru" }
        }).then(function (response) {
          if (response.ok) { return response.json(); }
          return response.json().then(function (problem) { throw new Error(problem.detail || ""); },
                                      function () { throw new Error(""); });
        });
      }, function (toSign, cms) {
        form.querySelector("[data-eds-apply-cms]").value = cms;
      });
    });
  });

  document.querySelectorAll("form[data-eds-application]").forEach(function (form) {
    var button = form.querySelector("[data-eds-button]");
    if (!button) { return; }
    button.hidden = false;
    button.addEventListener("click", function () {
      run(form, button, function () {
        return fetch("/attachment/applications/" + form.getAttribute("data-eds-application") + "/to-sign", {
          credentials: "same-origin", headers: { "Accept": "application/json" }
        }).then(json);
      }, function (toSign, cms) {
        form.querySelector("input[name='cms']").value = cms;
      });
    });
  });
})();
