"""``python -m fhir_adapter`` runs the command line, like the ``fhir-adapter`` script."""

from fhir_adapter.cli import main

main()
