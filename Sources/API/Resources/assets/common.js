// Shared by the dashboard's page modules: API calls with the session's CSRF token, number and money formatting in
// the deployment's currency, and a small element builder that only ever puts server values in as text.

const csrfMeta = typeof document !== "undefined" ? document.querySelector('meta[name="csrf-token"]') : null;
const csrf = csrfMeta ? csrfMeta.content : "";

/** An API problem (RFC 9457) as an Error: `detail`, `status` and the per-pointer `errors`. */
export class APIError extends Error {
  constructor(status, problem) {
    super(problem.detail || problem.title || `HTTP ${status}`);
    this.status = status;
    this.errors = Array.isArray(problem.errors) ? problem.errors : [];
  }
}

/** Calls the JSON API with the browser's session; writes carry the CSRF token. */
export async function api(method, path, body, { signal } = {}) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    headers["X-CSRF-Token"] = csrf;
  } else if (method !== "GET") {
    headers["X-CSRF-Token"] = csrf;
  }
  const response = await fetch(path, {
    method, headers, credentials: "same-origin", signal,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = await response.json().catch(() => ({}));
  if (!response.ok) throw new APIError(response.status, json);
  return json;
}

/** The locale numbers are shown in: Indian grouping for rupees, else the browser's. */
export function localeFor(currency) {
  return currency === "INR" ? "en-IN" : undefined;
}

/** A count with the deployment's grouping (1,00,000 for INR deployments). */
export function formatNumber(value, currency) {
  if (value === null || value === undefined || Number.isNaN(Number(value))) return "—";
  return new Intl.NumberFormat(localeFor(currency)).format(Number(value));
}

/** An amount in the deployment's currency (₹1,23,456.50). */
export function formatMoney(value, currency) {
  if (value === null || value === undefined) return "—";
  return new Intl.NumberFormat(localeFor(currency), {
    style: "currency", currency: currency || "INR", maximumFractionDigits: 2,
  }).format(Number(value));
}

/** A share as a percentage with one decimal ("90.1 %"), "—" for no base. */
export function formatPercent(part, whole) {
  if (!whole) return "—";
  return `${(Math.round((1000 * part) / whole) / 10).toFixed(1)} %`;
}

/** An RFC 3339 time shown as "2026-12-05 14:03" (UTC, as the API keeps it). */
export function formatTime(text) {
  if (!text) return "—";
  return text.replace("T", " ").replace(/:\d\d(\.\d+)?Z$/, "").replace(/Z$/, "");
}

/** Builds an element; strings among `children` become text nodes, never markup. */
export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "class") node.className = value;
    else if (name === "text") node.textContent = value;
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/** Runs `fn` after `wait` ms of quiet. */
export function debounce(fn, wait) {
  let timer;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), wait);
  };
}

/** The page's data attributes (`#app`): page, id, currency, whether the role may write. */
export function page() {
  const app = document.getElementById("app");
  return {
    app, id: app?.dataset.id || "", currency: app?.dataset.currency || "INR", writes: app?.dataset.writes === "true",
  };
}

/** Shows a problem in the page's `#problem` box (or hides it for null). */
export function showProblem(error) {
  const box = document.getElementById("problem");
  if (!box) return;
  box.hidden = !error;
  box.textContent = error ? error.message : "";
}

/** Percent-encodes one path segment. */
export const seg = (value) => encodeURIComponent(value);

/** Marks the page interactive: its data is shown (`#app[data-loaded]`, and the `cohort-loaded` performance mark that
 * `cohort bench dashboard` reads, set once per page load). */
export function markLoaded() {
  document.getElementById("app").dataset.loaded = "true";
  if (!performance.getEntriesByName("cohort-loaded").length) performance.mark("cohort-loaded");
}
