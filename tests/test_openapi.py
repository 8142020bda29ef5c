"""openapi/openapi.json is committed and must describe what the app serves."""

import json
import re
from pathlib import Path

from app.cli import openapi_schema
from app.core.errors import PROBLEM_JSON

COMMITTED = Path(__file__).resolve().parent.parent / "openapi" / "openapi.json"


def test_committed_openapi_matches_the_app():
    assert COMMITTED.exists(), "run `hourline openapi`"
    committed = json.loads(COMMITTED.read_text())
    assert committed == openapi_schema(), "openapi/openapi.json is stale: run `hourline openapi`"


# Pages (HTML) live outside the versioned API: the hosted pay page.
PAGES = ("/pay/",)


def test_every_path_is_versioned():
    schema = openapi_schema()
    assert all(path.startswith(("/v1/", *PAGES)) for path in schema["paths"])


def _operations(schema):
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            yield path, method, operation


def test_operation_ids_are_unique_and_readable():
    """Generated clients name their functions after these: `clients_list`, not FastAPI's
    `list_clients_v1_teams__team_id__clients_get`."""
    ids = [op["operationId"] for _, _, op in _operations(openapi_schema())]
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
    for path, method, op in _operations(openapi_schema()):
        (tag,) = op["tags"]
        assert re.fullmatch(rf"{tag}(_[a-z]+)+", op["operationId"]), (method, path)
        assert len(op["operationId"]) <= 40, op["operationId"]
    assert {"clients_list", "invoices_finalize", "time_create_entry", "auth_signup"} <= set(ids)


def test_every_operation_has_one_declared_and_described_tag():
    schema = openapi_schema()
    declared = [tag["name"] for tag in schema["tags"]]
    assert len(declared) == len(set(declared))
    assert all(tag.get("description") for tag in schema["tags"])
    used = set()
    for path, method, op in _operations(schema):
        assert len(op["tags"]) == 1, (method, path, op["tags"])
        assert op["tags"][0] in declared, (method, path, op["tags"])
        used.add(op["tags"][0])
    assert used == set(declared), "a declared tag no operation uses"


# Health answers its own JSON shape for 503 (monitors read it), not a problem.
NOT_PROBLEMS = {("/v1/health", "get", "503")}


def test_errors_are_declared_as_problem_json():
    schema = openapi_schema()
    assert "Problem" in schema["components"]["schemas"]
    problem = {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}
    for path, method, op in _operations(schema):
        responses = op["responses"]
        # Every operation may fail unexpectedly, or lose its database.
        assert {"400", "404", "422", "500", "503"} <= responses.keys(), (method, path)
        for status, response in responses.items():
            if int(status) >= 400 and path.startswith(PAGES):
                # A page's own errors are pages; the rest (as any route's) problem+json.
                assert response["content"][PROBLEM_JSON] == problem[PROBLEM_JSON], (path, status)
                assert set(response["content"]) <= {PROBLEM_JSON, "text/html"}
            elif int(status) >= 400 and (path, method, status) not in NOT_PROBLEMS:
                assert response["content"] == problem, (method, path, status)
            assert response.get("description"), (method, path, status)


def test_bearer_and_api_key_security_schemes():
    schema = openapi_schema()
    schemes = schema["components"]["securitySchemes"]
    assert schemes["accessToken"] == {**schemes["accessToken"], "type": "http", "scheme": "bearer"}
    assert schemes["apiKey"] == {**schemes["apiKey"], "type": "http", "scheme": "bearer"}
    assert schemes["portalToken"] == {**schemes["portalToken"], "type": "http", "scheme": "bearer"}
    either = [{"accessToken": []}, {"apiKey": []}]
    public_portal = ("/v1/portal/login-links", "/v1/portal/sessions")
    for path, method, op in _operations(schema):
        if path.startswith("/v1/teams/") or path in ("/v1/me", "/v1/auth/logout"):
            assert op["security"] == either, (method, path)
        elif path.startswith("/v1/portal/") and path not in public_portal:
            # The portal takes its own token only (tests/test_portal_auth.py).
            assert op["security"] == [{"portalToken": []}], (method, path)
        else:
            assert "security" not in op, (method, path)
