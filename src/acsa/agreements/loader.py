"""Reading agreement files: the bundled ones and those a user adds.

A file is either a whole agreement or an amendment (`amends = "CODE"`) whose values are merged
over the agreement it amends, with a higher `version`. A bad file is refused with the file, the
field and the rule it breaks; nothing is loaded from a folder with a bad file in it.
"""

from __future__ import annotations

import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from acsa.agreements.domain import Agreement
from acsa.errors import AgreementFileInvalid


def bundled_files() -> list[tuple[str, bytes]]:
    folder = resources.files("acsa.agreements") / "data"
    return sorted((f"<bundled>/{p.name}", p.read_bytes())
                  for p in folder.iterdir() if p.name.endswith(".toml"))


def user_files(folder: Path) -> list[tuple[str, bytes]]:
    if not folder.is_dir():
        return []
    return sorted((str(p), p.read_bytes()) for p in folder.glob("*.toml"))


def _parse(name: str, raw: bytes) -> dict[str, Any]:
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as e:
        raise AgreementFileInvalid(f"{name}: not UTF-8 text ({e.reason})") from None
    except tomllib.TOMLDecodeError as e:
        raise AgreementFileInvalid(f"{name}: not valid TOML: {e}") from None
    if data.get("in_force_on") == "unknown":
        data["in_force_on"] = None
    return data


def _merge(base: dict[str, Any], change: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in change.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def validate(name: str, data: dict[str, Any]) -> Agreement:
    try:
        return Agreement.model_validate(data)
    except ValidationError as e:
        first = e.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "(file)"
        more = f" (and {len(e.errors()) - 1} more)" if len(e.errors()) > 1 else ""
        raise AgreementFileInvalid(
            f"{name}: field {field!r}: {first['msg']}{more}", field=field,
            problems=[{"field": ".".join(str(p) for p in err["loc"]), "rule": err["msg"]}
                      for err in e.errors()]) from None


def load_all(files: list[tuple[str, bytes]]) -> dict[str, tuple[Agreement, str]]:
    """Every agreement by code, with the name of the file that last defined or amended it."""
    raw: dict[str, tuple[dict[str, Any], str]] = {}
    amendments: list[tuple[str, dict[str, Any]]] = []
    wholes: list[tuple[str, dict[str, Any]]] = []
    for name, content in files:
        data = _parse(name, content)
        if "amends" in data:
            amendments.append((name, data))
            continue
        if not _is_int(data.get("version")):
            raise AgreementFileInvalid(f"{name}: field 'version': must be an integer",
                                       field="version")
        wholes.append((name, data))
    # older versions first, whatever the files are called
    for name, data in sorted(wholes, key=lambda w: (str(w[1].get("code")), w[1]["version"])):
        code = data.get("code")
        if code in raw and raw[code][0].get("version", 0) >= data.get("version", 0):
            raise AgreementFileInvalid(
                f"{name}: field 'version': {code} version {data.get('version')} is already "
                f"defined by {raw[code][1]}; a replacement needs a higher version",
                field="version")
        validate(name, data)
        raw[code] = (data, name)
    def amendment_order(a: tuple[str, dict[str, Any]]) -> tuple[str, int]:
        version = a[1].get("version")
        return str(a[1]["amends"]), version if _is_int(version) else 0

    for name, data in sorted(amendments, key=amendment_order):
        code = data.pop("amends")
        if code not in raw:
            raise AgreementFileInvalid(f"{name}: field 'amends': no agreement {code!r} to amend",
                                       field="amends")
        if "code" in data and data["code"] != code:
            raise AgreementFileInvalid(
                f"{name}: field 'code': an amendment of {code} cannot change its code to "
                f"{data['code']!r}", field="code")
        base, _ = raw[code]
        if not _is_int(data.get("version")) or data["version"] <= base["version"]:
            raise AgreementFileInvalid(
                f"{name}: field 'version': an amendment of {code} needs a version above "
                f"{base['version']}", field="version")
        merged = _merge(base, data)
        if "in_force_on" in data and "in_force_on" in merged.get("unconfirmed", []) \
                and "unconfirmed" not in data:
            merged["unconfirmed"] = [u for u in merged["unconfirmed"] if u != "in_force_on"]
        validate(name, merged)
        raw[code] = (merged, name)
    return {code: (Agreement.model_validate(d), src) for code, (d, src) in raw.items()}
