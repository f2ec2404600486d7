// The chat pane's conversation: history (earlier messages load on scrolling up), the composer,
// and replies streamed as server-sent events from POST /api/sessions/{id}/messages.
import { el } from "./format.js";

const PAGE = 50;

const STATUS_TEXT = {
  sending: "Sending…",
  pending: "Waiting for the reply…",
  failed: "Failed",
};

export class Conversation {
  constructor(api) {
    this.api = api;
    this.box = document.getElementById("messages");
    this.form = document.getElementById("composer");
    this.input = document.getElementById("message-input");
    this.session = null;
    this.firstSeq = null;
    this.form.addEventListener("submit", (e) => {
      e.preventDefault();
      this.sendFromComposer();
    });
    this.input.addEventListener("keydown", (e) => {
      if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
        e.preventDefault();
        this.sendFromComposer();
      }
    });
    this.box.addEventListener("scroll", () => {
      if (this.box.scrollTop < 80) this.loadEarlier();
    });
  }

  /**
   * Show `session`'s latest messages. A message sent while they load waits for them
   * (`this.opening`), so the history read never races the post and shows it twice.
   */
  async open(session) {
    this.session = session;
    this.box.replaceChildren();
    this.firstSeq = null;
    this.loadingEarlier = false;
    const count = session.message_count;
    const after = Math.max(0, count - PAGE);
    const loading = this.loadPage(session, after, PAGE, false);
    this.opening = loading.catch(() => {}); // a sender waits; the failure is open()'s to report
    await loading;
    this.box.scrollTop = this.box.scrollHeight;
  }

  async loadPage(session, afterSeq, limit, prepend) {
    const page = await this.api.json("GET", `/sessions/${session.id}/messages`, {
      query: { after_seq: afterSeq, limit },
    });
    if (this.session?.id !== session.id) return;
    const shown = new Set([...this.box.children].map((n) => n.dataset.seq).filter(Boolean));
    const nodes = page.items.filter((m) => !shown.has(String(m.seq))).map((m) => this.messageNode(m));
    if (prepend) this.box.prepend(...nodes);
    else this.box.append(...nodes);
    if (page.items.length && (this.firstSeq === null || page.items[0].seq < this.firstSeq)) {
      this.firstSeq = page.items[0].seq;
    }
    if (this.firstSeq === null) this.firstSeq = afterSeq + 1;
  }

  /** Load the page of messages before the first one shown, keeping the scroll position. */
  async loadEarlier() {
    if (!this.session || this.loadingEarlier || this.firstSeq === null || this.firstSeq <= 1) return;
    this.loadingEarlier = true;
    const before = this.box.scrollHeight;
    const after = Math.max(0, this.firstSeq - 1 - PAGE);
    try {
      await this.loadPage(this.session, after, this.firstSeq - 1 - after, true);
      this.box.scrollTop += this.box.scrollHeight - before;
    } finally {
      this.loadingEarlier = false;
    }
  }

  /** A message bubble; content is set as text, never parsed as HTML. */
  messageNode(message) {
    const node = el("article", {
      class: `message ${message.role}`,
      "aria-label": message.role === "user" ? "You" : "Reply",
      dataset: { seq: message.seq ?? "" },
    });
    node.append(el("span", { class: "content" }, message.content));
    if (message.role === "user") this.setStatus(node, message.status, message.error);
    return node;
  }

  /** Show a user message's state: sending, pending, answered (nothing shown) or failed. */
  setStatus(node, status, reason, retry) {
    node.dataset.status = status;
    node.classList.toggle("failed", status === "failed");
    node.querySelector(".status")?.remove();
    if (status === "answered") return;
    const line = el("span", { class: "status", role: status === "failed" ? "alert" : "status" });
    line.append(document.createTextNode(STATUS_TEXT[status] || status));
    if (status === "failed") {
      if (reason) line.append(document.createTextNode(`: ${reason} `));
      const button = el("button", { type: "button", class: "link" }, "Retry");
      button.addEventListener("click", () => {
        if (retry) retry();
        else this.send(node.querySelector(".content").textContent);
      });
      line.append(button);
    }
    node.append(line);
  }

  sendFromComposer() {
    const content = this.input.value;
    if (!content.trim() || !this.session) return;
    this.input.value = "";
    this.send(content);
  }

  /**
   * Post `content` and stream its reply. A transport failure (no answer from the gateway, or a
   * stream cut before the outcome) offers a retry with the same Idempotency-Key, so the message is
   * stored once whatever happened; a failure the gateway reports (the upstream AI could not
   * answer) is final for that message, and its retry sends the text again as a new message.
   */
  async send(content, key = crypto.randomUUID(), userNode = null) {
    const session = this.session;
    if (!userNode) await this.opening;
    if (this.session?.id !== session.id) return;
    const mine = userNode || this.messageNode({ role: "user", content, status: "sending" });
    if (!userNode) this.box.append(mine);
    this.setStatus(mine, "sending");
    let replyNode = null;
    let outcome = false;
    this.box.scrollTop = this.box.scrollHeight;
    try {
      const stream = this.api.events("POST", `/sessions/${session.id}/messages`, {
        body: { content }, headers: { "Idempotency-Key": key },
      });
      for await (const { event, data } of stream) {
        if (this.session?.id !== session.id) return;
        if (event === "message") {
          mine.dataset.seq = data.seq;
          if (data.status === "failed") {
            this.setStatus(mine, "failed", data.error);
            outcome = true;
          } else {
            this.setStatus(mine, data.status === "answered" ? "answered" : "pending");
          }
        } else if (event === "delta") {
          if (!replyNode) {
            replyNode = this.messageNode({ role: "assistant", content: "" });
            replyNode.classList.add("streaming");
            mine.after(replyNode);
          }
          replyNode.querySelector(".content").textContent += data.text ?? "";
          this.stickToBottom();
        } else if (event === "reply") {
          outcome = true;
          const final = this.messageNode(data);
          if (replyNode) replyNode.replaceWith(final);
          else mine.after(final);
          this.setStatus(mine, "answered");
          this.stickToBottom();
        } else if (event === "error") {
          outcome = true;
          replyNode?.remove();
          this.setStatus(mine, "failed", data.detail);
        }
      }
      if (!outcome) throw new Error("the reply stream ended early");
    } catch (error) {
      if (this.session?.id !== session.id) return;
      replyNode?.remove();
      const final = error.status && error.status < 500 && error.status !== 408;
      this.setStatus(mine, "failed", error.message, final ? null : () => this.send(content, key, mine));
    }
  }

  stickToBottom() {
    const { scrollTop, clientHeight, scrollHeight } = this.box;
    if (scrollHeight - scrollTop - clientHeight < 200) this.box.scrollTop = scrollHeight;
  }
}
