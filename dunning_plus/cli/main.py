"""``dunning-plus``: the collection engine over an embedded SQLite ledger, without Frappe.

dunning-plus demo                       build a sample company and run 120 days of collection
dunning-plus simulate --policy P --ledger L --from D --to D   backtest a policy on a ledger
dunning-plus aging|forecast|kpis --ledger L --as-of D
"""

from __future__ import annotations

import json
import sys
from datetime import date, timedelta
from pathlib import Path

import click
import yaml
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from dunning_plus import __version__
from dunning_plus.cli import report, sample, store
from dunning_plus.cli.csv_import import load_csv_folder
from dunning_plus.cli.ledger import Ledger
from dunning_plus.cli.sim import book_of, simulate
from dunning_plus.engine.backtest import summarize
from dunning_plus.engine.cadence import PolicyBook
from dunning_plus.engine.errors import EngineError, LedgerError, PolicyError, _
from dunning_plus.engine.policy import policy_from_dict

out = Console()
if not out.is_terminal:
	out.width = 150  # pipes and files get full-width tables rather than 80 columns
err = Console(stderr=True)


class IsoDate(click.ParamType):
	name = "YYYY-MM-DD"

	def convert(self, value, param, ctx):
		if isinstance(value, date):
			return value
		try:
			return date.fromisoformat(value)
		except ValueError:
			self.fail(f"{value!r} is not a date in YYYY-MM-DD form", param, ctx)


DATE = IsoDate()


def _fail(e: EngineError) -> click.ClickException:
	return click.ClickException(str(e).replace("\n", "; "))


def load_ledger(path: str) -> Ledger:
	p = Path(path)
	if p.is_dir():
		return load_csv_folder(p)
	return store.load(p)


def load_policy_file(path: str, ledger: Ledger) -> PolicyBook:
	"""A policy file holds one policy, or ``{policies: [...], default: NAME, segments: {...}}``."""
	p = Path(path)
	if not p.is_file():
		raise LedgerError(_("Policy file {0} does not exist."), p)
	try:
		text = p.read_text(encoding="utf-8")
		data = json.loads(text) if p.suffix.lower() == ".json" else yaml.safe_load(text)
	except (json.JSONDecodeError, yaml.YAMLError, UnicodeDecodeError) as e:
		raise LedgerError(_("Policy file {0} cannot be read: {1}"), p, str(e).splitlines()[0])
	if not isinstance(data, dict):
		raise LedgerError(_("Policy file {0} must hold a mapping."), p)
	raw = data.get("policies") if "policies" in data else [data]
	if not isinstance(raw, list) or not raw:
		raise LedgerError(_("Policy file {0}: policies must be a non-empty list."), p)
	policies = {}
	for item in raw:
		pol = policy_from_dict(item)
		policies[pol.name] = pol
	default = data.get("default") or next(iter(policies))
	segments = data.get("segments") or {}
	for name in [default, *segments.values()]:
		if name not in policies:
			raise LedgerError(_("Policy file {0} refers to a policy {1} it does not define."), p, name)
	companies = {inv.company for inv in ledger.invoices.values()} or {ledger.company}
	return PolicyBook(policies, {c: default for c in companies}, segments)


def _progress(total: int, label: str, quiet: bool):
	progress = Progress(
		TextColumn("[bold]{task.description}"),
		BarColumn(),
		MofNCompleteColumn(),
		TimeElapsedColumn(),
		console=err,
		transient=True,
		disable=quiet,
	)
	task = progress.add_task(label, total=total)
	return progress, lambda n: progress.update(task, completed=n)


def _table(title: str, columns: list[str], rows: list[list], numeric_from: int = 1) -> Table:
	t = Table(title=title, title_justify="left", title_style="bold")
	for i, c in enumerate(columns):
		t.add_column(c, justify="right" if i >= numeric_from else "left")
	for r in rows:
		t.add_row(*[_cell(v) for v in r])
	return t


def _cell(v) -> str:
	if v is None:
		return "-"
	if isinstance(v, float):
		return f"{v:,.2f}"
	if isinstance(v, int):
		return f"{v:,}"
	return str(v)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="dunning-plus")
def cli():
	"""Collections engine of dunning_plus on a standalone SQLite ledger (no Frappe needed)."""


@cli.command()
@click.option(
	"--db", "db_path", default="dunning-plus-demo.sqlite", show_default=True, help="SQLite file to write."
)
@click.option("--seed", default=42, show_default=True)
@click.option("--customers", default=200, show_default=True, type=click.IntRange(1, 100_000))
@click.option("--invoices", default=2000, show_default=True, type=click.IntRange(1, 2_000_000))
@click.option("--start", type=DATE, default="2026-06-01", show_default=True, help="First simulated day.")
@click.option("--days", default=120, show_default=True, type=click.IntRange(1, 3660))
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
def demo(db_path, seed, customers, invoices, start, days, as_json):
	"""Build a sample company, run the daily cycle over DAYS days and print what happened."""
	try:
		ledger, profiles = sample.generate(seed, customers, invoices, start, days)
		end = start + timedelta(days=days - 1)
		progress, tick = _progress(days, "Simulating days", as_json or not err.is_terminal)
		with progress:
			result = simulate(
				ledger,
				start,
				end,
				respond=lambda c: (profiles[c].responsiveness, False),
				seed=seed,
				progress=tick,
			)
		path = store.save(ledger, db_path, result.as_store_results())
		data = _summary(ledger, result, end)
	except EngineError as e:
		raise _fail(e)
	data["ledger"] = str(path)
	data["sample"] = {
		"seed": seed,
		"customers": len(ledger.customers),
		"invoices": len(ledger.invoices),
		"schedule_rows": len(ledger.rows),
		"payments": len(ledger.payments),
		"promises": len(ledger.promises),
		"disputes": len(ledger.disputes),
		"pulled_forward_by_reminders": result.pulled_forward,
	}
	_emit(data, as_json, f"Demo: {ledger.company}, {start} to {end}")


@cli.command("simulate")
@click.option("--policy", "policy_path", required=True, help="Policy file (JSON or YAML).")
@click.option(
	"--ledger", "ledger_path", required=True, help="SQLite ledger, or a folder of ERPNext CSV exports."
)
@click.option("--from", "start", type=DATE, required=True)
@click.option("--to", "end", type=DATE, required=True)
@click.option("--json", "as_json", is_flag=True)
def simulate_cmd(policy_path, ledger_path, start, end, as_json):
	"""Backtest a policy on a ledger: what would have been sent, and the KPIs. Writes nothing."""
	if end < start:
		raise click.BadParameter("--to is before --from", param_hint="--to")
	try:
		ledger = load_ledger(ledger_path)
		book = load_policy_file(policy_path, ledger)
		days = (end - start).days + 1
		progress, tick = _progress(days, "Backtesting", as_json or not err.is_terminal)
		with progress:
			result = simulate(ledger, start, end, progress=tick, book=book)
		ledger.policies, ledger.segment_policies = dict(book.policies), dict(book.segment_policies)
		ledger.company_default = next(iter(book.company_defaults.values()), None)
		data = _summary(ledger, result, end)
		# the figures the in-site backtest of a Dunning Policy shows, from the same engine entry point
		default = book.policies.get(ledger.company_default) or next(iter(book.policies.values()))
		data["backtest"] = summarize(result.replay, result.history, policy_steps=default.steps)
	except (EngineError, PolicyError) as e:
		raise _fail(e)
	_emit(data, as_json, f"Backtest of {', '.join(book.policies)} from {start} to {end}")


def _summary(ledger: Ledger, result, end: date) -> dict:
	cases = report.cases_section(ledger, end, result.taken)
	first_month = date(result.start.year, result.start.month, 1)
	return {
		"period": {"from": result.start.isoformat(), "to": end.isoformat()},
		"evaluations": result.evaluated,
		"messages_by_step": [
			{"step": step, "channel": channel, "messages": n[0], "items": n[1]}
			for (step, channel), n in sorted(result.by_step.items())
		],
		"messages": len(result.messages),
		"actions": len(result.actions),
		"approvals_requested": result.pending_approval,
		"holds": result.holds,
		"cases": cases["by_status"],
		"aging": report.aging_section(ledger, end),
		"expected_vs_actual": report.expected_actual_section(ledger, first_month, end),
		"kpis": report.kpi_section(ledger, end, sim=result),
		"worklist": report.worklist_section(ledger, end, cases),
	}


def _emit(data: dict, as_json: bool, title: str) -> None:
	if as_json:
		click.echo(json.dumps(data, indent=2, default=str))
		return
	out.rule(title)
	if "messages_by_step" in data:
		out.print(
			_table(
				"Messages by step and channel",
				["Step", "Channel", "Messages", "Items"],
				[[r["step"], r["channel"], r["messages"], r["items"]] for r in data["messages_by_step"]],
				numeric_from=2,
			)
		)
		out.print(
			f"{data['messages']:,} messages for {data['actions']:,} item steps; "
			f"{data['approvals_requested']:,} needed approval; {data['evaluations']:,} instalment evaluations."
		)
		out.print(_table("Cases by status", ["Status", "Cases"], [[k, v] for k, v in data["cases"].items()]))
	if "backtest" in data:
		bt = data["backtest"]
		out.print(
			f"{bt['customers_touched']:,} customers touched; {bt['reminders_sent']:,} reminders sent to "
			f"customers, {bt['reminders_paid_soon']:,} ({bt['paid_soon_share']:.1%}) to items paid within "
			f"{bt['paid_within_days']} days anyway."
		)
		out.print(
			_table(
				"Items that reached each step",
				["Step", "Items"],
				[[r["step"], r["items"]] for r in bt["items_by_step"]],
			)
		)
	if "aging" in data:
		_print_aging(data["aging"])
	if "expected_vs_actual" in data:
		ev = data["expected_vs_actual"]
		out.print(
			_table(
				"Expected vs actual collections",
				["Period", "Expected", "Actual", "Variance", "Ratio"],
				[[r["period"], r["expected"], r["actual"], r["variance"], r["ratio"]] for r in ev["rows"]],
			)
		)
	if "projection" in data:
		pr = data["projection"]
		out.print(
			_table(
				f"Cash projection from {pr['as_of']}: weeks, later, at risk (broken promise, or more than "
				f"{pr['at_risk_days']} days past due), disputed",
				["Week", "From", "Amount", "Items"],
				[[r["week"], r["start"], r["amount"], r["items"]] for r in pr["weeks"]],
				numeric_from=2,
			)
		)
	if "kpis" in data:
		out.print(_table("KPIs", ["KPI", "Value"], [[k, v] for k, v in data["kpis"].items()]))
	if "worklist" in data:
		wl = data["worklist"]
		out.print(
			_table(
				f"Worklist: top {len(wl['top'])} of {wl['open_cases']} open cases",
				["Customer", "Score", "Status", "Overdue", "Collector", "Why"],
				[
					[r["customer"], r["score"], r["status"], r["overdue"], r["collector"], r["why"]]
					for r in wl["top"]
				],
				numeric_from=1,
			)
		)


def _print_aging(ag: dict) -> None:
	rows = [[r["group"], *r["buckets"], r["total"]] for r in ag["rows"]]
	rows.append(["Total", *ag["totals"], ag["total"]])
	out.print(
		_table(
			f"Aging by {ag['group_by']} as of {ag['as_of']} ({ag['basis']})",
			["Group", *ag["labels"], "Total"],
			rows,
		)
	)


def _ledger_command(fn):
	fn = click.option("--json", "as_json", is_flag=True)(fn)
	fn = click.option("--as-of", "as_of", type=DATE, required=True)(fn)
	fn = click.option(
		"--ledger", "ledger_path", required=True, help="SQLite ledger, or a folder of ERPNext CSV exports."
	)(fn)
	return fn


@cli.command()
@_ledger_command
@click.option("--ranges", default="30, 60, 90, 120", show_default=True, help="Bucket limits in days.")
@click.option(
	"--basis", type=click.Choice(["due_date", "posting_date"]), default="due_date", show_default=True
)
@click.option(
	"--group-by",
	type=click.Choice(["segment", "customer", "collector", "territory"]),
	default="segment",
	show_default=True,
)
def aging(ledger_path, as_of, as_json, ranges, basis, group_by):
	"""Outstanding per bucket as of a date."""
	try:
		data = {"aging": report.aging_section(load_ledger(ledger_path), as_of, ranges, basis, group_by)}
	except EngineError as e:
		raise _fail(e)
	_emit(data, as_json, "Aging")


@cli.command()
@_ledger_command
@click.option("--weeks", default=13, show_default=True, type=click.IntRange(1, 104))
@click.option("--months-back", default=3, show_default=True, type=click.IntRange(0, 60))
@click.option(
	"--at-risk-days",
	default=90,
	show_default=True,
	type=click.IntRange(1, 3660),
	help="Days past due after which an instalment is at risk rather than expected.",
)
def forecast(ledger_path, as_of, as_json, weeks, months_back, at_risk_days):
	"""Expected vs actual by month, and the cash projection for the coming weeks (with what is
	later, at risk or disputed)."""
	try:
		lg = load_ledger(ledger_path)
		y, m = as_of.year, as_of.month - months_back
		while m < 1:
			y, m = y - 1, m + 12
		data = {
			"expected_vs_actual": report.expected_actual_section(lg, date(y, m, 1), as_of),
			"projection": report.projection_section(lg, as_of, weeks, at_risk_days),
		}
	except EngineError as e:
		raise _fail(e)
	_emit(data, as_json, "Forecast")


@cli.command()
@_ledger_command
@click.option(
	"--window", default=90, show_default=True, type=click.IntRange(1, 3660), help="Days in the period."
)
def kpis(ledger_path, as_of, as_json, window):
	"""DSO (standard, countback, best possible), ADD, CEI, promise-kept rate, disputes."""
	try:
		data = {"kpis": report.kpi_section(load_ledger(ledger_path), as_of, window)}
	except EngineError as e:
		raise _fail(e)
	_emit(data, as_json, "KPIs")


def main(argv: list[str] | None = None) -> int:
	try:
		cli.main(args=argv, prog_name="dunning-plus", standalone_mode=False)
	except click.exceptions.Exit as e:
		return e.exit_code
	except click.ClickException as e:
		e.show()
		return e.exit_code if e.exit_code != 1 else 2
	except click.exceptions.Abort:
		err.print("Aborted.")
		return 130
	return 0


if __name__ == "__main__":
	sys.exit(main())
