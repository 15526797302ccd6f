// What conversation and message statuses mean to the page.

export const HANDOFF_STATUSES = new Set(["waiting_for_agent", "agent", "escalated"]);
export const STREAMING_STATUSES = new Set(["pending", "answering"]);
export const WORKING_STATUSES = new Set(["pending", "answering", "queued"]);

const SUBTITLES = {
  waiting_for_agent: "Waiting for a member of our team",
  escalated: "A member of our team will reply here",
  agent: "You're chatting with our support team",
  closed: "This conversation has ended",
};

export function subtitleFor(status) {
  return SUBTITLES[status] || "AI assistant · replies instantly";
}

/** An answer that a later answer to the same question replaced (a retry). */
export function supersededAttempt(message, later) {
  if (message.role !== "assistant" || !message.reply_to) return false;
  return later.some((m) => m.role === "assistant" && m.reply_to === message.reply_to);
}

/** Changes whenever something visible in the conversation changes. */
export function signature(conversation) {
  const parts = (conversation.messages || []).map(
    (m) => `${m.id}:${m.status}:${(m.content || "").length}`,
  );
  return [conversation.status, ...parts].join("|");
}
