// One exchange: send the user's message, stream the answer into a bubble,
// and report how it ended. Retrying re-runs the same Turn, which reuses its
// client_message_id so the server stores the user's message only once.

import { ApiError } from "./api.js";
import { readEvents } from "./sse.js";

export function newClientId() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

export class Turn {
  constructor({ content, clientMessageId = newClientId(), attachments = [] }) {
    this.content = content;
    this.attachments = attachments;
    this.clientMessageId = clientMessageId;
    this.controller = null;
    this.stopped = false;
  }

  stop() {
    this.stopped = true;
    if (this.controller) this.controller.abort();
  }

  /**
   * Run one attempt, calling hooks as events arrive: onStart(data),
   * onText(text, citations), onCitations(text, citations), onNotice(data),
   * onRetracted(replacement, data), onEscalated(data). Resolves with {outcome, ...}:
   *  outcome "done"    : {status, messageId, text, citations}
   *  outcome "stopped" : {text}
   *  outcome "error"   : {error: {code, message, retryable, retryAfter, status}, text}
   */
  async run(api, conversationId, hooks) {
    this.controller = new AbortController();
    this.stopped = false;
    const state = { text: "", citations: [], messageId: null };
    try {
      const response = await api.sendMessage(
        conversationId,
        this.body(),
        this.controller.signal,
      );
      for await (const { event, data } of readEvents(response)) {
        const end = this.handle(event, data, state, hooks);
        if (end) return end;
      }
      return this.failed(state, {
        code: "stream_interrupted",
        message: "The answer was interrupted.",
        retryable: true,
      });
    } catch (error) {
      if (this.stopped || (error && error.name === "AbortError")) {
        return { outcome: "stopped", text: state.text, messageId: state.messageId };
      }
      if (error instanceof ApiError) {
        return this.failed(state, {
          code: error.code,
          message: error.message,
          retryable: error.retryable,
          retryAfter: error.retryAfter,
          status: error.status,
        });
      }
      return this.failed(state, {
        code: "stream_interrupted",
        message: "The connection dropped while answering.",
        retryable: true,
      });
    } finally {
      this.controller = null;
    }
  }

  body() {
    const body = { content: this.content, client_message_id: this.clientMessageId };
    if (this.attachments.length) body.attachments = this.attachments.map((a) => a.id);
    return body;
  }

  failed(state, error) {
    return { outcome: "error", error, text: state.text, messageId: state.messageId };
  }

  handle(event, data, state, hooks) {
    const payload = data && typeof data === "object" ? data : {};
    switch (event) {
      case "start":
        state.messageId = payload.message_id || null;
        hooks.onStart(payload);
        return null;
      case "delta":
        if (typeof payload.text === "string" && payload.text) {
          state.text += payload.text;
          hooks.onText(state.text, state.citations);
        }
        return null;
      case "citations":
        state.citations = Array.isArray(payload.citations) ? payload.citations : [];
        hooks.onCitations(state.text, state.citations);
        return null;
      case "notice":
        hooks.onNotice(payload);
        return null;
      case "retracted":
        state.text = typeof payload.replacement === "string" ? payload.replacement : "";
        state.citations = [];
        hooks.onRetracted(state.text, payload);
        return null;
      case "escalated":
        hooks.onEscalated(payload);
        return null;
      case "action_confirm":
        if (hooks.onActionConfirm && typeof payload.id === "string") hooks.onActionConfirm(payload);
        return null;
      case "done":
        return {
          outcome: "done",
          status: payload.status || "complete",
          messageId: payload.message_id || state.messageId,
          finishReason: payload.finish_reason || null,
          text: state.text,
          citations: state.citations,
        };
      case "error":
        return this.failed(state, {
          code: payload.code || "error",
          message: payload.message || "Something went wrong while answering.",
          retryable: Boolean(payload.retryable),
        });
      default:
        return null; // unknown events are ignored so the server can add new ones
    }
  }
}
