"""The hostile-input suite (issue 8): generated hostile inputs run through the real ``fhir-adapter convert``.

``cases.py`` generates the cases (each: files to create, CLI arguments, what must happen to each record);
``runner.py`` runs one case as a subprocess in a sandbox with a time limit and a memory watchdog and checks it;
``test_hostile.py`` parametrises pytest over the cases; ``python -m tests.hostile.report`` runs them all and prints
the per-category table. Nothing here is a committed blob: every input is made from the real records in
``tests/data`` and ``seeds`` at test time.
"""
