"""What the package ships besides code (issue 12 item 14): the license file pyproject.toml names, and a changelog."""

from __future__ import annotations

import hashlib
import re
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# MD5 of the Apache License 2.0 text as apache.org publishes it (www.apache.org/licenses/LICENSE-2.0.txt), the
# same bytes as the LICENSE files of sniffio, trio, outcome, jsonpath-ng and s3transfer.
APACHE_2_0_MD5 = "3b83ef96387f14655fc854ddc3c6bd57"


def test_license_file_is_the_apache_2_0_text_pyproject_names() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["license"] == "Apache-2.0"
    text = (REPO / "LICENSE").read_bytes()
    assert hashlib.md5(text).hexdigest() == APACHE_2_0_MD5  # unmodified: every word of the standard text
    assert b"Apache License\n                           Version 2.0, January 2004" in text


def test_changelog_keeps_a_changelog_and_names_the_version() -> None:
    text = (REPO / "CHANGELOG.md").read_text(encoding="utf-8")
    version = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]
    headings = re.findall(r"^## (.+)$", text, re.MULTILINE)
    assert headings[0] == "Unreleased" and any(h.startswith(f"{version} - ") for h in headings)
    assert "keepachangelog.com" in text
    for section in re.findall(r"^### (.+)$", text, re.MULTILINE):
        assert section in {"Added", "Changed", "Deprecated", "Removed", "Fixed", "Security"}
