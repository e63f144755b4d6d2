"""Shared fixtures: the cohort binary under test and the schema registry."""
import json
import os
import pathlib
import subprocess
from decimal import Decimal

import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

ROOT = pathlib.Path(__file__).resolve().parents[2]
SCHEMAS = ROOT / "schemas"


def cohort_binary() -> str:
    path = os.environ.get("COHORT_BINARY") or str(ROOT / ".build" / "debug" / "cohort")
    if not pathlib.Path(path).exists():
        pytest.fail(f"cohort binary not found at {path}; run `swift build` or set COHORT_BINARY")
    return path


def load_json(text: str):
    # Decimals keep money exact, so that multipleOf 0.0001 is checked exactly, as the Swift side does.
    return json.loads(text, parse_float=Decimal)


@pytest.fixture(scope="session")
def cohort() -> str:
    return cohort_binary()


@pytest.fixture(scope="session")
def envelope_validator() -> Draft202012Validator:
    resources = []
    envelope = None
    for path in sorted(SCHEMAS.glob("*.schema.json")):
        document = load_json(path.read_text())
        Draft202012Validator.check_schema(document)
        resources.append((document["$id"], Resource.from_contents(document, default_specification=DRAFT202012)))
        if path.name == "cloudevent.schema.json":
            envelope = document
    assert envelope is not None, "schemas/cloudevent.schema.json is missing"
    registry = Registry().with_resources(resources)
    return Draft202012Validator(envelope, registry=registry, format_checker=Draft202012Validator.FORMAT_CHECKER)


def swift_verdicts(cohort: str, lines: list[str]) -> list[dict]:
    """Runs `cohort validate` over the lines and returns one verdict per line."""
    result = subprocess.run(
        [cohort, "validate"], input="\n".join(lines) + "\n", capture_output=True, text=True, timeout=300
    )
    assert result.returncode in (0, 1), result.stderr
    verdicts = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(verdicts) == len(lines), result.stderr
    return verdicts
