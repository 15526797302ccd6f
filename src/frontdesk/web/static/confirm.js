// The confirmation button of an action that changes something (SSE event action_confirm).
// Only the button confirms: typing "yes" does not. The outcome is the stored assistant
// message, shown as a new bubble.

import { el } from "./view.js";

export function showConfirm(app, botView, offer) {
  const box = el("div", "fd-confirm");
  box.setAttribute("role", "group");
  box.setAttribute("aria-label", offer.title || "Confirm this action");
  const yes = el("button", "fd-confirm-yes", "Yes, go ahead");
  const no = el("button", "fd-confirm-no", "No, cancel");
  for (const b of [yes, no]) b.type = "button";
  const status = el("p", "fd-confirm-status");
  status.setAttribute("aria-live", "polite");
  box.append(yes, no, status);
  botView.extras.appendChild(box);

  async function decide(decision) {
    yes.disabled = true;
    no.disabled = true;
    status.textContent = decision === "confirm" ? "Working on it…" : "";
    try {
      const result = await app.api.decideAction(app.conversation.id, offer.id, decision);
      box.classList.add(decision === "confirm" ? "is-confirmed" : "is-cancelled");
      status.textContent = decision === "confirm" ? "Confirmed" : "Cancelled";
      const message = result.message || {};
      const view = app.messageView("assistant", { id: message.id, createdAt: message.created_at });
      const citations = Array.isArray(message.citations) ? message.citations : [];
      view.setMarkdown(message.content || "", citations);
      view.setSources(citations);
      app.announce(message.content || "Done");
      app.log.scrollToBottom();
    } catch (error) {
      status.textContent = (error && error.message) || "That didn't work.";
      if (!(error && error.status === 409)) {
        yes.disabled = false;
        no.disabled = false;
      }
    }
  }

  yes.addEventListener("click", () => decide("confirm"));
  no.addEventListener("click", () => decide("cancel"));
}
