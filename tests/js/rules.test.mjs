// The segment builder's pure parts, run with `node --test tests/js` (scripts/test).
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  convert, explainLines, pointerOwner, readValue, ruleToTree, treeToRule, valueShape,
} from "../../Sources/API/Resources/assets/rules.js";

const spec = {
  or: [
    { and: [{ field: "total_spend", op: "gt", value: 10000 }, { field: "visit_count", op: "lt", value: 3 }] },
    { field: "days_since_last_order", op: "gt", value: 90 },
    { not: { field: "tags", op: "contains", value: "vip" } },
  ],
};

test("the SPEC §5 rule survives the builder's tree unchanged", () => {
  assert.deepEqual(treeToRule(ruleToTree(spec)).rule, spec);
});

test("a bare condition gets a root group; NOT of a group stays a flag on the group", () => {
  const tree = ruleToTree({ field: "city", op: "eq", value: "Pune" });
  assert.equal(tree.type, "group");
  assert.deepEqual(treeToRule(tree).rule, { and: [{ field: "city", op: "eq", value: "Pune" }] });
  const negated = ruleToTree({ not: { or: [{ field: "city", op: "eq", value: "Pune" }] } });
  assert.equal(negated.negated, true);
  assert.equal(negated.kind, "or");
  // A double negation stays visible as a negated group around a negated condition.
  const condition = { field: "city", op: "eq", value: "Pune" };
  assert.deepEqual(treeToRule(ruleToTree({ not: { not: condition } })).rule, { not: { and: [{ not: condition }] } });
});

test("every node's pointer names where the decoder would point", () => {
  const tree = ruleToTree(spec);
  tree.element = "root";
  tree.children[0].element = "and-group";
  tree.children[0].children[1].element = "visits";
  tree.children[2].element = "not-vip";
  const { pointers } = treeToRule(tree);
  assert.equal(pointerOwner(pointers, "/or/0/and/1/op"), "visits");
  assert.equal(pointerOwner(pointers, "/or/0/and"), "and-group");
  assert.equal(pointerOwner(pointers, "/or/2/not/value"), "not-vip");
  assert.equal(pointerOwner(pointers, "/or/7"), "root");
  assert.equal(pointerOwner(pointers, "/or/01"), "root", "a pointer matches whole segments only");
});

test("values are typed by the field's kind and the operator", () => {
  assert.deepEqual(valueShape("money", "between"), { arity: 2, type: "number", placeholder: "" });
  assert.equal(valueShape("tags", "exists").arity, 0);
  assert.equal(valueShape("string", "in").list, true);
  assert.equal(convert("number", "5000"), 5000);
  assert.equal(convert("number", ""), "", "left for the server to name as not a number");
  assert.equal(convert("time", "2026-01-31"), "2026-01-31T00:00:00Z");
  assert.equal(convert("time", "yesterday"), "yesterday");
  assert.equal(convert("auto", "42"), 42);
  assert.equal(convert("auto", "true"), true);
  assert.equal(convert("auto", "gold"), "gold");
  assert.deepEqual(readValue(valueShape("string", "in"), ["Pune, Mumbai ,, "]), ["Pune", "Mumbai"]);
  assert.deepEqual(readValue(valueShape("integer", "between"), ["2", "5"]), [2, 5]);
});

test("an explanation becomes indented lines with each node's outcome", () => {
  const lines = explainLines({
    and: [{ field: "city", op: "eq", value: "Pune", actual: "Mumbai", missing: false, result: false },
      { not: { field: "tags", op: "contains", value: "vip", actual: null, missing: true, result: false },
        result: true }],
    result: false,
  });
  assert.deepEqual(lines.map((line) => [line.depth, line.result]), [[0, false], [1, false], [1, true], [2, false]]);
  assert.equal(lines[1].text, '✗ city eq "Pune" (has "Mumbai")');
  assert.equal(lines[3].text, '✗ tags contains "vip" (has missing)');
});
