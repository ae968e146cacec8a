"""Keep the message catalogs in step with the templates and code.

    python -m acsa.web.catalogs          # add new messages to ja and fil .po files, report gaps

A feature may keep its messages in its own file beside `messages.po` (e.g. `offsets.po`); the
files are merged when read, and `update` adds to `messages.po` only what no other file has.

Messages are extracted with Babel from the templates (Jinja2's extractor) and from this
package's Python (`gettext`/`_` calls); each .po file is updated, keeping its translations.
`missing(lang)` is what the tests check: every message translated, none fuzzy.
"""

from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

from acsa.web import i18n

HERE = Path(__file__).parent
METHOD_MAP = [("templates/**.html", "jinja2.ext:babel_extract"), ("**.py", "python")]
OPTIONS = {"templates/**.html": {"extensions": "jinja2.ext.i18n", "trim_blocks": "true",
                                 "lstrip_blocks": "true", "newstyle_gettext": "true"}}
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None}


def template() -> Catalog:
    """Every message the web application uses (the .pot, in memory)."""
    catalog = Catalog(project="acsa-web", charset="utf-8")
    for filename, lineno, message, comments, context in extract_from_dir(
            str(HERE), METHOD_MAP, options_map=OPTIONS, keywords=KEYWORDS):
        if filename.endswith("catalogs.py"):
            continue
        catalog.add(message, None, [(filename, lineno)], auto_comments=comments,
                    context=context)
    return catalog


def read(lang: str) -> Catalog:
    """Every catalog file of the language, merged."""
    return i18n.read_catalog(lang)


def missing(lang: str) -> list[str]:
    """Messages used but not translated (absent, empty or fuzzy) in `lang`."""
    catalog = read(lang)
    out = []
    for message in template():
        if not message.id:
            continue
        found = catalog.get(message.id)
        if found is None or not found.string or found.fuzzy:
            out.append(message.id if isinstance(message.id, str) else message.id[0])
    return out


def update(lang: str) -> None:
    """Add new messages to the main catalog, leaving out those a feature file translates."""
    path = i18n.catalog_path(lang)
    if path.exists():
        with path.open("rb") as f:
            catalog = read_po(f, locale=lang)
    else:
        catalog = Catalog(locale=lang, project="acsa-web")
    elsewhere: set[object] = set()
    for other in i18n.catalog_files(lang)[1:]:
        with other.open("rb") as f:
            elsewhere |= {m.id for m in read_po(f, locale=lang) if m.id}
    wanted = template()
    for message_id in elsewhere:
        if message_id in wanted:
            wanted.delete(message_id)
    catalog.update(wanted, no_fuzzy_matching=True)
    with path.open("wb") as f:
        write_po(f, catalog, width=100, omit_header=False, ignore_obsolete=True)


def main() -> int:
    gaps = 0
    for lang in i18n.LANGS[1:]:
        update(lang)
        left = missing(lang)
        gaps += len(left)
        print(f"{lang}: {len(left)} message(s) untranslated")
    return 1 if gaps else 0


if __name__ == "__main__":
    sys.exit(main())
