"""Security headers on every response, and templates that keep to the Content-Security-Policy
(no inline script, no style attributes, no event-handler attributes)."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.test_web import login

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
INLINE = {
    "inline script": re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I),
    "style element": re.compile(r"<style\b", re.I),
    "style attribute": re.compile(r"\sstyle\s*=", re.I),
    "event handler attribute": re.compile(r"\son[a-z]+\s*=\s*[\"']", re.I),
    "javascript: URL": re.compile(r"javascript:", re.I),
}


def test_pages_and_api_carry_the_headers(app):
    client = app.test_client()
    for path in ("/login", "/api/v1/units", "/static/congress.css"):
        response = client.get(path)
        response.close()
        policy = response.headers["Content-Security-Policy"]
        assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy
        assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["X-Frame-Options"] == "DENY"
        assert response.headers["Referrer-Policy"] == "same-origin"
        assert "Strict-Transport-Security" not in response.headers  # plain http in tests


def test_https_only_where_cookies_are_secure(make_app):
    secure = make_app("empty", SESSION_COOKIE_SECURE=True)
    with secure.app_context():
        assert secure.test_client().get("/login").headers["Strict-Transport-Security"].startswith("max-age=")


@pytest.mark.parametrize("path", sorted(str(p.relative_to(TEMPLATES)) for p in TEMPLATES.rglob("*.html")))
def test_templates_keep_to_the_policy(path):
    source = (TEMPLATES / path).read_text(encoding="utf-8")
    found = [f"{name}: {m.group(0)!r}" for name, pattern in INLINE.items() for m in pattern.finditer(source)]
    assert found == []


def test_rendered_pages_keep_to_the_policy(app):
    client = app.test_client()
    assert login(client, "thanhuy.vanphong").status_code == 302
    for path in ("/dashboard", "/units/11311", "/units/11311/branches", "/units/11311/history",
                 "/units/11311/documents", "/provinces/31/papers"):
        html = client.get(path).get_data(as_text=True)
        for name, pattern in INLINE.items():
            assert not pattern.search(html), (path, name)


def test_pages_and_json_are_never_stored_static_files_may_be(app):
    """A shared office computer: after sign-out, Back must not show the unit's page from the cache."""
    client = app.test_client()
    for path in ("/login", "/api/v1/units", "/nowhere"):
        assert client.get(path).headers["Cache-Control"] == "no-store", path
    assert login(client, "thanhuy.vanphong").headers["Cache-Control"] == "no-store"  # the redirect too
    for path in ("/units/11311", "/dashboard", "/api/v1/units/11311", "/api/v1/notifications"):
        response = client.get(path)
        assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store", path
    static = client.get("/static/congress.css")
    static.close()
    assert "no-store" not in static.headers.get("Cache-Control", "")
