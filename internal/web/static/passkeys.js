// Passkeys (WebAuthn), which need JavaScript. A submit button marked
// data-passkey ("create" or "get") is handled by this script: it asks
// data-options (a JSON endpoint, same origin, under the console's
// cross-origin protection) for the ceremony's options, asks the browser's
// authenticator (navigator.credentials.create or get), puts the answer in
// the form's hidden passkey_token and passkey_response inputs and sends
// the form to the button's formaction (or the form's action). The server
// checks the answer and renders the result like any form's. The form's
// other buttons (a code's "Verify") are left alone.
//
// Without this script the page's notice says that passkeys need
// JavaScript; in a browser without WebAuthn the script says so instead.
(function () {
  "use strict";
  var buttons = document.querySelectorAll("button[data-passkey]");
  if (!buttons.length) {
    return;
  }
  var needsJS = document.querySelector("[data-passkey-needs-js]");
  var errorBox = document.querySelector("[data-passkey-error]");
  var supported = !!(window.PublicKeyCredential && navigator.credentials && window.fetch && window.URLSearchParams);
  if (!supported) {
    if (needsJS) {
      needsJS.querySelector("p").textContent =
        "This browser can't use passkeys here. Use a recent Chrome, Edge, Firefox or Safari, opened at this " +
        "site's own address; everything else works without them.";
    }
    Array.prototype.forEach.call(buttons, function (b) {
      b.disabled = true;
    });
    return;
  }
  if (needsJS) {
    needsJS.hidden = true;
  }

  function fromB64(s) {
    s = s.replace(/-/g, "+").replace(/_/g, "/");
    while (s.length % 4) {
      s += "=";
    }
    var bin = atob(s);
    var out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) {
      out[i] = bin.charCodeAt(i);
    }
    return out.buffer;
  }

  function toB64(buf) {
    if (!buf) {
      return undefined;
    }
    var bytes = new Uint8Array(buf);
    var bin = "";
    for (var i = 0; i < bytes.length; i++) {
      bin += String.fromCharCode(bytes[i]);
    }
    return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function descriptors(list) {
    return (list || []).map(function (d) {
      var out = { type: d.type, id: fromB64(d.id) };
      if (d.transports) {
        out.transports = d.transports;
      }
      return out;
    });
  }

  // ask turns the server's options (base64url strings) into what the
  // browser takes (buffers) and asks the authenticator.
  function ask(kind, o) {
    o.challenge = fromB64(o.challenge);
    if (kind === "create") {
      o.user.id = fromB64(o.user.id);
      o.excludeCredentials = descriptors(o.excludeCredentials);
      return navigator.credentials.create({ publicKey: o });
    }
    o.allowCredentials = descriptors(o.allowCredentials);
    return navigator.credentials.get({ publicKey: o });
  }

  // answer is the credential as JSON (base64url strings), as the server
  // reads it.
  function answer(cred) {
    var r = cred.response;
    var response = { clientDataJSON: toB64(r.clientDataJSON) };
    if (r.attestationObject) {
      response.attestationObject = toB64(r.attestationObject);
      response.transports = r.getTransports ? r.getTransports() : [];
    } else {
      response.authenticatorData = toB64(r.authenticatorData);
      response.signature = toB64(r.signature);
      response.userHandle = toB64(r.userHandle);
    }
    return JSON.stringify({
      id: cred.id,
      rawId: toB64(cred.rawId),
      type: cred.type,
      authenticatorAttachment: cred.authenticatorAttachment || undefined,
      response: response,
      clientExtensionResults: cred.getClientExtensionResults ? cred.getClientExtensionResults() : {},
    });
  }

  // browserProblem says in words why the browser's prompt ended without
  // an answer.
  function browserProblem(err, kind) {
    switch (err && err.name) {
      case "NotAllowedError":
        return "The passkey prompt was closed or timed out. Nothing was changed; try again when you are ready.";
      case "InvalidStateError":
        return kind === "create"
          ? "This passkey is already registered with Muster. Use another one."
          : "None of your passkeys is on this device. Try another device or security key.";
      case "SecurityError":
        return "This browser refused to use passkeys for this address. Open Muster at its own address and try again.";
      case "AbortError":
        return "The passkey prompt was cancelled. Nothing was changed.";
    }
    return "The passkey could not be used (" + (err && err.message ? err.message : "unknown error") + "). Nothing was changed.";
  }

  Array.prototype.forEach.call(buttons, function (button) {
    var form = button.form;
    var kind = button.getAttribute("data-passkey");
    var busy = false;

    function fail(message, field) {
      busy = false;
      button.disabled = false;
      form.removeAttribute("aria-busy");
      if (!errorBox) {
        window.alert(message);
        return;
      }
      errorBox.querySelector("p").textContent = message;
      errorBox.hidden = false;
      errorBox.focus();
      var input = field && form.querySelector("[name=" + field + "]");
      if (input) {
        input.setAttribute("aria-invalid", "true");
      }
    }

    // The button's own click, not the form's submit: Enter in a field
    // sends the form with its first button, a code's.
    button.addEventListener("click", function (event) {
      event.preventDefault();
      if (busy) {
        return;
      }
      busy = true;
      button.disabled = true;
      form.setAttribute("aria-busy", "true");
      if (errorBox) {
        errorBox.hidden = true;
      }
      var body = new URLSearchParams();
      var name = form.querySelector("[name=name]");
      if (name && kind === "create") {
        body.set("name", name.value);
      }
      fetch(button.getAttribute("data-options"), {
        method: "POST",
        credentials: "same-origin",
        headers: { Accept: "application/json" },
        body: body,
      })
        .then(function (res) {
          return res.json().then(function (data) {
            if (!res.ok || data.error) {
              throw { server: data.error || "Muster could not begin (" + res.status + ").", field: data.field };
            }
            return data;
          });
        })
        .then(function (data) {
          return ask(kind, data.publicKey).then(
            function (cred) {
              form.querySelector("[name=passkey_token]").value = data.token;
              form.querySelector("[name=passkey_response]").value = answer(cred);
              if (button.hasAttribute("formaction")) {
                form.action = button.getAttribute("formaction");
              }
              form.submit();
            },
            function (err) {
              throw { server: browserProblem(err, kind) };
            }
          );
        })
        .catch(function (err) {
          fail(err && err.server ? err.server : "Muster could not be reached. Check your connection and try again.", err && err.field);
        });
    });
  });
})();
