"""The API docs work with the network cut off: /docs and /redoc reference only assets
this server serves, and Swagger UI keeps a pasted token."""

import re

import pytest


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
async def test_the_docs_load_nothing_from_elsewhere(client, page):
    r = await client.get(page)
    assert r.status_code == 200, r.text
    assets = re.findall(r'(?:src|href)="([^"]+)"', r.text)
    assert assets, r.text
    for asset in assets:
        assert asset.startswith("/"), f"{page} loads {asset} from elsewhere"
        served = await client.get(asset)
        assert served.status_code == 200, asset
        assert len(served.content) > 100, asset
    assert "fonts.googleapis" not in r.text and "cdn.jsdelivr" not in r.text


async def test_swagger_ui_keeps_the_token_and_knows_the_schemes(client):
    html = (await client.get("/docs")).text
    assert '"persistAuthorization": true' in html
    spec = (await client.get("/openapi.json")).json()
    assert {"accessToken", "apiKey", "portalToken"} <= set(spec["components"]["securitySchemes"])
