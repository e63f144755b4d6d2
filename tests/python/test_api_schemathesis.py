"""The HTTP API against its own OpenAPI description: schemathesis generates requests from /openapi.yaml
(examples, boundary values, fuzzing, stateful sequences) and checks every response with a valid key."""
import shutil
import subprocess
import sys
import tempfile

import pytest

CHECKS = ",".join([
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
    "response_headers_conformance",
])


@pytest.fixture()
def node(cohort):
    data = tempfile.mkdtemp(prefix="cohort-st-")
    try:
        subprocess.run([cohort, "generate", "--data", data, "--customers", "200", "--orders", "400",
                        "--visits", "400", "--into-log"], check=True, capture_output=True, timeout=120)
        key = subprocess.run([cohort, "keys", "create", "--data", data, "--scope", "admin"], check=True,
                             capture_output=True, text=True, timeout=60).stdout.strip()
        server = subprocess.Popen([cohort, "serve", "--data", data, "--http", "127.0.0.1:0"],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = server.stdout.readline().strip()
        assert line.startswith("listening on "), server.stderr.read()
        yield line.removeprefix("listening on "), key
        server.terminate()
        assert server.wait(timeout=30) == 0
    finally:
        shutil.rmtree(data, ignore_errors=True)


def test_every_response_conforms_to_openapi(node):
    base, key = node
    result = subprocess.run(
        [sys.executable, "-m", "schemathesis.cli", "run", f"{base}/openapi.yaml", "--url", base,
         "-H", f"Authorization: Bearer {key}", "--checks", CHECKS, "--max-examples", "25", "--seed", "7"],
        capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert "generated" in result.stdout and "passed" in result.stdout
