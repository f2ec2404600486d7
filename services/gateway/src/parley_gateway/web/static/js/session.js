// The chat pane's header: the open session's name, tag badge and traces, and its actions
// (rename in place, archive, delete with confirmation, analytics opt-out, and name suggestions
// and regenerate where the gateway offers them).
import { ApiError } from "./api.js";
import { badgeLabel, el } from "./format.js";
import { copyTag } from "./sidebar.js";

const $ = (id) => document.getElementById(id);

export class SessionHeader {
  /**
   * `onChanged(session)` runs with the session as the API returned it after an action;
   * `onDeleted(id)` after a delete. `features` says which optional routes the gateway offers.
   */
  constructor(api, { onChanged, onDeleted, features }) {
    this.api = api;
    this.onChanged = onChanged;
    this.onDeleted = onDeleted;
    this.features = features;
    this.session = null;
    this.status = $("chat-status");
    $("rename").addEventListener("click", () => this.startRename());
    $("rename-cancel").addEventListener("click", () => this.endRename());
    $("rename-form").addEventListener("submit", (e) => {
      e.preventDefault();
      this.rename($("rename-input").value);
    });
    $("rename-input").addEventListener("keydown", (e) => {
      if (e.key === "Escape") this.endRename();
    });
    $("archive").addEventListener("click", () => this.patch({ is_archived: !this.session.is_archived }));
    $("delete").addEventListener("click", () => $("delete-dialog").showModal());
    $("delete-dialog").addEventListener("close", () => {
      if ($("delete-dialog").returnValue === "delete") this.remove();
    });
    $("opt-out").addEventListener("change", () => this.setOptOut($("opt-out").checked));
    $("session-badge").addEventListener("click", async () => {
      this.status.textContent = await copyTag(this.session.session_tag);
    });
    $("show-traces").addEventListener("click", () => this.showTraces());
    $("suggest-names").addEventListener("click", () => this.suggestNames());
    $("regenerate-name").addEventListener("click", () => this.regenerate());
  }

  show(session) {
    const changed = this.session?.id !== session.id;
    this.session = session;
    $("session-title").textContent = session.name;
    const label = badgeLabel(session.model, session.session_tag);
    $("session-badge").hidden = !label;
    $("show-traces").hidden = !label;
    if (label) {
      $("session-badge").textContent = label;
      $("session-badge").setAttribute("aria-label", `Copy tag ${session.session_tag}`);
    }
    $("archive").textContent = session.is_archived ? "Unarchive" : "Archive";
    $("opt-out").checked = session.analytics_opt_out;
    $("suggest-names").hidden = !this.features.suggestions;
    $("regenerate-name").hidden = !this.features.regenerate || session.name_source === "user";
    if (changed) {
      this.endRename();
      this.status.textContent = "";
      $("name-suggestions").hidden = true;
    }
  }

  async run(action, doing) {
    this.status.textContent = doing;
    try {
      await action();
    } catch (error) {
      this.status.textContent = `${doing.replace("…", "")} failed: ${error.message}`;
    }
  }

  startRename() {
    $("session-title").hidden = true;
    $("rename-form").hidden = false;
    $("rename-input").value = this.session.name;
    $("rename-input").focus();
    $("rename-input").select();
  }

  endRename() {
    $("rename-form").hidden = true;
    $("session-title").hidden = false;
  }

  async rename(name) {
    await this.patch({ name }, "Renaming…");
    this.endRename();
    $("rename").focus();
  }

  async patch(changes, doing = "Saving…") {
    await this.run(async () => {
      const session = await this.api.json("PATCH", `/sessions/${this.session.id}`, { body: changes });
      this.status.textContent = "";
      this.onChanged(session);
      return session;
    }, doing);
  }

  async setOptOut(value) {
    await this.run(async () => {
      const session = await this.api.json("PATCH", `/sessions/${this.session.id}`, {
        body: { analytics_opt_out: value },
      });
      this.onChanged(session);
      this.status.textContent = session.analytics_opt_out === value
        ? "" : "This gateway sets the analytics opt-out only when a chat is created.";
    }, "Saving…");
  }

  async remove() {
    const id = this.session.id;
    await this.run(async () => {
      await this.api.json("DELETE", `/sessions/${id}`);
      this.onDeleted(id);
    }, "Deleting…");
  }

  async suggestNames() {
    await this.run(async () => {
      const answer = await this.api.json("POST", `/sessions/${this.session.id}/name-suggestions`, { body: {} });
      const names = Array.isArray(answer) ? answer : (answer.titles || []);
      const list = $("name-suggestions");
      list.replaceChildren(...names.map((item) => {
        const name = typeof item === "string" ? item : item.name;
        const button = el("button", { type: "button" }, name);
        button.addEventListener("click", async () => {
          list.hidden = true;
          await this.rename(name);
        });
        return el("li").appendChild(button).parentNode;
      }));
      list.hidden = !names.length;
      this.status.textContent = names.length ? "Pick a name, or keep the current one." : "No suggestions.";
    }, "Asking for names…");
  }

  async regenerate() {
    await this.run(async () => {
      const answer = await this.api.json("POST", `/sessions/${this.session.id}/name:regenerate`, { body: {} });
      this.status.textContent = `Named again: ${answer.name}`;
      this.onChanged(answer);
    }, "Regenerating…");
  }

  async showTraces() {
    const dialog = $("traces-dialog");
    const list = $("traces-list");
    list.replaceChildren();
    $("traces-title").textContent = `Traces of ${this.session.session_tag}`;
    $("traces-status").textContent = "Loading…";
    dialog.showModal();
    try {
      const page = await this.api.json("GET", "/traces", { query: { session_id: this.session.id, limit: 50 } });
      list.replaceChildren(...page.items.map((t) => el("li", {},
        `turn ${t.turn} · ${t.model} (${t.provider}) · ${t.latency_ms} ms · ${new Date(t.created_at).toLocaleString()}\n` +
        `in: ${t.input}\nout: ${t.output}`)));
      $("traces-status").textContent = page.items.length ? "" : "No traces yet.";
    } catch (error) {
      $("traces-status").textContent = error instanceof ApiError && error.status === 503
        ? "The trace store did not answer; try again shortly." : `Could not load traces: ${error.message}`;
    }
  }
}
