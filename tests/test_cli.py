"""The standalone runner: demo, simulate, aging, forecast, kpis, the SQLite store and CSV import."""

from __future__ import annotations

import csv
import hashlib
import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from dunning_plus.cli import sample, store
from dunning_plus.cli.csv_import import load_csv_folder
from dunning_plus.cli.main import main
from dunning_plus.cli.sim import simulate
from dunning_plus.engine.errors import LedgerError

SMALL = ["--customers", "30", "--invoices", "300", "--days", "45", "--start", "2026-06-01"]


def run(capsys, *argv) -> tuple[int, str, str]:
	rc = main(list(argv))
	captured = capsys.readouterr()
	return rc, captured.out, captured.err


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory) -> Path:
	path = tmp_path_factory.mktemp("demo") / "demo.sqlite"
	assert main(["demo", "--json", "--db", str(path), *SMALL]) == 0
	return path


def sha(path: Path) -> str:
	return hashlib.sha256(path.read_bytes()).hexdigest()


def test_demo_prints_every_section_and_writes_the_ledger(tmp_path, capsys):
	db = tmp_path / "d.sqlite"
	rc, out, _err = run(capsys, "demo", "--json", "--db", str(db), *SMALL)
	assert rc == 0
	data = json.loads(out)
	for section in ("messages_by_step", "cases", "aging", "expected_vs_actual", "kpis", "worklist"):
		assert data[section], section
	assert data["sample"]["customers"] == 30 and data["sample"]["invoices"] == 300
	assert sum(r["messages"] for r in data["messages_by_step"]) == data["messages"] > 0
	# every message step is a step of one of the sample policies
	codes = {s["code"] for p in sample.POLICIES for s in p["steps"]}
	assert {r["step"] for r in data["messages_by_step"]} <= codes
	assert data["worklist"]["top"] and all(r["why"] for r in data["worklist"]["top"])
	scores = [r["score"] for r in data["worklist"]["top"]]
	assert scores == sorted(scores, reverse=True)
	assert db.is_file()
	lg = store.load(db)
	assert len(lg.invoices) == 300


def test_demo_is_deterministic(tmp_path, capsys):
	outs = []
	for name in ("a.sqlite", "b.sqlite"):
		rc, out, _ = run(capsys, "demo", "--json", "--db", str(tmp_path / name), *SMALL)
		assert rc == 0
		data = json.loads(out)
		data.pop("ledger")
		outs.append(data)
	assert outs[0] == outs[1]


def test_demo_table_output(tmp_path, capsys):
	rc, out, _ = run(capsys, "demo", "--db", str(tmp_path / "t.sqlite"), *SMALL)
	assert rc == 0
	for title in (
		"Messages by step and channel",
		"Cases by status",
		"Aging by segment",
		"Expected vs actual",
		"KPIs",
		"Worklist",
	):
		assert title in out


def test_store_round_trip(tmp_path):
	lg, _profiles = sample.generate(seed=3, customers=10, invoices=50, start=date(2026, 6, 1), days=30)
	path = store.save(lg, tmp_path / "x.sqlite")
	back = store.load(path)
	assert back.company == lg.company
	assert set(back.rows) == set(lg.rows)
	assert sum(r.amount for r in back.rows.values()) == sum(r.amount for r in lg.rows.values())
	assert sorted((d, p.instalment, p.amount) for d, p in back.applied) == sorted(
		(d, p.instalment, p.amount) for d, p in lg.applied
	)
	assert [p.name for p in back.promises] == [p.name for p in lg.promises]
	assert set(back.policies) == set(lg.policies)
	assert back.policies["Standard"].steps == lg.policies["Standard"].steps


def test_load_rejects_missing_and_foreign_files(tmp_path):
	with pytest.raises(LedgerError, match="does not exist"):
		store.load(tmp_path / "nope.sqlite")
	junk = tmp_path / "junk.sqlite"
	junk.write_text("not a database")
	with pytest.raises(LedgerError, match="not a dunning-plus ledger"):
		store.load(junk)


def test_aging_totals_match_ledger_outstanding(demo_db, capsys):
	rc, out, _ = run(
		capsys, "aging", "--ledger", str(demo_db), "--as-of", "2026-07-15", "--json", "--group-by", "customer"
	)
	assert rc == 0
	ag = json.loads(out)["aging"]
	lg = store.load(demo_db)
	expected = sum(
		v
		for k, v in lg.outstanding_as_of(date(2026, 7, 15)).items()
		if v > 0 and lg.rows[k].track.value == "invoice"
	)
	assert ag["total"] == pytest.approx(float(expected), abs=0.01)
	assert ag["total"] == pytest.approx(sum(ag["totals"]), abs=0.01)
	assert ag["labels"] == ["Not Due", "1-30", "31-60", "61-90", "91-120", "120+"]


def test_aging_custom_ranges_and_posting_basis(demo_db, capsys):
	rc, out, _ = run(
		capsys,
		"aging",
		"--ledger",
		str(demo_db),
		"--as-of",
		"2026-07-15",
		"--json",
		"--ranges",
		"15,45",
		"--basis",
		"posting_date",
	)
	assert rc == 0
	ag = json.loads(out)["aging"]
	assert ag["labels"] == ["0-15", "16-45", "45+"]


def test_forecast_and_kpis(demo_db, capsys):
	rc, out, _ = run(capsys, "forecast", "--ledger", str(demo_db), "--as-of", "2026-07-15", "--json")
	assert rc == 0
	fc = json.loads(out)
	pr = fc["projection"]
	assert len(pr["weeks"]) == 16
	assert [w["week"] for w in pr["weeks"][13:]] == ["later", "at_risk", "disputed"]
	# every open amount is in one row; long-overdue, broken-promise and disputed amounts are not all
	# expected inside the 13 weeks
	assert sum(w["amount"] for w in pr["weeks"]) == pytest.approx(pr["total"], abs=0.05)
	assert pr["in_horizon"] < pr["total"]
	assert pr["at_risk"] > 0 and pr["disputed"] > 0
	rc, out, _ = run(
		capsys,
		"forecast",
		"--ledger",
		str(demo_db),
		"--as-of",
		"2026-07-15",
		"--json",
		"--at-risk-days",
		"30",
	)
	assert json.loads(out)["projection"]["at_risk"] > pr["at_risk"]
	assert [r["period"] for r in fc["expected_vs_actual"]["rows"]] == [
		"2026-04",
		"2026-05",
		"2026-06",
		"2026-07",
	]
	rc, out, _ = run(capsys, "kpis", "--ledger", str(demo_db), "--as-of", "2026-07-15", "--json")
	assert rc == 0
	k = json.loads(out)["kpis"]
	assert k["dso_countback"] > 0 and k["best_possible_dso_countback"] <= k["dso_countback"]
	assert k["add_countback"] == pytest.approx(
		k["dso_countback"] - k["best_possible_dso_countback"], abs=0.11
	)


POLICY_YAML = """
policies:
  - name: Strict
    steps:
      - {code: R+1, offset: 1, kind: reminder, template: Payment Reminder}
      - {code: L1, offset: 5, kind: dunning, level: 1, template: Dunning Level 1}
default: Strict
"""


def test_simulate_backtests_without_writing(demo_db, tmp_path, capsys):
	policy = tmp_path / "p.yaml"
	policy.write_text(POLICY_YAML)
	before = sha(demo_db)
	rc, out, _ = run(
		capsys,
		"simulate",
		"--policy",
		str(policy),
		"--ledger",
		str(demo_db),
		"--from",
		"2026-06-01",
		"--to",
		"2026-06-30",
		"--json",
	)
	assert rc == 0
	data = json.loads(out)
	assert {r["step"] for r in data["messages_by_step"]} <= {"R+1", "L1"}
	assert data["messages"] > 0
	assert sha(demo_db) == before


def test_simulate_rejects_bad_input_with_one_line(demo_db, tmp_path, capsys):
	bad = tmp_path / "bad.yaml"
	bad.write_text(
		"policies:\n  - name: X\n    steps:\n      - {code: W, offset: 5, kind: write_off, channel: task}\n"
	)
	rc, out, err = run(
		capsys,
		"simulate",
		"--policy",
		str(bad),
		"--ledger",
		str(demo_db),
		"--from",
		"2026-06-01",
		"--to",
		"2026-06-02",
	)
	assert rc != 0 and out == ""
	assert "approves it" in err and len(err.strip().splitlines()) == 1
	rc, _out, err = run(
		capsys,
		"simulate",
		"--policy",
		str(bad),
		"--ledger",
		str(tmp_path / "none.sqlite"),
		"--from",
		"2026-06-01",
		"--to",
		"2026-06-02",
	)
	assert rc != 0 and "does not exist" in err
	rc, _out, err = run(capsys, "aging", "--ledger", str(demo_db), "--as-of", "2026-13-01")
	assert rc != 0 and "YYYY-MM-DD" in err
	policy = tmp_path / "p.yaml"
	policy.write_text(POLICY_YAML)
	rc, _out, err = run(
		capsys,
		"simulate",
		"--policy",
		str(policy),
		"--ledger",
		str(demo_db),
		"--from",
		"2026-06-05",
		"--to",
		"2026-06-01",
	)
	assert rc != 0 and "before" in err
	unparsable = tmp_path / "u.yaml"
	unparsable.write_text("policies: [\n")
	rc, _out, err = run(
		capsys,
		"simulate",
		"--policy",
		str(unparsable),
		"--ledger",
		str(demo_db),
		"--from",
		"2026-06-01",
		"--to",
		"2026-06-02",
	)
	assert rc != 0 and "cannot be read" in err


def _write_csv(path: Path, header: list[str], rows: list[list]) -> None:
	with path.open("w", newline="") as fh:
		w = csv.writer(fh)
		w.writerow(header)
		w.writerows(rows)


@pytest.fixture
def csv_ledger(tmp_path) -> Path:
	folder = tmp_path / "export"
	folder.mkdir()
	_write_csv(
		folder / "Sales Invoice.csv",
		[
			"name",
			"customer",
			"company",
			"posting_date",
			"grand_total",
			"currency",
			"is_return",
			"return_against",
			"docstatus",
		],
		[
			["SINV-1", "Acme", "Co", "2026-01-01", "1000", "USD", "0", "", "1"],
			["SINV-2", "Acme", "Co", "2026-01-10", "600", "USD", "0", "", "1"],
			["SINV-3", "Beta", "Co", "2026-01-05", "300", "USD", "0", "", "2"],
			["SINV-RET-1", "Acme", "Co", "2026-01-20", "-100", "USD", "1", "SINV-2", "1"],
		],
	)
	_write_csv(
		folder / "Payment Schedule.csv",
		["parent", "idx", "payment_term", "due_date", "payment_amount"],
		[
			["SINV-1", "1", "T30", "2026-01-31", "300"],
			["SINV-1", "2", "T60", "2026-03-02", "300"],
			["SINV-1", "3", "T90", "2026-04-01", "400"],
			["SINV-2", "1", "", "2026-02-09", "600"],
		],
	)
	_write_csv(
		folder / "Payment Entry.csv",
		["name", "party", "posting_date", "paid_amount", "payment_type", "docstatus"],
		[["PE-1", "Acme", "2026-02-05", "450", "Receive", "1"]],
	)
	_write_csv(
		folder / "Payment Entry Reference.csv",
		["parent", "reference_doctype", "reference_name", "payment_term", "allocated_amount"],
		[["PE-1", "Sales Invoice", "SINV-1", "T60", "150"], ["PE-1", "Sales Invoice", "SINV-1", "", "300"]],
	)
	return folder


def test_csv_import_applies_credit_notes_and_payment_terms(csv_ledger):
	lg = load_csv_folder(csv_ledger)
	assert set(lg.invoices) == {"SINV-1", "SINV-2"}  # the cancelled one is skipped, the return applied
	out = lg.outstanding_as_of(date(2026, 3, 1))
	assert out["SINV-1/2"] == Decimal("150")  # 150 went to the T60 row by its term
	assert out["SINV-1/1"] == Decimal("0")  # 300 without a term: earliest due first
	assert out["SINV-2/1"] == Decimal("500")  # credit note of 100


def test_csv_ledger_runs_through_aging_and_simulate(csv_ledger, tmp_path, capsys):
	rc, out, _ = run(capsys, "aging", "--ledger", str(csv_ledger), "--as-of", "2026-03-01", "--json")
	assert rc == 0
	assert json.loads(out)["aging"]["total"] == pytest.approx(150 + 400 + 500)
	policy = tmp_path / "p.yaml"
	policy.write_text(POLICY_YAML)
	rc, out, _ = run(
		capsys,
		"simulate",
		"--policy",
		str(policy),
		"--ledger",
		str(csv_ledger),
		"--from",
		"2026-01-01",
		"--to",
		"2026-03-31",
		"--json",
	)
	assert rc == 0
	assert json.loads(out)["actions"] >= 2


def test_csv_import_names_the_bad_line(csv_ledger):
	path = csv_ledger / "Payment Schedule.csv"
	path.write_text(path.read_text().replace("2026-03-02", "March 2"))
	with pytest.raises(LedgerError, match=r"Payment Schedule.csv line 3: due_date 'March 2' is not a date"):
		load_csv_folder(csv_ledger)
	(csv_ledger / "Sales Invoice.csv").write_text("name,customer\nX,Y\n")
	with pytest.raises(LedgerError, match="lacks the column"):
		load_csv_folder(csv_ledger)


def test_rerunning_a_day_emits_nothing_new():
	lg, _ = sample.generate(seed=5, customers=20, invoices=150, start=date(2026, 6, 1), days=30)
	first = simulate(lg, date(2026, 6, 1), date(2026, 6, 10))
	assert first.actions
	from dunning_plus.cli.sim import book_of
	from dunning_plus.engine.cadence import plan_cycle

	again = plan_cycle(
		lg.instalments(date(2026, 6, 10), first.taken),
		date(2026, 6, 10),
		book_of(lg),
		lg.profiles(),
		lg.promises,
		lg.disputes,
	)
	assert again.actions == []
	keys = [a[0] for a in first.actions]
	assert len(keys) == len(set(keys))


def test_worklist_tenure_counts_from_the_first_invoice_without_a_customer_since(csv_ledger):
	"""A CSV export has no "customer since": tenure was 0 days for every customer."""
	from dunning_plus.cli.report import worklist_section

	lg = load_csv_folder(csv_ledger)
	assert lg.customers["Acme"].since is None
	top = worklist_section(lg, date(2026, 3, 12))["top"]
	acme = next(r for r in top if r["customer"] == "Acme")
	assert acme["drivers"]["newness"]["raw"] == 70  # tenure in days, from SINV-1 on 2026-01-01
