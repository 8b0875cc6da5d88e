"""congress: a workflow engine for preparing party congresses."""
from __future__ import annotations

import os
from pathlib import Path

import orjson
from flask import Flask, current_app, has_request_context, request, session
from werkzeug.routing import IntegerConverter

from congress.config import from_environment
from congress.extensions import babel, csrf, db, limiter, login_manager, migrate
from congress.jsonio import OrjsonProvider

PROJECT_ROOT = Path(__file__).resolve().parent.parent
LOCALES = ("vi", "en")


class Int64Converter(IntegerConverter):
    """``<int:...>`` up to 2^63 - 1, the largest id a database column holds."""

    def __init__(self, map, *args, **kwargs):  # noqa: A002  (werkzeug's name)
        kwargs.setdefault("max", 2**63 - 1)
        super().__init__(map, *args, **kwargs)


def select_locale() -> str:
    """Vietnamese unless the user chose English (?lang=en, remembered in the session).

    Pages ignore the browser's Accept-Language: offices' browsers are often set to English, and
    the app speaks Vietnamese first. API clients may ask for English with Accept-Language.
    """
    if not has_request_context():  # the CLI and scheduled jobs
        return current_app.config.get("CONGRESS_LOCALE", "vi")
    chosen = request.args.get("lang") or session.get("lang")
    if chosen in LOCALES:
        return chosen
    if request.path.startswith("/api/"):
        return request.accept_languages.best_match(LOCALES) or "vi"
    return "vi"


def create_app(config: dict | None = None, mode: str | None = None) -> Flask:
    """Build the application: settings, extensions, blueprints, and a check of the workflows."""
    app = Flask(__name__, instance_path=str(PROJECT_ROOT / "instance"),
                template_folder=str(PROJECT_ROOT / "templates"))
    app.json = OrjsonProvider(app)
    app.config.update(from_environment(app.instance_path, mode or (config or {}).get("CONGRESS_MODE"), config))
    if config:
        app.config.update(config)
    # an id in a path is a 64-bit signed integer at most: a larger one names nothing (404), rather
    # than reaching a database that cannot bind it
    app.url_map.converters["int"] = Int64Converter
    # JSON columns are read through orjson (the stored readiness of every unit, on each read)
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {"json_deserializer": orjson.loads,
                                               **(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})}
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:///"):
        os.makedirs(app.instance_path, exist_ok=True)
        options = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
        options["connect_args"] = {"timeout": app.config["SQLITE_BUSY_SECONDS"],
                                   **options.get("connect_args", {})}
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options

    if app.config.get("TRUSTED_PROXIES"):
        # the client's address (and the scheme) as the trusted proxies say; without them the
        # X-Forwarded-* headers anyone can send are ignored. The Host header is nginx's own.
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)

    db.init_app(app)
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"), render_as_batch=True)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale,
                   default_translation_directories=str(PROJECT_ROOT / "translations"))
    login_manager.init_app(app)
    limiter.init_app(app)

    from congress import models  # noqa: F401  (registers the tables)
    from congress.accounts import auth
    from congress.api.views import api
    from congress.cli import register_commands
    from congress.errors import register_error_handlers
    from congress.formatting import register_filters
    from congress.health import init_app as init_health
    from congress.progress.definitions import check_definitions
    from congress.security import init_app as init_security
    from congress.web import web

    auth.init_app(app)
    app.register_blueprint(api)
    app.register_blueprint(web)
    init_health(app)
    init_security(app)
    register_error_handlers(app)
    register_filters(app)
    register_commands(app)
    check_definitions(app)
    return app
