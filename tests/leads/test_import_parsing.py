"""Reading messy CSV files: format sniffing, column guessing, placeholders and types."""

import io
from decimal import Decimal
from pathlib import Path

import pytest

from leads import importing
from leads.importing import (
    ATTRIBUTE,
    FULL_NAME,
    IGNORE,
    OUTCOME,
    ImportFileError,
    auto_map,
    clean_row,
    infer_value,
    parse_country,
    parse_employees,
    parse_number,
    parse_outcome,
    parse_revenue,
    parse_seniority,
    split_full_name,
    validate_mapping,
)
from smarketing.errors import ApplicationError

FIXTURES = Path(__file__).parent / "fixtures"


def _read(raw: bytes):
    f = io.BytesIO(raw)
    fmt = importing.sniff(f)
    headers = importing.read_headers(f, fmt)
    return fmt, headers, list(importing.iter_rows(f, fmt))


def test_bom_and_semicolons_are_detected_and_the_bom_is_not_part_of_the_first_header():
    fmt, headers, rows = _read((FIXTURES / "crm_semicolon_bom.csv").read_bytes())
    assert fmt == importing.CsvFormat(encoding="utf-8-sig", delimiter=";")
    assert headers[0] == "Contact ID"
    # Quoted delimiters stay inside their value; the blank line is skipped.
    assert rows[0][1][2] == "Analytical Engines; Ltd"
    assert [r for r, _ in rows] == [2, 3, 5, 6, 7]


def test_tabs_and_windows_encoding_are_detected():
    fmt, _headers, rows = _read((FIXTURES / "tradeshow_tabs_cp1252.tsv").read_bytes())
    assert fmt == importing.CsvFormat(encoding="cp1252", delimiter="\t")
    assert rows[0][1][:4] == ["RENE@example.com", "René", "Garçon", "Café Crème SARL"]


def test_quoted_commas_quotes_and_line_breaks_survive_and_rows_are_numbered_by_start_line():
    fmt, _headers, rows = _read((FIXTURES / "quoted_commas.csv").read_bytes())
    assert fmt.delimiter == ","
    assert rows[0][1][3] == "Acme, Inc."
    assert rows[0][1][6] == 'Met at "DataConf"'
    assert rows[1][0] == 3
    assert rows[1][1][6] == "line one\r\nline two"


def test_pipe_delimited_files_are_detected():
    fmt, headers, _ = _read(b"email|company\na@example.com|Acme, Inc\n")
    assert fmt.delimiter == "|"
    assert headers == ["email", "company"]


def test_blank_and_repeated_headers_get_distinct_names():
    _, headers, _ = _read(b"Email,,email,Notes\na@example.com,x,y,z\n")
    assert headers == ["Email", "Column 2", "email (2)", "Notes"]


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"", "empty"),
        (b"  \n\n", "empty"),
        (b"PK\x03\x04rest-of-a-zip", "Excel"),
        (b"\x00\x01\x02\x03binary", "not a text file"),
    ],
)
def test_files_that_are_not_csv_are_refused_with_a_clear_message(raw, message):
    with pytest.raises(ImportFileError, match=message):
        importing.sniff(io.BytesIO(raw))


def test_a_stray_windows_byte_deep_in_the_file_picks_the_windows_encoding():
    raw = b"email,name\n" + b"a@example.com,plain\n" * 10000 + b"b@example.com,Ren\xe9\n"
    fmt, _, rows = _read(raw)
    assert fmt.encoding == "cp1252"
    assert rows[-1][1][1] == "René"


@pytest.mark.parametrize(
    ("header", "target"),
    [
        ("E-mail", "email"),
        ("Email Address", "email"),
        (" EMAIL ", "email"),
        ("Emial", "email"),
        ("Contact ID", "external_id"),
        ("ID", "external_id"),
        ("Record ID", "external_id"),
        ("Name", FULL_NAME),
        ("First Name", "first_name"),
        ("surname", "last_name"),
        ("Company Name", "company"),
        ("Organisation", "company"),
        ("Job Title", "title"),
        ("# Employees", "employees"),
        ("No. of Employees", "employees"),
        ("Annual Revenue", "annual_revenue"),
        ("Country", "country"),
        ("State/Province", "region"),
        ("Lead Source", "source"),
        ("utm_campaign", "utm_campaign"),
        ("Email Opt Out", "do_not_email"),
        ("Do Not Call", "do_not_call"),
        ("Won", OUTCOME),
        ("Favourite colour", ATTRIBUTE),
        ("Zip", ATTRIBUTE),
    ],
)
def test_headers_are_mapped_by_their_usual_names(header, target):
    assert auto_map([header]) == {header: target}


def test_a_field_goes_to_the_first_column_that_claims_it():
    assert auto_map(["Email", "E-mail", "Company"]) == {
        "Email": "email",
        "E-mail": ATTRIBUTE,
        "Company": "company",
    }


def test_a_mapping_needs_an_email_or_an_external_id():
    with pytest.raises(ApplicationError) as exc:
        validate_mapping(["Company"], {"Company": "company"})
    assert "Email or External ID" in exc.value.extra["__all__"][0]


def test_a_mapping_cannot_use_a_field_twice_or_an_unknown_field():
    with pytest.raises(ApplicationError) as exc:
        validate_mapping(["A", "B", "C"], {"A": "email", "B": "email", "C": "favourite_colour"})
    assert "already mapped" in exc.value.extra["B"][0]
    assert "not a lead field" in exc.value.extra["C"][0]


def test_a_valid_mapping_keeps_attributes_and_ignored_columns():
    assert validate_mapping(["A", "B", "C"], {"A": "email", "C": IGNORE}) == {
        "A": "email",
        "B": ATTRIBUTE,
        "C": IGNORE,
    }


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("1200", Decimal(1200)),
        ("1,200", Decimal(1200)),
        ("1.200.000", Decimal(1200000)),
        ("1 200,50", Decimal("1200.50")),
        ("5000.75", Decimal("5000.75")),
        ("$5M", Decimal(5000000)),
        ("€1.2m", Decimal(1200000)),
        ("10k", Decimal(10000)),
        ("2.5 bn", Decimal(2500000000)),
        ("500+", Decimal(500)),
        ("USD 300", Decimal(300)),
    ],
)
def test_numbers_are_read_with_separators_currency_and_suffixes(text, number):
    assert parse_number(text) == number


@pytest.mark.parametrize("text", ["lots", "1,2,3,4", "12 apples", "$"])
def test_text_that_is_not_a_number_is_refused(text):
    with pytest.raises(ValueError, match="not a number"):
        parse_number(text)


def test_employee_bands_count_their_lower_bound_and_fractions_are_refused():
    assert parse_employees("51-200") == 51
    assert parse_employees("1k to 5k") == 1000
    with pytest.raises(ValueError, match="whole number"):
        parse_employees("12.5")


def test_revenue_is_rounded_to_cents_and_bounded():
    assert parse_revenue("1234.567") == Decimal("1234.57")
    with pytest.raises(ValueError, match="too large"):
        parse_revenue("$900000000B")


@pytest.mark.parametrize(
    ("text", "code"),
    [("Germany", "DE"), ("de", "DE"), ("DEU", "DE"), ("United States", "US"), ("USA", "US"),
     ("UK", "GB"), ("United Kingdom", "GB"), ("South Korea", "KR")],
)  # fmt: skip
def test_countries_are_stored_as_iso_codes(text, code):
    assert parse_country(text) == code


@pytest.mark.parametrize(
    ("text", "level"),
    [("VP", "vp"), ("Vice President", "vp"), ("C-Level", "c_level"), ("Head of", "director"),
     ("Sr. Manager", "manager"), ("Founder & CEO", "owner"), ("individual", "individual")],
)  # fmt: skip
def test_seniority_words_are_understood(text, level):
    assert parse_seniority(text) == level


@pytest.mark.parametrize(
    ("text", "outcome"),
    [("won", "won"), ("Closed Won", "won"), ("converted", "won"), ("1", "won"),
     ("yes", "won"), ("lost", "lost"), ("0", "lost"), ("Closed Lost", "lost"), ("no", "lost")],
)  # fmt: skip
def test_outcomes_are_normalised_to_won_or_lost(text, outcome):
    assert parse_outcome(text) == outcome


def test_full_names_are_split_either_way_round():
    assert split_full_name("Ada  King Lovelace") == ("Ada King", "Lovelace")
    assert split_full_name("Lovelace, Ada") == ("Ada", "Lovelace")
    assert split_full_name("Cher") == ("Cher", "")


@pytest.mark.parametrize(
    ("text", "value"),
    [("yes", True), ("No", False), ("1,200", 1200), ("42", 42), ("3.5", 3.5),
     ("01234", "01234"), ("+49 30 1234", "+49 30 1234"),
     ("4915112345678901234", "4915112345678901234"),
     ("blue", "blue")],
)  # fmt: skip
def test_custom_attributes_get_number_and_yes_no_types_but_codes_stay_text(text, value):
    assert infer_value(text) == value
    assert type(infer_value(text)) is type(value)


@pytest.mark.parametrize("placeholder", ["", "  ", "Select", "N/A", "n/a", "-", "null", "None"])
def test_placeholders_are_empty_for_fields_and_attributes(placeholder):
    headers = ["Email", "Company", "Notes"]
    row = clean_row(
        2,
        ["a@example.com", placeholder, placeholder],
        headers=headers,
        mapping=auto_map(headers),
    )
    assert row.errors == []
    assert row.data == {"email": "a@example.com"}
    assert row.attributes == {}


def test_a_row_with_bad_values_is_rejected_with_one_error_per_column():
    headers = ["Email", "Employees", "Country", "Do not call"]
    row = clean_row(
        7, ["nope", "many", "Atlantis", "perhaps"], headers=headers, mapping=auto_map(headers)
    )
    assert [field for field, _ in row.errors] == ["Email", "Employees", "Country", "Do not call"]


def test_a_row_longer_than_the_header_is_rejected_but_trailing_empty_cells_are_fine():
    headers = ["Email", "Company"]
    mapping = auto_map(headers)
    assert (
        clean_row(2, ["a@example.com", "Acme", ""], headers=headers, mapping=mapping).errors == []
    )
    row = clean_row(3, ["a@example.com", "Acme", " Inc"], headers=headers, mapping=mapping)
    assert "3 values but the header has 2 columns" in row.errors[0][1]


def test_values_longer_than_the_field_are_rejected():
    row = clean_row(2, ["a@example.com", "x" * 201], headers=["Email", "Company"],
                    mapping={"Email": "email", "Company": "company"})  # fmt: skip
    assert row.errors == [("Company", "At most 200 characters (this one has 201).")]


def test_the_default_source_fills_rows_without_their_own():
    headers = ["ID", "Lead Source"]
    mapping = auto_map(headers)
    assert clean_row(2, ["1", ""], headers=headers, mapping=mapping, default_source="crm").data == {
        "external_id": "1",
        "source": "crm",
    }
    assert (
        clean_row(3, ["2", "webinar"], headers=headers, mapping=mapping, default_source="crm").data[
            "source"
        ]
        == "webinar"
    )


def test_excel_unicode_text_exports_in_utf16_with_tabs_are_read():
    raw = "Email\tName\nzoe@example.com\tZoë Ångström\n".encode("utf-16")
    fmt, headers, rows = _read(raw)
    assert fmt == importing.CsvFormat(encoding="utf-16", delimiter="\t")
    assert headers == ["Email", "Name"]
    assert rows == [(2, ["zoe@example.com", "Zoë Ångström"])]
