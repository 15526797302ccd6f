// Runs turns for the page: one at a time, streaming into a message bubble,
// then showing how it ended (done, stopped, error with retry).

import { showConfirm } from "./confirm.js";
import { Turn } from "./turn.js";
import { MessageView } from "./view.js";

export class TurnRunner {
  constructor(app) {
    this.app = app;
    this.turn = null;
    this.frame = 0;
    this.pendingRender = null;
  }

  get active() {
    return this.turn !== null;
  }

  stop() {
    if (this.turn) this.turn.stop();
  }

  send(content, userView, attachments = []) {
    return this.run(new Turn({ content, attachments }), userView, null);
  }

  /** Retry a failed answer shown from history, reusing the original client_message_id. */
  resume(pending, userMessageId, botView) {
    const turn = new Turn({
      content: pending.content,
      clientMessageId: pending.client_message_id,
      attachments: pending.attachments || [],
    });
    const userView = new MessageView("user", { id: userMessageId });
    userView.setUserMessage(pending.content, pending.attachments || [], this.app.api);
    const old = userMessageId
      ? this.app.log.find(`[data-message-id="${CSS.escape(userMessageId)}"]`)
      : null;
    if (old) old.replaceWith(userView.root);
    else botView.root.before(userView.root);
    return this.run(turn, userView, botView);
  }

  async run(turn, userView, existingBotView) {
    const app = this.app;
    const botView = existingBotView || app.messageView("assistant");
    botView.reset();
    botView.root.classList.remove("is-failed");
    userView.clearError();
    botView.showTyping(true);
    botView.setBusy(true);
    this.turn = turn;
    app.setStreaming(true);
    app.announce(`${app.botName} is typing`);
    const pending = { content: turn.content, client_message_id: turn.clientMessageId };
    if (turn.attachments.length) pending.attachments = turn.attachments;
    app.store.update({ pending });
    const noticed = { value: false };
    const hooks = this.hooks(userView, botView, noticed);
    let result;
    try {
      result = await turn.run(app.api, app.conversation.id, hooks);
      if (result.outcome === "error" && result.error.status === 404) {
        // the server forgot the conversation: carry on in a new one
        const created = await app.api.createConversation().catch(() => null);
        if (created) {
          app.adoptConversation(created);
          result = await turn.run(app.api, created.id, hooks);
        }
      }
    } finally {
      this.turn = null;
      botView.setBusy(false);
      botView.showTyping(false);
      app.setStreaming(false);
    }
    this.finish(turn, result, userView, botView, noticed.value);
  }

  hooks(userView, botView, noticed) {
    const app = this.app;
    const render = (text, citations) => this.render(botView, text, citations);
    return {
      onStart: (data) => {
        userView.setId(data.user_message_id);
        botView.setId(data.message_id);
      },
      onText: render,
      onCitations: render,
      onNotice: (data) => {
        noticed.value = true;
        const text = data.message || "Your message was changed.";
        app.log.keepBottom(() => userView.addNote(text, "info"));
        app.announce(text);
      },
      onRetracted: (text) => {
        this.flush(botView, text, []);
        botView.addNote("The previous answer was withdrawn and replaced.", "warn");
      },
      onEscalated: (data) => app.showHandoff(data.ticket_id),
      onActionConfirm: (offer) => app.log.keepBottom(() => showConfirm(app, botView, offer)),
    };
  }

  finish(turn, result, userView, botView, noticed) {
    const app = this.app;
    this.flush(botView, result.text, result.citations || []);
    if (result.outcome === "done") {
      app.store.update({ pending: null });
      if (!result.text && !(result.citations || []).length) {
        botView.root.remove(); // held for a person: the notice under the question says so
      }
      if (result.status === "partial") botView.addNote("This answer is incomplete.", "info");
      if (result.status === "queued") {
        botView.addNote("We'll answer here as soon as we can.", "info");
      }
      if (result.messageId && result.status === "complete") {
        botView.setFeedback((rating) => app.api.sendFeedback(result.messageId, rating));
      }
      app.announce("Answer complete");
      if (noticed) this.refreshUserMessage(userView);
      app.schedulePoll(result.status === "queued");
    } else if (result.outcome === "stopped") {
      app.store.update({ pending: null });
      botView.addNote(result.text ? "Stopped. The answer is incomplete." : "Stopped.", "info");
      app.announce("Stopped");
      app.schedulePoll();
    } else {
      this.showError(turn, result, userView, botView);
    }
  }

  showError(turn, result, userView, botView) {
    const app = this.app;
    const { error } = result;
    const rejected = error.status >= 400 && error.status < 500 && !error.retryable;
    if (rejected && !result.text) {
      botView.root.remove(); // nothing was answered: the problem is the message itself
      app.store.update({ pending: null });
      userView.showError(error.message);
      userView.root.classList.add("is-rejected");
      if (app.composer.value === "" && !turn.attachments.length) app.composer.value = turn.content;
      app.announce(`Not sent: ${error.message}`);
      return;
    }
    if (error.status === 409) app.refreshStatus(); // closed, or still being answered
    const retry = error.retryable ? () => this.run(turn, userView, botView) : null;
    botView.root.classList.add("is-failed");
    app.log.keepBottom(() => botView.showError(error.message, retry, error.retryAfter || 0));
    app.announce(`Error: ${error.message}`);
  }

  async refreshUserMessage(userView) {
    const app = this.app;
    const id = userView.root.dataset.messageId;
    if (!id || !app.conversation) return;
    try {
      const fresh = await app.api.getConversation(app.conversation.id);
      const stored = (fresh.messages || []).find((m) => m.id === id);
      if (stored && typeof stored.content === "string") {
        userView.setUserMessage(stored.content, stored.attachments || [], app.api);
      }
    } catch {
      // the notice already says what changed
    }
  }

  /** Re-render at most once per frame while tokens stream in. */
  render(botView, text, citations) {
    this.pendingRender = { botView, text, citations };
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      const job = this.pendingRender;
      if (job) this.flush(job.botView, job.text, job.citations);
    });
  }

  flush(botView, text, citations) {
    if (this.frame) cancelAnimationFrame(this.frame);
    this.frame = 0;
    this.pendingRender = null;
    this.app.log.keepBottom(() => {
      if (text) botView.showTyping(false);
      botView.setMarkdown(text, citations);
      botView.setSources(citations);
    });
  }
}
