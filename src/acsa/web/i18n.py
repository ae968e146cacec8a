"""Languages of the web application: English, Japanese and Filipino.

Message catalogs are the .po files under `locales/{ja,fil}/LC_MESSAGES/`: `messages.po` and
beside it one file per feature (`offsets.po`, `errors.po`, ...), merged and read with Babel at
startup and turned into gettext translations in memory, so an install needs no
compile step. Each language has its own Jinja2 environment with the i18n extension installed
(thread-safe: nothing is switched per request). Numbers, dates and money are formatted for the
locale with Babel; category, method and state names come from `acsa.documents.labels`.
"""

from __future__ import annotations

import datetime as dt
import functools
import io
from decimal import Decimal
from pathlib import Path
from typing import Any

from babel.dates import format_date, format_datetime
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_currency, format_decimal, format_percent
from babel.support import NullTranslations, Translations
from jinja2 import Environment, FileSystemLoader, select_autoescape

from acsa import money
from acsa.documents import labels
from acsa.ledger import domain as books
from acsa.ledger import reports
from acsa.web import labels as web_labels

HERE = Path(__file__).parent
LOCALES = HERE / "locales"
TEMPLATES = HERE / "templates"
LANGS = ("en", "ja", "fil")
DEFAULT = "en"
NAMES = {"en": "English", "ja": "日本語", "fil": "Filipino"}  # each in its own language
LANG_COOKIE = "acsa_lang"


def catalog_path(lang: str) -> Path:
    """The language's main catalog, where `python -m acsa.web.catalogs` adds new messages."""
    return LOCALES / lang / "LC_MESSAGES" / "messages.po"


def catalog_files(lang: str) -> list[Path]:
    """Every catalog of the language: the main one first, then the feature files by name."""
    folder = catalog_path(lang).parent
    return [catalog_path(lang)] + sorted(p for p in folder.glob("*.po")
                                         if p.name != "messages.po")


def read_catalog(lang: str) -> Catalog:
    """The language's catalogs merged into one. A message translated in two files is a
    mistake that would make one translation silently win: it is refused."""
    merged = Catalog(locale=lang, domain="messages", project="acsa-web", charset="utf-8")
    seen: dict[Any, Path] = {}
    for path in catalog_files(lang):
        with path.open("rb") as f:
            catalog = read_po(f, locale=lang, domain="messages")
        for message in catalog:
            if not message.id:
                continue
            if message.id in seen and message.string:
                raise ValueError(f"{path}: message {message.id!r} is already in "
                                 f"{seen[message.id].name}")
            if message.string:
                seen[message.id] = path
            if message.id not in merged or message.string:
                merged[message.id] = message
    return merged


@functools.cache
def translations(lang: str) -> NullTranslations:
    """The language's catalog (English: the message ids themselves). Fuzzy entries are left
    out, as a compiled catalog would."""
    if lang == DEFAULT:
        return NullTranslations()
    catalog = read_catalog(lang)
    buf = io.BytesIO()
    write_mo(buf, catalog)
    buf.seek(0)
    return Translations(fp=buf, domain="messages")


def pick(cookie: str | None, accept_language: str | None) -> str:
    """The user's language: the remembered choice, else the browser's first we have."""
    if cookie in LANGS:
        return cookie  # type: ignore[return-value]
    for part in (accept_language or "").split(","):
        tag = part.split(";")[0].strip().lower()
        for lang in LANGS:
            if tag == lang or tag.startswith(lang + "-") or (lang == "fil" and tag == "tl"):
                return lang
    return DEFAULT


# --- formatting ----------------------------------------------------------------------------
def _babel_locale(lang: str) -> str:
    return {"en": "en_US", "ja": "ja_JP", "fil": "fil_PH"}[lang]


def fmt_money(minor: int, currency: str, lang: str) -> str:
    amount = money.Money(minor, currency).amount
    return format_currency(amount, currency, locale=_babel_locale(lang))


def fmt_number(value: Decimal | int | str, lang: str) -> str:
    return format_decimal(Decimal(str(value)), locale=_babel_locale(lang),
                          decimal_quantization=False)


def fmt_date(value: dt.date | str | None, lang: str) -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        value = dt.date.fromisoformat(value[:10])
    return format_date(value, format="medium", locale=_babel_locale(lang))


def fmt_datetime(value: dt.datetime | str | None, lang: str) -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    return format_datetime(value, format="medium", tzinfo=dt.UTC,
                           locale=_babel_locale(lang)) + " UTC"


def fmt_percent(value: Decimal | float, lang: str) -> str:
    return format_percent(Decimal(str(value)), locale=_babel_locale(lang),
                          format="#,##0.0%")


def money_text(text: str, lang: str) -> str:
    """An amount written by the services as '1,234.50 PHP', formatted for the locale."""
    number, _, currency = text.rpartition(" ")
    if len(currency) != 3 or not currency.isalpha():
        return text
    try:
        m = money.Money.of(number.replace(",", ""), currency)
    except Exception:  # noqa: BLE001 - an unusual text is shown as it is
        return text
    return fmt_money(m.minor, m.currency, lang)


# --- the environments ----------------------------------------------------------------------
def _word(lang: str, table: dict[str, str], key: str, fallback: str | None = None) -> str:
    message = table.get(key) or (table.get(fallback) if fallback is not None else None)
    return translations(lang).gettext(message) if message else key


def _filters(lang: str) -> dict[str, Any]:
    words = {name: (lambda key, t=table: _word(lang, t, key, ""))
             for name, table in web_labels.TABLES.items()}
    return {**words,
        "money": lambda minor, cur: fmt_money(minor, cur, lang),
        "money_text": lambda text: money_text(text, lang),
        "number": lambda v: fmt_number(v, lang),
        "date": lambda v: fmt_date(v, lang),
        "datetime": lambda v: fmt_datetime(v, lang),
        "percent": lambda v: fmt_percent(v, lang),
        "category": lambda k: labels.label(labels.CATEGORIES, k, lang),
        "method": lambda k: labels.label(labels.METHODS, k, lang),
        "state": lambda k: labels.label(labels.STATES, k, lang),
        "kind": lambda k: labels.label(labels.KINDS, k, lang),
        "party": lambda k: labels.label(labels.PARTIES, k, lang),
    }


def fmt_amount(commodity: str, units: int, lang: str) -> str:
    """A ledger amount: money for a currency, the item quantity for an in-kind commodity."""
    if books.is_currency(commodity):
        return fmt_money(units, commodity, lang)
    return reports.amount_text(commodity, units)


@functools.cache
def environment(lang: str) -> Environment:
    env = Environment(loader=FileSystemLoader(str(TEMPLATES)),
                      autoescape=select_autoescape(["html"]),
                      extensions=["jinja2.ext.i18n"], trim_blocks=True, lstrip_blocks=True)
    env.install_gettext_translations(translations(lang), newstyle=True)  # type: ignore[attr-defined]
    env.filters.update(_filters(lang))
    env.globals.update(lang=lang, langs=LANGS, lang_names=NAMES,
                       amount=lambda com, units: fmt_amount(com, units, lang),
                       money_plain=lambda minor, cur: str(money.Money(minor, cur).amount))
    return env


def gettext(lang: str, message: str, **variables: Any) -> str:
    text = translations(lang).gettext(message)
    return text % variables if variables else text


def load_all() -> None:
    """Read every catalog and build every environment now (at startup), so a broken catalog
    stops the server instead of the first page in that language."""
    for lang in LANGS:
        translations(lang)
        environment(lang)
