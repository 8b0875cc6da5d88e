"""Response headers that tell browsers what this site may do: no inline script or style, no
framing, no sniffing of content types, no referrer leaving the site; HTTPS only in production;
no page or JSON answer kept in a cache.

Every asset is served by the app itself, so the policy names only 'self' (and data: images,
which the browser's own form controls use)."""
from __future__ import annotations

from flask import Flask, Response, request

CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])

HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
}

#: pages and JSON answers: a shared office computer keeps no copy a later user could bring back
#: with Back after sign-out. Static files (no personal data) keep their own caching; a response that
#: chose its own Cache-Control (the calendar feed) keeps it.
NO_STORE = "no-store"

#: one year, the value browsers' preload lists ask for; sent only where cookies are Secure (production)
STRICT_TRANSPORT_SECURITY = "max-age=31536000; includeSubDomains"


def init_app(app: Flask) -> None:
    @app.after_request
    def _security_headers(response: Response) -> Response:
        for name, value in HEADERS.items():
            response.headers.setdefault(name, value)
        if request.endpoint != "static":
            response.headers.setdefault("Cache-Control", NO_STORE)
        if app.config.get("SESSION_COOKIE_SECURE"):
            response.headers.setdefault("Strict-Transport-Security", STRICT_TRANSPORT_SECURITY)
        return response
