// Live updates of a conversation while a person handles it:
// GET /api/conversations/{id}/events (server-sent events: status, message, queue).
// Reconnects with backoff and replays missed agent messages with after_seq.

import { readEvents } from "./sse.js";

const MAX_BACKOFF_MS = 30000;

export class LiveUpdates {
  /** handlers: {onStatus(data), onMessage(data), onQueue(data), onUnavailable()};
   * headers: sent on every connection (the tenant's site key). */
  constructor(apiBase, handlers, headers = {}) {
    this.base = apiBase.replace(/\/+$/, "");
    this.handlers = handlers;
    this.headers = headers;
    this.controller = null;
    this.conversationId = null;
    this.afterSeq = 0;
    this.retryTimer = null;
  }

  get active() {
    return this.controller !== null || this.retryTimer !== null;
  }

  start(conversationId) {
    if (this.active && this.conversationId === conversationId) return;
    this.stop();
    this.conversationId = conversationId;
    this.afterSeq = 0; // first connection: replay every agent message (the page dedupes)
    this.connect(1000);
  }

  stop() {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    if (this.controller) this.controller.abort();
    this.controller = null;
  }

  async connect(backoff) {
    this.retryTimer = null;
    const controller = new AbortController();
    this.controller = controller;
    const id = encodeURIComponent(this.conversationId);
    const url = `${this.base}/api/conversations/${id}/events?after_seq=${this.afterSeq}`;
    let ended = false;
    try {
      const response = await fetch(url, {
        headers: { Accept: "text/event-stream", ...this.headers },
        signal: controller.signal,
      });
      if (response.status === 404 || response.status === 405) {
        this.controller = null;
        this.handlers.onUnavailable(); // no live endpoint (or no such conversation): poll
        return;
      }
      if (!response.ok) throw new Error(`live events: HTTP ${response.status}`);
      backoff = 1000;
      for await (const { event, data } of readEvents(response)) {
        if (!data || typeof data !== "object") continue;
        if (event === "status") {
          this.handlers.onStatus(data);
          if (data.status === "closed" || data.status === "bot") ended = true;
        } else if (event === "message") {
          if (Number.isInteger(data.seq)) this.afterSeq = Math.max(this.afterSeq, data.seq);
          this.handlers.onMessage(data);
        } else if (event === "queue") {
          this.handlers.onQueue(data);
        }
        if (ended) break;
      }
    } catch (error) {
      if (controller.signal.aborted) return;
    }
    if (this.controller !== controller) return; // stopped or restarted meanwhile
    this.controller = null;
    if (ended) return;
    const next = Math.min(backoff * 2, MAX_BACKOFF_MS);
    this.retryTimer = setTimeout(() => this.connect(next), backoff);
  }
}

/** "You're number 2 in the queue · about 3 min" (or null when not queued). */
export function queueText(data) {
  const position = Number(data.queue_position);
  if (!Number.isFinite(position) || position < 1) return null;
  const parts = [
    position === 1 ? "You're next in the queue" : `You're number ${position} in the queue`,
  ];
  const seconds = Number(data.estimated_wait_seconds);
  if (data.estimated_wait_seconds !== null && Number.isFinite(seconds) && seconds > 0) {
    parts.push(seconds < 90 ? "about a minute" : `about ${Math.round(seconds / 60)} min`);
  }
  return parts.join(" · ");
}
