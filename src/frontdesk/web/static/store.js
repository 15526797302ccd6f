// Remembers the conversation (and an unfinished send) across page reloads.

export class SessionStore {
  constructor(namespace) {
    this.key = `frontdesk:${namespace}`;
    this.memory = {};
  }

  read() {
    try {
      const raw = window.localStorage.getItem(this.key);
      const value = raw ? JSON.parse(raw) : {};
      return value && typeof value === "object" ? value : {};
    } catch {
      return { ...this.memory }; // storage disabled (private mode, sandboxed frame)
    }
  }

  write(value) {
    this.memory = { ...value };
    try {
      window.localStorage.setItem(this.key, JSON.stringify(value));
    } catch {
      // keep the in-memory copy only
    }
  }

  update(patch) {
    const next = { ...this.read(), ...patch };
    for (const [k, v] of Object.entries(next)) if (v === null || v === undefined) delete next[k];
    this.write(next);
  }

  clear() {
    this.memory = {};
    try {
      window.localStorage.removeItem(this.key);
    } catch {
      // nothing stored
    }
  }
}
