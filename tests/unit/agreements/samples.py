"""A small valid agreement file, and helpers to vary it, for the agreement tests."""

from __future__ import annotations

import copy
import tomllib
from typing import Any

from acsa.agreements.domain import Agreement
from acsa.agreements.loader import load_all

# In force 2026-04-25 for 10 years without renewal, so it ends on 2036-04-24. Water is a known
# category it leaves out; ammunition only for exercises and training.
BASE_TOML = """\
code = "TEST"
version = 1
title = "Test agreement"
short_name = "Test ACSA"
parties = ["PH", "JP"]
signed_on = 2026-01-15
in_force_on = 2026-04-25
term_years = 10
auto_renew = false
categories = ["food", "fuel", "transportation", "medical", "ammunition"]
activity_types = ["exercise", "training", "hadr"]
unconfirmed = ["term_years"]

[ammunition]
allowed = true
activity_types = ["exercise", "training"]

[settlement]
supply_methods = ["cash", "rik"]
service_methods = ["cash", "eve"]
deadline_months = 12
days_to_pay = 30
offset = "approved_netting"
overdue_in_kind = "convert_to_cash"

[rates]
policy = "fixed_fiscal_year"
fiscal_year_party = "JP"

[fiscal_years.PH]
start = "01-01"
named_by = "start"

[fiscal_years.JP]
start = "04-01"
named_by = "start"
"""


def base_data() -> dict[str, Any]:
    return tomllib.loads(BASE_TOML)


def deep_update(data: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(data)
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_update(out[key], value)
        else:
            out[key] = value
    return out


def agreement(**changes: Any) -> Agreement:
    """The base agreement with top-level or nested (dict) values changed."""
    return Agreement.model_validate(deep_update(base_data(), changes))


def load(*files: tuple[str, str | bytes]) -> dict[str, tuple[Agreement, str]]:
    return load_all([(name, text.encode() if isinstance(text, str) else text)
                     for name, text in files])
