def test_unit_detail_and_transition(base_app, api_as):
    client = api_as("unit_staff", unit="10891")
    r = client.get("/api/v1/units/10891")
    assert r.status_code == 200, r.json
    body = r.json
    assert body["name"] == "Phường Tứ Minh"
    plan = next(s for s in body["steps"] if s["key"] == "plan")
    r = client.post("/api/v1/units/10891/steps/plan/transitions",
                    json={"action": "complete", "version": plan["version"], "on": "2025-07-10"})
    assert r.status_code == 200, r.json
    assert r.json["state"] == "done"
