"""Agreement files: the bundled ones, bad files refused by name and field, and amendments."""

from __future__ import annotations

import datetime as dt

import pytest

from acsa.agreements.loader import bundled_files, load_all
from acsa.errors import AgreementFileInvalid
from tests.unit.agreements.samples import BASE_TOML, load


class TestBundled:
    def test_the_three_bundled_agreements_load(self):
        found = load_all(bundled_files())
        assert set(found) == {"PHJP", "JPUS", "PHUS"}
        assert {src for _, src in found.values()} == {
            "<bundled>/phjp.toml", "<bundled>/jpus.toml", "<bundled>/phus.toml"}

    def test_phjp_has_no_known_entry_into_force(self):
        phjp, _ = load_all(bundled_files())["PHJP"]
        assert phjp.in_force_on is None
        assert phjp.signed_on == dt.date(2026, 1, 15)
        assert set(phjp.parties) == {"PH", "JP"}
        assert "in_force_on" in phjp.unconfirmed

    def test_jpus_and_phus_are_in_force_with_us_ceilings(self):
        found = load_all(bundled_files())
        jpus, _ = found["JPUS"]
        assert jpus.in_force_on == dt.date(2017, 4, 25)
        assert jpus.fiscal_years["US"].start == "10-01"
        for code in ("JPUS", "PHUS"):
            (ceiling,) = found[code][0].ceilings
            assert (ceiling.party, ceiling.currency) == ("US", "USD")


def _refused(*files: tuple[str, str | bytes]) -> AgreementFileInvalid:
    with pytest.raises(AgreementFileInvalid) as e:
        load(*files)
    return e.value


def _with(old: str, new: str) -> str:
    assert old in BASE_TOML, old
    return BASE_TOML.replace(old, new, 1)


class TestBadFiles:
    def test_the_sample_itself_is_valid(self):
        assert load(("test.toml", BASE_TOML))["TEST"][0].code == "TEST"

    @pytest.mark.parametrize(("text", "field", "words"), [
        (_with('version = 1', 'version = "one"'), "version", "integer"),
        ('colour = "blue"\n' + BASE_TOML, "colour", "Extra inputs"),
        (BASE_TOML + 'colour = "blue"\n', "fiscal_years.JP.colour", "Extra inputs"),
        (_with('supply_methods = ["cash", "rik"]', 'supply_methods = ["cash", "eve"]'),
         "settlement.supply_methods", "never by eve"),
        (_with('service_methods = ["cash", "eve"]', 'service_methods = ["rik"]'),
         "settlement.service_methods", "not rik"),
        (_with('signed_on = 2026-01-15', 'signed_on = "last year"'), "signed_on", "date"),
        (_with('activity_types = ["exercise", "training", "hadr"]', 'activity_types = ["war"]'),
         "activity_types.0", "exercise"),
        (_with('"medical", ', '"weapons", '), "categories.3", "food"),
        (_with('start = "04-01"', 'start = "13-01"'), "fiscal_years.JP.start", "pattern"),
    ])
    def test_a_field_error_names_the_file_and_the_field(self, text, field, words):
        err = _refused(("agreements/test.toml", text))
        assert err.message.startswith("agreements/test.toml: ")
        assert f"field {field!r}" in err.message
        assert err.field == field
        assert words in err.message

    @pytest.mark.parametrize(("text", "words"), [
        (_with("allowed = true\nactivity_types = [\"exercise\", \"training\"]", "allowed = false"),
         ["categories lists ammunition", "ammunition.allowed"]),
        (_with('"medical", "ammunition"]', '"medical"]'),
         ["ammunition.allowed is true", "not in categories"]),
        (BASE_TOML + '\n[[ceilings]]\nparty = "US"\ncurrency = "USD"\ntotal = 60000000\n',
         ["ceiling party US", "not a party"]),
        (_with('parties = ["PH", "JP"]', 'parties = ["PH", "PH"]'), ["two different parties"]),
        (_with('[fiscal_years.PH]', '[fiscal_years.US]'), ["fiscal_years"]),
        (_with('fiscal_year_party = "JP"', 'fiscal_year_party = "US"'),
         ["rates.fiscal_year_party"]),
        (_with('in_force_on = 2026-04-25', 'in_force_on = 2025-12-31'), ["before signed_on"]),
        (_with('unconfirmed = ["term_years"]', 'unconfirmed = ["colour"]'), ["'colour'"]),
        (_with('offset = "approved_netting"', 'offset = "after_months"'),
         ["offset_after_months is required"]),
        (_with('allowed = true', 'allowed = false\n# still listed:'),
         ["activity_types must be empty"]),
    ])
    def test_a_rule_across_fields_names_the_file_and_the_rule(self, text, words):
        err = _refused(("test.toml", text))
        assert err.message.startswith("test.toml: ")
        for w in words:
            assert w in err.message

    def test_every_problem_is_listed_not_only_the_first(self):
        text = _with('version = 1', 'version = 0').replace('title = "Test agreement"',
                                                           'title = 5')
        err = _refused(("test.toml", text))
        assert "(and 1 more)" in err.message
        assert {p["field"] for p in err.details["problems"]} == {"version", "title"}

    def test_bad_toml(self):
        err = _refused(("test.toml", BASE_TOML + "version = \n"))
        assert err.message.startswith("test.toml: not valid TOML")

    def test_bad_utf8(self):
        raw = BASE_TOML.replace("Test agreement", "Test \udcff").encode("utf-8", "surrogateescape")
        err = _refused(("test.toml", raw))
        assert err.message.startswith("test.toml: not UTF-8 text")

    def test_one_bad_file_refuses_the_whole_set(self):
        bad = ("zz-bad.toml", "x = 1\n" + BASE_TOML.replace('code = "TEST"', 'code = "OTHER"'))
        err = _refused(("test.toml", BASE_TOML), bad)
        assert "zz-bad.toml" in err.message

    def test_unknown_in_force_date_is_written_unknown(self):
        text = _with('in_force_on = 2026-04-25', 'in_force_on = "unknown"')
        assert load(("test.toml", text))["TEST"][0].in_force_on is None

    def test_a_second_file_for_the_same_code_needs_a_higher_version(self):
        err = _refused(("a.toml", BASE_TOML), ("b.toml", BASE_TOML))
        assert err.field == "version"
        assert "b.toml" in err.message and "already defined by a.toml" in err.message

    def test_a_replacement_with_a_higher_version_wins(self):
        v2 = _with('version = 1', 'version = 2').replace("Test agreement", "Test agreement v2")
        found = load(("a.toml", BASE_TOML), ("b.toml", v2))
        assert (found["TEST"][0].title, found["TEST"][1]) == ("Test agreement v2", "b.toml")

    def test_a_second_file_with_a_non_integer_version_is_refused_by_name(self):
        err = _refused(("a.toml", BASE_TOML), ("b.toml", _with('version = 1', 'version = "2"')))
        assert "b.toml" in err.message

    def test_a_ceiling_in_an_unknown_currency_names_the_file_and_field(self):
        text = BASE_TOML + '\n[[ceilings]]\nparty = "JP"\ncurrency = "XYZ"\ntotal = 5\n'
        err = _refused(("test.toml", text))
        assert "test.toml" in err.message and err.field == "ceilings.0.currency"

    def test_an_impossible_fiscal_year_start_is_refused(self):
        err = _refused(("test.toml", _with('start = "04-01"', 'start = "02-30"')))
        assert err.field == "fiscal_years.JP.start"


AMEND_IN_FORCE = """\
amends = "TEST"
version = 2
in_force_on = 2026-06-01
"""


class TestAmendments:
    def _base_unknown(self) -> str:
        return (_with('in_force_on = 2026-04-25', 'in_force_on = "unknown"')
                .replace('unconfirmed = ["term_years"]', 'unconfirmed = ["in_force_on"]'))

    def test_an_amendment_sets_the_entry_into_force_and_confirms_it(self):
        found = load(("test.toml", self._base_unknown()), ("in-force.toml", AMEND_IN_FORCE))
        ag, src = found["TEST"]
        assert ag.in_force_on == dt.date(2026, 6, 1)
        assert ag.version == 2
        assert src == "in-force.toml"
        assert "in_force_on" not in ag.unconfirmed
        assert ag.title == "Test agreement"  # untouched values are kept

    def test_the_bundled_phjp_can_be_brought_into_force(self):
        amend = 'amends = "PHJP"\nversion = 2\nin_force_on = 2026-09-01\n'
        found = load_all(bundled_files() + [("phjp-in-force.toml", amend.encode())])
        phjp, src = found["PHJP"]
        assert phjp.in_force_on == dt.date(2026, 9, 1)
        assert src == "phjp-in-force.toml"
        phjp.check_in_force(dt.date(2026, 9, 1))

    def test_nested_tables_are_merged_not_replaced(self):
        amend = 'amends = "TEST"\nversion = 2\n[settlement]\ndays_to_pay = 45\n'
        ag, _ = load(("test.toml", BASE_TOML), ("a.toml", amend))["TEST"]
        assert ag.settlement.days_to_pay == 45
        assert ag.settlement.deadline_months == 12
        assert [m.value for m in ag.settlement.supply_methods] == ["cash", "rik"]

    def test_amendments_apply_in_version_order_whatever_the_file_order(self):
        v3 = 'amends = "TEST"\nversion = 3\n[settlement]\ndays_to_pay = 60\n'
        found = load(("test.toml", self._base_unknown()), ("a-v3.toml", v3),
                     ("b-v2.toml", AMEND_IN_FORCE))
        ag, src = found["TEST"]
        assert (ag.version, ag.settlement.days_to_pay, src) == (3, 60, "a-v3.toml")
        assert ag.in_force_on == dt.date(2026, 6, 1)

    @pytest.mark.parametrize("version_line", ["version = 1", "version = 0", ""])
    def test_an_amendment_needs_a_version_above_the_base(self, version_line):
        amend = AMEND_IN_FORCE.replace("version = 2", version_line)
        err = _refused(("test.toml", BASE_TOML), ("amend.toml", amend))
        assert err.field == "version"
        assert err.message.startswith("amend.toml: ")
        assert "needs a version above 1" in err.message

    def test_an_amendment_of_an_unknown_agreement_is_refused(self):
        err = _refused(("test.toml", BASE_TOML),
                       ("amend.toml", AMEND_IN_FORCE.replace('"TEST"', '"NOPE"')))
        assert err.field == "amends"
        assert "no agreement 'NOPE'" in err.message

    def test_an_amendment_that_breaks_a_rule_is_refused_by_its_own_name(self):
        amend = AMEND_IN_FORCE.replace("2026-06-01", "2025-01-01")
        err = _refused(("test.toml", BASE_TOML), ("amend.toml", amend))
        assert err.message.startswith("amend.toml: ")
        assert "before signed_on" in err.message
