// The sidebar: the user's sessions, newest activity first, over the API's cursor pagination
// (more pages load as the list scrolls), kept live by the events of GET /api/events.
import { badgeLabel, countLabel, el, relativeTime } from "./format.js";

const PAGE = 50;

const activity = (s) => s.last_message_at || s.created_at;
const newestFirst = (a, b) => (activity(b) < activity(a) ? -1 : activity(b) > activity(a) ? 1 : 0);

/** Copy a session tag to the clipboard; resolves to a line saying what happened. */
export async function copyTag(tag) {
  try {
    await navigator.clipboard.writeText(tag);
    return `Copied ${tag}`;
  } catch {
    return `Could not copy; the tag is ${tag}`;
  }
}

export class Sidebar {
  /** `onSelect(session)` runs when the user opens a session. */
  constructor(api, { onSelect }) {
    this.api = api;
    this.onSelect = onSelect;
    this.list = document.getElementById("session-list");
    this.status = document.getElementById("list-status");
    this.sessions = new Map();
    this.items = new Map();
    this.currentId = null;
    this.query = "";
    this.includeArchived = false;
    this.generation = 0;
    this.list.addEventListener("scroll", () => this.maybeLoadMore());
    setInterval(() => this.refreshTimes(), 30_000);
  }

  /** Forget what is shown and load the first page again (after a filter change or a resync). */
  async reload() {
    this.generation += 1;
    this.sessions.clear();
    this.items.clear();
    this.list.replaceChildren();
    this.cursor = undefined;
    this.done = false;
    this.loading = false;
    await this.loadMore();
  }

  async loadMore() {
    if (this.loading || this.done) return;
    this.loading = true;
    this.list.setAttribute("aria-busy", "true");
    const generation = this.generation;
    try {
      const page = await this.api.json("GET", "/sessions", {
        query: { limit: PAGE, cursor: this.cursor, q: this.query, include_archived: this.includeArchived },
      });
      if (generation !== this.generation) return;
      for (const session of page.items) this.sessions.set(session.id, session);
      this.cursor = page.next_cursor;
      this.done = !page.next_cursor;
      this.render();
    } catch (error) {
      this.status.textContent = `Could not load sessions: ${error.message}`;
    } finally {
      if (generation === this.generation) {
        this.loading = false;
        this.list.setAttribute("aria-busy", "false");
      }
    }
    this.maybeLoadMore();
  }

  /** Load the next page when the end of the list is near (or the list does not fill its box). */
  maybeLoadMore() {
    const { scrollTop, clientHeight, scrollHeight } = this.list;
    if (scrollTop + clientHeight > scrollHeight - 200) this.loadMore();
  }

  /** Whether a session belongs in the list under the current filters. */
  shows(session) {
    if (session.is_archived && !this.includeArchived) return false;
    if (!this.query) return true;
    const q = this.query.toLowerCase();
    return session.name.toLowerCase().includes(q) || (session.session_tag || "").toLowerCase().includes(q);
  }

  /** Add or replace a session (a fresh copy from the API). One not loaded yet that sorts after
   * the last one loaded belongs to a later page, and comes with it. */
  upsert(session) {
    const last = this.sessions.get(this.list.lastElementChild?.dataset.id);
    const laterPage = !this.sessions.has(session.id) && !this.done && last && newestFirst(session, last) > 0;
    if (laterPage) return;
    if (this.shows(session)) this.sessions.set(session.id, session);
    else this.sessions.delete(session.id);
    this.render();
  }

  /** Apply the fields of a `session.updated` event; false when the session is not loaded. */
  patch(id, fields) {
    const session = this.sessions.get(id);
    if (!session) return false;
    this.upsert({ ...session, ...fields });
    return true;
  }

  remove(id) {
    this.sessions.delete(id);
    this.render();
  }

  get(id) {
    return this.sessions.get(id);
  }

  select(id) {
    this.currentId = id;
    for (const [itemId, li] of this.items) li.setAttribute("aria-current", String(itemId === id));
  }

  /** Bring the list's items in line with `sessions`, reusing the items already shown. */
  /** Show the sessions in order, and say so when there is none (also after a live change). */
  render() {
    const empties = ["No session matches.", "No sessions yet."];
    if (!this.sessions.size) this.status.textContent = empties[this.query ? 0 : 1];
    else if (empties.includes(this.status.textContent)) this.status.textContent = "";
    const ordered = [...this.sessions.values()].sort(newestFirst);
    for (const [id, li] of this.items) {
      if (!this.sessions.has(id)) {
        li.remove();
        this.items.delete(id);
      }
    }
    let previous = null;
    for (const session of ordered) {
      let li = this.items.get(session.id);
      if (!li) {
        li = this.createItem(session.id);
        this.items.set(session.id, li);
      }
      this.fillItem(li, session);
      const expected = previous ? previous.nextSibling : this.list.firstChild;
      if (expected !== li) this.list.insertBefore(li, expected);
      previous = li;
    }
  }

  createItem(id) {
    const li = el("li", { class: "session", dataset: { id } });
    const open = el("button", { type: "button", class: "session-open" });
    open.append(el("span", { class: "session-name" }), el("span", { class: "session-meta" }));
    open.addEventListener("click", () => this.onSelect(this.sessions.get(id)));
    const badge = el("button", { type: "button", class: "badge" });
    badge.addEventListener("click", async () => {
      const tag = this.sessions.get(id)?.session_tag;
      if (tag) this.status.textContent = await copyTag(tag);
    });
    li.append(open, badge);
    return li;
  }

  fillItem(li, session) {
    const [open, badge] = li.children;
    const name = open.querySelector(".session-name");
    name.textContent = session.name;
    name.classList.toggle("provisional", session.name_source === "provisional" || session.name_source === "default");
    const meta = `${countLabel(session.message_count)} · ${relativeTime(session.last_message_at)}`;
    open.querySelector(".session-meta").textContent = session.is_archived ? `Archived · ${meta}` : meta;
    li.setAttribute("aria-current", String(session.id === this.currentId));
    const label = badgeLabel(session.model, session.session_tag);
    badge.hidden = !label;
    if (label) {
      badge.textContent = label;
      badge.setAttribute("aria-label", `Copy tag ${session.session_tag}`);
      badge.title = `Copy ${session.session_tag}`;
    }
  }

  refreshTimes() {
    for (const [id, li] of this.items) this.fillItem(li, this.sessions.get(id));
  }
}
