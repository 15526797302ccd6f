// The message box with its Send and Stop buttons.
// Enter sends, Shift+Enter adds a line, Escape stops a streaming answer.

const MAX_HEIGHT_PX = 160;
const PLACEHOLDER = "Type your message…";
const CLOSED_PLACEHOLDER = "This conversation has ended. Start a new one above.";

export class Composer {
  constructor(root, { onSubmit, onStop, onResize, attachments = () => ({ ready: 0, busy: false }) }) {
    this.attachments = attachments;
    this.form = root.querySelector("#fd-composer");
    this.input = root.querySelector("#fd-input");
    this.sendButton = root.querySelector("#fd-send");
    this.stopButton = root.querySelector("#fd-stop");
    this.onResize = onResize;
    this.streaming = false;
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      onSubmit();
    });
    this.input.addEventListener("keydown", (event) => {
      if (event.key === "Escape" && this.streaming) {
        event.preventDefault();
        onStop();
      } else if (
        event.key === "Enter" &&
        !event.shiftKey &&
        !event.isComposing &&
        event.keyCode !== 229 // IME composition in older engines
      ) {
        event.preventDefault();
        onSubmit();
      }
    });
    this.input.addEventListener("input", () => this.refresh());
    this.stopButton.addEventListener("click", () => onStop());
    this.refresh();
  }

  get value() {
    return this.input.value;
  }

  set value(text) {
    this.input.value = text;
    this.refresh();
  }

  focus() {
    this.input.focus();
  }

  setStreaming(streaming) {
    const stopHadFocus = document.activeElement === this.stopButton;
    this.streaming = streaming;
    this.refresh();
    if (stopHadFocus && !streaming) this.input.focus();
  }

  setClosed(closed) {
    this.input.disabled = closed;
    this.input.placeholder = closed ? CLOSED_PLACEHOLDER : PLACEHOLDER;
    this.refresh();
  }

  refresh() {
    this.onResize(() => {
      this.input.style.height = "auto";
      this.input.style.height = `${Math.min(this.input.scrollHeight, MAX_HEIGHT_PX)}px`;
    });
    const pending = this.attachments();
    this.sendButton.disabled =
      this.streaming ||
      this.input.disabled ||
      pending.busy ||
      (this.input.value.trim() === "" && pending.ready === 0);
    this.sendButton.hidden = this.streaming;
    this.stopButton.hidden = !this.streaming;
  }
}
