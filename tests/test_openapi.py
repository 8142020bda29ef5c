"""openapi/openapi.json is committed and must describe what the app serves."""

import json
from pathlib import Path

from app.cli import openapi_schema

COMMITTED = Path(__file__).resolve().parent.parent / "openapi" / "openapi.json"


def test_committed_openapi_matches_the_app():
    assert COMMITTED.exists(), "run `hourline openapi`"
    committed = json.loads(COMMITTED.read_text())
    assert committed == openapi_schema(), "openapi/openapi.json is stale: run `hourline openapi`"


def test_every_path_is_versioned():
    schema = openapi_schema()
    assert all(path.startswith("/v1/") for path in schema["paths"])
