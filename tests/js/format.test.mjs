// Number and money formatting of the dashboard (common.js), run with `node --test tests/js`.
import assert from "node:assert/strict";
import { test } from "node:test";
import { formatMoney, formatNumber, formatPercent, formatTime } from "../../Sources/API/Resources/assets/common.js";

test("rupees with Indian grouping", () => {
  assert.equal(formatMoney(20444531, "INR"), "₹2,04,44,531.00");
  assert.equal(formatNumber(1234567, "INR"), "12,34,567");
  assert.equal(formatMoney(null, "INR"), "—");
});

test("other currencies with their symbol and western grouping", () => {
  assert.equal(formatMoney(1234567.5, "USD").replace(/\s/g, ""), "$1,234,567.50");
});

test("shares and times", () => {
  assert.equal(formatPercent(901, 1000), "90.1 %");
  assert.equal(formatPercent(1, 0), "—");
  assert.equal(formatTime("2026-12-05T14:03:27.123Z"), "2026-12-05 14:03");
  assert.equal(formatTime(null), "—");
});
