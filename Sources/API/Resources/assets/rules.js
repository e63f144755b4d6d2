// The segment builder's pure parts, with no DOM: rule JSON (SPEC §5) ⇄ the builder's tree, JSON pointers of each
// node (to show a validation problem at the condition it names), value inputs per field kind and operator, and an
// explanation as lines. Unit-tested with `node --test` (tests/js).

/** A rule as the builder's tree: the root is always a group; `not` becomes a flag on the node it wraps. */
export function ruleToTree(rule) {
  const node = toNode(rule);
  return node.type === "group" ? node : { type: "group", kind: "and", negated: false, children: [node] };
}

function toNode(rule, negated = false) {
  if (rule && typeof rule === "object") {
    if (Array.isArray(rule.and)) return { type: "group", kind: "and", negated, children: rule.and.map((c) => toNode(c)) };
    if (Array.isArray(rule.or)) return { type: "group", kind: "or", negated, children: rule.or.map((c) => toNode(c)) };
    if (rule.not !== undefined) {
      // A double negation stays visible: the inner `not` becomes a group of its own.
      if (negated) return { type: "group", kind: "and", negated: true, children: [toNode(rule.not, true)] };
      return toNode(rule.not, true);
    }
  }
  return { type: "condition", negated, rule: { ...rule } };
}

/**
 * The tree as rule JSON, and the JSON pointer of every node (`[pointer, node.element]`, the element being whatever
 * the caller attached): a problem at `/and/1/not/value` belongs to the node whose pointer is its longest prefix.
 */
export function treeToRule(tree, pointer = "", pointers = []) {
  pointers.push([pointer, tree.element]);
  const inner = tree.negated ? `${pointer}/not` : pointer;
  let rule;
  if (tree.type === "group") {
    rule = { [tree.kind]: tree.children.map((child, index) => treeToRule(child, `${inner}/${tree.kind}/${index}`,
      pointers).rule) };
  } else {
    rule = { ...tree.rule };
  }
  return { rule: tree.negated ? { not: rule } : rule, pointers };
}

/** The element of the node a problem's pointer falls in (longest matching prefix). */
export function pointerOwner(pointers, pointer) {
  let best = null;
  let bestLength = -1;
  for (const [candidate, element] of pointers) {
    const inside = pointer === candidate || pointer.startsWith(`${candidate}/`);
    if (inside && candidate.length > bestLength) {
      best = element;
      bestLength = candidate.length;
    }
  }
  return best;
}

const numericKinds = new Set(["money", "integer", "days"]);

/** What a condition's value looks like: how many inputs, of what type, whether a list. */
export function valueShape(kind, op) {
  if (op === "exists" || op === "missing") return { arity: 0 };
  const type = numericKinds.has(kind) ? "number" : kind === "timestamp" ? "time" : kind === "attribute" ? "auto"
    : "text";
  const placeholder = type === "time" ? "2026-01-31" : op === "in" || op === "not_in" ? "a, b, c" : "";
  if (op === "between") return { arity: 2, type, placeholder };
  return { arity: 1, type, list: op === "in" || op === "not_in", placeholder };
}

/** One typed value from what was typed: numbers for numeric kinds, RFC 3339 for dates, a guess for attributes. */
export function convert(type, text) {
  const trimmed = String(text).trim();
  if (type === "number") {
    const number = Number(trimmed);
    return trimmed !== "" && Number.isFinite(number) ? number : trimmed;
  }
  if (type === "time" && /^\d{4}-\d{2}-\d{2}$/.test(trimmed)) return `${trimmed}T00:00:00Z`;
  if (type === "auto") {
    if (/^-?\d+(\.\d+)?$/.test(trimmed)) return Number(trimmed);
    if (trimmed === "true" || trimmed === "false") return trimmed === "true";
  }
  return trimmed;
}

/** The condition's value from its inputs' texts. */
export function readValue(shape, inputs) {
  if (shape.arity === 2) return [convert(shape.type, inputs[0] ?? ""), convert(shape.type, inputs[1] ?? "")];
  if (shape.list) {
    return String(inputs[0] ?? "").split(",").map((part) => part.trim()).filter(Boolean)
      .map((part) => convert(shape.type, part));
  }
  return convert(shape.type, inputs[0] ?? "");
}

/** An explanation (`POST /segments/explain`'s `rule`) as indented lines: `{depth, text, result}`. */
export function explainLines(node, depth = 0, lines = []) {
  const mark = node.result ? "✓" : "✗";
  if (Array.isArray(node.and) || Array.isArray(node.or)) {
    const kind = Array.isArray(node.and) ? "and" : "or";
    lines.push({ depth, result: node.result, text: `${mark} ${kind === "and" ? "all of" : "any of"}` });
    for (const child of node[kind]) explainLines(child, depth + 1, lines);
  } else if (node.not !== undefined) {
    lines.push({ depth, result: node.result, text: `${mark} not` });
    explainLines(node.not, depth + 1, lines);
  } else {
    const value = node.value === undefined ? "" : ` ${JSON.stringify(node.value)}`;
    const actual = node.missing ? "missing" : JSON.stringify(node.actual);
    lines.push({ depth, result: node.result, text: `${mark} ${node.field} ${node.op}${value} (has ${actual})` });
  }
  return lines;
}
