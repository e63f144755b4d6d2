// One customer: profile, aggregates and day fields, the saved segments they are in, the messages sent to them, and
// the timeline newest first with each event's payload fetched on demand.
import { api, el, formatMoney, formatNumber, formatTime, page, seg, showProblem, markLoaded } from "./common.js";

const { id, currency } = page();
const base = `/api/v1/customers/${seg(id)}`;
let cursor = null;

function row(label, value) {
  return [el("dt", { class: "col-5 text-muted", text: label }), el("dd", { class: "col-7 mb-1", text: value })];
}

async function profile() {
  const customer = await api("GET", base);
  document.getElementById("customer-name").textContent = customer.name || customer.customer_id;
  const attributes = Object.entries(customer.attributes || {}).map(([key, value]) => `${key}: ${value}`);
  document.getElementById("profile").replaceChildren(...[
    row("Customer id", customer.customer_id), row("E-mail", customer.email ?? "—"), row("Phone", customer.phone ?? "—"),
    row("City", [customer.city, customer.country].filter(Boolean).join(", ") || "—"),
    row("Tags", (customer.tags || []).join(", ") || "—"), row("Attributes", attributes.join("; ") || "—"),
    row("Orders", formatNumber(customer.order_count, currency)),
    row("Total spend", formatMoney(customer.total_spend, currency)),
    row("Average order", formatMoney(customer.avg_order_value, currency)),
    row("Visits", formatNumber(customer.visit_count, currency)),
    row("Signed up", formatTime(customer.created_at)), row("First order", formatTime(customer.first_order_at)),
    row("Last order", formatTime(customer.last_order_at)), row("Last visit", formatTime(customer.last_visit_at)),
    row("Days since last order", customer.days_since_last_order ?? "—"),
    row("Days since last visit", customer.days_since_last_visit ?? "—"),
    row("Days inactive", customer.days_inactive ?? "—"),
  ].flat());
}

async function segments() {
  const answer = await api("GET", `${base}/segments`);
  document.getElementById("segments").replaceChildren(...(answer.segments.length
    ? answer.segments.map((segment) => el("li", {},
      el("a", { href: `/segments/${seg(segment.segment_id)}`, text: segment.name })))
    : [el("li", { class: "text-muted", text: "None" })]));
}

async function messages() {
  const answer = await api("GET", `${base}/messages`);
  document.querySelector("#messages tbody").replaceChildren(...(answer.messages.length
    ? answer.messages.map((message) => el("tr", {},
      el("td", {}, el("a", { href: `/campaigns/${seg(message.campaign_id)}`, text: message.campaign })),
      el("td", { text: [message.status, ...message.receipts].join(", ") }),
      el("td", { text: message.body ?? "" })))
    : [el("tr", {}, el("td", { colspan: 3, class: "text-muted", text: "No message sent yet" }))]));
}

function payloadButton(event) {
  const button = el("button", { class: "btn btn-link btn-sm p-0 ms-2", type: "button", text: "payload",
    "aria-expanded": "false" });
  button.addEventListener("click", async () => {
    const item = button.closest("li");
    const shown = item.querySelector("pre");
    if (shown) {
      shown.remove();
      button.setAttribute("aria-expanded", "false");
      return;
    }
    const { topic, partition, offset } = event.position;
    const query = new URLSearchParams({ topic, partition, offset });
    try {
      const payload = await api("GET", `${base}/event?${query}`);
      item.append(el("pre", { class: "payload", text: JSON.stringify(payload, null, 2) }));
      button.setAttribute("aria-expanded", "true");
    } catch (error) {
      item.append(el("pre", { class: "payload text-danger", text: error.message }));
    }
  });
  return button;
}

async function timeline(after) {
  const query = new URLSearchParams({ limit: "25" });
  if (after) query.set("cursor", after);
  const answer = await api("GET", `${base}/events?${query}`);
  const list = document.getElementById("timeline");
  if (!after) list.replaceChildren();
  list.append(...answer.events.map((event) => el("li", { class: "list-group-item px-0" },
    el("span", { class: "text-muted", text: formatTime(event.time) }), " ",
    el("strong", { text: event.type.replace(/^crm\./, "") }), payloadButton(event))));
  if (!list.children.length) list.append(el("li", { class: "list-group-item text-muted", text: "No events" }));
  cursor = answer.next;
  document.getElementById("older").hidden = !cursor;
}

document.getElementById("older").addEventListener("click", () => timeline(cursor));

try {
  await profile();
  await Promise.all([segments(), messages(), timeline(null)]);
  markLoaded();
} catch (error) {
  showProblem(error);
}
