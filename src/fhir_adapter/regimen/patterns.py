"""The regular expressions of the regimen reader, in one place: each is linear (no quantifier over an ambiguous
group; bounded repeats only), checked by tests/test_regex_linear.py. Vocabulary (routes, frequency words, units) is
not here: it is looked up in ``mappings/regimen-terms.json`` word by word (``regimen.text.find_phrases``)."""

from __future__ import annotations

import re

__all__ = [
    "AT_LEAST",
    "AUC",
    "COMPARED",
    "COMPONENT",
    "CONNECTIVE",
    "CYCLES",
    "CYCLE_EVERY",
    "CYCLE_LENGTH",
    "CYCLE_OF",
    "DAYS_EVERY",
    "DAYS_HEAD",
    "DAY_ITEM",
    "DAY_RANGE_HEAD",
    "DIGIT",
    "DOSE",
    "DOSES_PER",
    "EVERY",
    "EVERY_COUNT",
    "FIRST_DAY",
    "FOR_DAYS",
    "FOR_WEEKS",
    "FRACTIONS",
    "GY_TOTAL",
    "HEADING",
    "LEVELS",
    "MAX_EXPLICIT",
    "MAX_FOR",
    "NOT_A_PHASE",
    "ON_OFF",
    "PER_FRACTION",
    "PER_VOLUME",
    "PHASE_SENTENCE",
    "PHASE_WORD",
    "PHASE_WORDS",
    "Q_EVERY",
    "RANGE_AFTER",
    "RANGE_BEFORE",
    "SEQ_AFTER_RT",
    "SINGLE_FRACTION",
    "SPLIT",
    "STOP",
    "SURGERY_WORD",
    "TIMES",
    "TIMES_BEFORE",
    "TIMES_COUNT",
    "TREATMENT_REPEATS",
    "TRIAL_PHASE",
]

# "200mg", "0.8-1.0mg/kg/day", "75 mg/m^2", "15 ug/m2/day", "50,000 IU": value, range high, unit, per-what, trailing
# /day. A decimal comma ("2,5 mg") is no dose: the number after the comma is not read on its own. The pattern starts
# with a digit (what stands before it is looked at after that digit, same matches): the engine then jumps from digit
# to digit instead of trying the look-behind at every character of the text.
DOSE = re.compile(
    r"(\d(?<![\w./,]\d)(?:\d{0,2}(?:,\d{3}){1,3}(?:\.\d+)?|\d*(?:\.\d+)?))(?:\s*(?:-|to)\s*(\d+(?:\.\d+)?))?\s*"
    r"(mg|g|gm|mcg|ug|µg|μg|iu|miu|u|units|ml|gy|cgy|mbq|milligrams?|grams?|micrograms?)"
    r"(?:\s*/\s*(m\s?\^?\s?2|sqm|kg|day|d|dose|ml|min|h|hr|l|dl|week|m))?(?:\s*/\s*(day|d))?(?![\w^])",
    re.IGNORECASE,
)
DIGIT = re.compile(r"\d")
# "200mg/tenofovir ...": the dose of one component of a combination product.
COMPONENT = re.compile(r"\s?/\s?[A-Za-z]")
# "250 mg/5 mL": a concentration, not a dose.
PER_VOLUME = re.compile(r"\s?/\s?\d+(?:\.\d+)?\s?(?:ml|l|dl)\b", re.IGNORECASE)
# Dose levels of an escalation: "200, 400 or 800 mg" (the unit written once, after the last level).
LEVELS = re.compile(
    r"(?<![\w./])(\d+(?:\.\d+)?)((?:\s?,\s?\d+(?:\.\d+)?){0,8}),?\s(?:or|and)\s(\d+(?:\.\d+)?)\s?([a-zµμ/²2]{1,12})",
    re.IGNORECASE,
)
# "AUC 5", "area under the curve 2mg/m2" (the unit after an AUC is a slip of the writer: the value is the AUC).
AUC = re.compile(r"\b(?:AUC|area under the curve)\s*(?:(?:of|=|:)\s*)?(\d+(?:\.\d+)?)(?:\s*-\s*(\d+(?:\.\d+)?))?", re.I)

# "every 3 weeks", "every other day" (matched where "every" is), with "once", "twice" before it.
EVERY = re.compile(
    r"every\s+(?:(\d+|other|one|two|three|four|five|six)[\s-]+)?(hours?|days?|weeks?|months?|hrs?|h|d|wks?)\b",
    re.IGNORECASE,
)
# "once", "twice", "3 times" before "every" ("days 1-5 every 28 days": the 5 is no count).
EVERY_COUNT = re.compile(r"\b(?:(once|twice)|(\d+|one|two|three)\s+times)\s+$", re.IGNORECASE)
TIMES_BEFORE = re.compile(r"\btimes\s$", re.IGNORECASE)
# "2 doses of 300 mg per day"
DOSES_PER = re.compile(r"\b(\d|two|three|four)\s+doses\s+of\b[^,;()]{0,30}?\bper\s+(day|week)\b", re.IGNORECASE)
# A bound, not a dose: "more than 20 grams of carbohydrate", "up to 4 g", "a maximum of 300 mg", "at least 1 g".
COMPARED = re.compile(
    r"(?:\b(?:more|less|greater|fewer)\s+than|\bat\s+(?:least|most)|\bup\s+to|\b(?:maximum|minimum)(?:\s+of)?|"
    r"\bexceed(?:ing|s)?|[<>≤≥])\s?$",
    re.IGNORECASE,
)
Q_EVERY = re.compile(r"\bq\s?(\d+)\s?(h|d|w|wk)\b", re.IGNORECASE)  # "q8h", "q3w"
# "3 times a day", "two times per week" (not "3-4 times a day": a range of frequencies is not held).
TIMES = re.compile(r"times\s+(?:(?:a|per|each)\s+)?(day|week|month)", re.IGNORECASE)  # where "times" is
TIMES_COUNT = re.compile(r"(?<![\d-])\b(\d+|one|two|three|four)\s+$", re.IGNORECASE)
# A frequency that is one end of a range or of a choice: "3 - 4 times a day", "2 or 3 times", "once or twice daily",
# "daily or every other day" (a range of frequencies is not held: it stays text).
RANGE_BEFORE = re.compile(
    r"\b(?:\d+|one|two|three|four|five|six|once|twice|daily|weekly|qd|od|bid|tid)\s?(?:-|to|or|and/or)\s?$", re.I
)
RANGE_AFTER = re.compile(r"\s?(?:-|to|or|and/or)\s?", re.IGNORECASE)

DAYS_HEAD = re.compile(r"days?\s+(?=\d)", re.IGNORECASE)  # matched where "day" is (regimen.text.starts_in)
# One item of a day list: "1", "1-28", "8 to 11", "Day 1 to Day 21", after a separator when not the first.
DAY_ITEM = re.compile(r"\s*(?:(,\s*and|,|and|&)\s*)?(\d{1,3})(?:\s*(?:-|to|through)\s*(?:days?\s*)?(\d{1,3}))?\b", re.I)
FOR_DAYS = re.compile(
    r"\b(?:for|over)\s+(\d+|one|two|three|four|five|six|seven|eight|nine|ten|twelve)\s+(?:consecutive\s+)?days?\b",
    re.IGNORECASE,
)
FIRST_DAY = re.compile(r"\b(?:on\s+)?(?:the\s+)?(?:1st|first)\s+day\b", re.IGNORECASE)
FOR_WEEKS = re.compile(r"\bfor\s+(\d+|one|two|three|four|six|eight)\s+weeks?\b", re.IGNORECASE)

CYCLES = re.compile(
    r"(?<!every )(?<!each )\b(?:(up\s+to|a\s+maximum\s+of|maximum\s+of|at\s+most)\s+)?"
    r"(\d+|one|two|three|four|five|six|seven|eight|nine|ten|twelve)(?:\s*(?:-|to)\s*(\d+))?\s+(?:cycles?|courses?)\b",
    re.IGNORECASE,
)
CYCLE_LENGTH = re.compile(r"\b(\d+)[\s-]{0,3}(days?|weeks?)[\s-]{1,3}(?:treatment\s+)?(?:cycles?|courses?)\b", re.I)
CYCLE_EVERY = re.compile(
    r"\b(?:cycles?|courses?)\s+(?:(?:are|is)\s+)?(?:(?:repeated|repeat|repeats|given|administered)\s+)?every\s+(\d+)\s+"
    r"(days?|weeks?)\b",
    re.IGNORECASE,
)
TREATMENT_REPEATS = re.compile(r"\btreatment\s+(?:is\s+)?repeat(?:s|ed)?\s+every\s+(\d+)\s+(days?|weeks?)\b", re.I)
# "on days 1, 8 and 15 every 4 weeks", "on day 1 every 21 days": days of a cycle, then its length.
DAYS_EVERY = re.compile(
    r"\bdays?\s+\d[\d,\s-]{0,20}(?:and\s+\d{1,3}\s+)?(?:of\s+)?every\s+(\d+)\s+(days?|weeks?)\b", re.IGNORECASE
)
CYCLE_OF = re.compile(r"\b(?:cycles?|courses?)\s+(?:of|lasting|length\s+of)\s+(\d+)\s+(days?|weeks?)\b", re.I)
ON_OFF = re.compile(r"\b(?:for|over)\s+(\d+)\s+days?\s+followed\s+by\b[^.;\d]{0,40}?(\d+)\s+days?\b", re.I)

MAX_EXPLICIT = re.compile(
    r"\b(?:not\s+exceed|up\s+to|at\s+most|maximum\s+of|no\s+more\s+than|total\s+duration\s+of|period\s+of|"
    r"total\s+of)\s+(\d+)\s*(years?|months?|weeks?)\b",
    re.IGNORECASE,
)
# "for a duration of at least 5 years": a lower bound of one activity, longer than the phase's maximum.
AT_LEAST = re.compile(r"\b(?:at\s+least|minimum\s+of|no\s+less\s+than)\s+(\d+)\s*(years?|months?|weeks?)\b", re.I)
MAX_FOR = re.compile(r"\bfor\s+(\d+)\s*(years?|months?|weeks?)\b", re.IGNORECASE)
STOP = re.compile(r"\b(?:until|till|in\s+the\s+absence\s+of)\b[^.;]{0,300}", re.IGNORECASE)

# A phase heading: a short label ending with a colon at the start of a clause ("Induction phase (2 cycles):").
HEADING = re.compile(r"(?:^|(?<=[.:;·•\n]))[ \t]*([A-Za-z0-9][^:.;·•\n]{0,60}):")
# A sentence that opens a phase without a colon: "Adjuvant systemic chemotherapy (two cycles of ...) ...".
PHASE_SENTENCE = re.compile(
    r"(?:^|(?<=\. ))((?:adjuvant|neoadjuvant|maintenance|consolidation|induction)\b[^.;:(,]{0,40}?"
    r"\b(?:chemotherapy|therapy|treatment|phase))\b",
    re.IGNORECASE,
)
# A heading that names a trial phase, not a phase of the regimen: "Phase I:", "Phase II:", "Phase 1/2:", "Phase Ib:".
TRIAL_PHASE = re.compile(r"phase\s?(?:[iv]{1,3}|[0-4])(?:[ab])?(?:\s?/\s?(?:[iv]{1,3}|[0-4])(?:[ab])?)?", re.IGNORECASE)
PHASE_WORD = re.compile(r"\b(?:phase|stage|period|epoch|regimen)\b", re.IGNORECASE)
PHASE_WORDS = ("phase", "stage", "period", "epoch", "regimen")  # one is in lowered ASCII text PHASE_WORD matches
DAY_RANGE_HEAD = re.compile(r"\bdays?\s+\d{1,3}\s*(?:to|-|through)\s*\d{1,3}\s*:", re.IGNORECASE)
# "followed by", "and then", "After 7 days," start a new phase when what follows doses a drug again.
SPLIT = re.compile(
    r"\b(?:followed\s+by|and\s+then|after\s+(\d+|one|two|three|four|seven|fourteen)\s+(days?|weeks?)\s*,)\s*",
    re.IGNORECASE,
)
NOT_A_PHASE = re.compile(r"\b(?:off|rest|free|break|washout|pause)\b", re.IGNORECASE)

GY_TOTAL = re.compile(
    r"(?<![\w./])(\d+(?:\.\d+)?)(?:\s*-\s*(\d+(?:\.\d+)?))?\s*(c?Gy)\b(?!\s*(?:per|/|each)\s*(?:fraction|fx)\b)",
    re.IGNORECASE,
)
PER_FRACTION = re.compile(r"(?<![\w.])(\d+(?:\.\d+)?)\s*(c?Gy)\s*(?:per|/|each)\s*(?:fraction|fx)\b", re.IGNORECASE)
FRACTIONS = re.compile(r"(?<![\w.])(\d+)(?:\s*-\s*(\d+))?\s*(?:daily\s+)?(?:fractions?|fx|f)\b", re.IGNORECASE)
SINGLE_FRACTION = re.compile(r"\b(?:single|one)\s+fraction\b", re.IGNORECASE)

# "within 48 hours after the end of radiotherapy": the drug follows the end of RT, at most 48 h later.
SEQ_AFTER_RT = re.compile(
    r"\bwithin\s+(\d+)\s*(hours?|h|days?)\s+(?:after|following)\s+(?:the\s+)?(?:end|completion)\s+of\s+(?:the\s+)?"
    r"(?:radiotherapy|radiation|RT|irradiation)\b",
    re.IGNORECASE,
)
# What joins two drugs of one clause: "A 10 mg, B 20 mg", "A and B", "A plus B", "A in addition to B".
CONNECTIVE = re.compile(
    r"[,;+]|\b(?:and|plus|with|or|then|in\s+addition\s+to|in\s+combination\s+with|followed\s+by|versus|vs)\b",
    re.IGNORECASE,
)
SURGERY_WORD = re.compile(r"surg|ectomy|resection|otomy|operation", re.IGNORECASE)
