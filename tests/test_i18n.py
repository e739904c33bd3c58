"""The French catalogue is complete, compiled, and actually used by the pages.

French is the default language; the source strings are English. These tests fail when a
string is added without a translation, when a translation is left fuzzy, when the compiled
``django.mo`` lags behind ``django.po``, or when the pages stop switching language.

To fix a failure: from ``src/infogerance``, run ``django-admin makemessages -l fr``,
translate the listed entries, then ``django-admin compilemessages``.
"""

from __future__ import annotations

import gettext
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import translation

LC_MESSAGES = Path(settings.LOCALE_PATHS[0]) / "fr" / "LC_MESSAGES"
PO_FILE = LC_MESSAGES / "django.po"
MO_FILE = LC_MESSAGES / "django.mo"

LOGIN_URL = "/accounts/login/"


# --- A small .po parser (no dependency) -------------------------------------------------

_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "a": "\a", "b": "\b", "f": "\f", "v": "\v"}
_KEYWORD = re.compile(r"^(msgctxt|msgid_plural|msgid|msgstr(?:\[(\d+)\])?)\s+(\".*\")\s*$")


def _unquote(token: str, where: str) -> str:
    token = token.strip()
    if len(token) < 2 or not (token.startswith('"') and token.endswith('"')):
        raise ValueError(f"{where}: expected a quoted string, got {token!r}")
    return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), m.group(1)), token[1:-1])


@dataclass
class PoEntry:
    line: int
    msgid: str = ""
    msgctxt: str | None = None
    msgid_plural: str | None = None
    msgstr: dict[int, str] = field(default_factory=dict)
    flags: set[str] = field(default_factory=set)
    obsolete: bool = False
    has_msgid: bool = False

    @property
    def is_header(self) -> bool:
        return self.msgid == "" and self.msgctxt is None

    @property
    def untranslated(self) -> bool:
        return not self.msgstr or any(text == "" for text in self.msgstr.values())

    @property
    def fuzzy(self) -> bool:
        return "fuzzy" in self.flags

    def label(self) -> str:
        context = f" [context {self.msgctxt!r}]" if self.msgctxt is not None else ""
        return f"line {self.line}: {self.msgid!r}{context}"


def parse_po(text: str, source: str = "django.po") -> list[PoEntry]:
    """Entries of a .po file, header included; handles multi-line strings and plurals."""
    entries: list[PoEntry] = []
    current: PoEntry | None = None
    target: tuple[str, int] | None = None  # the keyword continuation lines append to

    def start(lineno: int) -> PoEntry:
        nonlocal current, target
        if current is not None and current.has_msgid:
            entries.append(current)
        current = PoEntry(line=lineno)
        target = None
        return current

    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            if current is not None and current.has_msgid:
                start(lineno + 1)
            continue
        obsolete = line.startswith("#~")
        if obsolete:
            line = line[2:].strip()
            if not line or line.startswith("|"):
                continue
        elif line.startswith("#"):
            # A comment after a complete entry begins the next one.
            if current is None or current.msgstr:
                start(lineno)
            assert current is not None
            if line.startswith("#,"):
                current.flags.update(f.strip() for f in line[2:].split(",") if f.strip())
            continue
        where = f"{source}:{lineno}"
        match = _KEYWORD.match(line)
        if match:
            keyword, index, quoted = match.groups()
            if current is None or (keyword in ("msgctxt", "msgid") and current.msgstr):
                start(lineno)
            assert current is not None
            current.obsolete = current.obsolete or obsolete
            value = _unquote(quoted, where)
            if keyword == "msgctxt":
                current.msgctxt = value
                target = ("msgctxt", 0)
            elif keyword == "msgid":
                current.msgid, current.has_msgid = value, True
                current.line = lineno
                target = ("msgid", 0)
            elif keyword == "msgid_plural":
                current.msgid_plural = value
                target = ("msgid_plural", 0)
            else:
                slot = int(index) if index is not None else 0
                current.msgstr[slot] = value
                target = ("msgstr", slot)
        elif line.startswith('"'):
            if current is None or target is None:
                raise ValueError(f"{where}: continuation line outside an entry")
            value = _unquote(line, where)
            name, slot = target
            if name == "msgstr":
                current.msgstr[slot] += value
            else:
                setattr(current, name, (getattr(current, name) or "") + value)
        else:
            raise ValueError(f"{where}: cannot parse {raw!r}")
    if current is not None and current.has_msgid:
        entries.append(current)
    return entries


def _header(entries: list[PoEntry]) -> dict[str, str]:
    header = next((e for e in entries if e.is_header and not e.obsolete), None)
    assert header is not None, "django.po has no header entry"
    fields = {}
    for row in header.msgstr.get(0, "").splitlines():
        key, sep, value = row.partition(":")
        if sep:
            fields[key.strip()] = value.strip()
    return fields


@pytest.fixture(scope="module")
def po_entries() -> list[PoEntry]:
    assert PO_FILE.is_file(), f"{PO_FILE} is missing: run makemessages -l fr"
    return parse_po(PO_FILE.read_text(encoding="utf-8"))


@pytest.fixture(autouse=True)
def _keep_language():
    """Requests activate a language for the thread; do not leak it to other tests."""
    with translation.override(translation.get_language()):
        yield


# --- The parser itself --------------------------------------------------------------------


def test_parser_handles_multiline_plural_context_and_flags():
    sample = "\n".join(
        [
            'msgid ""',
            'msgstr ""',
            '"Language: fr\\n"',
            '"Plural-Forms: nplurals=2; plural=(n > 1);\\n"',
            "#: a.py:1",
            "#, fuzzy, python-format",
            'msgid ""',
            '"A long "',
            '"%(name)s \\"line\\""',
            'msgstr "Une longue ligne"',
            "#: b.py:2",
            'msgctxt "badge"',
            'msgid "%(n)d item"',
            'msgid_plural "%(n)d items"',
            'msgstr[0] "%(n)d élément"',
            'msgstr[1] ""',
            "",
            '#~ msgid "Gone"',
            '#~ msgstr "Parti"',
        ]
    )
    header, long, plural, gone = parse_po(sample)
    assert header.is_header
    assert _header([header])["Language"] == "fr"
    assert long.msgid == 'A long %(name)s "line"'
    assert long.fuzzy
    assert "python-format" in long.flags
    assert not long.untranslated
    assert plural.msgctxt == "badge"
    assert plural.msgid_plural == "%(n)d items"
    assert plural.msgstr == {0: "%(n)d élément", 1: ""}
    assert plural.untranslated
    assert not plural.fuzzy
    assert gone.obsolete
    assert gone.msgstr == {0: "Parti"}


# --- (a) Every entry translated, none fuzzy -----------------------------------------------


def test_po_header_is_french(po_entries):
    fields = _header(po_entries)
    assert fields.get("Language") == "fr"
    assert fields.get("Plural-Forms") == "nplurals=2; plural=(n > 1);"
    assert "charset=UTF-8" in fields.get("Content-Type", "")
    header = next(e for e in po_entries if e.is_header)
    assert not header.fuzzy, "the header of django.po is still marked fuzzy"


def test_every_entry_is_translated_and_not_fuzzy(po_entries):
    live = [e for e in po_entries if not e.is_header and not e.obsolete]
    assert live, "django.po has no entries"
    problems = []
    for entry in live:
        if entry.untranslated:
            problems.append(f"untranslated {entry.label()}")
        if entry.fuzzy:
            problems.append(f"fuzzy {entry.label()}")
        if entry.msgid_plural is not None and sorted(entry.msgstr) != [0, 1]:
            problems.append(f"needs msgstr[0] and msgstr[1] {entry.label()}")
    assert not problems, f"{PO_FILE}: {len(problems)} problem(s):\n" + "\n".join(problems)


_PLACEHOLDER = re.compile(r"%\([^)]+\)[sdif]|\{\{\s*[^}]+?\s*\}\}|%[sd]")


def test_translations_keep_placeholders(po_entries):
    problems = []
    for entry in po_entries:
        if entry.is_header or entry.obsolete or entry.untranslated:
            continue
        for slot, text in entry.msgstr.items():
            source = entry.msgid_plural if slot and entry.msgid_plural else entry.msgid
            expected = sorted(_PLACEHOLDER.findall(source))
            found = sorted(_PLACEHOLDER.findall(text))
            # A plural form may drop the number (e.g. "one item"); names must still match.
            if entry.msgid_plural is not None:
                expected, found = sorted(set(expected)), sorted(set(found))
            if found != expected:
                problems.append(f"{entry.label()} msgstr[{slot}]: {found} != {expected}")
    assert not problems, "placeholders differ:\n" + "\n".join(problems)


# --- (b) The compiled catalogue is current ------------------------------------------------


def test_compiled_catalogue_matches_po(tmp_path):
    assert MO_FILE.is_file(), f"{MO_FILE} is missing: run compilemessages"
    msgfmt = shutil.which("msgfmt")
    if msgfmt is None:
        if os.environ.get("CI") == "true":
            pytest.fail("msgfmt (GNU gettext) is required on CI to check django.mo")
        pytest.skip("msgfmt (GNU gettext) is not installed")
    fresh = tmp_path / "django.mo"
    result = subprocess.run(
        [msgfmt, "--check-format", "-o", str(fresh), str(PO_FILE)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, f"msgfmt rejected {PO_FILE}:\n{result.stderr}"
    with MO_FILE.open("rb") as committed_file, fresh.open("rb") as fresh_file:
        committed = gettext.GNUTranslations(committed_file)._catalog
        expected = gettext.GNUTranslations(fresh_file)._catalog
    missing = sorted(str(k) for k in expected.keys() - committed.keys())
    extra = sorted(str(k) for k in committed.keys() - expected.keys())
    changed = sorted(
        str(k) for k in expected.keys() & committed.keys() if expected[k] != committed[k]
    )
    assert committed == expected, (
        f"{MO_FILE} is stale; run compilemessages.\n"
        f"missing: {missing}\nobsolete: {extra}\nchanged: {changed}"
    )


def test_every_source_string_is_in_the_catalogue(tmp_path):
    """No string of the code or templates is missing from django.po (run `make messages`)."""
    if shutil.which("xgettext") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("xgettext (GNU gettext) is required on CI to check the catalogue")
        pytest.skip("xgettext (GNU gettext) is not installed")
    package = Path(settings.BASE_DIR)
    copy = tmp_path / "infogerance"
    shutil.copytree(package, copy, ignore=shutil.ignore_patterns("__pycache__", "*.mo"))
    django_admin = Path(sys.executable).with_name("django-admin")
    result = subprocess.run(
        [
            str(django_admin),
            "makemessages",
            "-l",
            "fr",
            "--no-obsolete",
            "--ignore=*/tests/*",
            "--ignore=*/migrations/*",
        ],
        cwd=copy,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "infogerance.settings"},
    )
    assert result.returncode == 0, result.stderr
    extracted = parse_po((copy / "locale/fr/LC_MESSAGES/django.po").read_text("utf-8"))
    committed = parse_po(PO_FILE.read_text("utf-8"))
    known = {(e.msgctxt, e.msgid) for e in committed if not e.obsolete}
    missing = sorted(
        e.msgid
        for e in extracted
        if e.msgid and not e.obsolete and (e.msgctxt, e.msgid) not in known
    )
    assert not missing, f"strings missing from {PO_FILE} (run `make messages`): {missing}"


# --- (c) The login page follows the language ----------------------------------------------


@pytest.mark.django_db
def test_login_page_is_french_by_default(client):
    response = client.get(LOGIN_URL)
    assert response.status_code == 200
    html = response.content.decode()
    assert '<html lang="fr">' in html
    assert "Se connecter" in html
    assert "Mot de passe oublié" in html
    assert "Log in" not in html
    assert response.headers["Content-Language"] == "fr"


@pytest.mark.django_db
def test_login_page_in_english_from_accept_language(client):
    response = client.get(LOGIN_URL, headers={"accept-language": "en"})
    assert response.status_code == 200
    html = response.content.decode()
    assert '<html lang="en">' in html
    assert "Log in" in html
    assert "Forgotten password?" in html
    assert "Se connecter" not in html
    assert response.headers["Content-Language"] == "en"


@pytest.mark.django_db
def test_login_page_in_english_from_language_cookie(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    response = client.get(LOGIN_URL, headers={"accept-language": "fr"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "Log in" in html
    assert "Se connecter" not in html


# --- (d) Key UI strings have their French wording -----------------------------------------

KEY_STRINGS = {
    "Log in": "Se connecter",
    "Log out": "Se déconnecter",
    "Home": "Accueil",
    "Audit trail": "Journal d'audit",
    "API tokens": "Jetons d'API",
    "Two-factor authentication": "Authentification à deux facteurs",
    "Provider": "Prestataire",
    "Client IT manager": "DSI client",
    "Add a member": "Ajouter un membre",
    "Reset my password": "Réinitialiser mon mot de passe",
    "Save": "Enregistrer",
    "Cancel": "Annuler",
    "Page not found": "Page introuvable",
}


def test_key_strings_are_translated():
    with translation.override("fr"):
        got = {source: translation.gettext(source) for source in KEY_STRINGS}
    assert got == KEY_STRINGS


def test_placeholders_survive_translation():
    with translation.override("fr"):
        assert translation.gettext("Welcome, %(name)s") % {"name": "Anne"} == "Bienvenue, Anne"
        message = translation.gettext("Between 1 and %(max)d days.") % {"max": 366}
    assert message == "Entre 1 et 366 jours."


def test_english_stays_the_source_language():
    with translation.override("en"):
        assert translation.gettext("Log in") == "Log in"
        assert translation.gettext("Audit trail") == "Audit trail"
