"""Start-up of ``fhir-adapter convert`` (issue 14, item 6): what a conversion of one file loads depends on what it
does. ``--no-validate`` loads no validator (neither ``fhir_adapter.validate`` nor its FHIRPath engine), and one
worker loads no worker pool. bench/bench_startup.py measures the times; this checks the imports only."""

from __future__ import annotations

from pathlib import Path

from helpers import modules_after

DATA = Path(__file__).parent / "data"


def _loaded(modules: list[str], *names: str) -> list[str]:
    return [m for m in modules if any(m == n or m.startswith(n + ".") for n in names)]


def test_convert_without_validation_loads_no_validator_and_no_pool(tmp_path: Path) -> None:
    source = DATA / "ctgov-v2" / "NCT00763412.json"
    code, modules, _ = modules_after(
        "convert", str(source), "-o", str(tmp_path / "out"), "-q", "-j", "1", "--no-validate"
    )
    assert code == 0 and (tmp_path / "out" / "NCT00763412.json").is_file()
    assert _loaded(modules, "fhir_adapter.validate", "fhirpathpy", "fhir.resources", "fhir_adapter.pipeline.pool") == []


def test_convert_with_validation_loads_the_validator(tmp_path: Path) -> None:
    source = DATA / "ctgov-v2" / "NCT00763412.json"
    code, modules, _ = modules_after("convert", str(source), "-o", str(tmp_path / "out"), "-q", "-j", "1")
    assert code == 0 and "fhir_adapter.validate" in modules


def test_convert_coerces_its_options_without_pydantic(tmp_path: Path) -> None:
    """typer would build a pydantic TypeAdapter per option (fhir_adapter.cli.coerce: ~200 ms of a one-file run)."""
    source = DATA / "ctgov-v2" / "NCT00763412.json"
    args = ("convert", str(source), "-o", str(tmp_path / "out"), "-q", "-j", "1", "--record-timeout", "20")
    code, modules, _ = modules_after(
        *args, "--limit", "max-zip-ratio=50", "--fhir-version", "R5", "--bundle", "transaction"
    )
    assert code == 0 and _loaded(modules, "pydantic", "typer._adapters") == []


def test_converting_v2_json_to_r5_loads_no_other_reader_and_no_r4_mapper(tmp_path: Path) -> None:
    source = DATA / "ctgov-v2" / "NCT00763412.json"
    code, modules, _ = modules_after("convert", str(source), "-o", str(tmp_path / "out"), "-q", "-j", "1")
    assert code == 0 and (tmp_path / "out" / "NCT00763412.json").is_file()
    assert "fhir_adapter.sources.ctgov_json" in modules
    other_readers = (
        "fhir_adapter.sources.ctgov_xml",
        "fhir_adapter.sources.ctgov_v1",
        "fhir_adapter.sources.text_page",
    )
    assert _loaded(modules, *other_readers, "lxml") == []
    assert _loaded(modules, "fhir_adapter.fhir.r4", "fhir_adapter.fhir.read_bundle") == []


def test_one_file_with_the_default_workers_is_converted_without_a_pool(tmp_path: Path) -> None:
    """One unit: forking workers and warming each up would cost more than the unit (pipeline.iter_outcomes)."""
    source = DATA / "ctgov-v2" / "NCT00763412.json"
    code, modules, _ = modules_after("convert", str(source), "-o", str(tmp_path / "out"), "-q", "--no-validate")
    assert code == 0 and (tmp_path / "out" / "NCT00763412.json").is_file()
    assert _loaded(modules, "fhir_adapter.pipeline.pool", "concurrent.futures.process") == []


def test_converting_xml_to_r4_loads_the_xml_reader_and_the_r4_mappers(tmp_path: Path) -> None:
    source = DATA / "ctgov-xml" / "NCT00023673.xml"
    code, modules, _ = modules_after(
        "convert", str(source), "-o", str(tmp_path / "out"), "-q", "-j", "1", "--no-validate", "--fhir-version", "R4"
    )
    assert code == 0 and (tmp_path / "out" / "NCT00023673.json").is_file()
    assert "fhir_adapter.sources.ctgov_xml" in modules and "fhir_adapter.fhir.r4.convert" in modules
    assert _loaded(modules, "fhir_adapter.sources.ctgov_v1", "fhir_adapter.sources.text_page") == []


def test_the_version_is_the_one_importlib_metadata_reads_and_costs_no_import_of_it() -> None:
    """A Provenance names the version: fhir_adapter reads the dist-info's METADATA itself (importlib.metadata and
    its email parser cost ~30 ms of a run)."""
    import importlib.metadata

    import fhir_adapter

    assert fhir_adapter._metadata_version() == importlib.metadata.version("fhir-adapter")
    code, modules, out = modules_after("--version")
    assert code in (0, None) and out.strip() == f"fhir-adapter {importlib.metadata.version('fhir-adapter')}"
    assert _loaded(modules, "importlib.metadata", "email") == []
