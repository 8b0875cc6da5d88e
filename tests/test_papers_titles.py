"""The documents pages in the reader's language and names that tell downloads apart: the province's
documents page lists English titles in English, the province ZIP page is titled with the province's
name, and a unit's Word and PDF ZIPs have different file names."""
from __future__ import annotations

from congress.extensions import db
from congress.papers import bundles
from congress.units.models import Unit
from tests.test_transfers import signed_in


def test_the_province_documents_page_speaks_english_in_english(app):
    client = signed_in(app, "thanhuy.vanphong")
    client.get("/lang/en?next=/")
    html = client.get("/provinces/31/papers").get_data(as_text=True)
    assert "Political report" in html and "Báo cáo chính trị" not in html
    client.get("/lang/vi?next=/")
    assert "Báo cáo chính trị" in client.get("/provinces/31/papers").get_data(as_text=True)


def test_the_province_zip_page_is_titled_with_the_province_name(app, monkeypatch):
    monkeypatch.setattr(bundles, "start", lambda app, job_id: None)
    client = signed_in(app, "thanhuy.vanphong")
    response = client.post("/provinces/31/papers/jobs", data={"kind": "congress_plan", "format": "docx"})
    assert response.status_code == 302
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "· Thành phố Hải Phòng</h1>" in html and "· 31</h1>" not in html


def test_a_units_word_and_pdf_zips_have_different_names(app):
    unit = db.session.execute(db.select(Unit).filter_by(code="10891")).scalar_one()
    word, pdf = bundles.unit_zip_name(unit, "docx"), bundles.unit_zip_name(unit, "pdf")
    assert word != pdf and "Word" in word and "PDF" in pdf
