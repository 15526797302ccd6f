// The native Frontdesk HTTP API as used by the web chat.

import { identityHeaders } from "./identity.js";

export class ApiError extends Error {
  constructor({ status, code, message, retryable = false, retryAfter = null }) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.retryable = retryable;
    this.retryAfter = retryAfter;
  }
}

// The server-signed browser session (limits and the anonymous allowance are kept per
// session): set as an HttpOnly cookie, and also returned by POST /api/conversations so
// it can be sent as a header where the cookie does not reach (the widget's iframe on a
// customer's site, where browsers withhold SameSite cookies).
const SESSION_HEADER = "X-Frontdesk-Session";
const SESSION_KEY = "frontdesk.session";
// The public site key of the tenant this chat belongs to (none: the default tenant). Sent
// on every call; added as ?site= where a header cannot be sent (images, links).
export const SITE_HEADER = "X-Frontdesk-Site";

function storedSession() {
  try {
    return window.localStorage.getItem(SESSION_KEY);
  } catch {
    return null; // storage blocked (private mode, sandboxed iframe): the cookie still works
  }
}

function storeSession(token) {
  try {
    window.localStorage.setItem(SESSION_KEY, token);
  } catch {
    // storage blocked: keep it for this page only
  }
}

const NETWORK_MESSAGE = "Can't reach the support service. Check your connection and try again.";

export class Api {
  constructor(base = "", siteKey = "") {
    this.base = base.replace(/\/+$/, "");
    this.siteKey = siteKey;
    this.session = storedSession();
  }

  /** Public branding of this chat's tenant (null for the default tenant). */
  async site() {
    if (!this.siteKey) return null;
    return this.json("GET", `/api/site/${encodeURIComponent(this.siteKey)}`);
  }

  /** A same-server URL with this chat's site key, for requests that cannot carry headers. */
  withSite(url) {
    if (!this.siteKey) return url;
    const parsed = new URL(url, window.location.href);
    if (parsed.origin !== new URL(this.base || "/", window.location.href).origin) return url;
    parsed.searchParams.set("site", this.siteKey);
    return parsed.href;
  }

  async createConversation() {
    const created = await this.json("POST", "/api/conversations", {});
    if (created && typeof created.session === "string" && created.session) {
      this.session = created.session;
      storeSession(created.session);
    }
    return created;
  }

  async getConversation(id) {
    return this.json("GET", `/api/conversations/${encodeURIComponent(id)}`);
  }

  /** Start a streamed answer; resolves with the ok Response or throws ApiError. */
  async sendMessage(conversationId, body, signal) {
    const path = `/api/conversations/${encodeURIComponent(conversationId)}/messages`;
    const response = await this.request("POST", path, { ...body, stream: true }, signal, {
      Accept: "text/event-stream",
    });
    if (!response.ok) throw await errorFrom(response);
    return response;
  }

  /** Upload an image or a recording; resolves with {id, kind, text, url, ...}. */
  async uploadAttachment(conversationId, file, filename, signal) {
    const form = new FormData();
    form.append("conversation_id", conversationId);
    form.append("file", file, filename || file.name || "attachment");
    const init = { method: "POST", headers: { Accept: "application/json" }, body: form, signal };
    if (this.session) init.headers[SESSION_HEADER] = this.session;
    if (this.siteKey) init.headers[SITE_HEADER] = this.siteKey;
    Object.assign(init.headers, identityHeaders());
    let response;
    try {
      response = await fetch(`${this.base}/api/attachments`, init);
    } catch (error) {
      if (error && error.name === "AbortError") throw error;
      throw new ApiError({ status: 0, code: "network_error", message: NETWORK_MESSAGE, retryable: true });
    }
    if (!response.ok) throw await errorFrom(response);
    return response.json();
  }

  attachmentUrl(url) {
    return this.withSite(this.base + url);
  }

  /** Confirm or cancel an action the bot offered (the action_confirm event's id). */
  async decideAction(conversationId, offerId, decision) {
    const path = `/api/conversations/${encodeURIComponent(conversationId)}/actions/${encodeURIComponent(offerId)}`;
    return this.json("POST", path, { decision });
  }

  async sendFeedback(messageId, rating, comment) {
    const body = comment ? { rating, comment } : { rating };
    return this.json("POST", `/api/messages/${encodeURIComponent(messageId)}/feedback`, body);
  }

  async json(method, path, body) {
    const response = await this.request(method, path, body);
    if (!response.ok) throw await errorFrom(response);
    if (response.status === 204) return null;
    try {
      return await response.json();
    } catch {
      throw new ApiError({
        status: response.status,
        code: "bad_response",
        message: "The support service sent an unreadable answer.",
        retryable: true,
      });
    }
  }

  async request(method, path, body, signal, headers = {}) {
    const init = { method, headers: { Accept: "application/json", ...headers }, signal };
    if (this.session) init.headers[SESSION_HEADER] = this.session;
    if (this.siteKey) init.headers[SITE_HEADER] = this.siteKey;
    Object.assign(init.headers, identityHeaders()); // the verified customer, if any
    if (body !== undefined) {
      init.body = JSON.stringify(body);
      init.headers["Content-Type"] = "application/json";
    }
    try {
      return await fetch(this.base + path, init);
    } catch (error) {
      if (error && error.name === "AbortError") throw error;
      throw new ApiError({
        status: 0,
        code: "network_error",
        message: NETWORK_MESSAGE,
        retryable: true,
      });
    }
  }
}

async function errorFrom(response) {
  let code = `http_${response.status}`;
  let message = response.statusText || "Request failed";
  try {
    const payload = await response.json();
    const error = payload && payload.error;
    if (error && typeof error === "object") {
      if (typeof error.code === "string") code = error.code;
      if (typeof error.message === "string") message = error.message;
    } else if (payload && typeof payload.detail === "string") {
      message = payload.detail;
    }
  } catch {
    // not JSON: keep the status text
  }
  const header = response.headers.get("Retry-After");
  const seconds = header !== null && /^\d+$/.test(header.trim()) ? Number(header) : null;
  const status = response.status;
  return new ApiError({
    status,
    code,
    message,
    retryable: status === 408 || status === 409 || status === 429 || status >= 500,
    retryAfter: seconds,
  });
}
