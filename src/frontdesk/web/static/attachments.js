// Attachments of the next message: screenshots and photos (picker, paste, drag and drop),
// uploaded as soon as they are chosen so the customer sees what was read before sending;
// and voice messages recorded with MediaRecorder.

import { el, icon, imageFigure } from "./view.js";

const MAX_RECORDING_SECONDS = 180;
const RECORDING_TYPES = ["audio/webm;codecs=opus", "audio/ogg;codecs=opus", "audio/webm", "audio/mp4"];

export class AttachmentTray {
  constructor(root, { api, conversationId, onChange }) {
    this.box = root.querySelector("#fd-tray");
    this.api = api;
    this.conversationId = conversationId; // async () => id (creates the conversation)
    this.onChange = onChange;
    this.items = [];
  }

  get ready() {
    return this.items.filter((i) => i.state === "ready").map((i) => i.attachment);
  }

  get uploading() {
    return this.items.some((i) => i.state === "uploading");
  }

  async add(file) {
    const item = { state: "uploading", attachment: null, controller: new AbortController() };
    item.node = el("div", "fd-chip is-uploading");
    item.node.append(
      el("span", "fd-chip-name", file.name || "Pasted image"),
      el("span", "fd-chip-status", "Reading the image…"),
      this.removeButton(item),
    );
    this.items.push(item);
    this.render();
    try {
      const id = await this.conversationId();
      if (!id) throw new Error("The chat is not available right now.");
      const name = file.name || `pasted.${(file.type || "image/png").split("/")[1] || "png"}`;
      item.attachment = await this.api.uploadAttachment(id, file, name, item.controller.signal);
      item.state = "ready";
      item.node.className = "fd-chip is-ready";
      item.node.replaceChildren(imageFigure(item.attachment, this.api), this.removeButton(item));
    } catch (error) {
      if (error && error.name === "AbortError") return;
      item.state = "failed";
      item.node.className = "fd-chip is-failed";
      item.node.setAttribute("role", "alert");
      item.node.replaceChildren(
        icon("warn"),
        el("span", "fd-chip-status", `${file.name || "Image"}: ${error.message || "could not be read"}`),
        this.removeButton(item),
      );
    }
    this.render();
  }

  removeButton(item) {
    const b = el("button", "fd-chip-remove");
    b.type = "button";
    b.setAttribute("aria-label", "Remove this attachment");
    b.textContent = "×";
    b.addEventListener("click", () => this.remove(item));
    return b;
  }

  remove(item) {
    item.controller.abort();
    this.items = this.items.filter((i) => i !== item);
    this.render();
  }

  clear() {
    for (const item of this.items) if (item.state === "uploading") item.controller.abort();
    this.items = [];
    this.render();
  }

  render() {
    this.box.replaceChildren(...this.items.map((i) => i.node));
    this.box.hidden = this.items.length === 0;
    this.onChange();
  }
}

/** The microphone button: click to record, click again to send (stops at 3 minutes). */
export class VoiceRecorder {
  constructor(button, timeLabel, { onRecorded, onError }) {
    this.button = button;
    this.timeLabel = timeLabel;
    this.onRecorded = onRecorded;
    this.onError = onError;
    this.recorder = null;
    this.timer = null;
    this.button.hidden = !VoiceRecorder.available();
    this.button.addEventListener("click", () => this.toggle());
  }

  static available() {
    return Boolean(navigator.mediaDevices && navigator.mediaDevices.getUserMedia && window.MediaRecorder);
  }

  get recording() {
    return this.recorder !== null;
  }

  toggle() {
    if (this.recorder) this.stop();
    else this.start();
  }

  async start() {
    let stream;
    try {
      stream = await navigator.mediaDevices.getUserMedia({ audio: true });
    } catch {
      this.onError("The microphone is not available. Check the browser's permission for this site.");
      return;
    }
    const mimeType = RECORDING_TYPES.find((t) => MediaRecorder.isTypeSupported(t)) || "";
    const recorder = new MediaRecorder(stream, mimeType ? { mimeType } : undefined);
    const chunks = [];
    recorder.addEventListener("dataavailable", (event) => {
      if (event.data && event.data.size) chunks.push(event.data);
    });
    recorder.addEventListener("stop", () => {
      for (const track of stream.getTracks()) track.stop();
      const type = recorder.mimeType || mimeType || "audio/webm";
      const blob = new Blob(chunks, { type });
      const ext = type.includes("ogg") ? "ogg" : type.includes("mp4") ? "m4a" : "webm";
      if (blob.size) this.onRecorded(blob, `voice.${ext}`);
    });
    this.recorder = recorder;
    recorder.start(250);
    const started = Date.now();
    this.button.classList.add("is-recording");
    this.button.setAttribute("aria-pressed", "true");
    this.button.setAttribute("aria-label", "Stop recording and send");
    const tick = () => {
      const seconds = Math.floor((Date.now() - started) / 1000);
      this.timeLabel.textContent = `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, "0")}`;
      if (seconds >= MAX_RECORDING_SECONDS) this.stop();
    };
    tick();
    this.timer = setInterval(tick, 500);
  }

  stop() {
    if (!this.recorder) return;
    clearInterval(this.timer);
    this.timer = null;
    const recorder = this.recorder;
    this.recorder = null;
    this.button.classList.remove("is-recording");
    this.button.setAttribute("aria-pressed", "false");
    this.button.setAttribute("aria-label", "Record a voice message");
    this.timeLabel.textContent = "";
    if (recorder.state !== "inactive") recorder.stop();
  }
}

/** Image files from a paste or a drop (anything else is left to the browser). */
export function imageFiles(dataTransfer) {
  if (!dataTransfer) return [];
  return Array.from(dataTransfer.files || []).filter((f) => !f.type || f.type.startsWith("image/"));
}
