"""The JSON Schemas in schemas/ and the Swift validator must agree on every example and on generated samples."""
import json
import pathlib
import random
import re
import subprocess
from decimal import Decimal

from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from conftest import ROOT, SCHEMAS, load_json, swift_verdicts


def dumps(value) -> str:
    """JSON text that writes Decimals as exact numbers (json.dumps cannot)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (int, float)):
        return json.dumps(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ",".join(dumps(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ",".join(json.dumps(k, ensure_ascii=False) + ":" + dumps(v) for k, v in value.items()) + "}"
    raise TypeError(type(value))


def python_verdict(validator, line: str):
    """(valid, error pointers) according to jsonschema."""
    try:
        instance = load_json(line)
    except ValueError:
        return False, {""}
    errors = list(validator.iter_errors(instance))
    pointers = set()
    stack = list(errors)
    while stack:
        error = stack.pop()
        pointers.add("".join("/" + str(part).replace("~", "~0").replace("/", "~1") for part in error.absolute_path))
        stack.extend(error.context or [])
    return not errors, pointers


def examples() -> list[tuple[str, str]]:
    return [(path.name, dumps(load_json(path.read_text()))) for path in sorted((SCHEMAS / "examples").glob("*.json"))]


def doc_examples() -> list[tuple[str, str]]:
    found = []
    for path in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        if not path.exists():
            continue
        for block in re.findall(r"```json\n(.*?)```", path.read_text(), re.S):
            if '"specversion"' in block:
                found.append((path.name, dumps(load_json(block))))
    return found


def test_committed_schemas_are_the_generated_ones(cohort):
    result = subprocess.run([cohort, "schemas", "--check", str(SCHEMAS)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_there_is_an_example_for_every_event_type(envelope_validator):
    types = {json.loads(line)["type"] for _, line in examples()}
    schema_types = {p.name.removesuffix(".schema.json") for p in SCHEMAS.glob("crm.*.schema.json")}
    assert types == schema_types


def test_every_example_and_doc_example_is_valid_for_both(cohort, envelope_validator):
    named = examples() + doc_examples()
    assert len(doc_examples()) >= 3, "the docs should show example events"
    verdicts = swift_verdicts(cohort, [line for _, line in named])
    for (name, line), verdict in zip(named, verdicts):
        valid, pointers = python_verdict(envelope_validator, line)
        assert valid, f"{name} is invalid for jsonschema at {pointers}"
        assert verdict["valid"], f"{name} is invalid for cohort: {verdict}"


# --- generated samples -----------------------------------------------------------------------------------------

def random_text(rng: random.Random, low: int, high: int) -> str:
    alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 -_.:/éüñ漢字😀\"\\"
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(low, high)))


def random_timestamp(rng: random.Random) -> str:
    year, month = rng.randint(1970, 2035), rng.randint(1, 12)
    day = rng.randint(1, 31 if month in (1, 3, 5, 7, 8, 10, 12) else 30 if month != 2 else 29)
    text = f"{year:04d}-{month:02d}-{day:02d}T{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}"
    if rng.random() < 0.5:
        text += "." + "".join(rng.choice("0123456789") for _ in range(rng.randint(1, 9)))
    return text + rng.choice(["Z", "z", "+05:30", "-08:00", "+00:00"])


def random_money(rng: random.Random) -> Decimal:
    digits = rng.choice([0, 0, 1, 2, 4])
    whole = rng.choice([0, 1, 99, 2499, 10 ** 9, 10 ** 12])
    return Decimal(rng.randint(0, whole)) + Decimal(rng.randint(0, 10 ** digits - 1 if digits else 0)) / (10 ** digits)


BAD_VALUES = [None, True, 42, Decimal("1.5"), "", "x" * 300, [], {}, ["a"], {"a": 1}, "2024-02-30T00:00:00Z",
              "2024-01-01 00:00:00Z", "not-a-date", Decimal("-1"), Decimal("1.23456"), Decimal("1e13"), "inr",
              10 ** 20, "a:b", Decimal("0.00001"), "2024-01-01T24:00:00Z", "0000-01-01T00:00:00Z",
              "c\u0000d", "c\td", "c\x7fd", "c\u0085d"]


TRICKY_MONEY = [Decimal(x) for x in ["1.23456", "-0.5", "1e13", "1E-5", "0e-9", "12.50000", "1e2", "-0",
                                     "1000000000000.0001", "1000000000000", "0.0001", "99999999999999999999"]] + ["12.5"]
TRICKY_TIMES = ["2024-02-29T00:00:00Z", "2023-02-29T00:00:00Z", "2024-01-01T00:00:60Z", "2024-01-01t00:00:00z",
                "2024-01-01T00:00:00", "2024-01-01T00:00:00.Z", "2024-13-01T00:00:00Z", "2024-04-31T10:00:00+01:00",
                "2024-01-01T00:00:00+24:00", "2024-1-01T00:00:00Z", "1999-12-31T23:59:59.999999999-00:00"]


def vary_valid(rng: random.Random, event: dict) -> None:
    """Changes field values while keeping the event valid."""
    data = event["data"]
    for key in list(data):
        if key.endswith("_at") or key == "at":
            data[key] = random_timestamp(rng)
        elif key in ("amount", "price"):
            data[key] = random_money(rng)
        elif key in ("name", "city", "country", "reason", "page") and rng.random() < 0.7:
            data[key] = random_text(rng, 1, 60)
        elif key == "items":
            for item in data[key]:
                item["price"] = random_money(rng)
                item["quantity"] = rng.randint(1, 1000)
        elif key == "tags":
            data[key] = [random_text(rng, 1, 20) for _ in range(rng.randint(0, 5))]
    if rng.random() < 0.3:
        event["time"] = random_timestamp(rng)
    if rng.random() < 0.2:
        event["traceparent"] = random_text(rng, 0, 40)
    event["id"] = random_text(rng, 1, 128)


def mutate(rng: random.Random, event: dict) -> None:
    """Breaks the event in one random way (some 'breaks' may still be valid; verdicts are compared, not assumed)."""
    if not isinstance(event.get("data"), dict):
        event["data"] = {}
    target = event["data"] if rng.random() < 0.75 else event
    choice = rng.randrange(9)
    keys = list(target)
    if choice == 0 and keys:
        del target[rng.choice(keys)]
    elif choice in (1, 2) and keys:
        target[rng.choice(keys)] = rng.choice(BAD_VALUES)
    elif choice == 3:
        target[rng.choice(["extra", "Bad-Name", "customerId", "x_y"])] = "surprise"
    elif choice == 4:
        event["type"] = rng.choice(["crm.order.shipped", "crm.order.placed", "crm.visit.recorded", ""])
    elif choice == 5 and isinstance(event["data"].get("attributes"), dict):
        event["data"]["attributes"][rng.choice(["9lives", "ok_key", "has space", "a" * 65])] = rng.choice(["v", 1, None, [1]])
    elif choice == 6 and isinstance(event["data"].get("items"), list):
        event["data"]["items"].append(rng.choice([{"sku": "S"}, {"sku": "S", "quantity": 0, "price": 1}, "item"]))
    elif choice == 7:
        money_keys = [k for k in ("amount",) if k in event["data"]]
        items = event["data"].get("items")
        if money_keys:
            event["data"]["amount"] = rng.choice(TRICKY_MONEY)
        elif isinstance(items, list) and items and isinstance(items[0], dict):
            items[0]["price"] = rng.choice(TRICKY_MONEY)
        else:
            event["time"] = rng.choice(TRICKY_TIMES)
    elif choice == 8:
        event["time"] = rng.choice(TRICKY_TIMES)
    else:
        event["specversion"] = rng.choice(["0.3", "1.0", 1])


def test_generated_samples_get_the_same_verdict_from_both(cohort, envelope_validator):
    rng = random.Random(20261122)
    templates = [load_json(line) for _, line in examples()]
    lines = []
    for index in range(3000):
        event = json.loads(dumps(rng.choice(templates)), parse_float=Decimal)
        vary_valid(rng, event)
        if index % 3 != 0:
            for _ in range(rng.randint(1, 3)):
                mutate(rng, event)
        lines.append(dumps(event))
    lines += ["{", "[]", "null", "{\"specversion\":\"1.0\"}", "{\"a\":1,\"a\":2}"[:0] + "garbage"]

    verdicts = swift_verdicts(cohort, lines)
    mismatches = []
    located = 0
    left_to_cohort = 0
    for line, verdict in zip(lines, verdicts):
        valid, pointers = python_verdict(envelope_validator, line)
        if valid and not verdict["valid"] and only_fraction_digit_problems(verdict):
            left_to_cohort += 1
        elif valid != verdict["valid"]:
            mismatches.append((line, valid, verdict))
        elif not valid:
            swift_pointers = {problem["pointer"] for problem in verdict["problems"]}
            if any(sp.startswith(pp) for sp in swift_pointers for pp in pointers):
                located += 1
            else:
                mismatches.append((line, f"python at {pointers}", verdict))
    assert not mismatches, "\n".join(f"{m[0]}\n  python: {m[1]}\n  cohort: {m[2]}" for m in mismatches[:10])
    valid_count = sum(v["valid"] for v in verdicts)
    assert valid_count > 800 and len(lines) - valid_count > 1000, (valid_count, len(lines))
    assert located + left_to_cohort == len(lines) - valid_count
    # TRICKY_MONEY holds amounts with five fraction digits: the check the schema leaves to Cohort must be met.
    assert left_to_cohort > 0


def only_fraction_digit_problems(verdict: dict) -> bool:
    """True when Cohort's only objections are the fraction-digit limit the schemas leave to it (see their
    description of money fields)."""
    problems = verdict["problems"]
    return bool(problems) and all(p["message"] == "must have at most 4 fraction digits" for p in problems)


# --- stock validators, used the way users call them -------------------------------------------------------------

def stock_validator() -> Draft202012Validator:
    """The envelope schema as a user loads it: `json.loads` with its defaults, so numbers are binary floats."""
    resources, envelope = [], None
    for path in sorted(SCHEMAS.glob("*.schema.json")):
        document = json.loads(path.read_text())
        resources.append((document["$id"], Resource.from_contents(document, default_specification=DRAFT202012)))
        if path.name == "cloudevent.schema.json":
            envelope = document
    return Draft202012Validator(
        envelope, registry=Registry().with_resources(resources), format_checker=Draft202012Validator.FORMAT_CHECKER)


def test_examples_and_generated_events_pass_stock_jsonschema_with_float_numbers(cohort):
    validator = stock_validator()
    generated = subprocess.run(
        [cohort, "generate", "--customers", "500", "--orders", "3000", "--visits", "500", "--seed", "7"],
        capture_output=True, text=True, timeout=120, check=True).stdout.splitlines()
    rng = random.Random(1468)
    two_decimal = []
    for index in range(2000):
        event = json.loads(dict(examples())["crm.order.placed.json"])
        amount = [183.51, 260.39][index] if index < 2 else float(f"{rng.randint(0, 99999)}.{rng.randint(0, 99):02d}")
        event["data"]["amount"] = amount
        for item in event["data"].get("items", []):
            item["price"] = float(f"{rng.randint(0, 9999)}.{rng.randint(0, 99):02d}")
        two_decimal.append(json.dumps(event))
    lines = [line for _, line in examples()] + generated + two_decimal
    assert len(generated) > 3000
    # The floats are written back with Python's shortest repr, so Cohort sees the text a user's client would send.
    assert all(v["valid"] for v in swift_verdicts(cohort, lines))
    rejected = [(line, error.message) for line in lines for error in validator.iter_errors(json.loads(line))]
    assert not rejected, rejected[:5]
    # Amounts that a float `multipleOf: 0.0001` rejects are among them (183.51 and 260.39 were reported).
    amounts = [json.loads(line)["data"].get("amount") for line in lines]
    assert 183.51 in amounts and 260.39 in amounts
