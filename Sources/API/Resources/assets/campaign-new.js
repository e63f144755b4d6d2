// A new campaign: audience from a saved segment, message template with its variables and a rendered preview for
// sample customers of the audience, suggestions, then a draft and a launch confirmed with the audience's size.
import { api, debounce, el, formatNumber, page, seg, showProblem, markLoaded } from "./common.js";

const { currency } = page();
const form = document.getElementById("campaign-form");
const segmentSelect = document.getElementById("c-segment");
const template = document.getElementById("c-template");
const status = document.getElementById("c-status");
let campaignID = null;
let audience = null;

// An inline rule handed over by the builder (`?rules=`), offered beside the saved segments.
const query = new URLSearchParams(window.location.search);
let inlineRule = null;
try {
  inlineRule = query.get("rules") ? JSON.parse(query.get("rules")) : null;
} catch {
  inlineRule = null;
}

function audienceBody() {
  return segmentSelect.value === "inline" ? { rules: inlineRule } : { segment_id: segmentSelect.value };
}

async function preview() {
  if (!segmentSelect.value) return;
  try {
    const answer = await api("POST", "/api/v1/campaigns/preview", {
      template: template.value || " ", channel: document.getElementById("c-channel").value, sample: 3,
      ...audienceBody(),
    });
    audience = answer.audience;
    document.getElementById("c-audience").textContent = `for ${formatNumber(answer.audience, currency)} customers`;
    document.getElementById("c-previews").replaceChildren(...answer.previews.map((item) => el("li", {
      class: "list-group-item px-0" }, el("div", { class: "text-muted", text: `${item.name ?? item.customer_id} · `
      + `${item.to ?? "no address"} · ${item.length} characters` }), el("div", { class: "preview-body",
      text: item.body }))));
    template.classList.remove("is-invalid");
    showProblem(null);
  } catch (error) {
    template.classList.toggle("is-invalid", error.errors.some((problem) => problem.pointer === "/template"));
    showProblem(error);
  }
}
const schedulePreview = debounce(preview, 200);

async function start() {
  const [segments, fields] = await Promise.all([
    api("GET", "/api/v1/segments"),
    api("POST", "/api/v1/campaigns/preview", { template: " " }),
  ]);
  const options = segments.segments.map((segment) => el("option", { value: segment.segment_id,
    text: `${segment.name} (${formatNumber(segment.size, currency)})` }));
  if (inlineRule) {
    const english = await api("POST", "/api/v1/segments/preview", { rules: inlineRule, sample: 0 })
      .then((answer) => answer.english).catch(() => "the rule from the builder");
    options.unshift(el("option", { value: "inline", text: `This rule: ${english}` }));
  }
  if (!options.length) {
    showProblem(new Error("Save a segment (or build a rule) first: a campaign needs an audience."));
  }
  segmentSelect.replaceChildren(...options);
  if (query.get("segment")) segmentSelect.value = query.get("segment");
  document.getElementById("c-variables").replaceChildren(...fields.known_variables.map((name) => el("button", {
    type: "button", class: "btn btn-link btn-sm p-0 me-2 insert-variable", text: `{{${name}}}`,
    onclick: () => {
      const at = template.selectionStart ?? template.value.length;
      template.setRangeText(`{{${name}}}`, at, template.selectionEnd ?? at, "end");
      template.focus();
      schedulePreview();
    },
  })));
  await preview();
  markLoaded();
}

template.addEventListener("input", schedulePreview);
segmentSelect.addEventListener("change", preview);
document.getElementById("c-channel").addEventListener("change", preview);

document.getElementById("c-suggest").addEventListener("click", async () => {
  const note = document.getElementById("c-suggest-status");
  note.textContent = "…";
  try {
    const answer = await api("POST", "/api/v1/assist/messages", {
      objective: document.getElementById("c-name").value || "a friendly offer",
      channel: document.getElementById("c-channel").value, ...audienceBody(),
    });
    note.textContent = `from the ${answer.source} helper`;
    document.getElementById("c-suggestions").replaceChildren(...answer.variants.map((variant) => el("li", {},
      el("span", { text: variant.template }), " ",
      el("button", { type: "button", class: "btn btn-link btn-sm p-0 use-suggestion", text: "use",
        onclick: () => {
          template.value = variant.template;
          preview();
        } }))));
  } catch (error) {
    note.textContent = error.message;
  }
});

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  status.textContent = "Creating…";
  try {
    const answer = await api("POST", "/api/v1/campaigns", {
      name: document.getElementById("c-name").value.trim(), template: template.value,
      channel: document.getElementById("c-channel").value, ...audienceBody(),
    });
    campaignID = answer.campaign_id;
    // The draft is an event: it can be launched once the read model has folded it.
    for (let tries = 0; tries < 100; tries += 1) {
      const campaign = await api("GET", `/api/v1/campaigns/${seg(campaignID)}`).catch(() => null);
      if (campaign) break;
      await new Promise((resolve) => { setTimeout(resolve, 50); });
    }
    status.textContent = "Draft saved.";
    document.getElementById("c-create").disabled = true;
    document.getElementById("c-launch").disabled = false;
    showProblem(null);
  } catch (error) {
    status.textContent = "";
    showProblem(error);
  }
});

document.getElementById("c-launch").addEventListener("click", async () => {
  await preview();
  const confirm = document.getElementById("c-confirm");
  document.getElementById("c-confirm-text").textContent =
    `Send "${document.getElementById("c-name").value}" to ${formatNumber(audience, currency)} customers now?`;
  confirm.hidden = false;
  document.getElementById("c-confirm-yes").focus();
});
document.getElementById("c-confirm-no").addEventListener("click", () => {
  document.getElementById("c-confirm").hidden = true;
});
document.getElementById("c-confirm-yes").addEventListener("click", async () => {
  try {
    await api("POST", `/api/v1/campaigns/${seg(campaignID)}/launch`, {});
    window.location.assign(`/campaigns/${seg(campaignID)}`);
  } catch (error) {
    showProblem(error);
  }
});

start().catch(showProblem);
