// The segment builder: nested AND/OR groups and NOT, conditions and groups dragged between groups (SortableJS from
// Debian's libjs-sortable), pickers from the field catalogue, the live audience count as you type, the rule in
// English, problems shown at the condition they point to, words → rule, sample, explain, save, delete, CSV.
import { api, el, formatNumber, page, seg, showProblem, markLoaded } from "./common.js";
import { explainLines, pointerOwner, readValue, ruleToTree, treeToRule, valueShape } from "./rules.js";

const { id: segmentID, currency, writes } = page();
const root = document.getElementById("rule-root");
const countBox = document.getElementById("count");
let catalogue = { fields: [], cities: [], countries: [], tags: [], attribute_keys: [] };

// Keystroke-to-rendered-count times (ms), read by `cohort bench dashboard`.
window.cohortTimings = [];

// MARK: Building the tree

function fieldOptions(selected) {
  const fields = catalogue.fields.filter((field) => field.kind !== "attribute")
    .concat(catalogue.attribute_keys.map((key) => ({ name: `attributes.${key}`, kind: "attribute" })));
  if (selected && !fields.some((field) => field.name === selected)) fields.push({ name: selected, kind: "string" });
  return fields.map((field) => el("option", { value: field.name, text: field.name, selected: field.name === selected }));
}

function fieldInfo(name) {
  if (name.startsWith("attributes.")) {
    const generic = catalogue.fields.find((field) => field.kind === "attribute");
    return { name, kind: "attribute", operators: generic?.operators ?? ["eq", "ne", "exists", "missing"] };
  }
  return catalogue.fields.find((field) => field.name === name) ?? { name, kind: "string", operators: ["eq"] };
}

function knownValues(field) {
  if (field === "city") return catalogue.cities;
  if (field === "country") return catalogue.countries;
  if (field === "tags") return catalogue.tags;
  return [];
}

function valueInputs(condition, field, op, value) {
  const box = condition.querySelector(".cond-value");
  const shape = valueShape(fieldInfo(field).kind, op);
  const inputType = shape.type === "number" ? "number" : "text";
  const list = knownValues(field).length ? `known-${field}` : undefined;
  const make = (initial, label) => el("input", {
    class: "form-control form-control-sm cond-input", type: inputType, value: initial ?? "", list, step: "any",
    "aria-label": label, placeholder: shape.placeholder,
  });
  if (shape.arity === 0) box.replaceChildren();
  else if (shape.arity === 2) {
    const [low, high] = Array.isArray(value) ? value : [undefined, undefined];
    box.replaceChildren(make(low, `${field} from`), el("span", { class: "small", text: "and" }), make(high, `${field} to`));
  } else {
    const shown = Array.isArray(value) ? value.join(", ") : value;
    box.replaceChildren(make(shown, `${field} value`));
  }
}

// Drag with the mouse or touch; with the keyboard, arrows on the handle: up/down among siblings, right into the
// group above, left out of the current group.
function moveHandle() {
  return el("button", { type: "button", class: "btn btn-sm drag-handle", title: "Drag to move, or use the arrow keys",
    "aria-label": "Move (arrow keys)", text: "⠿" });
}

function moveByKey(node, key) {
  const parent = node.parentElement;
  if (key === "ArrowUp" && node.previousElementSibling) parent.insertBefore(node, node.previousElementSibling);
  else if (key === "ArrowDown" && node.nextElementSibling) parent.insertBefore(node.nextElementSibling, node);
  else if (key === "ArrowRight" && node.previousElementSibling?.matches(".rule-group")) {
    node.previousElementSibling.querySelector(":scope > .rule-children").append(node);
  } else if (key === "ArrowLeft") {
    const group = parent.closest(".rule-group");
    const outer = group?.parentElement?.closest(".rule-children");
    if (!outer) return false;
    outer.insertBefore(node, group.nextElementSibling);
  } else return false;
  node.querySelector(".drag-handle").focus();
  return true;
}

function conditionElement(rule, negated) {
  const condition = el("div", { class: "rule-condition", "data-node": "condition" },
    moveHandle(),
    el("select", { class: "form-select form-select-sm cond-field", "aria-label": "Field" }),
    el("select", { class: "form-select form-select-sm cond-op", "aria-label": "Operator" }),
    el("span", { class: "cond-value d-flex gap-1 align-items-center" }),
    el("label", { class: "small form-check-label" },
      el("input", { type: "checkbox", class: "form-check-input cond-not", checked: negated }), " not"),
    el("button", { type: "button", class: "btn btn-sm btn-outline-danger remove", "aria-label": "Remove condition",
      text: "✕" }),
    el("div", { class: "rule-problem", hidden: true }));
  const fieldSelect = condition.querySelector(".cond-field");
  fieldSelect.append(...fieldOptions(rule.field));
  fieldSelect.value = rule.field;
  setOperators(condition, rule.field, rule.op, rule.value);
  return condition;
}

function setOperators(condition, field, op, value) {
  const opSelect = condition.querySelector(".cond-op");
  const operators = fieldInfo(field).operators;
  const chosen = operators.includes(op) ? op : operators[0];
  opSelect.replaceChildren(...operators.map((name) => el("option", { value: name, text: name })));
  opSelect.value = chosen;
  valueInputs(condition, field, chosen, op === chosen ? value : undefined);
}

function groupElement(kind, negated, children, isRoot) {
  const group = el("div", { class: `rule-group rule-${kind}`, "data-node": "group", "data-kind": kind },
    el("div", { class: "group-head d-flex flex-wrap gap-1 align-items-center" },
      isRoot ? null : moveHandle(),
      el("select", { class: "form-select form-select-sm w-auto group-kind", "aria-label": "Group type" },
        el("option", { value: "and", text: "All of", selected: kind === "and" }),
        el("option", { value: "or", text: "Any of", selected: kind === "or" })),
      el("label", { class: "small form-check-label" },
        el("input", { type: "checkbox", class: "form-check-input group-not", checked: negated }), " not"),
      el("button", { type: "button", class: "btn btn-sm btn-outline-primary add-condition", text: "+ Condition" }),
      el("button", { type: "button", class: "btn btn-sm btn-outline-primary add-group", text: "+ Group" }),
      isRoot ? null : el("button", { type: "button", class: "btn btn-sm btn-outline-danger remove",
        "aria-label": "Remove group", text: "✕" })),
    el("div", { class: "rule-problem", hidden: true }),
    el("div", { class: "rule-children" }, children));
  if (negated) group.classList.add("rule-not");
  makeSortable(group.querySelector(".rule-children"));
  return group;
}

function build(node, isRoot = false) {
  if (node.type === "group") {
    return groupElement(node.kind, node.negated, node.children.map((child) => build(child)), isRoot);
  }
  return conditionElement(node.rule, node.negated);
}

function makeSortable(container) {
  if (!window.Sortable) return;
  window.Sortable.create(container, {
    group: "rules", handle: ".drag-handle", animation: 120, forceFallback: true, fallbackOnBody: true,
    swapThreshold: 0.65, invertSwap: true,
    onEnd: () => changed(performance.now()),
  });
}

function setTree(rule) {
  root.replaceChildren(build(ruleToTree(rule), true));
}

function defaultCondition() {
  const field = catalogue.fields.find((candidate) => candidate.name === "total_spend") ?? catalogue.fields[0];
  return { field: field.name, op: field.operators.includes("gte") ? "gte" : field.operators[0], value: 0 };
}

// MARK: Reading the tree

function readTree(element) {
  if (element.dataset.node === "group") {
    return {
      type: "group", kind: element.querySelector(":scope > .group-head .group-kind").value,
      negated: element.querySelector(":scope > .group-head .group-not").checked,
      children: [...element.querySelector(":scope > .rule-children").children].map(readTree), element,
    };
  }
  const field = element.querySelector(".cond-field").value;
  const op = element.querySelector(".cond-op").value;
  const inputs = [...element.querySelectorAll(".cond-input")].map((input) => input.value);
  const rule = { field, op };
  const shape = valueShape(fieldInfo(field).kind, op);
  if (shape.arity > 0) rule.value = readValue(shape, inputs);
  const empty = shape.arity > 0 && inputs.some((text) => text.trim() === "");
  return { type: "condition", rule, negated: element.querySelector(".cond-not").checked, element, empty };
}

function currentRule() {
  return treeToRule(readTree(root.firstElementChild));
}

// MARK: Live count

let inFlight = false;
let pending = false;
let firstUnrendered = null;

function changed(at) {
  if (firstUnrendered === null) firstUnrendered = at;
  if (inFlight) {
    pending = true;
    return;
  }
  count();
}

function clearProblems() {
  for (const box of root.querySelectorAll(".rule-problem")) {
    box.hidden = true;
    box.textContent = "";
  }
  for (const node of root.querySelectorAll(".is-invalid")) node.classList.remove("is-invalid");
}

function showRuleProblems(errors, pointers) {
  for (const problem of errors) {
    const pointer = (problem.pointer || "").replace(/^\/rules/, "");
    const owner = pointerOwner(pointers, pointer) ?? root.firstElementChild;
    owner.classList.add("is-invalid");
    const box = owner.querySelector(":scope > .rule-problem");
    box.hidden = false;
    box.textContent = (box.textContent ? box.textContent + "; " : "") + problem.detail;
  }
}

function emptyConditions(tree) {
  if (tree.type === "condition") return tree.empty ? [tree.element] : [];
  return tree.children.flatMap(emptyConditions);
}

async function count() {
  const tree = readTree(root.firstElementChild);
  const empty = emptyConditions(tree);
  if (empty.length) {
    // Not worth asking the server: say so at each condition still waiting for its value.
    clearProblems();
    for (const condition of empty) {
      const box = condition.querySelector(":scope > .rule-problem");
      box.hidden = false;
      box.textContent = "Enter a value.";
    }
    countBox.textContent = "—";
    delete countBox.dataset.count;
    firstUnrendered = null;
    return;
  }
  inFlight = true;
  pending = false;
  const started = firstUnrendered;
  firstUnrendered = null;
  const { rule, pointers } = treeToRule(tree);
  try {
    const answer = await api("POST", "/api/v1/segments/preview", { rules: rule, sample: 5 });
    if (!pending) {
      clearProblems();
      countBox.textContent = formatNumber(answer.count, currency);
      countBox.dataset.count = String(answer.count);
      document.getElementById("took").textContent = `counted in ${answer.took_ms} ms`;
      document.getElementById("english").textContent = answer.english ?? "";
      document.getElementById("sample").replaceChildren(...answer.sample.map((customer) => el("li", {},
        el("a", { href: `/customers/${seg(customer)}`, text: customer }))));
      // Keystroke (the event's own time stamp) to the frame that paints the new count.
      if (started !== null) requestAnimationFrame(() => window.cohortTimings.push(performance.now() - started));
    }
  } catch (error) {
    if (!pending) {
      clearProblems();
      countBox.textContent = "—";
      delete countBox.dataset.count;
      if (error.errors?.length) showRuleProblems(error.errors, pointers);
      else showProblem(error);
    }
  } finally {
    inFlight = false;
    if (pending) count();
  }
}

// MARK: Events

root.addEventListener("keydown", (event) => {
  if (!event.target.matches(".drag-handle") || !event.key.startsWith("Arrow")) return;
  const node = event.target.closest(".rule-condition, .rule-group");
  if (moveByKey(node, event.key)) {
    event.preventDefault();
    changed(event.timeStamp);
  }
});
root.addEventListener("input", (event) => {
  if (event.target.matches(".cond-input")) changed(event.timeStamp);
});
root.addEventListener("change", (event) => {
  const at = event.timeStamp;
  const target = event.target;
  const condition = target.closest(".rule-condition");
  if (target.matches(".cond-field")) setOperators(condition, target.value);
  else if (target.matches(".cond-op")) {
    const previous = [...condition.querySelectorAll(".cond-input")].map((input) => input.value);
    valueInputs(condition, condition.querySelector(".cond-field").value, target.value,
      previous.length === 1 ? previous[0] : undefined);
  } else if (target.matches(".group-kind")) {
    const group = target.closest(".rule-group");
    group.dataset.kind = target.value;
    group.classList.toggle("rule-or", target.value === "or");
    group.classList.toggle("rule-and", target.value === "and");
  } else if (target.matches(".group-not")) {
    target.closest(".rule-group").classList.toggle("rule-not", target.checked);
  }
  changed(at);
});
root.addEventListener("click", (event) => {
  const button = event.target.closest("button");
  if (!button) return;
  const at = event.timeStamp;
  const group = button.closest(".rule-group");
  if (button.matches(".add-condition")) {
    const condition = conditionElement(defaultCondition(), false);
    group.querySelector(":scope > .rule-children").append(condition);
    condition.querySelector(".cond-field").focus();
  } else if (button.matches(".add-group")) {
    const child = groupElement("or", false, [conditionElement(defaultCondition(), false)], false);
    group.querySelector(":scope > .rule-children").append(child);
  } else if (button.matches(".remove")) {
    (button.closest(".rule-condition") ?? group).remove();
  } else return;
  changed(at);
});

document.getElementById("nl-apply").addEventListener("click", async () => {
  const status = document.getElementById("nl-status");
  status.textContent = "…";
  try {
    const answer = await api("POST", "/api/v1/segments/parse", { text: document.getElementById("nl-text").value });
    if (!answer.rules) {
      status.textContent = "Nothing understood; build the rule below.";
      return;
    }
    setTree(answer.rules);
    const notes = [`Read by the ${answer.source} parser.`];
    if (answer.partial) notes.push(`Not understood: ${answer.not_understood.join(", ")}.`);
    if (answer.assumptions.length) notes.push(`Assumed: ${answer.assumptions.join("; ")}.`);
    status.textContent = notes.join(" ");
    changed(performance.now());
  } catch (error) {
    status.textContent = error.message;
  }
});
document.getElementById("nl-text").addEventListener("keydown", (event) => {
  if (event.key === "Enter") document.getElementById("nl-apply").click();
});

document.getElementById("explain").addEventListener("click", async () => {
  const target = document.getElementById("explain-result");
  const customer = document.getElementById("explain-id").value.trim();
  if (!customer) return;
  try {
    const answer = await api("POST", "/api/v1/segments/explain", { rules: currentRule().rule, customer_id: customer });
    const lines = explainLines(answer.rule).map((line) => el("div", {
      class: line.result ? "text-success" : "text-danger", "data-depth": line.depth,
      text: `${"\u00a0\u00a0".repeat(line.depth)}${line.text}` }));
    target.replaceChildren(el("div", { id: "explain-verdict", class: "fw-bold",
      text: answer.matches ? `${customer} is in the audience` : `${customer} is not in the audience` }), ...lines);
  } catch (error) {
    target.textContent = error.message;
  }
});

document.getElementById("save").addEventListener("click", async () => {
  const status = document.getElementById("save-status");
  const body = {
    name: document.getElementById("seg-name").value.trim(),
    description: document.getElementById("seg-description").value.trim() || undefined,
    rules: currentRule().rule,
  };
  if (!body.name) {
    status.textContent = "Give the segment a name first.";
    document.getElementById("seg-name").focus();
    return;
  }
  try {
    const answer = segmentID
      ? await api("PUT", `/api/v1/segments/${seg(segmentID)}`, body)
      : await api("POST", "/api/v1/segments", body);
    status.textContent = "Saved.";
    status.dataset.saved = answer.segment_id;
    if (!segmentID) window.history.replaceState(null, "", `/segments/${seg(answer.segment_id)}`);
    enableSaved(answer.segment_id);
  } catch (error) {
    status.textContent = error.message;
    if (error.errors?.length) showRuleProblems(error.errors, currentRule().pointers);
  }
});

let savedID = segmentID;
function enableSaved(id) {
  savedID = id;
  document.getElementById("builder-title").textContent = "Edit segment";
  const csv = document.getElementById("csv");
  csv.href = `/api/v1/segments/${seg(id)}/members?format=csv`;
  csv.hidden = false;
  const campaign = document.getElementById("to-campaign");
  campaign.href = `/campaigns/new?segment=${seg(id)}`;
  document.getElementById("delete").hidden = !writes;
}

// "New campaign": the saved segment's audience, or (unsaved) this rule inline.
document.getElementById("to-campaign").addEventListener("click", (event) => {
  if (savedID) return;
  event.preventDefault();
  window.location.assign(`/campaigns/new?rules=${encodeURIComponent(JSON.stringify(currentRule().rule))}`);
});

document.getElementById("delete").addEventListener("click", async () => {
  if (!savedID || !window.confirm("Delete this segment? Campaigns already launched keep their audience.")) return;
  try {
    await api("DELETE", `/api/v1/segments/${seg(savedID)}`);
    window.location.assign("/segments");
  } catch (error) {
    document.getElementById("save-status").textContent = error.message;
  }
});

// MARK: Start

try {
  catalogue = await api("GET", "/api/v1/segments/fields");
  for (const [field, values] of [["city", catalogue.cities], ["country", catalogue.countries],
    ["tags", catalogue.tags]]) {
    document.body.append(el("datalist", { id: `known-${field}` },
      values.map((value) => el("option", { value }))));
  }
  if (segmentID) {
    const segment = await api("GET", `/api/v1/segments/${seg(segmentID)}`);
    document.getElementById("seg-name").value = segment.name;
    document.getElementById("seg-description").value = segment.description ?? "";
    setTree(segment.rules);
    enableSaved(segmentID);
  } else {
    setTree({ and: [defaultCondition()] });
  }
  if (!writes) document.getElementById("save").hidden = true;
  document.getElementById("to-campaign").hidden = !writes;
  changed(performance.now());
  markLoaded();
} catch (error) {
  showProblem(error);
}
