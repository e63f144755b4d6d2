// The AI assist page: words → rules with the live count, message suggestions, campaign summaries.
// Every value from the server is put into the page as text (textContent), never as markup.

import { api as call } from "./common.js";

let lastRule = null;

function line(parent, label, value, id) {
  const row = document.createElement("div");
  if (id) row.id = id;
  const name = document.createElement("strong");
  name.textContent = label + ": ";
  row.append(name, document.createTextNode(value));
  parent.append(row);
}

function show(target, fill) {
  target.replaceChildren();
  try {
    fill(target);
  } catch (error) {
    line(target, "Error", error.message);
  }
}

document.getElementById("nl-parse").addEventListener("click", async () => {
  const target = document.getElementById("nl-result");
  target.textContent = "…";
  try {
    const answer = await call("POST", "/api/v1/segments/parse", {
      text: document.getElementById("nl-text").value, sample: 5,
    });
    lastRule = answer.rules;
    show(target, (out) => {
      line(out, "Rule", answer.english || "(nothing understood)", "nl-english");
      line(out, "Customers", answer.count === null ? "—" : String(answer.count), "nl-count");
      line(out, "Source", answer.source, "nl-source");
      if (answer.partial) line(out, "Not understood", answer.not_understood.join(", "), "nl-partial");
      if (answer.assumptions.length) line(out, "Assumptions", answer.assumptions.join("; "));
      if (answer.fallback_reason) line(out, "Model not used", answer.fallback_reason, "nl-fallback");
      if (answer.sample.length) line(out, "Sample", answer.sample.join(", "));
    });
  } catch (error) {
    show(target, (out) => line(out, "Error", error.message));
  }
});

document.getElementById("msg-suggest").addEventListener("click", async () => {
  const target = document.getElementById("msg-result");
  target.textContent = "…";
  const body = {
    objective: document.getElementById("msg-objective").value,
    channel: document.getElementById("msg-channel").value,
  };
  if (lastRule) body.rules = lastRule;
  try {
    const answer = await call("POST", "/api/v1/assist/messages", body);
    show(target, (out) => {
      line(out, "Audience", `${answer.audience.english || "everyone"} (${answer.audience.size})`);
      line(out, "Source", answer.source, "msg-source");
      if (answer.fallback_reason) line(out, "Model not used", answer.fallback_reason);
      const list = document.createElement("ol");
      list.id = "msg-variants";
      for (const variant of answer.variants) {
        const item = document.createElement("li");
        item.textContent = `${variant.template} (up to ${variant.length_bound} characters)`;
        list.append(item);
      }
      out.append(list);
    });
  } catch (error) {
    show(target, (out) => line(out, "Error", error.message));
  }
});

document.getElementById("summary-show").addEventListener("click", async () => {
  const target = document.getElementById("summary-result");
  const id = document.getElementById("summary-campaign").value;
  if (!id) return;
  target.textContent = "…";
  try {
    const answer = await call("GET", `/api/v1/campaigns/${encodeURIComponent(id)}/summary`);
    show(target, (out) => {
      line(out, "Summary", answer.summary, "summary-text");
      line(out, "Source", answer.source);
      if (answer.fallback_reason) line(out, "Model not used", answer.fallback_reason);
    });
  } catch (error) {
    show(target, (out) => line(out, "Error", error.message));
  }
});
