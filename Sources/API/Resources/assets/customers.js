// Customers: search by id, name or e-mail, filter by city and tag, page through by cursor.
import { api, el, formatMoney, formatNumber, page, markLoaded } from "./common.js";

const { currency } = page();
const table = document.querySelector("#customers tbody");
const status = document.getElementById("status");
const next = document.getElementById("next");
const first = document.getElementById("first");
let cursor = null;

function query(after) {
  const params = new URLSearchParams({ limit: "50" });
  for (const name of ["q", "city", "tag"]) {
    const value = document.getElementById(name).value.trim();
    if (value) params.set(name, value);
  }
  if (after) params.set("cursor", after);
  return params;
}

async function load(after) {
  status.textContent = "Loading…";
  try {
    const answer = await api("GET", `/api/v1/customers?${query(after)}`);
    table.replaceChildren(...answer.customers.map((customer) => el("tr", {},
      el("td", { class: "text-nowrap" }, el("a", { href: `/customers/${encodeURIComponent(customer.customer_id)}`,
        text: customer.customer_id })),
      el("td", { text: customer.name ?? "" }),
      el("td", { class: "d-none d-md-table-cell", text: customer.email ?? "" }),
      el("td", { class: "d-none d-sm-table-cell", text: customer.city ?? "" }),
      el("td", { class: "d-none d-md-table-cell", text: (customer.tags || []).join(", ") }),
      el("td", { class: "text-end", text: formatNumber(customer.order_count, currency) }),
      el("td", { class: "text-end text-nowrap", text: formatMoney(customer.total_spend, currency) }))));
    cursor = answer.next;
    next.disabled = !cursor;
    first.disabled = !after;
    status.textContent = answer.customers.length ? `${answer.customers.length} shown` : "No customer matches.";
    markLoaded();
  } catch (error) {
    status.textContent = error.message;
  }
}

async function fillFilters() {
  try {
    const catalogue = await api("GET", "/api/v1/segments/fields");
    for (const [id, values] of [["city", catalogue.cities], ["tag", catalogue.tags]]) {
      const select = document.getElementById(id);
      select.append(...values.map((value) => el("option", { value, text: value })));
    }
  } catch {
    // The filters stay "any"; the list still works.
  }
}

document.getElementById("filters").addEventListener("submit", (event) => {
  event.preventDefault();
  load(null);
});
for (const id of ["city", "tag"]) document.getElementById(id).addEventListener("change", () => load(null));
next.addEventListener("click", () => load(cursor));
first.addEventListener("click", () => load(null));
fillFilters();
load(null);
