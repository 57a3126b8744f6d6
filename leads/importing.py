"""CSV import: read a messy file, map its columns to lead fields, and write its rows in
chunks with the same rules as `lead_upsert`.

Real exports arrive with a BOM, semicolons or tabs, "N/A" in half the cells, "1,200"
employees and a column nobody asked for. Reading guesses the format, mapping guesses the
columns (the user corrects it on the preview), cleaning turns each row into lead data plus
custom attributes, and writing is set-based per chunk of rows: one transaction per chunk,
progress counters committed with the rows they count, so a rerun resumes where the last
one stopped and never counts a row twice.
"""

import codecs
import contextlib
import csv
import difflib
import io
import itertools
import logging
import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, BinaryIO, TextIO

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import DataError, IntegrityError, transaction
from django.db.models.functions import Lower
from django.utils import timezone
from holidays.registry import COUNTRIES

from leads.models import ImportJob, ImportStatus, Lead, Seniority, Stage, StageChange
from leads.services import DEFAULT_STAGE_SLUG, LEAD_INPUT_FIELDS, lead_upsert
from smarketing.csvsafe import safe_row
from smarketing.errors import ApplicationError

logger = logging.getLogger(__name__)

CHUNK_ROWS = 1000
MAX_STORED_ERRORS = 5000  # error_count keeps the true total; the list stays loadable
MAX_UPLOAD_BYTES = 100 * 1024 * 1024
PREVIEW_ROWS = 10
DELIMITERS = (",", ";", "\t", "|")
DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
_SNIFF_BYTES = 64 * 1024
_READ_BLOCK = 1024 * 1024


class ImportFileError(ApplicationError):
    """The file as a whole cannot be imported (empty, not a CSV, unreadable)."""


# --------------------------------------------------------------------------- reading


@dataclass(frozen=True)
class CsvFormat:
    encoding: str
    delimiter: str


def _rewind(fileobj: BinaryIO) -> None:
    fileobj.seek(0)


def sniff_encoding(fileobj: BinaryIO) -> str:
    """UTF-8 (with or without BOM) or UTF-16 when the bytes say so; Windows-1252 for the
    spreadsheet exports that are neither; Latin-1 as the decoding that never fails. The
    whole file is checked, because one stray byte at row 80,000 must not fail the import
    halfway through."""
    _rewind(fileobj)
    head = fileobj.read(4)
    if head.startswith(codecs.BOM_UTF8):
        candidates = ["utf-8-sig"]
    elif head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    else:
        candidates = ["utf-8", "cp1252"]
    for encoding in candidates:
        _rewind(fileobj)
        decoder = codecs.getincrementaldecoder(encoding)()
        try:
            while block := fileobj.read(_READ_BLOCK):
                decoder.decode(block)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            continue
        return encoding
    return "latin-1"


def sniff_delimiter(sample: str) -> str:
    """The delimiter that splits the first lines into the same number of columns (more
    than one). csv.Sniffer guesses wrong on quoted commas, so we count for ourselves."""
    lines = sample.splitlines()
    if len(lines) > 1:
        lines = lines[:-1]  # the sample may end mid-line
    lines = lines[:50]
    best, best_score = ",", (0.0, 0)
    for delimiter in DELIMITERS:
        try:
            rows = [r for r in csv.reader(lines, delimiter=delimiter) if any(c.strip() for c in r)]
        except csv.Error:
            continue
        if not rows or len(rows[0]) < 2:
            continue
        width = len(rows[0])
        consistency = sum(1 for r in rows if len(r) == width) / len(rows)
        score = (consistency, width)
        if score > best_score:
            best, best_score = delimiter, score
    return best


def _open_text(fileobj: BinaryIO, fmt: CsvFormat) -> TextIO:
    _rewind(fileobj)
    return io.TextIOWrapper(fileobj, encoding=fmt.encoding, newline="")


def sniff(fileobj: BinaryIO) -> CsvFormat:
    _rewind(fileobj)
    head = fileobj.read(8)
    if not head.strip():
        raise ImportFileError("The file is empty.")
    if head.startswith((b"PK\x03\x04", b"\xd0\xcf\x11\xe0")):  # xlsx, xls
        raise ImportFileError(
            "This looks like an Excel workbook. Save it as CSV (File > Save as > CSV) and "
            "upload that."
        )
    if b"\x00" in head and not head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise ImportFileError("This is not a text file. Upload a CSV file.")
    encoding = sniff_encoding(fileobj)
    _rewind(fileobj)
    sample = fileobj.read(_SNIFF_BYTES).decode(encoding, errors="ignore")
    return CsvFormat(encoding=encoding, delimiter=sniff_delimiter(sample))


def _unique_headers(raw: list[str]) -> list[str]:
    """Blank headers get a name and repeated ones a suffix: mapping is keyed by header."""
    headers: list[str] = []
    seen: set[str] = set()
    for index, name in enumerate(raw, start=1):
        name = name.replace("\ufeff", "").strip() or f"Column {index}"
        candidate, n = name, 2
        while candidate.lower() in seen:
            candidate, n = f"{name} ({n})", n + 1
        seen.add(candidate.lower())
        headers.append(candidate)
    return headers


def _records(text: TextIO, delimiter: str) -> Iterator[list[str]]:
    for record in csv.reader(text, delimiter=delimiter):
        if any(cell.strip() for cell in record):
            yield record


def read_headers(fileobj: BinaryIO, fmt: CsvFormat) -> list[str]:
    with _detached(_open_text(fileobj, fmt)) as text:
        try:
            first = next(_records(text, fmt.delimiter), None)
        except csv.Error as exc:
            raise ImportFileError(f"The header row cannot be read: {exc}.") from exc
    if first is None:
        raise ImportFileError("The file has no header row.")
    return _unique_headers(first)


class _detached:
    """Use a TextIOWrapper without letting it close the binary file under it."""

    def __init__(self, text: io.TextIOWrapper):
        self.text = text

    def __enter__(self) -> io.TextIOWrapper:
        return self.text

    def __exit__(self, *exc) -> None:
        with contextlib.suppress(ValueError):  # the binary file was closed first
            self.text.detach()


def iter_rows(fileobj: BinaryIO, fmt: CsvFormat) -> Iterator[tuple[int, list[str]]]:
    """Data rows after the header as (spreadsheet row number, cells). Blank lines are
    skipped and not counted, so processed_rows and total_rows agree."""
    with _detached(_open_text(fileobj, fmt)) as text:
        reader = csv.reader(text, delimiter=fmt.delimiter)
        header_seen = False
        last_line = 0
        for record in reader:
            # The line a record starts on: a quoted line break makes it span several.
            first_line, last_line = last_line + 1, reader.line_num
            if not any(cell.strip() for cell in record):
                continue
            if not header_seen:
                header_seen = True
                continue
            yield first_line, record


def count_rows(fileobj: BinaryIO, fmt: CsvFormat) -> int:
    return sum(1 for _ in iter_rows(fileobj, fmt))


def preview_rows(fileobj: BinaryIO, fmt: CsvFormat, limit: int = PREVIEW_ROWS) -> list[list[str]]:
    return [cells for _, cells in itertools.islice(iter_rows(fileobj, fmt), limit)]


# --------------------------------------------------------------------------- mapping

ATTRIBUTE = ""  # keep the column as a custom attribute under its header
IGNORE = "__ignore__"
FULL_NAME = "full_name"
OUTCOME = "outcome"

TARGET_LABELS: dict[str, str] = {
    "email": "Email",
    "external_id": "External ID",
    FULL_NAME: "Full name (split into first / last)",
    "first_name": "First name",
    "last_name": "Last name",
    "title": "Job title",
    "seniority": "Seniority",
    "department": "Department",
    "phone": "Phone",
    "company": "Company",
    "website": "Website",
    "industry": "Industry",
    "employees": "Employees",
    "annual_revenue": "Annual revenue",
    "country": "Country",
    "region": "Region / state",
    "source": "Source",
    "utm_source": "UTM source",
    "utm_medium": "UTM medium",
    "utm_campaign": "UTM campaign",
    "utm_term": "UTM term",
    "utm_content": "UTM content",
    "do_not_email": "Do not email",
    "do_not_call": "Do not call",
    OUTCOME: "Outcome (won / lost, kept for backtesting)",
}
assert set(TARGET_LABELS) - {FULL_NAME, OUTCOME} == set(LEAD_INPUT_FIELDS)

# Normalised header names (lowercase letters and digits only) that mean a field.
SYNONYMS: dict[str, tuple[str, ...]] = {
    "email": (
        "email", "emailaddress", "mail", "workemail", "businessemail", "primaryemail",
        "contactemail", "emailid", "emails", "mailaddress",
    ),
    "external_id": (
        "id", "externalid", "contactid", "leadid", "recordid", "customerid", "crmid",
        "salesforceid", "hubspotid", "personid", "prospectid", "accountcontactid", "uid",
        "contactnumber", "leadnumber",
    ),
    FULL_NAME: ("name", "fullname", "contactname", "contact", "leadname", "personname"),
    "first_name": ("firstname", "first", "givenname", "forename", "fname"),
    "last_name": ("lastname", "last", "surname", "familyname", "lname"),
    "title": ("title", "jobtitle", "position", "role", "jobrole", "designation", "jobposition"),
    "seniority": ("seniority", "senioritylevel", "level", "joblevel", "managementlevel"),
    "department": ("department", "dept", "function", "jobfunction", "team", "division"),
    "phone": (
        "phone", "phonenumber", "telephone", "tel", "mobile", "mobilephone", "workphone",
        "directphone", "cell", "cellphone", "businessphone",
    ),
    "company": (
        "company", "companyname", "organization", "organisation", "account", "accountname",
        "employer", "org", "organizationname", "organisationname", "business",
    ),
    "website": ("website", "web", "url", "companywebsite", "domain", "companydomain", "site"),
    "industry": ("industry", "sector", "vertical", "companyindustry"),
    "employees": (
        "employees", "numberofemployees", "noofemployees", "employeecount", "companysize",
        "headcount", "size", "numemployees", "nbemployees", "staff", "employeesize",
    ),
    "annual_revenue": (
        "annualrevenue", "revenue", "companyrevenue", "arr", "turnover", "yearlyrevenue",
    ),
    "country": ("country", "countrycode", "countryregion", "nation", "countryname"),
    "region": ("region", "state", "province", "stateprovince", "stateregion", "territory"),
    "source": ("source", "leadsource", "originalsource", "channel", "sourcechannel"),
    "utm_source": ("utmsource",),
    "utm_medium": ("utmmedium",),
    "utm_campaign": ("utmcampaign", "campaign", "campaignname"),
    "utm_term": ("utmterm",),
    "utm_content": ("utmcontent",),
    "do_not_email": (
        "donotemail", "emailoptout", "optout", "unsubscribed", "hasoptedoutofemail",
        "emailoptedout", "noemail", "dontemail", "optedout",
    ),
    "do_not_call": ("donotcall", "calloptout", "dnc", "nocall", "dontcall", "phoneoptout"),
    OUTCOME: (
        "outcome", "won", "converted", "result", "dealoutcome", "closedwon", "iswon",
        "isconverted", "conversion", "wonlost",
    ),
}  # fmt: skip
_BY_SYNONYM = {name: target for target, names in SYNONYMS.items() for name in names}


def normalise_header(header: str) -> str:
    """ "E-mail", "Email Address " and "# Employees" -> "email", "emailaddress", "employees"."""
    return re.sub(r"[^a-z0-9]+", "", header.lower())


def _swapped_neighbours(a: str, b: str) -> bool:
    if len(a) != len(b) or a == b:
        return False
    diff = [i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y]
    return (
        len(diff) == 2
        and diff[1] == diff[0] + 1
        and a[diff[0]] == b[diff[1]]
        and a[diff[1]] == b[diff[0]]
    )


def guess_target(header: str) -> str:
    key = normalise_header(header)
    if key in _BY_SYNONYM:
        return _BY_SYNONYM[key]
    # Typos such as "Emial" or "Compnay" (two neighbouring letters swapped), or one letter
    # off in a long name ("Annual Revenu"). Looser matching turned "Stage" into "state".
    if len(key) >= 5:
        for name, target in _BY_SYNONYM.items():
            if _swapped_neighbours(key, name):
                return target
        close = difflib.get_close_matches(key, list(_BY_SYNONYM), n=1, cutoff=0.9)
        if close:
            return _BY_SYNONYM[close[0]]
    return ATTRIBUTE


def auto_map(headers: Iterable[str]) -> dict[str, str]:
    """Header -> target for every column. A target goes to the first column that claims
    it; later claimants are kept as custom attributes."""
    mapping: dict[str, str] = {}
    taken: set[str] = set()
    for header in headers:
        target = guess_target(header)
        if target != ATTRIBUTE and target in taken:
            target = ATTRIBUTE
        taken.add(target)
        mapping[header] = target
    return mapping


def validate_mapping(headers: list[str], mapping: Mapping[str, str]) -> dict[str, str]:
    """The mapping to store: every header present, known targets, each target once, and a
    way to identify leads. Raises ApplicationError with per-header messages."""
    errors: dict[str, list[str]] = {}
    clean: dict[str, str] = {}
    by_target: dict[str, str] = {}
    for header in headers:
        target = mapping.get(header, ATTRIBUTE)
        if target not in TARGET_LABELS and target not in (ATTRIBUTE, IGNORE):
            errors.setdefault(header, []).append(f"{target!r} is not a lead field.")
            continue
        if target in TARGET_LABELS:
            if target in by_target:
                errors.setdefault(header, []).append(
                    f"{TARGET_LABELS[target]} is already mapped from {by_target[target]!r}."
                )
                continue
            by_target[target] = header
        clean[header] = target
    unknown = set(mapping) - set(headers)
    if unknown:
        errors.setdefault("__all__", []).append(
            "No such column: " + ", ".join(sorted(unknown)) + "."
        )
    if "email" not in by_target and "external_id" not in by_target:
        errors.setdefault("__all__", []).append(
            "Map a column to Email or External ID: leads are matched by one of them."
        )
    if errors:
        raise ApplicationError("The column mapping needs a correction.", extra=errors)
    return clean


# --------------------------------------------------------------------------- cleaning

PLACEHOLDERS = frozenset(
    {"", "select", "n/a", "-", "--", "null", "none", "nil", "#n/a", "(blank)", "n.a.", "?"}
)
TRUE_WORDS = frozenset({"yes", "y", "true", "t", "1", "x", "on", "checked", "opted out"})
FALSE_WORDS = frozenset({"no", "n", "false", "f", "0", "off", "unchecked", "opted in"})
WON_WORDS = frozenset({"won", "win", "closed won", "closedwon", "converted", "customer"})
LOST_WORDS = frozenset(
    {"lost", "loss", "closed lost", "closedlost", "not converted", "unconverted", "churned"}
)
_INT_FIELDS = {"employees"}
_DECIMAL_FIELDS = {"annual_revenue"}
_BOOL_FIELDS = {"do_not_email", "do_not_call"}
_MAX_LENGTHS = {
    f.name: f.max_length
    for f in Lead._meta.get_fields()
    if f.name in LEAD_INPUT_FIELDS and getattr(f, "max_length", None)
}
_MAX_EMPLOYEES = 2_147_483_647
_MAX_REVENUE = Decimal("1e14")  # max_digits=16, decimal_places=2

_COUNTRY_CODES: dict[str, str] = {}
for _key, (_name, _alpha2, _alpha3, *_rest) in COUNTRIES.items():
    _COUNTRY_CODES[normalise_header(_name)] = _alpha2
    _COUNTRY_CODES[normalise_header(_key)] = _alpha2
    _COUNTRY_CODES[_alpha2.lower()] = _alpha2
    _COUNTRY_CODES[_alpha3.lower()] = _alpha2
_COUNTRY_CODES.update(
    {
        "usa": "US", "us": "US", "unitedstatesofamerica": "US", "america": "US",
        "uk": "GB", "greatbritain": "GB", "england": "GB", "scotland": "GB", "wales": "GB",
        "northernireland": "GB", "korea": "KR", "republicofkorea": "KR", "holland": "NL",
        "thenetherlands": "NL", "czechrepublic": "CZ", "deutschland": "DE", "uae": "AE",
        "russia": "RU", "vietnam": "VN", "turkey": "TR", "turkiye": "TR", "espana": "ES",
        "brasil": "BR", "schweiz": "CH", "suisse": "CH", "osterreich": "AT",
    }
)  # fmt: skip

_SENIORITY_WORDS: list[tuple[str, str]] = [
    # First match wins: "Founder & CEO" is an owner, "Vice President" a VP, not C-level.
    (r"\b(owner|founder|co-?founder|proprietor)\b", Seniority.OWNER),
    (r"\b(vp|svp|evp|vice president)\b", Seniority.VP),
    (r"\b(c-?level|cxo|chief|ceo|cto|cfo|cmo|coo|cio|cro|president|partner)\b", Seniority.C_LEVEL),
    (r"\b(director|head)\b", Seniority.DIRECTOR),
    (r"\b(manager|mgr|lead|supervisor)\b", Seniority.MANAGER),
    (
        r"\b(individual|ic|staff|entry|junior|senior|associate|specialist|analyst|"
        r"engineer|contributor|non-manager)\b",
        Seniority.INDIVIDUAL,
    ),
]


def is_placeholder(value: str) -> bool:
    return value.strip().lower() in PLACEHOLDERS


def parse_bool(value: str) -> bool:
    word = value.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ValueError("Use yes or no.")


_NUMBER = re.compile(
    r"^(?P<sign>-)?\s*(?:[$€£¥]|usd|eur|gbp)?\s*(?P<num>\d[\d,.' ]*)\s*(?P<suffix>[kmb]|mm|bn)?\s*"
    r"(?:usd|eur|gbp|[$€£¥])?\s*\+?$",
    re.IGNORECASE,
)
_SUFFIX = {"k": 1_000, "m": 1_000_000, "mm": 1_000_000, "b": 1_000_000_000, "bn": 1_000_000_000}


def _plain_number(text: str) -> Decimal:
    """ "1,200", "1.200.000", "1 200,50", "5000.75" -> Decimal. A separator followed by
    exactly three digits, repeated, is a thousands separator; a final "," or "." followed
    by one, two or more than three digits is the decimal point."""
    text = text.replace(" ", "").replace("'", "")
    if re.fullmatch(r"\d{1,3}([,.])\d{3}(\1\d{3})*", text):
        return Decimal(re.sub(r"[,.]", "", text))
    match = re.fullmatch(r"(\d{1,3}(?:([,.])\d{3})*|\d+)(?:([,.])(\d+))?", text)
    if match and (match.group(2) is None or match.group(2) != match.group(3)):
        whole = re.sub(r"[,.]", "", match.group(1))
        return Decimal(f"{whole}.{match.group(4)}" if match.group(4) else whole)
    raise ValueError


def parse_number(value: str) -> Decimal:
    """Plain numbers, thousands separators, currency signs and k/M/B suffixes: "1,200",
    "$5M", "€1.2m", "10k", "500+"."""
    match = _NUMBER.match(value.strip())
    if not match:
        raise ValueError(f"{value!r} is not a number.")
    try:
        number = _plain_number(match.group("num").strip())
    except (ValueError, InvalidOperation):
        raise ValueError(f"{value!r} is not a number.") from None
    suffix = (match.group("suffix") or "").lower()
    number *= _SUFFIX.get(suffix, 1)
    return -number if match.group("sign") else number


def parse_employees(value: str) -> int:
    """A count or a size band: "1,200", "10k", "500+", "51-200" (the band's lower bound,
    so a fit rule never credits a company with staff it may not have)."""
    band = re.fullmatch(r"\s*([\d,.]+\s*[kK]?)\s*(?:-|\u2013|to)\s*[\d,.]+\s*[kK]?\s*", value)
    number = parse_number(band.group(1) if band else value)
    if number < 0 or number != number.to_integral_value():
        raise ValueError(f"{value!r} is not a whole number of employees.")
    if number > _MAX_EMPLOYEES:
        raise ValueError(f"{value!r} is too large.")
    return int(number)


def parse_revenue(value: str) -> Decimal:
    number = parse_number(value)
    if number < 0:
        raise ValueError(f"{value!r} is negative.")
    if number >= _MAX_REVENUE:
        raise ValueError(f"{value!r} is too large.")
    return number.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def parse_country(value: str) -> str:
    code = _COUNTRY_CODES.get(normalise_header(value))
    if code is None:
        raise ValueError(f"{value!r} is not a country name or ISO code.")
    return code


def parse_seniority(value: str) -> str:
    text = value.strip().lower()
    if text in Seniority.values:
        return text
    for pattern, level in _SENIORITY_WORDS:
        if re.search(pattern, text):
            return level.value
    raise ValueError(
        f"{value!r} is not a seniority; use one of: "
        + ", ".join(str(label) for v, label in Seniority.choices if v)
        + "."
    )


def parse_outcome(value: str) -> str:
    word = value.strip().lower()
    if word in WON_WORDS or word in TRUE_WORDS:
        return "won"
    if word in LOST_WORDS or word in FALSE_WORDS:
        return "lost"
    raise ValueError(f"{value!r} is not an outcome; use won/lost, converted, yes/no or 1/0.")


def split_full_name(value: str) -> tuple[str, str]:
    """ "Ada Lovelace" -> (Ada, Lovelace); "Lovelace, Ada" -> (Ada, Lovelace)."""
    value = " ".join(value.split())
    if "," in value:
        last, _, first = value.partition(",")
        return first.strip(), last.strip()
    first, _, last = value.rpartition(" ")
    return (first, last) if first else (last, "")


_INT_LIKE = re.compile(r"[+-]?(?:0|[1-9]\d{0,14}|[1-9]\d{0,2}(?:,\d{3}){1,4})")
_FLOAT_LIKE = re.compile(r"[+-]?(?:0|[1-9]\d{0,14})\.\d{1,6}")


def infer_value(value: str) -> Any:
    """A custom attribute's JSON type: yes/no -> bool, "1,200" -> 1200, "3.5" -> 3.5.
    Numbers with leading zeros, a leading "+" or more than 15 digits stay text: they are
    zip codes, phone numbers and ids, not quantities."""
    text = value.strip()
    word = text.lower()
    if word in ("yes", "no", "true", "false", "y", "n"):
        return word in ("yes", "true", "y")
    if not text.startswith("+"):
        if _INT_LIKE.fullmatch(text):
            return int(text.replace(",", ""))
        if _FLOAT_LIKE.fullmatch(text):
            return float(text)
    return text


@dataclass
class CleanRow:
    """One CSV row turned into `lead_upsert` input, or the reasons it cannot be."""

    row: int
    data: dict[str, Any] = field(default_factory=dict)
    attributes: dict[str, Any] = field(default_factory=dict)
    errors: list[tuple[str, str]] = field(default_factory=list)


_CONVERTERS: dict[str, Callable[[str], Any]] = {
    "employees": parse_employees,
    "annual_revenue": parse_revenue,
    "country": parse_country,
    "seniority": parse_seniority,
    "do_not_email": parse_bool,
    "do_not_call": parse_bool,
}


def _convert(target: str, raw: str) -> Any:
    value = raw.strip()
    if target in _CONVERTERS:
        return _CONVERTERS[target](value)
    if target == "email":
        value = value.lower()
        try:
            validate_email(value)
        except ValidationError:
            raise ValueError(f"{raw.strip()!r} is not a valid email address.") from None
    limit = _MAX_LENGTHS.get(target)
    if limit and len(value) > limit:
        raise ValueError(f"At most {limit} characters (this one has {len(value)}).")
    return value


def clean_row(
    row: int,
    cells: list[str],
    *,
    headers: list[str],
    mapping: Mapping[str, str],
    default_source: str = "",
) -> CleanRow:
    result = CleanRow(row=row)
    if len(cells) > len(headers) and any(c.strip() for c in cells[len(headers) :]):
        result.errors.append(
            (
                "",
                f"The row has {len(cells)} values but the header has {len(headers)} columns "
                "(an unquoted delimiter inside a value?).",
            )
        )
        return result
    full_name = ""
    for header, raw in zip(headers, cells, strict=False):
        target = mapping.get(header, ATTRIBUTE)
        if target == IGNORE or is_placeholder(raw):
            continue
        if target == ATTRIBUTE:
            result.attributes[header] = infer_value(raw)
            continue
        try:
            if target == FULL_NAME:
                full_name = raw
            elif target == OUTCOME:
                result.attributes[OUTCOME] = parse_outcome(raw)
            else:
                result.data[target] = _convert(target, raw)
        except ValueError as exc:
            result.errors.append((header, str(exc)))
    if full_name:
        first, last = split_full_name(full_name)
        for key, value in (("first_name", first), ("last_name", last)):
            if value and key not in result.data:
                try:
                    result.data[key] = _convert(key, value)
                except ValueError as exc:
                    result.errors.append((key, str(exc)))
    if "source" not in result.data and default_source:
        result.data["source"] = default_source
    if not result.errors and not result.data.get("email") and not result.data.get("external_id"):
        result.errors.append(("email", "The row has neither an email nor an external ID."))
    return result


# --------------------------------------------------------------------------- writing


@dataclass
class WriteResult:
    created: int = 0
    updated: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)

    def error(self, row: int, field_name: str, message: str) -> None:
        self.errors.append({"row": row, "field": field_name, "message": message})


def _identity(data: Mapping[str, Any]) -> tuple[str, str, str]:
    return (
        (data.get("email") or "").strip().lower(),
        (data.get("external_id") or "").strip(),
        (data.get("source") or "").strip(),
    )


def _values(data: Mapping[str, Any]) -> dict[str, Any]:
    """What lead_upsert writes: the input fields that are not empty, email lowercased."""
    values = {
        k: data[k]
        for k in LEAD_INPUT_FIELDS
        if k in data and not (data[k] is None or (isinstance(data[k], str) and not data[k].strip()))
    }
    if values.get("email"):
        values["email"] = values["email"].strip().lower()
    return values


class _Index:
    """The chunk's leads by email and by (source, external_id), kept current as rows
    change them, so that row N sees what rows before it did, as with lead_upsert."""

    def __init__(self, leads: Iterable[Lead]):
        self.by_email: dict[str, Lead] = {}
        self.by_ext: dict[tuple[str, str], Lead] = {}
        for lead in leads:
            self.add(lead)

    def add(self, lead: Lead) -> None:
        if lead.email:
            self.by_email[lead.email.lower()] = lead
        if lead.external_id:
            self.by_ext[(lead.source, lead.external_id)] = lead

    def remove(self, lead: Lead) -> None:
        if lead.email and self.by_email.get(lead.email.lower()) is lead:
            del self.by_email[lead.email.lower()]
        key = (lead.source, lead.external_id)
        if lead.external_id and self.by_ext.get(key) is lead:
            del self.by_ext[key]

    def find(self, email: str, external_id: str, source: str) -> Lead | None:
        lead = self.by_email.get(email) if email else None
        if lead is None and external_id:
            lead = self.by_ext.get((source, external_id))
        return lead


def _existing_leads(rows: list[CleanRow]) -> list[Lead]:
    emails, ext_keys = set(), set()
    for r in rows:
        email, external_id, source = _identity(r.data)
        if email:
            emails.add(email)
        if external_id:
            ext_keys.add((source, external_id))
    found: dict[int, Lead] = {}
    # Locked like lead_upsert locks its row; the `!= ""` conditions let PostgreSQL use the
    # partial unique indexes.
    if emails:
        for lead in (
            Lead.objects.select_for_update()
            .annotate(email_ci=Lower("email"))
            .filter(email_ci__in=emails)
            .exclude(email="")
            .order_by("pk")
        ):
            found[lead.pk] = lead
    if ext_keys:
        for lead in (
            Lead.objects.select_for_update()
            .filter(external_id__in={e for _, e in ext_keys}, source__in={s for s, _ in ext_keys})
            .exclude(external_id="")
            .order_by("pk")
        ):
            if (lead.source, lead.external_id) in ext_keys:
                found.setdefault(lead.pk, lead)
    return list(found.values())


def write_rows_bulk(
    rows: list[CleanRow], *, now: datetime, actor=None, rule: str, stage: Stage
) -> WriteResult:
    """The set-based twin of calling lead_upsert for each row in order: same matching,
    same "empty never blanks", same attribute merge, same first StageChange. Must run
    inside a transaction; raises IntegrityError when a row collides with a lead it could
    not see (the caller then falls back to write_rows_one_by_one)."""
    result = WriteResult()
    good = [r for r in rows if not r.errors]
    for r in rows:
        for field_name, message in r.errors:
            result.error(r.row, field_name, message)
    index = _Index(_existing_leads(good))
    new_leads: list[Lead] = []
    new_ids: set[int] = set()  # id() of unsaved leads
    dirty: dict[int, Lead] = {}
    dirty_fields: set[str] = set()
    for r in good:
        email, external_id, source = _identity(r.data)
        values = _values(r.data)
        lead = index.find(email, external_id, source)
        if lead is None:
            lead = Lead(
                **values,
                attributes=dict(r.attributes),
                stage=stage,
                stage_entered_at=now,
                created_at=now,
                updated_at=now,
            )
            new_leads.append(lead)
            new_ids.add(id(lead))
            index.add(lead)
            result.created += 1
            continue
        if lead.source:  # as lead_upsert: where a person first came from stays
            values = {k: v for k, v in values.items() if k != "source"}
        changed = [k for k, v in values.items() if getattr(lead, k) != v]
        new_key = (values.get("source", lead.source), values.get("external_id", lead.external_id))
        holder = index.by_ext.get(new_key) if new_key[1] else None
        if holder is not None and holder is not lead:
            result.error(
                r.row,
                "external_id",
                f"External ID {new_key[1]!r} (source {new_key[0]!r}) belongs to another lead.",
            )
            continue
        index.remove(lead)
        for key in changed:
            setattr(lead, key, values[key])
        if r.attributes:
            merged = {**lead.attributes, **r.attributes}
            if merged != lead.attributes:
                lead.attributes = merged
                changed.append("attributes")
        index.add(lead)
        result.updated += 1
        if changed and id(lead) not in new_ids:
            lead.updated_at = now
            dirty[lead.pk] = lead
            dirty_fields.update(changed)
    result.errors.sort(key=lambda e: e["row"])
    if new_leads:
        Lead.objects.bulk_create(new_leads, batch_size=500)
        StageChange.objects.bulk_create(
            [
                StageChange(
                    lead=lead,
                    from_stage=None,
                    to_stage=stage,
                    changed_by=actor,
                    rule=rule,
                    changed_at=now,
                )
                for lead in new_leads
            ],
            batch_size=1000,
        )
    if dirty:
        Lead.objects.bulk_update(
            list(dirty.values()), fields=[*sorted(dirty_fields), "updated_at"], batch_size=250
        )
    return result


def write_rows_one_by_one(
    rows: list[CleanRow], *, now: datetime, actor=None, rule: str
) -> WriteResult:
    """lead_upsert per row, each in its own savepoint: slow, exact, and what a chunk falls
    back to when the set-based write meets a collision."""
    result = WriteResult()
    for r in rows:
        if r.errors:
            for field_name, message in r.errors:
                result.error(r.row, field_name, message)
            continue
        try:
            with transaction.atomic():
                _, created = lead_upsert(
                    data=r.data, now=now, attributes=r.attributes or None, actor=actor, rule=rule
                )
        except ApplicationError as exc:
            result.error(r.row, "", exc.message)
            continue
        except (IntegrityError, DataError):
            result.error(r.row, "", "Conflicts with another lead (the same email or external ID).")
            continue
        if created:
            result.created += 1
        else:
            result.updated += 1
    return result


def write_rows(rows: list[CleanRow], *, now: datetime, actor=None, rule: str) -> WriteResult:
    stage = Stage.objects.get(slug=DEFAULT_STAGE_SLUG)
    try:
        with transaction.atomic():
            return write_rows_bulk(rows, now=now, actor=actor, rule=rule, stage=stage)
    except IntegrityError:
        logger.info("Import chunk collided with a concurrent write; retrying row by row.")
        return write_rows_one_by_one(rows, now=now, actor=actor, rule=rule)


# --------------------------------------------------------------------------- jobs


def import_job_create(*, upload, source: str, actor, now: datetime) -> ImportJob:
    """Store the upload, read its format and header. A file that cannot be imported is
    refused here (ImportFileError), before anyone maps columns."""
    if upload.size > MAX_UPLOAD_BYTES:
        raise ImportFileError(
            f"The file is {upload.size // (1024 * 1024)} MB; the limit is "
            f"{MAX_UPLOAD_BYTES // (1024 * 1024)} MB. Split it into smaller files."
        )
    fmt = sniff(upload)
    headers = read_headers(upload, fmt)
    _rewind(upload)
    job = ImportJob(
        original_name=(getattr(upload, "name", "") or "import.csv").rsplit("/", 1)[-1][:255],
        created_by=actor,
        source=source.strip(),
        status=ImportStatus.MAPPING,
        encoding=fmt.encoding,
        delimiter=fmt.delimiter,
        headers=headers,
        mapping=auto_map(headers),
        created_at=now,
    )
    job.file.save(job.original_name, upload, save=False)
    job.save()
    return job


def job_format(job: ImportJob) -> CsvFormat:
    return CsvFormat(encoding=job.encoding, delimiter=job.delimiter)


def import_job_preview(job: ImportJob, limit: int = PREVIEW_ROWS) -> list[list[str]]:
    with job.file.open("rb") as f:
        rows = preview_rows(f, job_format(job), limit)
    width = len(job.headers)
    return [(cells + [""] * width)[:width] for cells in rows]


def import_job_queue(*, job: ImportJob, mapping: Mapping[str, str]) -> ImportJob:
    """Confirm the mapping. The caller enqueues import_run on commit."""
    clean = validate_mapping(job.headers, mapping)
    updated = ImportJob.objects.filter(pk=job.pk, status=ImportStatus.MAPPING).update(
        mapping=clean, status=ImportStatus.QUEUED
    )
    if not updated:
        raise ApplicationError("This import has already started.", status_code=409)
    job.mapping, job.status = clean, ImportStatus.QUEUED
    return job


def _fail(job_id: int, message: str) -> None:
    ImportJob.objects.filter(pk=job_id).exclude(status=ImportStatus.DONE).update(
        status=ImportStatus.FAILED, failure=message, finished_at=timezone.now()
    )


def import_job_run(
    *,
    job_id: int,
    now: datetime,
    time_budget: float | None = None,
    progress: Callable[[ImportJob], None] | None = None,
) -> bool:
    """Import a queued job's rows chunk by chunk. Returns True when `time_budget` seconds
    ran out with rows left (the caller runs it again; it resumes after the last committed
    chunk). Gone, unconfirmed, finished or failed jobs are left alone."""
    ImportJob.objects.filter(pk=job_id, status=ImportStatus.QUEUED).update(
        status=ImportStatus.RUNNING, started_at=now
    )
    job = ImportJob.objects.select_related("created_by").filter(pk=job_id).first()
    if job is None or job.status != ImportStatus.RUNNING:
        return False
    started = time.monotonic()
    fmt = job_format(job)
    try:
        with job.file.open("rb") as f:
            if not job.total_rows:
                job.total_rows = count_rows(f, fmt)
                ImportJob.objects.filter(pk=job.pk).update(total_rows=job.total_rows)
            # Closed before the file is, also when the time budget stops the loop early.
            with contextlib.closing(iter_rows(f, fmt)) as rows_iter:
                rows = itertools.islice(rows_iter, job.processed_rows, None)
                more = _import_chunks(
                    job, rows, now=now, started=started, time_budget=time_budget, progress=progress
                )
            if more is not None:
                return more
    except (csv.Error, UnicodeDecodeError, OSError) as exc:
        _fail(job_id, f"The file could not be read: {exc}.")
        return False
    except Exception:
        logger.exception("Import %s failed", job_id)
        _fail(job_id, "The import stopped on an unexpected error; the team has been told.")
        raise
    ImportJob.objects.filter(pk=job.pk, status=ImportStatus.RUNNING).update(
        status=ImportStatus.DONE,
        # Wall time on purpose: the summary shows how long the import took.
        finished_at=timezone.now(),
    )
    job.refresh_from_db()
    if progress is not None:
        progress(job)
    return False


def _import_chunks(
    job: ImportJob,
    rows: Iterator[tuple[int, list[str]]],
    *,
    now: datetime,
    started: float,
    time_budget: float | None,
    progress: Callable[[ImportJob], None] | None,
) -> bool | None:
    """None when every row is in; else the answer import_job_run gives."""
    for chunk in itertools.batched(rows, CHUNK_ROWS):
        job = _import_chunk(job, chunk, now=now)
        if job is None:
            return False  # another run moved the job on; it owns the rest
        if progress is not None:
            progress(job)
        if time_budget is not None and time.monotonic() - started > time_budget:
            return True
    return None


def _import_chunk(
    job: ImportJob, chunk: tuple[tuple[int, list[str]], ...], *, now: datetime
) -> ImportJob | None:
    cleaned = [
        clean_row(row, cells, headers=job.headers, mapping=job.mapping, default_source=job.source)
        for row, cells in chunk
    ]
    with transaction.atomic():
        locked = ImportJob.objects.select_for_update().get(pk=job.pk)
        if locked.status != ImportStatus.RUNNING or locked.processed_rows != job.processed_rows:
            return None
        result = write_rows(cleaned, now=now, actor=job.created_by, rule=f"import #{job.pk}")
        locked.processed_rows += len(chunk)
        locked.created_count += result.created
        locked.updated_count += result.updated
        locked.error_count += len({e["row"] for e in result.errors})
        room = MAX_STORED_ERRORS - len(locked.errors)
        if room > 0 and result.errors:
            locked.errors = [*locked.errors, *result.errors[:room]]
        locked.save(
            update_fields=[
                "processed_rows",
                "created_count",
                "updated_count",
                "error_count",
                "errors",
            ]
        )
    locked.created_by = job.created_by
    return locked


def import_errors_csv(job: ImportJob, out: TextIO) -> None:
    """The rejected rows as CSV: row number, column, message, then the row as it was, so a
    fixed copy can be imported again."""
    errors_by_row: dict[int, list[dict]] = {}
    for error in job.errors:
        errors_by_row.setdefault(error["row"], []).append(error)
    writer = csv.writer(out)
    writer.writerow(safe_row(["row", "column", "error", *job.headers]))
    if not errors_by_row:
        return
    try:
        with job.file.open("rb") as f:
            for row, cells in iter_rows(f, job_format(job)):
                for error in errors_by_row.pop(row, ()):
                    writer.writerow(safe_row([row, error["field"], error["message"], *cells]))
    except (OSError, ValueError, csv.Error, UnicodeDecodeError):
        logger.warning("Import %s: the file is gone; errors are listed without their rows.", job.pk)
    for row, errors in errors_by_row.items():
        for error in errors:
            writer.writerow(safe_row([row, error["field"], error["message"]]))
