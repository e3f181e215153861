"""The folder map is read from pyproject.toml, the one place it is written."""

import doctest

import verinet.source_layout
from verinet.protogen import generate
from verinet.source_layout import REPO_ROOT, folder_of, package_folders


def test_every_mapped_package_is_an_existing_folder():
    for package, folder in package_folders().items():
        assert (REPO_ROOT / folder / "__init__.py").is_file(), (package, folder)


def test_each_service_package_maps_to_its_kebab_case_folder():
    folders = package_folders()
    assert folder_of("verinet.recall_status", folders) == "services/recall-status"
    assert folder_of("verinet.recall_status.v1", folders) == "services/recall-status/v1"
    assert folder_of("verinet.identifiers", folders) == "shared/identifiers"


def test_generated_proto_code_lands_in_the_folders_the_map_names():
    targets = {path.parent.as_posix() for path in generate()}
    assert targets == {"shared/common/v1", "services/verifier/v1", "services/lookup/v1", "services/recall-status/v1"}


def test_the_examples_in_the_module_hold():
    assert doctest.testmod(verinet.source_layout).failed == 0
