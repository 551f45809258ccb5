"""The app's modules import inward: the engine imports nothing of Frappe or of the app, no module
below the event handlers imports one, and the cycle's stages import only the stages below them.

Read from the source (every ``import``, at module level or inside a function), so it runs without
Frappe."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "dunning_plus"

# the cycle's stages, lowest first: each may import only those before it
CYCLE_STAGES = [
	"transactions",
	"recording",
	"run_log",
	"delivering",
	"deciding",
	"runs",
	"write_offs",
	"approvals",
]


def module_name(path: Path) -> str:
	parts = path.relative_to(ROOT).with_suffix("").parts
	return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path, *, runtime_only: bool = False) -> set[str]:
	"""Every module ``path`` imports (``from a.b import c`` counts as ``a.b`` and ``a.b.c``).
	``runtime_only`` leaves out what is imported for type checking alone."""
	tree = ast.parse(path.read_text())
	skip: set[int] = set()
	if runtime_only:
		for node in ast.walk(tree):
			if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
				skip.update(id(n) for n in ast.walk(node))
	out = set()
	for node in ast.walk(tree):
		if id(node) in skip:
			continue
		if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
			out.add(node.module)
			out.update(f"{node.module}.{a.name}" for a in node.names)
		elif isinstance(node, ast.Import):
			out.update(a.name for a in node.names)
	return out


def app_modules():
	return [
		p
		for p in PACKAGE.rglob("*.py")
		if "tests" not in p.parts and not p.name.startswith("test_") and "/engine/" not in str(p)
	]


def test_the_engine_imports_neither_frappe_nor_the_app_outside_it():
	for path in (PACKAGE / "engine").rglob("*.py"):
		for name in imports_of(path):
			assert not name.startswith("frappe"), f"{module_name(path)} imports {name}"
			if name.startswith("dunning_plus"):
				assert name.startswith("dunning_plus.engine"), f"{module_name(path)} imports {name}"


def test_no_module_below_the_event_handlers_imports_one():
	"""A lower module (allocations, deposits, cases …) never reaches up into ``events``: the circle
	allocations → deposits → events.sales_invoice → allocations is gone."""
	for path in app_modules():
		name = module_name(path)
		if name.startswith("dunning_plus.events") or name == "dunning_plus.hooks":
			continue
		upward = sorted(i for i in imports_of(path) if i.startswith("dunning_plus.events"))
		assert not upward, f"{name} imports the event handlers {upward}"


@pytest.mark.parametrize("stage", CYCLE_STAGES)
def test_each_cycle_stage_imports_only_the_stages_below_it(stage):
	allowed = {f"dunning_plus.cycle.{s}" for s in CYCLE_STAGES[: CYCLE_STAGES.index(stage)]}
	used = {
		i
		for i in imports_of(PACKAGE / "cycle" / f"{stage}.py", runtime_only=True)
		if i.startswith("dunning_plus.cycle.")
	}
	assert used <= allowed, f"cycle.{stage} imports {sorted(used - allowed)}"


def test_the_cycle_stays_split_by_stage():
	"""No stage grows back into the one big module the cycle was."""
	for stage in CYCLE_STAGES:
		lines = len((PACKAGE / "cycle" / f"{stage}.py").read_text().splitlines())
		assert lines <= 450, f"cycle.{stage} has {lines} lines"
