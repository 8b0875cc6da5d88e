"""Lists and readiness use a fixed number of SQL queries, whatever the number of units."""
from contextlib import contextmanager

import pytest
import sqlalchemy as sa

from congress.extensions import db


@contextmanager
def count_queries():
    statements = []

    def before(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", before)
    try:
        yield statements
    finally:
        sa.event.remove(engine, "before_cursor_execute", before)


@pytest.mark.parametrize("path", ["/api/v1/readiness?province=31{}", "/api/v1/units?province=31{}"])
def test_query_count_does_not_grow_with_units(base_app, api_as, path):
    client = api_as("city_staff", province="31")
    client.get(path.format(""))  # warm caches (workflow definitions)
    counts = {}
    for label, suffix in (("2 units", "&kind=dac_khu"), ("45 units", "&kind=phuong"), ("114 units", "")):
        with count_queries() as statements:
            response = client.get(path.format(suffix))
        assert response.status_code == 200
        counts[label] = len(statements)
    assert len(set(counts.values())) == 1, counts
    assert counts["114 units"] <= 8, counts


def test_home_page_query_count_is_constant(base_app, make_user):
    from tests.test_web import login

    make_user("thanhuy.vanphong", "city_staff", province="31")
    client = base_app.test_client()
    login(client, "thanhuy.vanphong")
    client.get("/dashboard")
    with count_queries() as statements:
        assert client.get("/dashboard").status_code == 200
    # user, the campaigns the user may look at (the switcher, and the one shown), campaign,
    # workflows, steps, branch counts, queue, steps done and branches held by day, the nightly
    # readiness averages by day, the bell's count, the drafts' states
    assert len(statements) <= 12, statements
