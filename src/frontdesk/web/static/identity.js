// Who the visitor is, as the company's own backend signed it (never chosen by this page).
//
// Sources, latest wins: the page's data-identity attribute (a JWT rendered by the company's
// server), the URL fragment the widget opens the chat with (#identity=<JWT> or
// #user_id=...&user_hash=...; fragments never reach a server or its logs, and it is removed
// from the address bar at once), Frontdesk.identify({token} | {userId, userHash}) on this
// page, and the same call on the host page of the widget (a postMessage from the parent
// frame). It is kept in memory only, and sent as headers on every API call.

let current = null;
const listeners = new Set();

function normalise(value) {
  if (!value) return null;
  if (typeof value === "string") return value.trim() ? { token: value.trim() } : null;
  if (typeof value !== "object") return null;
  if (typeof value.token === "string" && value.token.trim()) return { token: value.token.trim() };
  const userId = value.userId ?? value.user_id;
  const userHash = value.userHash ?? value.user_hash;
  if (typeof userId === "string" && typeof userHash === "string" && userId && userHash) {
    return { userId, userHash };
  }
  return null;
}

function same(a, b) {
  return JSON.stringify(a) === JSON.stringify(b);
}

export function setIdentity(value) {
  const next = normalise(value);
  if (same(next, current)) return;
  const previous = current;
  current = next;
  for (const listener of listeners) listener(next, previous);
}

export function onIdentityChange(listener) {
  listeners.add(listener);
}

export function hasIdentity() {
  return current !== null;
}

/** Whose identity this claims to be (read, not verified: only the server verifies). */
export function subjectOf(identity) {
  if (!identity) return null;
  if (identity.userId) return identity.userId;
  try {
    const part = identity.token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    return JSON.parse(atob(part)).sub ?? null;
  } catch {
    return identity.token;
  }
}

/** The request headers that prove the identity (none when anonymous). */
export function identityHeaders() {
  if (!current) return {};
  if (current.token) return { "X-Frontdesk-Identity": current.token };
  return { "X-Frontdesk-User-Id": current.userId, "X-Frontdesk-User-Hash": current.userHash };
}

function fromFragment() {
  const hash = window.location.hash.replace(/^#/, "");
  if (!hash) return null;
  const params = new URLSearchParams(hash);
  const found = params.get("identity")
    ? { token: params.get("identity") }
    : { userId: params.get("user_id"), userHash: params.get("user_hash") };
  if (!normalise(found)) return null;
  for (const key of ["identity", "user_id", "user_hash"]) params.delete(key);
  const rest = params.toString();
  const url = window.location.pathname + window.location.search + (rest ? `#${rest}` : "");
  window.history.replaceState(null, "", url);
  return found;
}

/** Read the initial identity and listen for later ones (call once, before the first request). */
export function installIdentity(root) {
  const attribute = root.dataset.identity;
  if (attribute && !attribute.includes("{{")) setIdentity(attribute);
  const fragment = fromFragment();
  if (fragment) setIdentity(fragment);
  const api = (window.Frontdesk = window.Frontdesk || {});
  api.identify = (value) => setIdentity(value);
  api.logout = () => setIdentity(null);
  window.addEventListener("message", (event) => {
    // only the page that embeds this chat (CSP frame-ancestors limits who that can be)
    if (event.source !== window.parent || window.parent === window) return;
    const data = event.data;
    if (data && data.type === "frontdesk:identify") setIdentity(data.identity ?? null);
  });
}
