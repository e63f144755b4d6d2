// The overview: revenue, orders and their daily trend (the daily read model), active campaigns with live progress,
// projector lag, folding rate and dead letters. Refreshed every 5 s.
import { api, el, formatMoney, formatNumber, formatPercent, page, markLoaded } from "./common.js";

const { currency } = page();
let chart = null;

function figure(label, value, id, wide = false) {
  return el("div", { class: `${wide ? "col-12 col-sm-6" : "col-6"} col-md-4 col-xl-2` },
    el("div", { class: "card h-100" }, el("div", { class: "card-body" },
      el("div", { class: "text-muted small", text: label }),
      el("div", { class: "fs-5 text-nowrap", id, "data-figure": label, text: value }))));
}

function render(overview) {
  const lag = overview.projector.running ? formatNumber(overview.projector.lag, currency) : "not running here";
  document.getElementById("overview-figures").replaceChildren(
    figure("Revenue", formatMoney(overview.revenue, currency), "fig-revenue", true),
    figure("Orders", formatNumber(overview.orders, currency), "fig-orders"),
    figure("Projector lag (records)", lag, "fig-lag"),
    figure("Folded per second", formatNumber(overview.ingest.events_per_second, currency), "fig-rate"),
    figure("Events folded", formatNumber(overview.ingest.events_folded, currency), "fig-folded"),
    figure("Dead letters", formatNumber(overview.dead_letters, currency), "fig-dead-letters"));

  const list = document.getElementById("active-campaigns");
  list.replaceChildren(...(overview.active_campaigns.length ? overview.active_campaigns.map((campaign) => {
    const done = campaign.sent + campaign.failed;
    return el("li", { class: "mb-2" },
      el("a", { href: `/campaigns/${encodeURIComponent(campaign.campaign_id)}`, text: campaign.name }),
      ` · ${campaign.status} · ${formatNumber(done, currency)} / ${formatNumber(campaign.audience, currency)} `
      + `(${formatPercent(done, campaign.audience)})`);
  }) : [el("li", { class: "text-muted", text: "No campaign is running." })]));

  const labels = overview.daily.map((day) => day.day.slice(5));
  const revenue = overview.daily.map((day) => Number(day.revenue));
  const orders = overview.daily.map((day) => day.orders);
  if (!window.Chart) return;
  if (chart) {
    chart.data.labels = labels;
    chart.data.datasets[0].data = revenue;
    chart.data.datasets[1].data = orders;
    chart.update("none");
    return;
  }
  chart = new window.Chart(document.getElementById("revenue-chart"), {
    data: {
      labels,
      datasets: [
        { type: "bar", label: `Revenue (${currency})`, data: revenue, yAxisID: "revenue",
          backgroundColor: "rgba(13, 110, 253, 0.5)" },
        { type: "line", label: "Orders", data: orders, yAxisID: "orders", borderColor: "#198754", tension: 0.2 },
      ],
    },
    options: {
      animation: false, responsive: true,
      scales: {
        revenue: { position: "left", ticks: { callback: (value) => formatMoney(value, currency) } },
        orders: { position: "right", grid: { drawOnChartArea: false } },
      },
    },
  });
}

async function refresh() {
  try {
    render(await api("GET", "/api/v1/overview?days=30"));
    markLoaded();
  } catch (error) {
    document.getElementById("overview-figures").replaceChildren(el("div", { class: "text-danger", text: error.message }));
  }
}

refresh();
setInterval(refresh, 5000);
