async def test_health_ok(client):
    r = await client.get("/v1/health")
    assert r.status_code == 200, r.text
    assert r.json() == {"status": "ok", "database": "ok", "redis": "ok"}


async def test_signup_then_me(client):
    r = await client.post(
        "/v1/auth/signup",
        json={
            "email": "Ada@Example.com",
            "password": "s3cret-pass",
            "name": "Ada",
            "team_name": "Ada Co",
        },
    )
    assert r.status_code == 201, r.text
    body = r.json()
    me = await client.get("/v1/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 200, me.text
    assert me.json()["teams"] == [
        {"id": body["team"]["id"], "name": "Ada Co", "role": "superadmin"}
    ]
    assert me.json()["email"] == "ada@example.com"
