// Frontdesk web chat: the page controller. Plain ES modules, no framework.

import { Api, SITE_HEADER } from "./api.js";
import { AttachmentTray, VoiceRecorder, imageFiles } from "./attachments.js";
import { Composer } from "./composer.js";
import { showConfirm } from "./confirm.js";
import { installIdentity, onIdentityChange, subjectOf } from "./identity.js";
import { LiveUpdates, queueText } from "./live.js";
import { ChatLog } from "./log.js";
import {
  HANDOFF_STATUSES,
  STREAMING_STATUSES,
  WORKING_STATUSES,
  signature,
  subtitleFor,
  supersededAttempt,
} from "./status.js";
import { SessionStore } from "./store.js";
import { TurnRunner } from "./turn-runner.js";
import { MessageView, systemLine } from "./view.js";

const POLL_MS = 4000;
const HANDOFF_TEXT = "This conversation was passed to our support team";

function setting(root, name, fallback) {
  const value = root.dataset[name];
  return value && !value.includes("{{") ? value : fallback;
}

export class ChatApp {
  constructor(root) {
    this.root = root;
    installIdentity(root); // before the first request: every call carries the customer's proof
    this.botName = setting(root, "botName", "Support assistant");
    const apiBase = setting(root, "apiBase", "");
    // the tenant: the page's site key (server-filled), else ?site= (the static page)
    this.siteKey = setting(root, "siteKey", "") || new URLSearchParams(location.search).get("site") || "";
    this.api = new Api(apiBase, this.siteKey);
    this.store = new SessionStore(setting(root, "storageKey", "conversation"));
    this.log = new ChatLog(root.querySelector("#fd-log"));
    this.status = root.querySelector("#fd-status");
    this.subtitle = root.querySelector("#fd-subtitle");
    this.tray = new AttachmentTray(root, {
      api: this.api,
      conversationId: () => this.conversationId(),
      onChange: () => this.composer && this.composer.refresh(),
    });
    this.composer = new Composer(root, {
      onSubmit: () => this.submit(),
      onStop: () => this.turns.stop(),
      onResize: (update) => this.log.keepBottom(update),
      attachments: () => ({ ready: this.tray.ready.length, busy: this.tray.uploading }),
    });
    this.setupAttachments(root);
    this.turns = new TurnRunner(this);
    this.live = new LiveUpdates(
      apiBase,
      {
        onStatus: (data) => this.onLiveStatus(data),
        onMessage: (data) => this.onLiveMessage(data),
        onQueue: (data) => this.onQueue(data),
        onUnavailable: () => {
          this.liveUnavailable = true;
          this.schedulePoll();
        },
      },
      this.siteKey ? { [SITE_HEADER]: this.siteKey } : {},
    );
    this.liveUnavailable = false;
    this.conversation = null;
    this.pollTimer = null;
    this.historySignature = "";
  }

  async start() {
    await this.applyBranding();
    for (const node of this.root.querySelectorAll("[data-bot-name-text]")) {
      node.textContent = this.botName;
    }
    const avatar = this.root.querySelector(".fd-avatar");
    if (avatar && !avatar.querySelector("img")) {
      avatar.textContent = (this.botName.trim()[0] || "S").toUpperCase();
    }
    document.title = `${this.botName} · Chat`;
    this.keepSiteOnLinks();
    this.root
      .querySelector("#fd-new")
      .addEventListener("click", () => this.startNewConversation());
    document.addEventListener("visibilitychange", () => this.schedulePoll());
    this.root.classList.add("is-ready");
    // signing out, or in as someone else, starts afresh: a bound conversation refuses others
    // (an anonymous visitor who signs in keeps the conversation; a refreshed token too)
    onIdentityChange((next, previous) => {
      if (previous && subjectOf(next) !== subjectOf(previous)) this.startNewConversation();
    });
    return this.restore();
  }

  // ------------------------------------------------------------ the tenant's branding

  /** Name, colours and logo of this chat's tenant (GET /api/site/{key}); none: defaults. */
  async applyBranding() {
    let site;
    try {
      site = await this.api.site();
    } catch {
      return; // the chat still works unbranded; an unknown key fails on the first call
    }
    if (!site) return;
    this.botName = site.name || this.botName;
    const style = this.root.style;
    style.setProperty("--fd-brand", site.primary_color);
    style.setProperty("--fd-brand-strong", site.primary_color);
    style.setProperty("--fd-brand-contrast", site.contrast_color);
    style.setProperty("--fd-header-from", site.header_color);
    style.setProperty("--fd-header-to", site.header_color);
    const avatar = this.root.querySelector(".fd-avatar");
    if (avatar && site.logo_url) {
      const img = document.createElement("img");
      img.src = site.logo_url;
      img.alt = "";
      img.className = "fd-avatar-logo";
      avatar.replaceChildren(img);
    }
    this.root.classList.add("is-branded");
  }

  /** Links to this server's cited documents carry the site key (they open in a new tab). */
  keepSiteOnLinks() {
    if (!this.siteKey) return;
    const fix = (node) => {
      const links = node.matches && node.matches("a[href]") ? [node] : [];
      for (const a of [...links, ...(node.querySelectorAll ? node.querySelectorAll("a[href]") : [])]) {
        const href = this.api.withSite(a.href);
        if (href !== a.href) a.href = href;
      }
    };
    const log = this.root.querySelector("#fd-log");
    new MutationObserver((changes) => {
      for (const change of changes) change.addedNodes.forEach(fix);
    }).observe(log, { childList: true, subtree: true });
  }

  announce(text) {
    this.status.textContent = "";
    // set on the next frame so a repeated message is announced again
    requestAnimationFrame(() => {
      this.status.textContent = text;
    });
  }

  setStreaming(streaming) {
    this.composer.setStreaming(streaming);
    this.root.classList.toggle("is-streaming", streaming);
    if (streaming) this.stopPolling();
  }

  messageView(role, options = {}) {
    const view = new MessageView(role, { botName: this.botName, ...options });
    this.log.append(view.root);
    return view;
  }

  showGreeting(text) {
    if (!text) return;
    const view = this.messageView("assistant");
    view.root.classList.add("fd-msg--greeting");
    view.setMarkdown(text);
  }

  // ------------------------------------------------------------ conversation

  async restore() {
    const saved = this.store.read();
    if (saved.id) {
      try {
        const conversation = await this.api.getConversation(saved.id);
        const greeting = conversation.greeting || saved.greeting || "";
        this.conversation = { ...conversation, greeting };
        this.renderHistory(this.conversation);
        return;
      } catch (error) {
        // 403: another signed-in customer's conversation (or this one signed out)
        if (!(error && (error.status === 404 || error.status === 403))) {
          this.showStartupError(error);
          return;
        }
        this.store.clear(); // unknown on the server, or not ours: start afresh
      }
    }
    await this.createConversation();
  }

  async createConversation() {
    try {
      const created = await this.api.createConversation();
      this.adoptConversation(created);
      this.log.clear();
      this.historySignature = "";
      this.showGreeting(created.greeting || "");
      this.applyStatus(created.status);
      return true;
    } catch (error) {
      this.showStartupError(error);
      return false;
    }
  }

  adoptConversation(created) {
    this.conversation = { ...created, messages: [] };
    this.store.write({ id: created.id, greeting: created.greeting || "" });
  }

  showStartupError(error) {
    this.log.clear();
    const view = this.messageView("assistant");
    view.setPlainText("The chat is not available right now.");
    view.showError(error && error.message ? error.message : "Unexpected error.", () => {
      this.log.clear();
      this.restore();
    });
  }

  async startNewConversation() {
    this.turns.stop();
    this.live.stop();
    this.stopPolling();
    this.store.clear();
    this.conversation = null;
    if (await this.createConversation()) this.announce("Started a new conversation");
    this.composer.focus();
  }

  renderHistory(conversation) {
    this.log.clear();
    const messages = Array.isArray(conversation.messages) ? conversation.messages : [];
    const first = messages[0];
    if (!(first && first.role !== "user" && first.content === conversation.greeting)) {
      this.showGreeting(conversation.greeting);
    }
    const pending = this.store.read().pending;
    const byId = new Map(messages.map((m) => [m.id, m]));
    messages.forEach((message, n) => {
      if (supersededAttempt(message, messages.slice(n + 1))) return; // retried later
      const question = byId.get(message.reply_to) || messages[n - 1];
      this.renderStoredMessage(message, question, pending);
    });
    this.historySignature = signature(conversation);
    this.applyStatus(conversation.status);
    this.log.scrollToBottom();
    this.schedulePoll();
  }

  renderStoredMessage(message, question, pending) {
    const view = this.messageView(message.role, { createdAt: message.created_at, id: message.id });
    if (message.role === "user") {
      view.setUserMessage(message.content || "", message.attachments || [], this.api);
      return;
    }
    const citations = Array.isArray(message.citations) ? message.citations : [];
    view.setMarkdown(message.content || "", citations);
    view.setSources(citations);
    const offer = message.action_offer;
    if (offer && offer.state === "pending" && Date.parse(offer.expires_at) > Date.now()) {
      showConfirm(this, view, offer); // still waiting for the customer's button
    }
    if (STREAMING_STATUSES.has(message.status)) {
      view.showTyping(!message.content);
      view.setBusy(true);
    } else if (message.status === "queued") {
      view.addNote("We'll answer here as soon as we can.", "info");
    } else if (message.status === "partial") {
      view.addNote("This answer is incomplete.", "info");
    } else if (message.status === "failed") {
      // the stored error is for operators; customers get a plain sentence
      const retry = this.retryFor(question, pending, view);
      view.showError("This answer could not be completed.", retry);
    } else if (message.role === "assistant" && message.id) {
      view.setFeedback((rating) => this.api.sendFeedback(message.id, rating));
    }
  }

  retryFor(question, pending, botView) {
    if (!question || question.role !== "user") return null;
    let again = null;
    if (question.client_message_id) {
      again = { content: question.content, client_message_id: question.client_message_id };
    } else if (pending && pending.content === question.content) {
      again = pending;
    }
    return again ? () => this.turns.resume(again, question.id, botView) : null;
  }

  applyStatus(status) {
    const escalated = HANDOFF_STATUSES.has(status);
    const closed = status === "closed";
    if (this.conversation && status) this.conversation.status = status;
    this.root.classList.toggle("is-escalated", escalated);
    this.root.classList.toggle("is-closed", closed);
    if (this.subtitle) this.subtitle.textContent = subtitleFor(status);
    this.composer.setClosed(closed);
    if (closed && !this.log.find(".fd-system--closed")) {
      this.log.append(systemLine("This conversation has ended.", "closed"));
    }
    if (escalated && !this.log.find(".fd-system--handoff")) {
      const line = systemLine(`${HANDOFF_TEXT}. Replies appear here.`, "handoff");
      const firstAgent = this.log.find(".fd-msg--agent");
      if (firstAgent) firstAgent.before(line);
      else this.log.append(line);
    }
    if (escalated && this.conversation && !this.liveUnavailable) {
      this.live.start(this.conversation.id);
    } else if (!escalated) {
      this.live.stop();
    }
  }

  // ------------------------------------------------------------ live hand-off updates

  onLiveStatus(data) {
    this.applyStatus(data.status);
    if (data.ticket_id) this.labelHandoff(data.ticket_id);
    if (data.status === "agent" && data.agent && this.subtitle) {
      this.subtitle.textContent = `You're chatting with ${data.agent}`;
    } else {
      this.onQueue(data);
    }
  }

  onQueue(data) {
    const text = queueText(data);
    if (text && this.subtitle && this.conversation?.status === "waiting_for_agent") {
      this.subtitle.textContent = text;
    }
  }

  onLiveMessage(data) {
    if (data.role !== "agent" || !data.id) return;
    if (this.log.find(`[data-message-id="${CSS.escape(data.id)}"]`)) return;
    const view = this.messageView("agent", {
      id: data.id,
      createdAt: data.created_at,
      label: data.author ? `${data.author} · Support` : undefined,
    });
    view.setMarkdown(data.content || "");
    this.announce(`New message from ${data.author || "our support team"}`);
  }

  showHandoff(ticketId) {
    const withAgent = this.conversation && this.conversation.status === "agent";
    this.applyStatus(withAgent ? "agent" : "waiting_for_agent");
    this.labelHandoff(ticketId);
    this.announce(HANDOFF_TEXT);
  }

  /** Name the ticket in the hand-off line (long ids shortened; the full id in a tooltip). */
  labelHandoff(ticketId) {
    const line = this.log.find(".fd-system--handoff");
    if (!line || !ticketId) return;
    const id = String(ticketId);
    const short = id.length > 12 ? `${id.slice(0, 8)}…` : id;
    const text = `${HANDOFF_TEXT} (ticket ${short}). Replies appear here.`;
    line.querySelector("span").textContent = text;
    line.title = `Ticket ${id}`;
  }

  async refreshStatus() {
    if (!this.conversation) return;
    try {
      const fresh = await this.api.getConversation(this.conversation.id);
      this.applyStatus(fresh.status);
    } catch {
      // keep what we know
    }
  }

  // ------------------------------------------------------------ polling (hand-off, queued)

  schedulePoll(force = false) {
    this.stopPolling();
    const c = this.conversation;
    const working = c && (c.messages || []).some((m) => WORKING_STATUSES.has(m.status));
    const handoff = c && HANDOFF_STATUSES.has(c.status) && !this.live.active;
    if (!(force || working || handoff) || document.hidden) return;
    this.pollTimer = setTimeout(() => this.poll(), POLL_MS);
  }

  stopPolling() {
    if (this.pollTimer) clearTimeout(this.pollTimer);
    this.pollTimer = null;
  }

  async poll() {
    this.pollTimer = null;
    if (!this.conversation || this.turns.active) return;
    try {
      const fresh = await this.api.getConversation(this.conversation.id);
      if (!this.turns.active && signature(fresh) !== this.historySignature) {
        this.conversation = { ...fresh, greeting: this.conversation.greeting };
        this.renderHistory(this.conversation);
        return;
      }
    } catch {
      // transient: try again on the next tick
    }
    this.schedulePoll();
  }

  // ------------------------------------------------------------ sending

  async submit() {
    const content = this.composer.value;
    const attachments = this.tray.ready;
    if (this.turns.active || this.tray.uploading) return;
    if (content.trim() === "" && attachments.length === 0) return;
    if (!this.conversation && !(await this.createConversation())) return;
    this.composer.value = "";
    this.tray.clear();
    const userView = this.messageView("user");
    userView.setUserMessage(content, attachments, this.api);
    this.log.scrollToBottom();
    await this.turns.send(content, userView, attachments);
  }

  // ------------------------------------------------------------ attachments and voice

  async conversationId() {
    if (!this.conversation && !(await this.createConversation())) return null;
    return this.conversation.id;
  }

  setupAttachments(root) {
    const picker = root.querySelector("#fd-file");
    const attach = root.querySelector("#fd-attach");
    const addAll = (files) => {
      for (const file of files) this.tray.add(file);
    };
    attach.addEventListener("click", () => picker.click());
    picker.addEventListener("change", () => {
      addAll(Array.from(picker.files || []));
      picker.value = "";
    });
    this.composer.input.addEventListener("paste", (event) => {
      const files = imageFiles(event.clipboardData);
      if (!files.length) return;
      event.preventDefault();
      addAll(files);
    });
    root.addEventListener("dragover", (event) => {
      if (!event.dataTransfer || !Array.from(event.dataTransfer.types).includes("Files")) return;
      event.preventDefault();
      root.classList.add("is-dropping");
    });
    root.addEventListener("dragleave", (event) => {
      if (event.target === root || !root.contains(event.relatedTarget)) {
        root.classList.remove("is-dropping");
      }
    });
    root.addEventListener("drop", (event) => {
      root.classList.remove("is-dropping");
      const files = imageFiles(event.dataTransfer);
      if (!files.length) return;
      event.preventDefault();
      addAll(files);
    });
    this.recorder = new VoiceRecorder(root.querySelector("#fd-mic"), root.querySelector("#fd-mic-time"), {
      onRecorded: (blob, name) => this.sendVoice(blob, name),
      onError: (message) => this.announceError(message),
    });
  }

  announceError(message) {
    const view = this.messageView("assistant");
    view.setPlainText(message);
    view.root.classList.add("fd-msg--notice");
    this.announce(message);
  }

  /** A recording: transcribe it, show the customer's words, then answer them. */
  async sendVoice(blob, name) {
    if (this.turns.active) return;
    const id = await this.conversationId();
    if (!id) return;
    const userView = this.messageView("user");
    userView.setPlainText("Transcribing your voice message…");
    userView.root.classList.add("is-transcribing");
    this.log.scrollToBottom();
    this.announce("Transcribing your voice message");
    let attachment;
    try {
      attachment = await this.api.uploadAttachment(id, blob, name);
    } catch (error) {
      userView.root.classList.remove("is-transcribing");
      userView.setPlainText("Voice message");
      userView.showError(error.message || "The recording could not be read.");
      userView.root.classList.add("is-rejected");
      this.announce(`Not sent: ${error.message}`);
      return;
    }
    userView.root.classList.remove("is-transcribing");
    userView.setUserMessage(attachment.text, [attachment], this.api);
    await this.turns.send("", userView, [attachment]);
  }
}

const root = document.getElementById("fd-app");
if (root) new ChatApp(root).start();
