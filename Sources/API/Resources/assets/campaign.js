// One campaign: funnel (queued → sent → delivered → opened/clicked), delivery over time (Chart.js from Debian's
// libjs-chart.js), failed messages with reasons, retry-failed, pause/resume/cancel, the summary and the audit
// trail. Polled every second while the campaign is launching or running, every 10 s otherwise.
import { api, el, formatNumber, formatPercent, formatTime, page, seg, showProblem, markLoaded } from "./common.js";

const { id, currency, writes } = page();
const base = `/api/v1/campaigns/${seg(id)}`;
let chart = null;
let lastSummaryAt = 0;
let lastDeliveryAt = 0;
// The failed messages are read by scanning the campaign's messages: only when their count changed, at most every
// 5 s while the campaign runs.
let failedShown = null;
let lastFailedAt = 0;

function funnel(campaign) {
  const stats = campaign.stats;
  const launching = campaign.launch?.state === "appending" || campaign.status === "launching";
  const rows = [
    ["Audience", launching ? campaign.launch?.audience ?? stats.audience : stats.audience, null],
    ["Queued", stats.queued, launching ? campaign.launch?.audience ?? stats.audience : stats.audience],
    ["Sent", stats.sent, stats.queued], ["Delivered", stats.delivered, stats.sent],
    ["Opened", stats.opened, stats.delivered], ["Clicked", stats.clicked, stats.opened],
    ["Failed", stats.failed, stats.queued], ["Pending", stats.pending, stats.queued],
  ];
  if (stats.unmatched_receipts) rows.push(["Receipts without a message yet", stats.unmatched_receipts, null]);
  document.querySelector("#funnel tbody").replaceChildren(...rows.map(([label, value, of]) => el("tr", {
    "data-stage": label.toLowerCase() },
  el("th", { scope: "row", class: "fw-normal", text: label }),
  el("td", { class: "text-end stage-count", text: formatNumber(value, currency) }),
  el("td", { class: "text-end text-muted", text: of === null ? "" : formatPercent(value, of) }))));
}

function actions(campaign) {
  const show = (name, visible) => { document.getElementById(name).hidden = !(writes && visible); };
  show("pause", campaign.status === "running");
  show("resume", campaign.status === "paused");
  show("cancel", ["draft", "launching", "running", "paused"].includes(campaign.status));
  show("retry", campaign.stats.failed > 0 && ["running", "paused", "completed"].includes(campaign.status));
}

async function delivery() {
  const answer = await api("GET", `${base}/delivery`);
  const labels = answer.minutes.map((minute) => formatTime(minute.minute).slice(11));
  const series = ["sent", "delivered", "failed"].map((name) => answer.minutes.map((minute) => minute[name]));
  if (!window.Chart) return;
  if (chart) {
    chart.data.labels = labels;
    series.forEach((data, index) => { chart.data.datasets[index].data = data; });
    chart.update("none");
    return;
  }
  chart = new window.Chart(document.getElementById("delivery-chart"), {
    type: "line",
    data: { labels, datasets: [
      { label: "sent", data: series[0], borderColor: "#0d6efd" },
      { label: "delivered", data: series[1], borderColor: "#198754" },
      { label: "failed", data: series[2], borderColor: "#dc3545" },
    ] },
    options: { animation: false, responsive: true, scales: { y: { beginAtZero: true } } },
  });
}

async function failed() {
  const answer = await api("GET", `${base}/messages?status=failed&limit=50`);
  document.querySelector("#failed tbody").replaceChildren(...(answer.messages.length
    ? answer.messages.map((message) => {
      const reason = [...message.history].reverse().find((step) => step.reason)?.reason ?? "";
      return el("tr", {},
        el("td", {}, el("a", { href: `/customers/${seg(message.customer_id ?? "")}`, text: message.customer_id })),
        el("td", { text: message.to ?? "" }), el("td", { class: "failure-reason", text: reason }),
        el("td", { text: String(message.attempts) }));
    })
    : [el("tr", {}, el("td", { colspan: 4, class: "text-muted", text: "None" }))]));
}

async function refresh() {
  const campaign = await api("GET", base);
  document.getElementById("campaign-name").textContent = campaign.name;
  const launching = campaign.launch?.state === "appending" || campaign.status === "launching";
  document.getElementById("campaign-status").textContent = launching ? "launching" : campaign.status;
  const stats = campaign.stats;
  // Launching on another node: its progress is what the read model has queued so far.
  const audience = launching ? campaign.launch?.audience ?? stats.audience : stats.audience;
  const done = launching ? campaign.launch?.appended ?? stats.queued : stats.sent + stats.failed;
  const bar = document.getElementById("progress");
  bar.style.width = audience ? `${(100 * done) / audience}%` : "0%";
  bar.textContent = launching ? `queueing ${formatPercent(done, audience)}` : formatPercent(done, audience);
  document.getElementById("progress-bar").setAttribute("aria-valuenow", audience ? Math.round((100 * done) / audience)
    : 0);
  if (campaign.launch?.state === "failed") showProblem(new Error(`The launch failed: ${campaign.launch.error}`));
  funnel(campaign);
  actions(campaign);
  document.getElementById("audit").replaceChildren(...campaign.audit.map((entry) => el("li", {
    text: `${formatTime(entry.at)} ${entry.actor} ${entry.action}` })));
  const live = launching || campaign.status === "running";
  const now = Date.now();
  const jobs = [];
  if (stats.failed !== failedShown && (failedShown === null || !live || now - lastFailedAt > 5000)) {
    failedShown = stats.failed;
    lastFailedAt = now;
    jobs.push(stats.failed ? failed() : Promise.resolve(document.querySelector("#failed tbody").replaceChildren(
      el("tr", {}, el("td", { colspan: 4, class: "text-muted", text: "None" })))));
  }
  if (now - lastSummaryAt > (live ? 5000 : 60000)) {
    lastSummaryAt = now;
    jobs.push(api("GET", `${base}/summary`).then((answer) => {
      document.getElementById("summary").textContent = answer.summary;
    }));
  }
  if (now - lastDeliveryAt > (live ? 3000 : 60000)) {
    lastDeliveryAt = now;
    jobs.push(delivery());
  }
  await Promise.all(jobs);
  document.getElementById("updated").textContent = `Updated ${new Date().toLocaleTimeString()}`;
  markLoaded();
  return live;
}

async function loop() {
  let live = false;
  try {
    live = await refresh();
  } catch (error) {
    showProblem(error);
  }
  setTimeout(loop, live ? 1000 : 10000);
}

for (const [button, path] of [["pause", "pause"], ["resume", "resume"], ["cancel", "cancel"],
  ["retry", "retry-failed"]]) {
  document.getElementById(button).addEventListener("click", async () => {
    const note = document.getElementById("action-status");
    if (button === "cancel" && !window.confirm("Cancel this campaign? Messages not yet sent will not be sent.")) return;
    try {
      const answer = await api("POST", `${base}/${path}`, {});
      note.textContent = button === "retry" ? `${formatNumber(answer.requeued, currency)} messages queued again`
        : "Done.";
      lastSummaryAt = 0;
      await refresh();
    } catch (error) {
      note.textContent = error.message;
    }
  });
}

loop();
