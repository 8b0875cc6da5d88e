"""Readiness as recorded every night on the dashboard's charts and on the unit page, beside the
figures reconstructed from the history of changes."""
from __future__ import annotations

import re
from datetime import date, datetime

import pytest
import sqlalchemy as sa

from congress.extensions import db
from congress.notices import jobs
from congress.notices.models import ReadinessSnapshot
from congress.progress import queries
from congress.units.models import Unit
from tests.test_queries import count_queries
from tests.test_web import login
from workflows.deadlines import LOCAL_TZ
from workflows.readiness import projected_finish_from_history

TU_MINH = "10891"
ROW = re.compile(r'<tr><th scope="row">(\d+)/(\d+)/(\d+)</th><td>([^<]*)</td><td>(\d+)%</td></tr>')


def _campaign_id(unit) -> int:
    from congress.progress.models import Preparation

    return db.session.execute(db.select(Preparation.campaign_id).filter_by(unit_id=unit.id)).scalar_one()


def signed_in(app, username):
    client = app.test_client()
    assert login(client, username).status_code == 302, username
    return client


@pytest.fixture
def city(no_nights):
    return signed_in(no_nights, "thanhuy.vanphong")


def html_of(client, path="/dashboard") -> str:
    response = client.get(path)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def readiness_table(html: str) -> list[tuple[date, str, int]]:
    table = re.search(r'<caption>Mức độ sẵn sàng theo ngày.*?</table>', html, re.S).group(0)
    return [(date(int(y), int(m), int(d)), recorded, int(derived)) for d, m, y, recorded, derived in ROW.findall(table)]


def record_nights(*days: date) -> None:
    for day in days:
        jobs.record_readiness(datetime(day.year, day.month, day.day, 23, 45, tzinfo=LOCAL_TZ))


def expected_averages() -> dict[date, int]:
    """The mean recorded percent of the province's units per night, computed here row by row."""
    found: dict[date, list[int]] = {}
    for snapshot, province in db.session.execute(
            sa.select(ReadinessSnapshot, Unit.province_code).join(Unit, Unit.id == ReadinessSnapshot.unit_id)):
        if province == "31":
            found.setdefault(snapshot.day, []).append(snapshot.percent)
    return {day: round(sum(values) / len(values)) for day, values in found.items()}


def test_without_snapshots_the_chart_is_the_history_of_changes(city):
    html = html_of(city)
    assert '<title id="readiness-chart-title">Mức độ sẵn sàng theo thời gian</title>' in html
    assert "Chưa có đêm nào được ghi nhận mức độ sẵn sàng" in html
    assert 'class="line line-derived"' in html and "line-recorded" not in html
    assert "swatch-recorded" not in html
    rows = readiness_table(html)
    assert rows[0][0] == date(2025, 7, 1) and rows[-1][0] == date(2025, 8, 5)
    assert all(recorded == "—" for _, recorded, _ in rows)
    # the share of tasks done follows the tasks-completed chart of the same history
    overview = queries.province_overview({"31"})
    done = sum(n for _, n in queries.unit_steps_done_by_day({"31"}))
    assert rows[-1][2] == round(100 * done / overview.readiness.tasks.assigned)


def test_recorded_nights_draw_the_real_trajectory_and_carry_a_missed_night(city):
    # nights of 1, 2 and 4 August recorded; the night of 3 August missed
    record_nights(date(2025, 8, 1), date(2025, 8, 2), date(2025, 8, 4))
    html = html_of(city)
    assert 'class="line line-recorded"' in html and 'class="line line-derived"' in html
    assert "mức độ sẵn sàng bình quân ghi nhận mỗi đêm" in html and "swatch-recorded" in html
    averages = expected_averages()
    assert set(averages) == {date(2025, 8, 1), date(2025, 8, 2), date(2025, 8, 4)}
    assert f"ghi nhận mỗi đêm từ ngày 1/8: {averages[date(2025, 8, 4)]}% vào ngày 5/8" in html
    rows = {day: recorded for day, recorded, _ in readiness_table(html)}
    assert rows[date(2025, 7, 31)] == "—"
    assert rows[date(2025, 8, 1)] == f"{averages[date(2025, 8, 1)]}%"
    assert rows[date(2025, 8, 2)] == f"{averages[date(2025, 8, 2)]}%"
    assert rows[date(2025, 8, 3)] == f"{averages[date(2025, 8, 2)]}% (không ghi nhận, lấy theo đêm trước)"
    assert rows[date(2025, 8, 4)] == f"{averages[date(2025, 8, 4)]}%"
    # the recorded line starts on the first night: four points (1–4 Aug) and the carried 5 Aug
    points = re.search(r'<polyline class="line line-recorded" points="([^"]+)"', html).group(1).split()
    assert len(points) == 5


def test_query_count_is_the_same_with_or_without_snapshots(city):
    html_of(city)
    with count_queries() as without:
        html_of(city)
    record_nights(date(2025, 8, 1), date(2025, 8, 2), date(2025, 8, 4))
    counts = {}
    for label, path in (("2 units", "/dashboard?kind=dac_khu"), ("all units", "/dashboard")):
        with count_queries() as statements:
            html_of(city, path)
        counts[label] = len(statements)
    assert set(counts.values()) == {len(without)}, (counts, len(without))


def test_english_labels(city):
    record_nights(date(2025, 8, 4))
    city.get("/lang/en")
    html = html_of(city)
    assert "Readiness over time" in html and "average readiness recorded each night" in html
    assert "tasks done, share of those assigned (from the history of changes)" in html


# --- the unit page's projected finish -------------------------------------------------------------

def test_unit_page_shows_the_recorded_pace_beside_the_estimate(no_nights):
    app = no_nights
    staff = signed_in(app, "tuminh.vanphong")
    assert 'id="projected-finish"' not in html_of(staff, f"/units/{TU_MINH}")
    unit = db.session.execute(db.select(Unit).filter_by(code=TU_MINH)).scalar_one()
    # two nights with progress between them: the pace is 5 points a day
    for day, percent in ((date(2025, 8, 1), 40), (date(2025, 8, 5), 60)):
        db.session.add(ReadinessSnapshot(
            campaign_id=_campaign_id(unit), unit_id=unit.id, day=day, percent=percent, steps_done=1, steps_total=2,
                                         overdue=0, branches_held=0, branches_total=0, risk="on_track",
                                         recorded_at=datetime(2025, 8, 5, tzinfo=LOCAL_TZ)))
    db.session.commit()
    expected = projected_finish_from_history([(date(2025, 8, 1), 40), (date(2025, 8, 5), 60)])
    assert expected == date(2025, 8, 13)
    html = html_of(staff, f"/units/{TU_MINH}")
    block = re.search(r'<dl class="projections" id="projected-finish">.*?</dl>', html, re.S).group(0)
    assert "Ngày hoàn thành nếu giữ tốc độ làm việc gần đây" in block and "13/8/2025" in block
    assert "Dự kiến hoàn thành theo các bước đã làm" in block


def test_unit_page_without_progress_says_it_cannot_project(no_nights):
    app = no_nights
    unit = db.session.execute(db.select(Unit).filter_by(code=TU_MINH)).scalar_one()
    db.session.add(ReadinessSnapshot(
            campaign_id=_campaign_id(unit), unit_id=unit.id, day=date(2025, 8, 4), percent=30, steps_done=1,
                                     steps_total=2, overdue=0, branches_held=0, branches_total=0, risk="late",
                                     recorded_at=datetime(2025, 8, 4, tzinfo=LOCAL_TZ)))
    db.session.commit()
    html = html_of(signed_in(app, "tuminh.vanphong"), f"/units/{TU_MINH}")
    assert "chưa dự kiến được: còn ít đêm ghi nhận" in html


def test_unit_page_reads_the_history_in_one_query(no_nights):
    app = no_nights
    record_nights(date(2025, 8, 1), date(2025, 8, 4))
    staff = signed_in(app, "tuminh.vanphong")
    with count_queries() as statements:
        html_of(staff, f"/units/{TU_MINH}")
    assert sum(1 for s in statements if "readiness_snapshots" in s) == 1
