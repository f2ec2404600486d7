// The HTTP API client of the UI: JSON requests with the bearer token, RFC 9457 problems as
// errors, and server-sent events read from fetch (EventSource cannot send an Authorization
// header, and the token must never travel in a URL).

/** An answer that was not 2xx: `status`, and the problem document's `title`/`detail`. */
export class ApiError extends Error {
  constructor(status, problem) {
    super(problem?.detail || problem?.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
  }
}

const TOKEN_KEY = "parley.token";

/** The token lives in sessionStorage (this tab only), never in a URL. */
export const tokens = {
  get: () => sessionStorage.getItem(TOKEN_KEY),
  set: (token) => sessionStorage.setItem(TOKEN_KEY, token),
  clear: () => sessionStorage.removeItem(TOKEN_KEY),
};

/**
 * Parse a server-sent event stream (WHATWG HTML, "Server-sent events": lines, `event:` and
 * `data:` fields, a blank line dispatches, `:` starts a comment) from a fetch Response body.
 * Yields `{event, data}` with `data` as text.
 */
export async function* readEvents(body, signal) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  let event = "";
  let data = [];
  try {
    while (true) {
      if (signal?.aborted) return;
      const { value, done } = await reader.read();
      if (done) return;
      buffer += value;
      const lines = buffer.split(/\r\n|\r|\n/);
      buffer = lines.pop();
      for (const line of lines) {
        if (line === "") {
          if (data.length) yield { event: event || "message", data: data.join("\n") };
          event = "";
          data = [];
        } else if (!line.startsWith(":")) {
          const colon = line.indexOf(":");
          const field = colon < 0 ? line : line.slice(0, colon);
          let val = colon < 0 ? "" : line.slice(colon + 1);
          if (val.startsWith(" ")) val = val.slice(1);
          if (field === "event") event = val;
          else if (field === "data") data.push(val);
        }
      }
    }
  } finally {
    reader.cancel().catch(() => {});
  }
}

/** Calls the gateway's `/api` with the current token; `onUnauthorized` runs on a 401. */
export class Api {
  constructor(onUnauthorized) {
    this.onUnauthorized = onUnauthorized;
  }

  headers(extra = {}) {
    const h = { ...extra };
    const token = tokens.get();
    if (token) h.Authorization = `Bearer ${token}`;
    return h;
  }

  async fetch(method, path, { body, query, headers, signal } = {}) {
    const url = new URL(`/api${path}`, location.origin);
    for (const [k, v] of Object.entries(query || {})) {
      if (v !== undefined && v !== null && v !== "") url.searchParams.set(k, v);
    }
    const init = { method, headers: this.headers(headers), signal };
    if (body !== undefined) {
      init.body = JSON.stringify(body);
      init.headers["Content-Type"] = "application/json";
    }
    const response = await fetch(url, init);
    if (!response.ok) {
      let problem = null;
      try { problem = await response.json(); } catch { /* not JSON */ }
      if (response.status === 401) this.onUnauthorized?.();
      throw new ApiError(response.status, problem);
    }
    return response;
  }

  /** A JSON request; resolves to the parsed body, or null for 204. */
  async json(method, path, options) {
    const response = await this.fetch(method, path, options);
    return response.status === 204 ? null : response.json();
  }

  /** A request answered with server-sent events; yields `{event, data}` with data parsed. */
  async *events(method, path, { body, headers, signal } = {}) {
    const response = await this.fetch(method, path, {
      body, signal, headers: { Accept: "text/event-stream", ...headers },
    });
    for await (const { event, data } of readEvents(response.body, signal)) {
      let parsed = data;
      try { parsed = JSON.parse(data); } catch { /* plain text */ }
      yield { event, data: parsed };
    }
  }
}
