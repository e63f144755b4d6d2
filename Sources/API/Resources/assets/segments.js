// Saved segments with their live size and rule in English.
import { api, el, formatNumber, formatTime, page, seg, markLoaded } from "./common.js";

const { currency, writes } = page();
document.getElementById("new-segment").hidden = !writes;
try {
  const answer = await api("GET", "/api/v1/segments");
  const body = document.querySelector("#segment-list tbody");
  body.replaceChildren(...(answer.segments.length ? answer.segments.map((segment) => el("tr", {},
    el("td", {}, el("a", { href: `/segments/${seg(segment.segment_id)}`, text: segment.name })),
    el("td", { class: "text-end", text: formatNumber(segment.size, currency) }),
    el("td", { class: "small", text: segment.english ?? "" }),
    el("td", { class: "small d-none d-md-table-cell",
      text: `${formatTime(segment.saved_at)}${segment.saved_by ? ` by ${segment.saved_by}` : ""}` })))
    : [el("tr", {}, el("td", { colspan: 4, class: "text-muted", text: "No saved segment yet." }))]));
  markLoaded();
} catch (error) {
  document.querySelector("#segment-list tbody").replaceChildren(el("tr", {}, el("td", { colspan: 4,
    class: "text-danger", text: error.message })));
}
