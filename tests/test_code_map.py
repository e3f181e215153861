"""README's "Code map" and "How it fits together" say what the code does, and keep saying it.

Every `path` or `path:name` the code map names must exist (the name as a function, class,
method or module-level assignment in that file), the LMS walk stays within ten files, and the
gRPC arrows of the architecture diagram are exactly the stubs the services build.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from tests.conftest import REPO_ROOT

README = REPO_ROOT / "README.md"
REFERENCE = re.compile(
    r"^((?:services|shared|protos|tests|bench|deploy)/[\w./-]+\.(?:py|proto|lua|js|json))(?::([A-Za-z_][\w.]*))?$"
)
CODE_SPAN = re.compile(r"`([^`\n]+)`")
STEP = re.compile(r"^\d+\. ", re.MULTILINE)
STUB = re.compile(r"\b(Verifier|Lookup|RecallStatus)ServiceStub\(")
SERVICE_OF_STUB = {"Verifier": "verifier", "Lookup": "lookup", "RecallStatus": "recall-status"}
SERVICES = ("gateway", "verifier", "lookup", "recall-status")


def section(text: str, heading: str) -> str:
    """The body of the ``## heading`` section, up to the next ``## `` heading."""
    start = text.index(f"\n## {heading}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else len(text)]


def subsections(body: str) -> dict[str, str]:
    parts = re.split(r"^### (.+)$", body, flags=re.MULTILINE)
    return {parts[i]: parts[i + 1] for i in range(1, len(parts), 2)}


def references(text: str) -> list[tuple[str, str]]:
    found = []
    for span in CODE_SPAN.findall(text):
        match = REFERENCE.match(span)
        if match:
            found.append((match[1], match[2] or ""))
    return found


def defined_names(tree: ast.AST) -> dict[str, ast.AST]:
    names: dict[str, ast.AST] = {}
    for node in getattr(tree, "body", []):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names[node.name] = node
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    names[target.id] = node
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names[node.target.id] = node
    return names


def defines(path: Path, dotted: str) -> bool:
    """Whether ``dotted`` (``name`` or ``Class.method``) is defined at that level of ``path``."""
    node: ast.AST = ast.parse(path.read_text(encoding="utf-8"))
    for part in dotted.split("."):
        found = defined_names(node).get(part)
        if found is None:
            return False
        node = found
    return True


def code_map() -> str:
    return section(README.read_text(encoding="utf-8"), "Code map")


def test_code_map_names_only_files_and_functions_that_exist() -> None:
    named = references(code_map())
    assert len(named) >= 40, f"the code map names too few paths to be a map: {named}"
    missing = [path for path, _ in named if not (REPO_ROOT / path).is_file()]
    assert not missing, f"README's code map names files that do not exist: {sorted(set(missing))}"
    undefined = [
        f"{path}:{name}"
        for path, name in named
        if name and path.endswith(".py") and not defines(REPO_ROOT / path, name)
    ]
    assert not undefined, (
        f"README's code map names functions not defined where it says: {undefined}"
    )


def test_code_map_walks_a_question_a_pack_operation_a_recall_and_an_epcis_capture() -> None:
    walks = subsections(code_map())
    routes = [
        "GET /verify/gtin/",
        "POST /v1/packs/decommission",
        "POST /v1/recalls",
        "POST /v1/events",
    ]
    for route in routes:
        titles = [title for title in walks if route in title]
        assert titles, f"no code map walk for {route}; walks: {list(walks)}"
        steps = STEP.findall(walks[titles[0]])
        assert len(steps) >= 5, f"the walk for {route} has {len(steps)} steps"


def test_lms_question_can_be_followed_in_at_most_ten_files() -> None:
    (walk,) = [
        body for title, body in subsections(code_map()).items() if "GET /verify/gtin/" in title
    ]
    steps = [line for line in walk.splitlines() if STEP.match(line)]
    files = {path for line in steps for path, _ in references(line)}
    assert 1 <= len(files) <= 10, f"the LMS walk's steps name {len(files)} files: {sorted(files)}"


def diagram_arrows(body: str) -> set[tuple[str, str]]:
    """(caller, callee) for each ``gRPC ──►`` arrow of the diagram. A line starting at column
    0 with a service's name opens that service's block; the gateway's block is the one under
    the partners."""
    block = body.split("```text\n", 1)[1].split("```", 1)[0]
    arrows: set[tuple[str, str]] = set()
    caller = ""
    for line in block.splitlines():
        head = line.split(" ", 1)[0]
        if head in SERVICES:
            caller = head
        for callee in re.findall(r"gRPC ──► ([\w-]+)", line):
            arrows.add((caller, callee))
    return arrows


def stub_arrows() -> set[tuple[str, str]]:
    """(caller, callee) for each gRPC stub a service builds in its own code."""
    arrows: set[tuple[str, str]] = set()
    for service in SERVICES:
        for path in (REPO_ROOT / "services" / service).rglob("*.py"):
            if path.name.endswith(("_pb2.py", "_pb2_grpc.py")):
                continue
            for stub in STUB.findall(path.read_text(encoding="utf-8")):
                arrows.add((service, SERVICE_OF_STUB[stub]))
    return arrows


def test_architecture_diagram_shows_exactly_the_grpc_calls_the_services_make() -> None:
    drawn = diagram_arrows(section(README.read_text(encoding="utf-8"), "How it fits together"))
    built = stub_arrows()
    assert built, "found no gRPC stubs in services/: the scan is broken"
    assert drawn == built, (
        f"diagram arrows {sorted(drawn)} differ from the stubs the code builds {sorted(built)}"
    )


LONG_MODULE_LINES = 500
REASON = re.compile(r"500 lines|one idea", re.IGNORECASE)


def test_every_module_past_500_lines_says_at_its_top_why_or_where_it_would_be_cut() -> None:
    """STYLE.md "Modules of one idea": past about 500 lines, a module's docstring says why it
    is one idea, or which ideas it holds and where it would be cut."""
    long_modules = []
    silent = []
    for folder in ("services", "shared"):
        for path in sorted((REPO_ROOT / folder).rglob("*.py")):
            if "_pb2" in path.name:
                continue
            text = path.read_text(encoding="utf-8")
            if text.count("\n") <= LONG_MODULE_LINES:
                continue
            long_modules.append(path)
            docstring = ast.get_docstring(ast.parse(text)) or ""
            if not REASON.search(docstring):
                silent.append(str(path.relative_to(REPO_ROOT)))
    assert long_modules, "found no module past 500 lines: the scan is broken"
    assert not silent, (
        f"modules past {LONG_MODULE_LINES} lines that do not say why at their top: {silent}"
    )


def imported_modules(path: Path) -> set[str]:
    modules: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            modules.add(node.module)
    return modules


def test_no_service_imports_another_services_code_only_its_generated_contract() -> None:
    crossings = []
    for service in SERVICES:
        own = "verinet." + service.replace("-", "_")
        for path in (REPO_ROOT / "services" / service).rglob("*.py"):
            if path.name.endswith(("_pb2.py", "_pb2_grpc.py")):
                continue
            for module in imported_modules(path):
                other = next(
                    (f"verinet.{s.replace('-', '_')}" for s in SERVICES
                     if module.startswith(f"verinet.{s.replace('-', '_')}")),
                    None,
                )
                if other and other != own and not module.startswith(other + ".v1"):
                    crossings.append(f"{path.relative_to(REPO_ROOT)} imports {module}")
    assert not crossings, f"services import each other's code (share it in shared/): {crossings}"
