"""python -m congress: serve the embedded default.

SQLite under instance/, migrated on start, seeded with the Hải Phòng demo the first time, the
demo accounts printed. Figures are computed as of the demo's reference date (5/8/2025) unless
CONGRESS_TODAY says otherwise ("today" for the real date). Served by waitress, a production
WSGI server in pure Python (no development server's warning), on --host/--port, or
CONGRESS_HOST/CONGRESS_PORT (default 127.0.0.1:5000).
"""
from __future__ import annotations

import argparse
import os
from datetime import date

from congress import create_app
from congress.extensions import db

DEMO_REFERENCE_DATE = date(2025, 8, 5)


def prepare(app) -> bool:
    """Migrate the database and seed the demo if it is empty; True when it seeded."""
    from flask_migrate import upgrade

    from congress.seeding.seed import seed
    from congress.units.models import Unit

    with app.app_context():
        upgrade()
        if db.session.execute(db.select(Unit.id).limit(1)).first() is not None:
            return False
        report = seed(["31"], demo=True, actor="embedded")
        from congress.seeding.rounds import seed_next_rounds

        seed_next_rounds("31", report.notes)  # the commune round closed, the Front's open
        db.session.commit()
        for note in report.notes:
            print(note)
        return True


def print_accounts(app) -> None:
    from congress.accounts.models import User
    from congress.seeding.demo import DEMO_ACCOUNTS, DEMO_PASSWORD

    with app.app_context():
        existing = set(db.session.execute(db.select(User.username)).scalars())
    print(f"Demo accounts (password for all: {DEMO_PASSWORD}):")
    for username, role, unit_code, province_code, display_name in DEMO_ACCOUNTS:
        if username in existing:
            scope = unit_code or province_code or "*"
            print(f"  {username:<20} {role:<12} {scope:<6} {display_name}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m congress", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default=os.environ.get("CONGRESS_HOST", "127.0.0.1"),
                        help="address to listen on (CONGRESS_HOST; default 127.0.0.1, 0.0.0.0 for every one)")
    parser.add_argument("--port", type=int, default=int(os.environ.get("CONGRESS_PORT", "5000")),
                        help="port to listen on (CONGRESS_PORT; default 5000)")
    args = parser.parse_args(argv)

    config = {}
    today = os.environ.get("CONGRESS_TODAY")
    if today is None:
        config["CONGRESS_TODAY"] = DEMO_REFERENCE_DATE
    elif today.lower() == "today":
        config["CONGRESS_TODAY"] = None
    app = create_app(config, mode="embedded")
    prepare(app)
    print_accounts(app)
    if app.config.get("NOTICES_SCHEDULER"):  # reminders, digests, snapshots (CONGRESS_SCHEDULER=0: off)
        from congress.notices.scheduler import start_in_background

        start_in_background(app)
    print(f"Serving on http://{args.host}:{args.port}/ (database: {app.config['SQLALCHEMY_DATABASE_URI']})")
    from waitress import serve

    serve(app, host=args.host, port=args.port, threads=8, ident="congress")


if __name__ == "__main__":
    main()
