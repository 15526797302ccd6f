// Frontdesk embeddable widget: <script src="https://support.example.com/widget.js" defer></script>
// Adds a chat button to the host page; the chat itself runs in an iframe from the Frontdesk
// server, so the host page never sees the conversation and needs no other code.
// Options on the script tag: data-site-key="fdsite_..." (the tenant: its bot, documents and
// branding; none: the server's default bot), data-label="Chat with us", data-position="left|right".
// With a site key the button takes the tenant's colour and label from GET /api/site/{key},
// which answers this page only when its origin is one of the tenant's widget_origins.
// A signed-in customer (issue 13): data-identity="<JWT from your backend>" (or data-user-id
// and data-user-hash), or later Frontdesk.identify({token}) / ({userId, userHash}) and
// Frontdesk.logout(); the chat sends it with each request and the server verifies it.
(function () {
  "use strict";
  if (window.__frontdeskWidget) return;
  window.__frontdeskWidget = true;
  var script = document.currentScript;
  if (!script || !script.src) return;
  var origin = new URL(script.src).origin;
  var siteKey = script.getAttribute("data-site-key") || "";
  var label = script.getAttribute("data-label") || "Chat with us";
  var side = script.getAttribute("data-position") === "left" ? "left" : "right";
  var identity = script.getAttribute("data-identity")
    ? { token: script.getAttribute("data-identity") }
    : script.getAttribute("data-user-id") && script.getAttribute("data-user-hash")
      ? { userId: script.getAttribute("data-user-id"), userHash: script.getAttribute("data-user-hash") }
      : null;

  function style(el, rules) {
    for (var key in rules) el.style[key] = rules[key];
  }

  var button = document.createElement("button");
  button.type = "button";
  button.textContent = label;
  button.setAttribute("aria-expanded", "false");
  button.setAttribute("aria-controls", "frontdesk-widget-frame");
  button.className = "frontdesk-widget-button";
  style(button, {
    position: "fixed", bottom: "20px", zIndex: "2147483000", border: "0",
    borderRadius: "999px", padding: "12px 18px", font: "600 15px system-ui, sans-serif",
    background: "#4f46e5", color: "#fff", cursor: "pointer",
    boxShadow: "0 6px 20px rgba(0,0,0,.2)"
  });
  button.style[side] = "20px";

  var frame = document.createElement("iframe");
  frame.id = "frontdesk-widget-frame";
  frame.title = label;
  // the first identity rides in the fragment (never sent to a server); later ones by message
  var fragment = !identity ? "" : identity.token
    ? "#identity=" + encodeURIComponent(identity.token)
    : "#user_id=" + encodeURIComponent(identity.userId) + "&user_hash=" + encodeURIComponent(identity.userHash);
  frame.src = origin + "/?embed=1" + (siteKey ? "&site=" + encodeURIComponent(siteKey) : "") + fragment;
  var loaded = false;
  function tell() {
    if (loaded && frame.contentWindow) {
      frame.contentWindow.postMessage({ type: "frontdesk:identify", identity: identity }, origin);
    }
  }
  frame.addEventListener("load", function () { loaded = true; tell(); });
  var api = (window.Frontdesk = window.Frontdesk || {});
  api.identify = function (value) { identity = value || null; tell(); };
  api.logout = function () { identity = null; tell(); };
  frame.setAttribute("allow", "clipboard-write; microphone");
  style(frame, {
    position: "fixed", bottom: "76px", width: "min(400px, calc(100vw - 24px))",
    height: "min(620px, calc(100vh - 100px))", border: "0", borderRadius: "16px",
    boxShadow: "0 12px 40px rgba(0,0,0,.25)", zIndex: "2147483000", display: "none",
    background: "#fff"
  });
  frame.style[side] = "12px";

  button.addEventListener("click", function () {
    var open = frame.style.display === "none";
    frame.style.display = open ? "block" : "none";
    button.setAttribute("aria-expanded", String(open));
  });
  document.addEventListener("keydown", function (ev) {
    if (ev.key === "Escape" && frame.style.display !== "none") {
      frame.style.display = "none";
      button.setAttribute("aria-expanded", "false");
      button.focus();
    }
  });
  document.body.appendChild(frame);
  document.body.appendChild(button);

  if (siteKey && window.fetch) {
    fetch(origin + "/api/site/" + encodeURIComponent(siteKey), { credentials: "omit" })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (site) {
        if (!site) return;
        button.style.background = site.primary_color;
        button.style.color = site.contrast_color;
        if (!script.getAttribute("data-label")) {
          button.textContent = site.launcher_label;
          frame.title = site.launcher_label;
        }
      })
      .catch(function () { /* keep the default look */ });
  }
})();
