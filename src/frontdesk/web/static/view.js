// DOM building blocks for the chat log. No HTML is ever parsed: all text goes
// through textContent or the safe Markdown renderer.

import { externalLink, renderMarkdown, safeUrl } from "./markdown.js";

const SVG_NS = "http://www.w3.org/2000/svg";
const ICONS = {
  send: "M3.4 20.4 21 12 3.4 3.6l-.01 6.53L15 12 3.39 13.87z",
  stop: "M7 7h10v10H7z",
  plus: "M11 5h2v6h6v2h-6v6h-2v-6H5v-2h6z",
  up: "M2 21h4V9H2v12zm20-11a2 2 0 0 0-2-2h-6.31l.95-4.57.03-.32a1.5 1.5 0 0 0-.44-1.06L13.17 1 6.59 7.59A2 2 0 0 0 6 9v10a2 2 0 0 0 2 2h9a2 2 0 0 0 1.84-1.22l3.02-7.05A2 2 0 0 0 22 12v-2z",
  down: "M22 3h-4v12h4V3zM2 14a2 2 0 0 0 2 2h6.31l-.95 4.57-.03.32c0 .41.17.79.44 1.06L10.83 23l6.58-6.59A2 2 0 0 0 18 15V5a2 2 0 0 0-2-2H7a2 2 0 0 0-1.84 1.22l-3.02 7.05A2 2 0 0 0 2 12v2z",
  retry: "M17.65 6.35A7.96 7.96 0 0 0 12 4a8 8 0 1 0 7.75 10h-2.08A6 6 0 1 1 12 6c1.66 0 3.14.69 4.22 1.78L13 11h7V4l-2.35 2.35z",
  warn: "M1 21h22L12 2 1 21zm12-3h-2v-2h2v2zm0-4h-2v-4h2v4z",
  info: "M11 7h2v2h-2zm0 4h2v6h-2zm1-9a10 10 0 1 0 0 20 10 10 0 0 0 0-20z",
  mic: "M12 14a3 3 0 0 0 3-3V5a3 3 0 0 0-6 0v6a3 3 0 0 0 3 3zm5-3a5 5 0 0 1-10 0H5a7 7 0 0 0 6 6.92V21h2v-3.08A7 7 0 0 0 19 11h-2z",
  person: "M12 12a4 4 0 1 0 0-8 4 4 0 0 0 0 8zm0 2c-2.67 0-8 1.34-8 4v2h16v-2c0-2.66-5.33-4-8-4z",
};

export function icon(name) {
  const svg = document.createElementNS(SVG_NS, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("focusable", "false");
  svg.classList.add("fd-icon");
  const path = document.createElementNS(SVG_NS, "path");
  path.setAttribute("d", ICONS[name]);
  svg.appendChild(path);
  return svg;
}

export function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function button(className, label, iconName, text) {
  const b = el("button", className);
  b.type = "button";
  if (iconName) b.appendChild(icon(iconName));
  if (text) b.appendChild(el("span", "", text));
  b.setAttribute("aria-label", label);
  return b;
}

function timeLabel(iso) {
  if (!iso) return "";
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? "" : date.toLocaleString();
}

const SPEAKER = { user: "You", assistant: "Assistant", agent: "Support agent" };

/** One message in the log: bubble plus the extras under it. */
export class MessageView {
  constructor(role, { botName = "Assistant", createdAt = null, id = null, label } = {}) {
    this.role = role;
    this.root = el("article", `fd-msg fd-msg--${role}`);
    if (id) this.root.dataset.messageId = id;
    const who = role === "assistant" ? botName : SPEAKER[role] || role;
    this.root.setAttribute("aria-label", `${who} said`);
    if (role !== "user") {
      const avatar = el("div", "fd-msg-avatar");
      avatar.setAttribute("aria-hidden", "true");
      if (role === "agent") avatar.appendChild(icon("person"));
      else avatar.textContent = (botName.trim()[0] || "A").toUpperCase();
      this.root.appendChild(avatar);
    }
    const main = el("div", "fd-msg-main");
    if (role === "agent") main.appendChild(el("div", "fd-msg-label", label || SPEAKER.agent));
    this.bubble = el("div", "fd-bubble");
    if (createdAt) this.bubble.title = timeLabel(createdAt);
    this.content = el("div", role === "user" ? "fd-content fd-plain" : "fd-content md");
    this.bubble.appendChild(this.content);
    this.extras = el("div", "fd-extras");
    main.append(this.bubble, this.extras);
    this.root.appendChild(main);
    this.typing = null;
    this.errorBox = null;
    this.sources = null;
    this.feedback = null;
    this.media = null;
  }

  setId(id) {
    if (id) this.root.dataset.messageId = id;
  }

  setPlainText(text) {
    this.content.textContent = text;
  }

  /** The customer's words, then each attachment with what was read from it or heard. */
  setUserMessage(content, attachments = [], api = null) {
    const images = attachments.filter((a) => a && a.kind === "image");
    const voice = attachments.some((a) => a && a.kind === "audio");
    const typed = images.length ? typedPart(content || "") : content || "";
    this.content.textContent = typed;
    this.content.hidden = typed === "";
    if (this.media) this.media.remove();
    this.media = null;
    if (!images.length && !voice) return;
    const box = el("div", "fd-media");
    if (voice) {
      const label = el("p", "fd-voice-label");
      label.append(icon("mic"), el("span", "", "Voice message · transcribed"));
      box.appendChild(label);
    }
    for (const a of images) box.appendChild(imageFigure(a, api));
    this.bubble.appendChild(box);
    this.media = box;
  }

  setMarkdown(text, citations = []) {
    this.content.replaceChildren(renderMarkdown(text, { citations }));
  }

  setBusy(busy) {
    this.root.setAttribute("aria-busy", busy ? "true" : "false");
    this.root.classList.toggle("is-streaming", busy);
  }

  showTyping(on) {
    if (on && !this.typing) {
      this.typing = el("div", "fd-typing");
      this.typing.setAttribute("role", "img");
      this.typing.setAttribute("aria-label", "Assistant is typing");
      for (let n = 0; n < 3; n += 1) this.typing.appendChild(el("span"));
      this.bubble.appendChild(this.typing);
    } else if (!on && this.typing) {
      this.typing.remove();
      this.typing = null;
    }
  }

  /** A small status line under the bubble ("Stopped", "Answer replaced", notices). */
  addNote(text, kind = "info") {
    const note = el("p", `fd-note fd-note--${kind}`);
    note.appendChild(icon(kind === "warn" ? "warn" : "info"));
    note.appendChild(el("span", "", text));
    this.extras.appendChild(note);
    return note;
  }

  clearNotes() {
    for (const note of this.extras.querySelectorAll(".fd-note")) note.remove();
  }

  setSources(citations) {
    if (this.sources) this.sources.remove();
    this.sources = null;
    if (!citations || citations.length === 0) return;
    const box = el("div", "fd-sources");
    const heading = el("p", "fd-sources-title", "Sources");
    heading.id = `fd-src-${Math.random().toString(36).slice(2, 10)}`;
    const list = el("ol", "fd-sources-list");
    list.setAttribute("aria-labelledby", heading.id);
    for (const c of citations) {
      const li = el("li");
      const index = el("span", "fd-source-index", String(c.index ?? ""));
      index.setAttribute("aria-hidden", "true");
      const title = [c.title, c.section].filter(Boolean).join(" — ") || "Source";
      const href = safeUrl(c.url || "");
      const link = href ? externalLink(href) : el("span");
      link.classList.add("fd-source-link");
      link.textContent = title;
      if (href) link.setAttribute("aria-label", `${title} (opens in a new tab)`);
      const text = el("div", "fd-source-text");
      text.appendChild(link);
      if (c.snippet) text.appendChild(el("p", "fd-source-snippet", c.snippet));
      li.append(index, text);
      list.appendChild(li);
    }
    box.append(heading, list);
    this.extras.prepend(box);
    this.sources = box;
  }

  /** An error state with an optional retry (enabled after `waitSeconds`). */
  showError(message, onRetry = null, waitSeconds = 0) {
    this.clearError();
    const box = el("div", "fd-error");
    box.setAttribute("role", "alert");
    box.appendChild(icon("warn"));
    const text = el("span", "fd-error-text", message);
    box.appendChild(text);
    if (onRetry) {
      const retry = button("fd-retry", "Retry sending this message", "retry", "Retry");
      retry.addEventListener("click", () => {
        this.clearError();
        onRetry();
      });
      box.appendChild(retry);
    }
    this.extras.appendChild(box);
    const retryButton = box.querySelector(".fd-retry");
    if (retryButton && waitSeconds > 0) countdown(retryButton, waitSeconds);
    this.errorBox = box;
    return box;
  }

  clearError() {
    if (this.errorBox) this.errorBox.remove();
    this.errorBox = null;
  }

  /** Thumbs up/down; `onRate(rating)` returns a promise. */
  setFeedback(onRate) {
    if (this.feedback) return;
    const bar = el("div", "fd-feedback");
    bar.setAttribute("role", "group");
    bar.setAttribute("aria-label", "Was this answer helpful?");
    const up = button("fd-thumb", "Helpful", "up");
    const down = button("fd-thumb", "Not helpful", "down");
    const thanks = el("span", "fd-feedback-thanks");
    thanks.setAttribute("aria-live", "polite");
    const choose = (chosen, other, rating) => {
      const pressed = chosen.getAttribute("aria-pressed") !== "true";
      chosen.setAttribute("aria-pressed", String(pressed));
      other.setAttribute("aria-pressed", "false");
      thanks.textContent = pressed ? "Thanks for the feedback" : "";
      if (pressed) Promise.resolve(onRate(rating)).catch(() => {});
    };
    up.setAttribute("aria-pressed", "false");
    down.setAttribute("aria-pressed", "false");
    up.addEventListener("click", () => choose(up, down, 1));
    down.addEventListener("click", () => choose(down, up, -1));
    bar.append(up, down, thanks);
    this.extras.appendChild(bar);
    this.feedback = bar;
  }

  /** Back to an empty bubble (used when a turn is retried). */
  reset() {
    this.content.replaceChildren();
    this.extras.replaceChildren();
    this.sources = null;
    this.errorBox = null;
    this.feedback = null;
    this.showTyping(false);
  }
}

function countdown(buttonEl, seconds) {
  let left = Math.ceil(seconds);
  const label = buttonEl.querySelector("span");
  buttonEl.disabled = true;
  const tick = () => {
    if (!buttonEl.isConnected) return;
    if (left <= 0) {
      buttonEl.disabled = false;
      label.textContent = "Retry";
      return;
    }
    label.textContent = `Retry in ${left}s`;
    left -= 1;
    setTimeout(tick, 1000);
  };
  tick();
}

// the markers of frontdesk.media.message: image text inside a stored message
const IMAGE_BLOCK =
  /\[Text read from the customer's image\]\n[\s\S]*?\n\[End of image text\]|\[The customer's image has no readable text\]/g;

export function typedPart(content) {
  return content.replace(IMAGE_BLOCK, "").trim();
}

/** A thumbnail of an attached image with the text read from it. */
export function imageFigure(attachment, api) {
  const figure = el("figure", "fd-attachment");
  if (attachment.url) {
    const img = el("img", "fd-attachment-img");
    img.src = api ? api.attachmentUrl(attachment.url) : attachment.url;
    img.alt = "Your image";
    img.loading = "lazy";
    figure.appendChild(img);
  }
  const caption = el("figcaption", "fd-attachment-text");
  const text = (attachment.text || "").trim();
  caption.appendChild(el("span", "fd-attachment-label", text ? "Text read from your image" : "No text could be read from this image"));
  if (text) caption.appendChild(el("pre", "fd-attachment-read", text));
  figure.appendChild(caption);
  return figure;
}

/** A centred system line in the log (escalation, new conversation, ...). */
export function systemLine(text, kind = "info") {
  const line = el("div", `fd-system fd-system--${kind}`);
  line.setAttribute("role", "note");
  line.appendChild(icon(kind === "handoff" ? "person" : kind === "warn" ? "warn" : "info"));
  line.appendChild(el("span", "", text));
  return line;
}
