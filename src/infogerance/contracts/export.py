"""Writing a contract version back to YAML: stable byte for byte, and re-importable."""

from __future__ import annotations

import difflib
import hashlib
from typing import Any

import yaml

from infogerance.contracts.format import ContractDocument

HEADER = "# Infogérance contract, format version 1 (docs/formats/contract.md)\n"


class _Dumper(yaml.SafeDumper):
    def increase_indent(self, flow: bool = False, indentless: bool = False) -> Any:
        # Lists indented under their key, as people write them.
        return super().increase_indent(flow, False)


def _str_representer(dumper: yaml.SafeDumper, value: str) -> Any:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str_representer)


def to_data(document: ContractDocument) -> dict[str, Any]:
    """The document as plain data, defaults left out (they are implied by the format)."""
    data: dict[str, Any] = document.model_dump(mode="json", exclude_defaults=True)
    data["format_version"] = document.format_version
    return {"format_version": data.pop("format_version"), **data}


def to_yaml(document: ContractDocument) -> str:
    body = yaml.dump(
        to_data(document),
        Dumper=_Dumper,
        sort_keys=False,
        allow_unicode=True,
        default_flow_style=False,
        width=100,
    )
    return HEADER + body


def fingerprint(document: ContractDocument) -> str:
    """SHA-256 of the canonical export: equal terms, equal fingerprint."""
    return hashlib.sha256(to_yaml(document).encode("utf-8")).hexdigest()


def unified_diff(
    old: ContractDocument, new: ContractDocument, old_label: str, new_label: str
) -> str:
    return "".join(
        difflib.unified_diff(
            to_yaml(old).splitlines(keepends=True),
            to_yaml(new).splitlines(keepends=True),
            fromfile=old_label,
            tofile=new_label,
        )
    )
