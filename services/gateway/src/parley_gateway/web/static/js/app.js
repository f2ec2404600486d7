// Parley web UI entry point: sign-in, the live event feed, and the wiring of sidebar, header
// and conversation. Every request goes through the public HTTP API.
import { Api, ApiError, tokens } from "./api.js";
import { Conversation } from "./chat.js";
import { el } from "./format.js";
import { SessionHeader } from "./session.js";
import { Sidebar } from "./sidebar.js";

const $ = (id) => document.getElementById(id);

const api = new Api(() => signOut("Your sign-in has expired; sign in again."));
const features = { suggestions: false, regenerate: false };
let sidebar, header, conversation;
let started = false;

/** The `sub` claim of a JWT, for display only (the gateway verifies the token). */
function subject(token) {
  try {
    const payload = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    return JSON.parse(atob(payload)).sub || "";
  } catch {
    return "";
  }
}

function signOut(message = "") {
  tokens.clear();
  started = false;
  if (message) sessionStorage.setItem("parley.notice", message);
  location.reload();
}

async function signIn(event) {
  event.preventDefault();
  $("signin-error").textContent = "";
  if (!$("jwt-signin").hidden) {
    tokens.set($("token-input").value.trim());
    return start();
  }
  try {
    const answer = await api.json("POST", "/auth/token", { body: { user_id: $("user-id").value } });
    tokens.set(answer.access_token);
    start();
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) {
      $("dev-signin").hidden = true;
      $("user-id").required = false;
      $("jwt-signin").hidden = false;
      $("signin-error").textContent = "This gateway accepts tokens of its identity provider only.";
    } else {
      $("signin-error").textContent = `Sign-in failed: ${error.message}`;
    }
  }
}

async function openSession(session) {
  sidebar.select(session.id);
  header.show(session);
  $("empty-state").hidden = true;
  $("chat-pane").hidden = false;
  $("app").classList.add("chatting");
  try {
    await conversation.open(session);
  } catch (error) {
    $("chat-status").textContent = `Could not load messages: ${error.message}`;
  }
  $("message-input").focus();
}

function closeSession() {
  header.session = null;
  conversation.session = null;
  sidebar.select(null);
  $("chat-pane").hidden = true;
  $("empty-state").hidden = false;
  $("app").classList.remove("chatting");
}

/** A fresh copy of a session into the sidebar and, when it is open, the header. */
function changed(session) {
  sidebar.upsert(session);
  if (header.session?.id === session.id) header.show(session);
}

async function refetch(id) {
  try {
    changed(await api.json("GET", `/sessions/${id}`));
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) sidebar.remove(id);
  }
}

/** Apply one event of GET /api/events. */
function onSessionEvent(event, data) {
  const id = data.session_id;
  if (event === "session.deleted") {
    sidebar.remove(id);
    if (header.session?.id === id) closeSession();
  } else if (event === "session.updated") {
    const fields = {};
    for (const key of ["name", "name_source", "is_archived", "message_count", "last_message_at"]) {
      if (key in data) fields[key] = data[key];
    }
    if (!sidebar.patch(id, fields) || "is_archived" in fields) refetch(id);
    else if (header.session?.id === id) header.show(sidebar.get(id));
  } else if (event === "session.created" || sidebar.get(id) || header.session?.id === id) {
    refetch(id);  // named, tagged: only sessions shown; later pages bring the others
  }
}

/** Follow GET /api/events for as long as the user is signed in; reload the list after a gap. */
async function followEvents() {
  let gap = false;
  let delay = 1000;
  while (started) {
    try {
      for await (const { event, data } of api.events("GET", "/events")) {
        delay = 1000;
        if (event === "ready") {
          if (gap) sidebar.reload();
        } else if (event === "resync") {
          sidebar.reload();
        } else {
          onSessionEvent(event, data);
        }
      }
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) return;
    }
    gap = true;
    await new Promise((resolve) => setTimeout(resolve, delay));
    delay = Math.min(delay * 2, 15000);
  }
}

/**
 * Which optional routes this gateway has, read from its OpenAPI document (so the UI works
 * before and after they exist, without calling a route that is not there), and its models.
 */
async function probeFeatures() {
  let paths = [];
  try {
    const response = await fetch("/openapi.json");
    if (response.ok) paths = Object.keys((await response.json()).paths || {});
  } catch { /* no document: no optional feature */ }
  const offers = (pattern) => paths.some((path) => pattern.test(path));
  features.suggestions = offers(/^\/api\/sessions\/\{[^}]+\}\/name-suggestions$/);
  features.regenerate = offers(/^\/api\/sessions\/\{[^}]+\}\/name:regenerate$/);
  if (!offers(/^\/api\/models$/)) return;
  try {
    const answer = await api.json("GET", "/models");
    const models = Array.isArray(answer) ? answer : (answer.items || answer.models || []);
    for (const model of models) {
      const id = typeof model === "string" ? model : (model.id || model.name);
      const label = typeof model === "string" ? model : (model.label || model.display_name || id);
      if (id) $("model-choice").append(el("option", { value: id }, label));
    }
  } catch { /* no model list: the server default */ }
}

async function createSession(event) {
  event.preventDefault();
  const choice = $("persona-choice").value;
  const persona = choice === "custom" ? $("persona-custom").value.trim() : choice;
  const body = { analytics_opt_out: $("new-opt-out").checked };
  if (persona) body.persona = persona;
  if ($("model-choice").value) body.model = $("model-choice").value;
  try {
    const session = await api.json("POST", "/sessions", {
      body, headers: { "Idempotency-Key": crypto.randomUUID() },
    });
    $("new-chat-dialog").close();
    changed(session);
    openSession(session);
  } catch (error) {
    $("chat-status").textContent = `Could not create the chat: ${error.message}`;
    $("new-chat-dialog").close();
  }
}

function wire() {
  sidebar = new Sidebar(api, { onSelect: openSession });
  conversation = new Conversation(api);
  header = new SessionHeader(api, {
    features,
    onChanged: changed,
    onDeleted: (id) => {
      sidebar.remove(id);
      closeSession();
    },
  });
  $("new-chat").addEventListener("click", () => $("new-chat-dialog").showModal());
  $("new-chat-cancel").addEventListener("click", () => $("new-chat-dialog").close());
  $("new-chat-form").addEventListener("submit", createSession);
  $("persona-choice").addEventListener("change", () => {
    const custom = $("persona-choice").value === "custom";
    $("persona-custom").hidden = !custom;
    $("persona-custom-label").hidden = !custom;
  });
  let timer;
  $("search").addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      sidebar.query = $("search").value.trim();
      sidebar.reload();
    }, 250);
  });
  $("show-archived").addEventListener("change", () => {
    sidebar.includeArchived = $("show-archived").checked;
    sidebar.reload();
  });
  $("sign-out").addEventListener("click", () => signOut());
  $("back").addEventListener("click", closeSession);
}

async function start() {
  if (started || !tokens.get()) return;
  started = true;
  $("signin").hidden = true;
  $("app").hidden = false;
  $("whoami").textContent = subject(tokens.get());
  await Promise.all([
    sidebar.reload().then(() => performance.mark("parley:sidebar-interactive")),
    probeFeatures(),
  ]);
  document.body.dataset.ready = "true";
  followEvents();
}

wire();
$("signin-form").addEventListener("submit", signIn);
// An embedding application of the same origin may hand over its token by message.
window.addEventListener("message", (event) => {
  if (event.origin === location.origin && event.data?.type === "parley.token" && event.data.token) {
    tokens.set(event.data.token);
    start();
  }
});
if (tokens.get()) start();
else {
  $("signin").hidden = false;
  $("signin-error").textContent = sessionStorage.getItem("parley.notice") || "";
  sessionStorage.removeItem("parley.notice");
}
