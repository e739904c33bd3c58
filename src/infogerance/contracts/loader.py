"""Reading a contract file: YAML with positions, then the format's validation.

The YAML is composed into nodes (never constructed into arbitrary Python objects), so every
value is a string, a list or a mapping, and every one of them keeps its line and column.
Types are then the format's business (pydantic), and every error, of YAML or of the
format, is reported at once with the line, the column and the field path.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import yaml
from django.utils.translation import gettext as _
from pydantic import ValidationError

from infogerance.contracts.format import ContractDocument, cross_references

MAX_FILE_BYTES = 1024 * 1024  # a contract is text; 1 MiB is far above any real one
MAX_NODES = 100_000

Path = tuple[Any, ...]


@dataclass(frozen=True)
class Problem:
    path: Path
    message: str
    line: int | None = None  # 1-based
    column: int | None = None  # 1-based

    @property
    def where(self) -> str:
        return ".".join(str(p) for p in self.path) or "(document)"

    def __str__(self) -> str:
        place = f"line {self.line}, column {self.column}" if self.line else ""
        return (
            f"{place}: {self.where}: {self.message}" if place else f"{self.where}: {self.message}"
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "path": self.where,
            "line": self.line,
            "column": self.column,
            "message": self.message,
        }


class ContractFileError(Exception):
    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = problems


NULLS = {"", "~", "null", "Null", "NULL"}


class _Builder:
    def __init__(self) -> None:
        self.positions: dict[Path, tuple[int, int]] = {}
        self.problems: list[Problem] = []
        self.count = 0

    def build(self, node: yaml.Node, path: Path) -> Any:
        self.count += 1
        if self.count > MAX_NODES:
            raise ContractFileError([Problem(path, _("The file has too many elements."))])
        self.positions[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
        if isinstance(node, yaml.ScalarNode):
            if node.tag == "tag:yaml.org,2002:null" or (node.style is None and node.value in NULLS):
                return None
            return node.value
        if isinstance(node, yaml.SequenceNode):
            return [self.build(child, (*path, i)) for i, child in enumerate(node.value)]
        if isinstance(node, yaml.MappingNode):
            result: dict[str, Any] = {}
            for key_node, value_node in node.value:
                if not isinstance(key_node, yaml.ScalarNode):
                    self._problem(key_node, path, _("A key must be a plain value."))
                    continue
                key = key_node.value
                if key == "<<":
                    self._problem(key_node, path, _("Merge keys (<<) are not allowed."))
                    continue
                if key in result:
                    self._problem(
                        key_node, (*path, key), _("Duplicate key %(key)r.") % {"key": key}
                    )
                    continue
                result[key] = self.build(value_node, (*path, key))
            return result
        self._problem(node, path, _("Unsupported YAML element."))
        return None

    def _problem(self, node: yaml.Node, path: Path, message: str) -> None:
        mark = node.start_mark
        self.problems.append(Problem(path, message, mark.line + 1, mark.column + 1))


class _NoAliasComposer(yaml.SafeLoader):
    """Refuses anchors and aliases: no billion laughs, and one place for each value."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
            raise yaml.MarkedYAMLError(
                None,
                None,
                "anchors and aliases (&name, *name) are not allowed",
                event.start_mark,
            )
        return super().compose_node(parent, index)


def parse_yaml(text: str | bytes) -> tuple[Any, dict[Path, tuple[int, int]]]:
    """The file's data (strings, lists, mappings) and the position of every value."""
    if isinstance(text, bytes):
        if len(text) > MAX_FILE_BYTES:
            raise ContractFileError([Problem((), _too_big(len(text)))])
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ContractFileError(
                [Problem((), _("The file is not UTF-8 text (byte %(n)d).") % {"n": exc.start})]
            ) from None
    if len(text.encode("utf-8")) > MAX_FILE_BYTES:
        raise ContractFileError([Problem((), _too_big(len(text.encode("utf-8"))))])
    loader = _NoAliasComposer(text)
    try:
        node = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        message = _("Not valid YAML: %(reason)s") % {"reason": exc.problem or exc.context}
        line, column = (mark.line + 1, mark.column + 1) if mark else (None, None)
        raise ContractFileError([Problem((), message, line, column)]) from None
    except yaml.YAMLError as exc:
        raise ContractFileError(
            [Problem((), _("Not valid YAML: %(reason)s") % {"reason": exc})]
        ) from None
    finally:
        loader.dispose()
    if node is None:
        raise ContractFileError([Problem((), _("The file is empty."))])
    builder = _Builder()
    data = builder.build(node, ())
    if builder.problems:
        raise ContractFileError(builder.problems)
    if not isinstance(data, dict):
        raise ContractFileError([Problem((), _("A contract file is a mapping of sections."), 1, 1)])
    return data, builder.positions


def _too_big(size: int) -> str:
    return _("The file is too large (%(size)d bytes, at most %(max)d).") % {
        "size": size,
        "max": MAX_FILE_BYTES,
    }


def _position(positions: dict[Path, tuple[int, int]], path: Path) -> tuple[int | None, int | None]:
    """The position of ``path``, or of its nearest ancestor present in the file."""
    probe = tuple(path)
    while True:
        if probe in positions:
            return positions[probe]
        if not probe:
            return None, None
        probe = probe[:-1]


def load_contract(text: str | bytes) -> ContractDocument:
    """Parse and validate a contract file; raise ContractFileError with every problem."""
    data, positions = parse_yaml(text)
    # Cross-references are checked on the raw data, so that they are reported together
    # with the field errors: every problem of the file at once.
    problems = [
        Problem(path, message, *_position(positions, path))
        for path, message in cross_references(data)
    ]
    problems += calendar_problems(data, positions)
    try:
        document = ContractDocument.model_validate(data)
    except ValidationError as exc:
        problems += [
            Problem(
                tuple(err["loc"]), translate_error(err), *_position(positions, tuple(err["loc"]))
            )
            for err in exc.errors(include_url=False)
        ]
        raise ContractFileError(sorted(problems, key=_order)) from None
    if problems:
        raise ContractFileError(sorted(problems, key=_order))
    return document


def calendar_problems(
    data: dict[str, Any], positions: dict[Path, tuple[int, int]]
) -> list[Problem]:
    """Build each calendar whose fields are valid (overlapping windows, unknown zone…)."""
    from infogerance.contracts.calendars import CalendarDefinitionError, compile_calendar
    from infogerance.contracts.format import CalendarDef

    calendars = data.get("calendars")
    problems = []
    for name, raw in calendars.items() if isinstance(calendars, dict) else []:
        try:
            definition = CalendarDef.model_validate(raw)
        except ValidationError:
            continue  # its field errors are reported with the others
        try:
            compile_calendar(definition)
        except CalendarDefinitionError as exc:
            path = ("calendars", name)
            problems.append(Problem(path, str(exc), *_position(positions, path)))
    return problems


def _order(problem: Problem) -> tuple[int, int, str]:
    return (problem.line or 0, problem.column or 0, problem.where)


def translate_error(error: Any) -> str:
    """A pydantic error in the user's language (the common kinds; others in English)."""
    kind = error.get("type", "")
    ctx = error.get("ctx") or {}
    messages: dict[str, str] = {
        "missing": _("This field is required."),
        "extra_forbidden": _("Unknown field."),
        "string_type": _("Expected text."),
        "int_parsing": _("Expected a whole number."),
        "int_type": _("Expected a whole number."),
        "int_from_float": _("Expected a whole number."),
        "decimal_parsing": _("Expected a number."),
        "decimal_type": _("Expected a number."),
        "float_parsing": _("Expected a number."),
        "bool_parsing": _("Expected true or false."),
        "bool_type": _("Expected true or false."),
        "date_from_datetime_parsing": _("Expected a date (YYYY-MM-DD)."),
        "date_parsing": _("Expected a date (YYYY-MM-DD)."),
        "date_type": _("Expected a date (YYYY-MM-DD)."),
        "list_type": _("Expected a list."),
        "dict_type": _("Expected a mapping (key: value)."),
        "model_type": _("Expected a mapping (key: value)."),
        "model_attributes_type": _("Expected a mapping (key: value)."),
    }
    if kind in messages:
        message = messages[kind]
        if kind.startswith("date") and error.get("input"):
            message = _("%(value)r is not a valid date (YYYY-MM-DD).") % {"value": error["input"]}
        return message
    if kind in {"enum", "literal_error"}:
        # pydantic joins the last two with an English "or"; a comma needs no translation.
        expected = str(ctx.get("expected", "")).replace(" or ", ", ")
        return _("%(value)r is not one of: %(expected)s.") % {
            "value": error.get("input"),
            "expected": expected,
        }
    if kind == "decimal_max_places":
        return _("At most %(n)s decimal places.") % {"n": ctx.get("decimal_places", "")}
    if kind == "string_pattern_mismatch":
        return _("%(value)r does not have the expected form.") % {"value": error.get("input")}
    if kind in {"greater_than_equal", "greater_than", "less_than_equal", "less_than"}:
        bound = next(iter(ctx.values()), "")
        text = {
            "greater_than_equal": _("Must be at least %(bound)s."),
            "greater_than": _("Must be more than %(bound)s."),
            "less_than_equal": _("Must be at most %(bound)s."),
            "less_than": _("Must be less than %(bound)s."),
        }[kind]
        return text % {"bound": bound}
    if kind in {"too_short", "string_too_short"}:
        return _("Too short (at least %(n)s).") % {"n": ctx.get("min_length", 1)}
    if kind in {"too_long", "string_too_long"}:
        return _("Too long (at most %(n)s).") % {"n": ctx.get("max_length", "")}
    if kind == "value_error":
        return str(ctx.get("error", error.get("msg", "")))
    return str(error.get("msg", kind))


def problems_text(problems: Iterable[Problem], filename: str = "") -> str:
    prefix = f"{filename}:" if filename else ""
    return "\n".join(
        f"{prefix}{p.line}:{p.column}: {p.where}: {p.message}"
        if p.line
        else f"{prefix} {p.where}: {p.message}"
        for p in problems
    )
