"""Schema-driven fuzzing of a real `bentoml serve` from its own OpenAPI document (schemathesis).

Every generated request, valid or not, must get an answer that is not a 5xx and that conforms to
the published document (status codes, content types, response schemas).
"""

import shutil
import subprocess
import sys

import pytest

from tests.serving.test_service import real_server

CHECKS = ",".join(
    [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_schema_conformance",
    ]
)


@pytest.mark.slow
def test_fuzzing_from_the_openapi_document_finds_no_5xx_and_no_mismatch(trained_models, tmp_path):
    exe = shutil.which("schemathesis") or [sys.executable, "-m", "schemathesis.cli"]
    with real_server() as url:
        out = subprocess.run(
            [
                *([exe] if isinstance(exe, str) else exe),
                "run",
                f"{url}/docs.json",
                "--checks",
                CHECKS,
                "--max-examples",
                "30",
                "--generation-deterministic",
                "--report-dir",
                str(tmp_path),
            ],
            capture_output=True,
            text=True,
            timeout=900,
        )
    assert out.returncode == 0, out.stdout[-6000:] + out.stderr[-2000:]
