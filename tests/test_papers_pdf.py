"""PDF through LibreOffice headless: every kind converts; each conversion is isolated and timed.

Without LibreOffice these tests are skipped locally, and fail under CI=true (.ci/run installs it).
"""
from __future__ import annotations

import io
import os
import re
import stat
import zipfile
from datetime import date
from urllib.parse import unquote

import pytest

from congress.extensions import db
from congress.papers import convert, generate, report
from congress.units.models import Province, Unit

AN_PHU = "10645"


def pages(pdf: bytes) -> int:
    return len(re.findall(rb"/Type\s*/Page(?!s)", pdf))


def test_every_kind_converts_to_pdf(app, libreoffice):
    found = db.session.execute(db.select(Unit).filter_by(code=AN_PHU)).scalar_one()
    documents = {kind: generate.unit_paper(found, kind).content for kind in generate.unit_kinds()}
    documents["progress_report"] = report.docx(db.session.get(Province, "31"), date(2025, 8, 5)).content
    pdfs = convert.to_pdf_many(documents)
    assert set(pdfs) == set(documents)
    for kind, pdf in pdfs.items():
        assert pdf.startswith(b"%PDF"), kind
        assert pages(pdf) >= 1, kind
    assert pages(pdfs["subcommittee_decisions"]) >= 3  # three decisions, each on its own page


def test_one_pdf_download(app, libreoffice, api_as):
    from tests.test_papers import fresh

    staff = api_as("unit_staff", unit=AN_PHU)
    response = fresh(staff).get(f"/units/{AN_PHU}/papers/political_report.pdf?draft_no=2")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.data.startswith(b"%PDF")
    assert unquote(response.headers["Content-Disposition"]).endswith("Xã An Phú (dự thảo lần 2).pdf")
    response = fresh(staff).get(f"/units/{AN_PHU}/papers.zip?format=pdf")
    with zipfile.ZipFile(io.BytesIO(response.data)) as archive:
        names = archive.namelist()
    assert len(names) == len(generate.unit_kinds()) and all(n.endswith(".pdf") for n in names)


def fake_soffice(tmp_path, body: str) -> str:
    path = tmp_path / "soffice"
    path.write_text("#!/bin/sh\n" + body + "\n")
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return str(path)


def test_a_conversion_that_hangs_is_killed(make_app, tmp_path):
    app = make_app("empty", PAPERS_SOFFICE=fake_soffice(tmp_path, "sleep 30"), PAPERS_PDF_TIMEOUT=1)
    with app.app_context():
        with pytest.raises(convert.ConversionError) as error:
            convert.to_pdf(b"PK")
        assert error.value.code == "conversion_timeout"


def test_each_conversion_has_its_own_profile(make_app, tmp_path):
    log = tmp_path / "calls"
    script = fake_soffice(tmp_path, f'echo "$@" >> {log}; exit 1')
    app = make_app("empty", PAPERS_SOFFICE=script)
    with app.app_context():
        for _ in range(2):
            with pytest.raises(convert.ConversionError) as error:
                convert.to_pdf(b"PK")
            assert error.value.code == "conversion_failed"
    calls = log.read_text().splitlines()
    profiles = [next(a for a in call.split() if a.startswith("-env:UserInstallation=file:///")) for call in calls]
    assert len(set(profiles)) == 2
    assert all("--headless" in call and "--outdir" in call for call in calls)
    assert not any(os.path.exists(p.split("file://", 1)[1]) for p in profiles)  # cleaned up


def test_without_libreoffice_the_pdf_is_refused_clearly(make_app, api_as, monkeypatch):
    app = make_app("demo", PAPERS_SOFFICE=None)
    with app.app_context():
        monkeypatch.setattr(convert.shutil, "which", lambda name: None)
        response = api_as("unit_staff", unit=AN_PHU).get(f"/units/{AN_PHU}/papers/congress_plan.pdf",
                                                         headers={"Accept": "application/json"})
        assert response.status_code == 503
        assert response.json["error"] == "libreoffice_missing"
        assert "LibreOffice" in response.json["message"]
