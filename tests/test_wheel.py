"""The built wheel works without Java and without this checkout: convert, and validate R5 and R4 with Python.

The wheel is built from the working tree (``pip wheel --no-deps``; pip fetches the build backend from PyPI), unpacked
into a temporary folder and run from there (first on ``PYTHONPATH``, so the editable checkout is not imported; the
test asserts where ``fhir_adapter`` came from) with an empty ``PATH`` (no ``java``), no ``FHIR_ADAPTER_HAPI_JAR`` and
a working folder outside the repository. ``validate --engine hapi`` must then fail with the one-line message that
names the setting and the build command (``fhir_adapter.validate.hapi.require_hapi``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from conftest import REPO, SEEDS
from fhir_adapter.validate.hapi import BUILD_COMMAND, JAR_ENV

pytestmark = pytest.mark.slow  # builds a wheel (about a minute): `pytest --all` or `-m slow`


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel of this checkout, unpacked: the folder to put first on ``sys.path``."""
    dist = tmp_path_factory.mktemp("dist")
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(dist), str(REPO)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert built.returncode == 0, built.stdout + built.stderr
    (wheel,) = dist.glob("fhir_adapter-*.whl")
    site = tmp_path_factory.mktemp("site")
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(site)
    return site


def _run(site: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    empty_bin = cwd / "bin"
    empty_bin.mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items() if k not in (JAR_ENV, "PYTHONPATH", "PATH")}
    env |= {"PYTHONPATH": str(site), "PATH": str(empty_bin), "NO_COLOR": "1", "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False
    )


def test_the_package_comes_from_the_wheel(installed: Path, tmp_path: Path) -> None:
    done = _run(
        installed, tmp_path, "-c", "import fhir_adapter, shutil; print(fhir_adapter.__file__, shutil.which('java'))"
    )
    assert done.returncode == 0, done.stderr
    where, java = done.stdout.split()
    assert Path(where).is_relative_to(installed)
    assert java == "None"


def test_convert_and_validate_r5_and_r4_without_java(installed: Path, tmp_path: Path) -> None:
    seed = SEEDS[0]
    for release in ("R5", "R4"):
        out = tmp_path / release
        done = _run(
            installed, tmp_path, "-m", "fhir_adapter", "convert", str(seed), "-o", str(out), "--fhir-version", release
        )
        assert done.returncode == 0, done.stdout + done.stderr
        bundles = sorted(out.glob("NCT*.json"))
        assert len(bundles) == 1
        assert json.loads(bundles[0].read_text(encoding="utf-8"))["resourceType"] == "Bundle"
        checked = _run(
            installed,
            tmp_path,
            "-m",
            "fhir_adapter",
            "validate",
            str(bundles[0]),
            "--fhir-version",
            release,
            "--engine",
            "python",
        )
        assert checked.returncode == 0, checked.stdout + checked.stderr


def test_hapi_engine_fails_with_the_setting_and_the_build_command(installed: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    converted = _run(installed, tmp_path, "-m", "fhir_adapter", "convert", str(SEEDS[0]), "-o", str(out))
    assert converted.returncode == 0, converted.stderr
    bundle = str(next(out.glob("NCT*.json")))
    done = _run(
        installed, tmp_path, "-m", "fhir_adapter", "validate", bundle, "--fhir-version", "R4", "--engine", "hapi"
    )
    assert done.returncode != 0
    assert JAR_ENV in done.stderr and BUILD_COMMAND in " ".join(done.stderr.split()), done.stderr
    assert "Traceback" not in done.stderr
