"""Rules of the code base that a test keeps (STYLE.md, convention 14).

Each rule reads `app/` with `ast`, so a new module learns the rule from a failing test:
- every team filter goes through `app/core/tenancy.py`;
- `app/core` imports no domain package, and no module imports itself round a cycle;
- imports stay at the top of a module (dependencies then point one way, visibly);
- schemas type ids as `Id` (written to JSON fast), not `uuid.UUID`;
- no file grows past 600 lines.
"""

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

APP = Path(__file__).resolve().parent.parent / "app"
TENANCY = APP / "core" / "tenancy.py"
CORE_SCHEMAS = APP / "core" / "schemas.py"
# Entry points that import heavy, optional or start-up-only modules on demand.
LAZY_IMPORTS_ALLOWED = {APP / "cli.py", APP / "core" / "embedded.py"}
MAX_LINES = 600


def modules() -> Iterator[tuple[Path, str, ast.Module]]:
    for path in sorted(APP.rglob("*.py")):
        name = ".".join(("app", *path.relative_to(APP).with_suffix("").parts))
        name = name.removesuffix(".__init__")
        yield path, name, ast.parse(path.read_text(), filename=str(path))


def _is_team_column(node: ast.expr) -> bool:
    """`Model.team_id` (a mapped column: the owner is a class name), not `ctx.team_id`."""
    return (
        isinstance(node, ast.Attribute)
        and node.attr == "team_id"
        and isinstance(node.value, ast.Name)
        and node.value.id[:1].isupper()
    )


def team_filters(tree: ast.Module) -> Iterator[int]:
    """Lines that filter on a team outside the helper: `Model.team_id == ...`,
    `Model.team_id.in_(...)`, `.filter_by(team_id=...)`."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare) and any(
            _is_team_column(n) for n in (node.left, *node.comparators)
        ):
            yield node.lineno
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            keywords = {k.arg for k in node.keywords}
            by_team = node.func.attr == "filter_by" and "team_id" in keywords
            if by_team or _is_team_column(node.func.value):
                yield node.lineno


def test_team_scoping_goes_through_the_tenancy_helper() -> None:
    found = [
        f"{path.relative_to(APP.parent)}:{line}"
        for path, _, tree in modules()
        if path != TENANCY
        for line in team_filters(tree)
    ]
    assert found == [], "use in_team/same_team/team_select from app.core.tenancy: " + ", ".join(
        found
    )


def test_the_scoping_rule_bites() -> None:
    inline = ast.parse("stmt = select(Client).where(Client.team_id == ctx.team_id)")
    joined = ast.parse("q.join(B, A.team_id == B.team_id)")
    helper = ast.parse("stmt = select(Client).where(in_team(Client, ctx))")
    python = ast.parse("if entry.team_id != ctx.team_id: pass")
    assert list(team_filters(inline)) == [1]
    assert list(team_filters(joined)) == [1]
    assert list(team_filters(helper)) == []
    assert list(team_filters(python)) == []


def uuid_fields(tree: ast.Module) -> Iterator[int]:
    """Lines annotating a field with `uuid.UUID` (anywhere in its type)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.AnnAssign) and any(
            isinstance(n, ast.Attribute)
            and n.attr == "UUID"
            and isinstance(n.value, ast.Name)
            and n.value.id == "uuid"
            for n in ast.walk(node.annotation)
        ):
            yield node.lineno


def test_schemas_type_ids_as_id() -> None:
    """`app.core.schemas.Id`: pydantic writes asyncpg's UUIDs slowly (~1 us each)."""
    found = [
        f"{path.relative_to(APP.parent)}:{line}"
        for path, _, tree in modules()
        if path.name == "schemas.py" and path != CORE_SCHEMAS
        for line in uuid_fields(tree)
    ]
    assert found == [], f"type these ids as `Id` (app.core.schemas): {found}"


def test_the_id_rule_bites() -> None:
    assert list(uuid_fields(ast.parse("class A:\n    ids: list[uuid.UUID] | None"))) == [2]
    assert list(uuid_fields(ast.parse("class A:\n    id: Id\n    n: int"))) == []


def imports(tree: ast.Module, *, top_level_only: bool) -> Iterator[tuple[ast.AST, str]]:
    """(node, imported module) for every `app.*` import; `from app.x import y` may name a
    module `app.x.y` or a symbol of `app.x`: both are returned, resolved later."""
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    for node in nodes:
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("app"):
                    yield node, alias.name
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("app"):
            assert node.module is not None
            for alias in node.names:
                yield node, f"{node.module}.{alias.name}"
            yield node, node.module


def import_graph() -> dict[str, set[str]]:
    names = {name for _, name, _ in modules()}
    graph: dict[str, set[str]] = {}
    for _, name, tree in modules():
        targets = {
            target
            for _, target in imports(tree, top_level_only=True)
            if target in names and target != name
        }
        graph[name] = targets
    return graph


def test_core_imports_no_domain() -> None:
    allowed = ("app.core", "app.config")
    wrong = sorted(
        f"{name} -> {target}"
        for name, targets in import_graph().items()
        if name.startswith("app.core")
        for target in targets
        if not target.startswith(allowed)
    )
    assert wrong == []


# `app.demo` drives the whole app in-process (it builds `app.main`'s application), as
# `app.cli` starts it: nothing but `app.cli` imports either.
ENTRY_POINTS = ("app.routes", "app.main", "app.worker", "app.cli", "app.demo")


def test_layers_point_one_way() -> None:
    """core <- domains <- onboarding <- routers <- entry points (see docs/architecture.md).

    A domain may import another domain's models and services, never a router and never
    the cross-domain flows of `app.onboarding`.
    """
    wrong = []
    for name, targets in import_graph().items():
        for target in targets:
            is_router = target.endswith(".router")
            if is_router and not name.startswith(ENTRY_POINTS):
                wrong.append(f"{name} -> {target} (routers are mounted by app.routes only)")
            if (
                target.startswith("app.onboarding")
                and not name.endswith(".router")
                and not name.startswith(("app.onboarding", *ENTRY_POINTS))
            ):
                wrong.append(f"{name} -> {target} (flows sit above the domains)")
            if target.startswith("app.demo") and not name.startswith(("app.demo", "app.cli")):
                wrong.append(f"{name} -> {target} (the demo is started by app.cli only)")
    assert wrong == []


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_import_cycles() -> None:
    assert cycles(import_graph()) == []


def test_the_cycle_rule_bites() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_imports_are_at_module_level() -> None:
    inner = []
    for path, _, tree in modules():
        if path in LAZY_IMPORTS_ALLOWED:
            continue
        top = {id(node) for node, _ in imports(tree, top_level_only=True)}
        for node, _ in imports(tree, top_level_only=False):
            if id(node) not in top and not _under_type_checking(tree, node):
                inner.append(f"{path.relative_to(APP.parent)}:{node.lineno}")  # type: ignore[attr-defined]
    assert sorted(set(inner)) == []


def _under_type_checking(tree: ast.Module, target: ast.AST) -> bool:
    for node in tree.body:
        if (
            isinstance(node, ast.If)
            and isinstance(node.test, ast.Name)
            and node.test.id == "TYPE_CHECKING"
            and any(child is target for child in ast.walk(node))
        ):
            return True
    return False


@pytest.mark.parametrize("path", sorted(APP.rglob("*.py")), ids=lambda p: str(p.relative_to(APP)))
def test_files_stay_short(path: Path) -> None:
    assert len(path.read_text().splitlines()) <= MAX_LINES
