// The scrolling message log: appends nodes and follows the newest message
// while the reader is at the bottom (not when they scrolled up to read).

const NEAR_BOTTOM_PX = 96;

export class ChatLog {
  constructor(element) {
    this.element = element;
    this.stuck = true;
    element.addEventListener("scroll", () => {
      this.stuck = this.nearBottom();
    });
    // keep following when the log shrinks (composer grows, phone keyboard opens)
    if (window.ResizeObserver) {
      new ResizeObserver(() => {
        if (this.stuck) this.scrollToBottom();
      }).observe(element);
    }
  }

  nearBottom() {
    const el = this.element;
    return el.scrollHeight - el.scrollTop - el.clientHeight < NEAR_BOTTOM_PX;
  }

  scrollToBottom() {
    this.element.scrollTop = this.element.scrollHeight;
  }

  /** Run `update` (which changes the log's content) and keep the bottom in view if it was. */
  keepBottom(update) {
    const stick = this.nearBottom();
    const result = update();
    if (stick) this.scrollToBottom();
    return result;
  }

  append(node) {
    this.keepBottom(() => this.element.appendChild(node));
  }

  clear() {
    this.element.replaceChildren();
  }

  find(selector) {
    return this.element.querySelector(selector);
  }

  findAll(selector) {
    return this.element.querySelectorAll(selector);
  }
}
