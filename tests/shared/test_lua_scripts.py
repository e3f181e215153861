"""Lua scripts live in .lua files, are put together from the fragments they use, and take the
constants Python owns."""

from __future__ import annotations

import doctest

import pytest

import verinet.lua_scripts
from tests.conftest import REPO_ROOT
from verinet.lua_scripts import USES, source
from verinet.recall_status.pack_scripts import STATE_NUMBERS, VALUES, script_source
from verinet.recall_status.pack_values import MAX_SIGHTINGS

FOLDERS = {
    "verinet": REPO_ROOT / "shared" / "lua",
    "verinet.recall_status": REPO_ROOT / "services" / "recall-status" / "lua",
}


def test_the_loader_does_what_its_docstring_shows() -> None:
    assert doctest.testmod(verinet.lua_scripts).failed == 0


def test_every_script_loads_whole_with_its_fragments_and_values() -> None:
    for package, folder in FOLDERS.items():
        for path in sorted(folder.glob("*.lua")):
            text = source(package, path.stem, VALUES)
            assert "{{" not in text, path.name
            for line in USES.findall(path.read_text()):
                for used in line.split(","):
                    assert (folder / f"{used.strip()}.lua").is_file(), f"{path.name} uses {used}"


def test_every_script_says_in_its_header_what_it_does() -> None:
    for folder in FOLDERS.values():
        for path in sorted(folder.glob("*.lua")):
            assert path.read_text().startswith("-- "), f"{path.name} has no header comment"


def test_the_pack_scripts_take_the_state_numbers_and_sighting_limit_from_python() -> None:
    status = script_source("pack_status")
    assert f"local STATE_NUMBERS = '{STATE_NUMBERS}'" in status
    assert f"local MAX_SIGHTINGS = {MAX_SIGHTINGS}\n" in script_source("pack_record_events")


def test_a_script_missing_a_value_is_refused_naming_the_file_and_the_placeholder() -> None:
    with pytest.raises(KeyError, match=r"verinet.recall_status/lua/pack_status.lua: expected a value for \{\{STATE_NUMBERS\}\}"):
        source("verinet.recall_status", "pack_status")
