"""The quarterly report of the demo data (issue 16): its first page opens with the Plan 96 indicators,
trusted addresses first, with no "x" among them, then the protected tables of persons.

Counted over the demo's three provinces only (not the country: a national release is for the tests marked
``national``). With SAVE_SCREENS=1 and pdftoppm, page 1 is saved as docs/stats-report-page1.png.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import unicodedata
from pathlib import Path

from pypdf import PdfReader

from casework.extensions import db
from casework.stats import service

ROOT = Path(__file__).resolve().parents[2]


def test_demo_report_opens_with_the_plan_96_indicators_without_x(app, demo_geography):
    from casework.demo import load_demo

    load_demo(cases=60, echo=lambda _m: None)
    db.session.commit()
    period = service.previous_quarters()[0]
    row = service.make_release(period, None)
    db.session.commit()
    pdf = service.download(row, "pdf").content
    first = unicodedata.normalize("NFC", PdfReader(io.BytesIO(pdf)).pages[0].extract_text())
    assert "Các chỉ tiêu của Kế hoạch 96" in first
    indicators = first[first.index("Các chỉ tiêu của Kế hoạch 96"):]
    order = ["Số địa chỉ tin cậy được xây dựng mới", "Số địa chỉ tin cậy được củng cố",
             "Số địa chỉ tin cậy đang hoạt động", "Số người phụ trách địa chỉ tin cậy được tập huấn",
             "Số gói hỗ trợ địa chỉ tin cậy"]
    positions = [indicators.index(t) for t in order]
    assert positions == sorted(positions)
    # The trusted-address indicators carry no x: they count addresses, not women.
    address_part = indicators[:indicators.index("Số gói hỗ trợ địa chỉ tin cậy") + 80]
    assert not re.search(r"(?<!\w)x(?!\w)", address_part), address_part

    for word in ("integer programming", "HiGHS", "p = ", "sdc-suppression"):
        assert word not in first
    pdftoppm = shutil.which("pdftoppm")
    if os.environ.get("SAVE_SCREENS") == "1" and pdftoppm:
        target = ROOT / "docs" / "stats-report-page1"
        pdf_path = target.with_suffix(".pdf")
        pdf_path.write_bytes(pdf)
        command = [pdftoppm, "-png", "-r", "80", "-f", "1", "-l", "1", "-singlefile", str(pdf_path), str(target)]
        subprocess.run(command, check=True)  # noqa: S603  (fixed arguments, our own file)
        pdf_path.unlink()
