// Frontdesk agent console. All customer text is rendered with textContent: never as HTML.

const KEY_STORAGE = "frontdesk:agent-key";
const QUEUE_REFRESH_MS = 3000;
const QUEUE_PAGE = 50; // the queue pages: every open ticket is reachable, none hidden

const $ = (id) => document.getElementById(id);

const state = {
  key: sessionStorage.getItem(KEY_STORAGE) || "",
  me: null,
  tickets: [],
  selected: null, // ticket id
  detail: null, // last transcript payload
  live: null, // EventSource of the selected conversation
  timer: null,
  offset: 0, // first ticket of the queue page shown
};

class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

async function api(path, { method = "GET", body } = {}) {
  const headers = { Authorization: `Bearer ${state.key}`, Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const data = await res.json().catch(() => ({}));
  if (!res.ok) {
    const message = (data && data.error && data.error.message) || `HTTP ${res.status}`;
    if (res.status === 401) signOut(message);
    throw new ApiError(res.status, message);
  }
  return data;
}

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

function duration(seconds) {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${s % 60}s`;
  return `${Math.floor(m / 60)}h ${m % 60}m`;
}

function time(iso) {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? "" : d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

// --- sign in ---------------------------------------------------------------

async function signIn(key) {
  state.key = key;
  const me = await api("/api/agent/me");
  sessionStorage.setItem(KEY_STORAGE, key);
  state.me = me;
  $("ac-agent-name").textContent = `${me.name} · ${me.role}`;
  $("ac-login").hidden = true;
  $("ac-who").hidden = false;
  $("ac-main").hidden = false;
  await refreshQueue();
  state.timer = setInterval(() => refreshQueue().catch(showQueueError), QUEUE_REFRESH_MS);
}

function signOut(message) {
  sessionStorage.removeItem(KEY_STORAGE);
  state.key = "";
  state.me = null;
  clearInterval(state.timer);
  closeLive();
  $("ac-main").hidden = true;
  $("ac-who").hidden = true;
  $("ac-login").hidden = false;
  const err = $("ac-login-error");
  err.hidden = !message;
  err.textContent = message || "";
}

function showQueueError(error) {
  $("ac-live-dot").classList.add("is-off");
  $("ac-live-dot").title = error.message;
}

// --- queue -----------------------------------------------------------------

async function refreshQueue() {
  let data = await api(`/api/agent/queue?offset=${state.offset}&limit=${QUEUE_PAGE}`);
  if (data.tickets.length === 0 && state.offset > 0) {
    // the queue shrank below this page: show its last page
    state.offset = Math.max(0, Math.floor((data.total - 1) / QUEUE_PAGE) * QUEUE_PAGE);
    data = await api(`/api/agent/queue?offset=${state.offset}&limit=${QUEUE_PAGE}`);
  }
  $("ac-live-dot").classList.remove("is-off");
  state.tickets = data.tickets;
  $("ac-queue-count").textContent = `${data.waiting} waiting · ${data.claimed} with agents`;
  $("ac-queue-empty").hidden = data.tickets.length > 0;
  const list = $("ac-tickets");
  list.replaceChildren(...data.tickets.map(ticketItem));
  renderPager(data);
}

function renderPager(data) {
  const first = data.tickets.length ? data.offset + 1 : 0;
  const last = data.offset + data.tickets.length;
  $("ac-page-info").textContent = `${first}–${last} of ${data.total}`;
  $("ac-page-prev").disabled = data.offset === 0;
  $("ac-page-next").disabled = data.next_offset === null;
  $("ac-pager").hidden = data.total <= QUEUE_PAGE;
}

async function turnPage(delta) {
  state.offset = Math.max(0, state.offset + delta * QUEUE_PAGE);
  await refreshQueue();
}

function ticketItem(t) {
  const li = el("li");
  const button = el("button", "ac-ticket-item");
  button.type = "button";
  button.dataset.ticketId = t.id;
  if (t.id === state.selected) button.classList.add("is-selected");
  const row = el("div", "ac-ticket-row");
  row.append(el("span", "ac-reason", t.reason_label), el("span", "ac-wait", `${t.status === "waiting" ? "waiting" : "waited"} ${duration(t.wait_seconds)}`));
  const chips = el("div", "ac-chips");
  if (t.status === "waiting") chips.append(el("span", "ac-chip ac-chip--waiting", `#${t.queue_position} in queue`));
  else chips.append(el("span", "ac-chip ac-chip--claimed", `with ${t.claimed_by}`));
  if (t.merged > 0) chips.append(el("span", "ac-chip", `+${t.merged} repeats`));
  if (t.team) chips.append(el("span", "ac-chip", t.team));
  else if (t.topic) chips.append(el("span", "ac-chip", t.topic));
  button.append(row, el("div", "ac-muted", t.detail), chips);
  button.addEventListener("click", () => selectTicket(t.id));
  li.append(button);
  return li;
}

// --- one ticket -------------------------------------------------------------

async function selectTicket(id) {
  state.selected = id;
  for (const b of document.querySelectorAll(".ac-ticket-item")) {
    b.classList.toggle("is-selected", b.dataset.ticketId === id);
  }
  await loadTicket();
}

async function loadTicket() {
  if (!state.selected) return;
  const data = await api(`/api/agent/tickets/${encodeURIComponent(state.selected)}`);
  state.detail = data;
  renderTicket(data);
  openLive(data.conversation.id);
}

function renderTicket(data) {
  const t = data.ticket;
  $("ac-placeholder").hidden = true;
  $("ac-ticket").hidden = false;
  $("ac-ticket-title").textContent = t.reason_label;
  const parts = [t.detail];
  if (t.team) parts.push(t.team);
  parts.push(`status: ${t.status.replace("_", " ")}`);
  if (t.claimed_by) parts.push(`agent: ${t.claimed_by}`);
  parts.push(`opened ${time(t.created_at)}`);
  $("ac-ticket-meta").textContent = parts.join(" · ");
  const mine = t.status === "claimed" && state.me && (t.claimed_by === state.me.name || state.me.role === "admin");
  $("ac-claim").disabled = t.status !== "waiting";
  $("ac-handback").disabled = !mine;
  $("ac-close").disabled = !(t.status === "waiting" || mine);
  $("ac-reply").disabled = !mine;
  $("ac-send").disabled = !mine;
  const placeholders = {
    waiting: "Claim the conversation to reply",
    claimed: mine ? "Write to the customer…" : `${t.claimed_by} is handling this conversation`,
    handed_back: "This conversation is back with the bot",
    closed: "This conversation is closed",
  };
  $("ac-reply").placeholder = placeholders[t.status] || "";
  $("ac-transcript").replaceChildren(...data.messages.map(messageItem));
  $("ac-notes").replaceChildren(...data.notes.map(noteItem));
  const last = $("ac-transcript").lastElementChild;
  if (last) last.scrollIntoView({ block: "nearest" });
}

const WHO = { user: "Customer", assistant: "Bot", agent: "Agent" };

function messageItem(m) {
  const li = el("li", `ac-msg ac-msg--${m.role}`);
  li.dataset.role = m.role;
  const who = m.role === "agent" && m.author ? `Agent · ${m.author}` : WHO[m.role] || m.role;
  li.append(el("div", "ac-msg-who", who), el("div", "ac-msg-text", m.content || "(empty)"));
  const meta = [time(m.created_at)];
  if (m.status && m.status !== "complete") meta.push(m.status);
  li.append(el("div", "ac-msg-meta", meta.join(" · ")));
  if (m.turn) li.append(turnDetails(m.turn));
  return li;
}

function turnDetails(turn) {
  const details = el("details", "ac-turn");
  const sources = turn.retrieved_chunk_ids || [];
  const verdicts = turn.verdicts || [];
  details.append(el("summary", null, `${sources.length} sources · ${verdicts.length} guard verdicts · ${turn.model}`));
  const list = el("ul");
  for (const id of sources) list.append(el("li", null, `source ${id}`));
  for (const v of verdicts) {
    const label = [v.check || v.name || "check", v.action || v.verdict || "", v.reason || v.code || ""]
      .filter(Boolean)
      .join(" · ");
    list.append(el("li", null, `verdict ${label}`));
  }
  for (const a of turn.actions || []) {
    const ms = typeof a.latency_ms === "number" ? `${Math.round(a.latency_ms)} ms` : "";
    const label = [a.action, a.status, a.acting_for ? `for ${a.acting_for}` : "", ms]
      .filter(Boolean)
      .join(" · ");
    list.append(el("li", null, `action ${label} ${JSON.stringify(a.arguments || {})}`));
  }
  if (turn.error) list.append(el("li", null, `error ${turn.error}`));
  if (!list.childElementCount) list.append(el("li", null, "no sources or verdicts recorded"));
  details.append(list);
  return details;
}

function noteItem(n) {
  const li = el("li", "ac-note");
  li.append(el("div", "ac-msg-who", `${n.author} · ${time(n.created_at)}`), el("div", "ac-note-text", n.content));
  return li;
}

function openLive(conversationId) {
  if (state.live && state.live.conversationId === conversationId) return;
  closeLive();
  const source = new EventSource(`/api/conversations/${encodeURIComponent(conversationId)}/events`);
  source.conversationId = conversationId;
  const reload = () => loadTicket().catch(showActionError);
  source.addEventListener("message", reload);
  source.addEventListener("status", (ev) => {
    const status = JSON.parse(ev.data).status;
    if (status === "closed") closeLive(); // the server ends a closed conversation's stream
    if (state.detail && status !== state.detail.conversation.status) reload();
  });
  state.live = source;
}

function closeLive() {
  if (state.live) state.live.close();
  state.live = null;
}

function showActionError(error) {
  const box = $("ac-action-error");
  box.hidden = false;
  box.textContent = error.message;
}

async function act(path, body) {
  $("ac-action-error").hidden = true;
  try {
    await api(`/api/agent/tickets/${encodeURIComponent(state.selected)}/${path}`, { method: "POST", body });
    await Promise.all([loadTicket(), refreshQueue()]);
  } catch (error) {
    showActionError(error);
    await loadTicket().catch(() => {});
  }
}

// --- wiring ------------------------------------------------------------------

function init() {
  $("ac-login-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const key = $("ac-key").value.trim();
    try {
      await signIn(key);
      $("ac-key").value = "";
    } catch (error) {
      signOut(error.status === 403 ? "This key does not have the agent role." : error.message);
    }
  });
  $("ac-logout").addEventListener("click", () => signOut(""));
  $("ac-page-prev").addEventListener("click", () => turnPage(-1).catch(showQueueError));
  $("ac-page-next").addEventListener("click", () => turnPage(1).catch(showQueueError));
  $("ac-claim").addEventListener("click", () => act("claim"));
  $("ac-handback").addEventListener("click", () => act("hand-back", {}));
  $("ac-close").addEventListener("click", () => {
    if (window.confirm("Close this conversation? The customer cannot write to it any more.")) act("close", {});
  });
  $("ac-reply-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const content = $("ac-reply").value.trim();
    if (!content) return;
    await act("reply", { content });
    if ($("ac-action-error").hidden) $("ac-reply").value = "";
  });
  $("ac-reply").addEventListener("keydown", (ev) => {
    if (ev.key === "Enter" && !ev.shiftKey) {
      ev.preventDefault();
      $("ac-reply-form").requestSubmit();
    }
  });
  $("ac-note-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const content = $("ac-note").value.trim();
    if (!content) return;
    await act("notes", { content });
    if ($("ac-action-error").hidden) $("ac-note").value = "";
  });
  if (state.key) signIn(state.key).catch((error) => signOut(error.message));
  else signOut("");
}

init();
