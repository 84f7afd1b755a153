"""Reader for plain-text trial pages (a trial web page saved as text).

Two layouts are known (see ``seeds/``):

* layout A: title, ``NCT ID: NCT...``, ``Last Updated: ...``, then labelled sections ("Basic Information",
  "Recruitment Status", "Clinical Phase", ... "Other Identifiers"), most sections opening with a one-sentence
  blurb of the site ("Get a concise snapshot of the trial ...");
* layout B: title, NCT id line, "Summary", "Eligibility", "Conditions<N>" (sometimes glued to the last criterion)
  and site footer lines.

The page is cut into sections at the known labels (a line that is exactly a label): ``reader``. Each section's
handler (``fields``, ``parties``, ``arms``) takes what it understands; anything left over (an unknown label and its
text, a line a handler cannot place) goes to ``Trial.unmapped`` with a ``warning`` issue located at the label
(``page``). Site chrome is recognised and never stored: the one-sentence blurb right after a section label (a
sentence opening with a verb of the site's voice: "Get", "Review", "Dive", "See", "Understand", "Learn", "Check",
"Meet", "Identify", "Reach", "Additional clinical trials ...") and known footer lines ("Browse More Trials", "This
site does not provide medical advice ..."). Nothing is invented: a field the page does not state stays None/empty.

Coded values are checked against the ClinicalTrials.gov API v2 enums of ``mappings/ctgov-enums.json`` (through
``fhir_adapter.terminology``); ages are read with ``fhir_adapter.sources.wording``. Endpoints written in prose
become ``Outcome``s (rules in ``prose``) with verbatim measure texts.
"""

from __future__ import annotations

from fhir_adapter.sources.text_page.reader import looks_like_text_page, read_text_page

__all__ = ["looks_like_text_page", "read_text_page"]
