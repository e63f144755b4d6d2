// Campaign history, most recent first, with live progress (polled every 2 s while any campaign is running).
import { api, el, formatNumber, formatPercent, page, seg, markLoaded } from "./common.js";

const { currency, writes } = page();
document.getElementById("new-campaign").hidden = !writes;

function progress(campaign) {
  const stats = campaign.stats;
  const done = stats.sent + stats.failed;
  const audience = campaign.launch?.state === "appending" ? campaign.launch.audience : stats.audience;
  const bar = el("div", { class: "progress", role: "progressbar", "aria-label": `${campaign.name} progress`,
    "aria-valuenow": audience ? Math.round((100 * done) / audience) : 0, "aria-valuemin": 0, "aria-valuemax": 100 },
  el("div", { class: "progress-bar" }));
  bar.firstChild.style.width = audience ? `${(100 * done) / audience}%` : "0%";
  return el("td", { class: "small" }, bar, formatPercent(done, audience));
}

async function refresh() {
  const answer = await api("GET", "/api/v1/campaigns");
  const body = document.querySelector("#campaign-list tbody");
  body.replaceChildren(...(answer.campaigns.length ? answer.campaigns.map((campaign) => el("tr", {
    "data-campaign": campaign.campaign_id },
  el("td", {}, el("a", { href: `/campaigns/${seg(campaign.campaign_id)}`, text: campaign.name })),
  el("td", { text: campaign.launch?.state === "appending" ? "launching" : campaign.status }),
  el("td", { class: "text-end", text: formatNumber(campaign.stats.audience, currency) }),
  el("td", { class: "text-end", text: formatNumber(campaign.stats.sent, currency) }),
  el("td", { class: "text-end", text: formatNumber(campaign.stats.failed, currency) }),
  el("td", { class: "text-end", text: formatNumber(campaign.stats.delivered, currency) }),
  el("td", { class: "text-end", text: formatNumber(campaign.stats.opened, currency) }),
  progress(campaign)))
    : [el("tr", {}, el("td", { colspan: 8, class: "text-muted", text: "No campaign yet." }))]));
  markLoaded();
  return answer.campaigns.some((campaign) => campaign.status === "running" || campaign.launch?.state === "appending");
}

async function loop() {
  let running = false;
  try {
    running = await refresh();
  } catch (error) {
    document.querySelector("#campaign-list tbody").replaceChildren(el("tr", {}, el("td", { colspan: 8,
      class: "text-danger", text: error.message })));
  }
  setTimeout(loop, running ? 2000 : 10000);
}
loop();
