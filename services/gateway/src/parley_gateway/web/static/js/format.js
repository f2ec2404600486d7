// Formatting of sessions for display: relative times, counts, and the tag badge.

const relative = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });
const STEPS = [
  [60, "second"], [60, "minute"], [24, "hour"], [7, "day"], [4.345, "week"], [12, "month"],
  [Infinity, "year"],
];

/** "3 minutes ago" for an ISO 8601 time (`now` in ms since the epoch). */
export function relativeTime(iso, now = Date.now()) {
  if (!iso) return "no messages yet";
  let amount = (new Date(iso).getTime() - now) / 1000;
  for (const [size, unit] of STEPS) {
    if (Math.abs(amount) < size) return relative.format(Math.round(amount), unit);
    amount /= size;
  }
  return "";
}

export function countLabel(n) {
  return n === 1 ? "1 message" : `${n} messages`;
}

/**
 * The badge of a session tag `chat_model_<id6>_<counter>`: `[<Model> #<counter>]`, the model's
 * short name (its name up to the first `-`, `_`, `:` or `/`, capitalised) and the tag's counter.
 * Returns null for a session not tagged yet.
 */
export function badgeLabel(model, tag) {
  if (!tag) return null;
  const counter = tag.split("_").pop();
  const base = (model || "model").split(/[-_:/]/)[0] || "model";
  return `[${base.charAt(0).toUpperCase()}${base.slice(1)} #${counter}]`;
}

/** A DOM element with text content only (user and model text is never parsed as HTML). */
export function el(tag, props = {}, text) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === "class") node.className = v;
    else if (k === "dataset") Object.assign(node.dataset, v);
    else if (k.startsWith("aria-") || k === "role" || k === "type") node.setAttribute(k, v);
    else node[k] = v;
  }
  if (text !== undefined) node.textContent = text;
  return node;
}
