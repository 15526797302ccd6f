// Server-sent events over fetch: a parser that follows the WHATWG rules for
// the fields we use (event, data, id, comments), tolerant of events, lines
// and multi-byte characters split across network chunks.

export class SseParser {
  constructor(onEvent, onComment = () => {}) {
    this.onEvent = onEvent;
    this.onComment = onComment;
    this.buffer = "";
    this.pendingCR = false;
    this.eventName = "";
    this.data = [];
    this.lastEventId = "";
  }

  /** Feed decoded text; complete events are dispatched synchronously. */
  push(text) {
    let chunk = text;
    if (this.pendingCR && chunk.startsWith("\n")) chunk = chunk.slice(1); // "\r" | "\n" split
    this.pendingCR = false;
    this.buffer += chunk;
    let start = 0;
    for (let k = 0; k < this.buffer.length; k += 1) {
      const ch = this.buffer[k];
      if (ch !== "\n" && ch !== "\r") continue;
      this.line(this.buffer.slice(start, k));
      if (ch === "\r") {
        if (k + 1 === this.buffer.length) this.pendingCR = true;
        else if (this.buffer[k + 1] === "\n") k += 1;
      }
      start = k + 1;
    }
    this.buffer = this.buffer.slice(start);
  }

  /** End of stream: an event without its terminating blank line is dropped. */
  end() {
    this.buffer = "";
    this.eventName = "";
    this.data = [];
  }

  line(line) {
    if (line === "") {
      this.dispatch();
      return;
    }
    if (line.startsWith(":")) {
      this.onComment(line.slice(1).trim());
      return;
    }
    const colon = line.indexOf(":");
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "event") this.eventName = value;
    else if (field === "data") this.data.push(value);
    else if (field === "id" && !value.includes("\0")) this.lastEventId = value;
  }

  dispatch() {
    if (this.data.length === 0) {
      this.eventName = "";
      return;
    }
    const event = { event: this.eventName || "message", data: this.data.join("\n") };
    this.eventName = "";
    this.data = [];
    this.onEvent(event);
  }
}

/**
 * Read a fetch Response body as SSE, yielding {event, data} with `data`
 * parsed as JSON when possible. Aborting the fetch's signal ends the loop
 * with an AbortError.
 */
export async function* readEvents(response, onComment) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  const queue = [];
  const parser = new SseParser((e) => queue.push(e), onComment);
  let finished = false;
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) {
        finished = true;
        parser.push(decoder.decode());
        parser.end();
      } else {
        parser.push(decoder.decode(value, { stream: true }));
      }
      while (queue.length) yield decodeData(queue.shift());
      if (finished) return;
    }
  } finally {
    if (!finished) reader.cancel().catch(() => {});
  }
}

function decodeData(event) {
  try {
    return { event: event.event, data: JSON.parse(event.data) };
  } catch {
    return { event: event.event, data: event.data };
  }
}
