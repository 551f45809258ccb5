from datetime import date, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from dunning_plus.engine.aging import AgingItem
from dunning_plus.engine.cadence import HoldReason, Instalment, PolicyBook, plan_cycle
from dunning_plus.engine.credits import Credit, CreditKind, apply_credits, net_aging
from dunning_plus.engine.money import ZERO
from dunning_plus.engine.policy import Track, policy_from_dict

D = date(2026, 3, 2)


def inst(id, invoice, due, outstanding, customer="C1", currency="EUR", track=Track.INVOICE):
	return Instalment(
		id=id,
		invoice=invoice,
		customer=customer,
		company="Co",
		due_date=due,
		outstanding=Decimal(outstanding),
		currency=currency,
		track=track,
	)


def credit(id, amount, kind=CreditKind.PAYMENT, against=None, posted=D, customer="C1", currency="EUR"):
	return Credit(id, kind, customer, "Co", currency, Decimal(amount), posted, against)


def test_a_credit_note_pays_back_its_own_invoice_first_then_the_oldest_debt():
	rows = [
		inst("A1", "INV-A", D - timedelta(days=40), 300),
		inst("B1", "INV-B", D - timedelta(days=10), 1000),
		inst("B2", "INV-B", D + timedelta(days=20), 500),
	]
	out = apply_credits(rows, [credit("CN-1", 1200, CreditKind.CREDIT_NOTE, against="INV-B")])
	assert [(i.id, i.credit, i.due) for i in out.instalments] == [
		("A1", ZERO, Decimal(300)),
		("B1", Decimal(1000), ZERO),
		("B2", Decimal(200), Decimal(300)),
	]
	assert out.used == {"CN-1": [("B1", Decimal(1000)), ("B2", Decimal(200))]}
	assert out.unused == {}


def test_payments_go_to_the_oldest_debt_and_what_is_left_stays_unused():
	rows = [inst("B1", "INV-B", D + timedelta(days=5), 100), inst("A1", "INV-A", D - timedelta(days=5), 50)]
	out = apply_credits(
		rows, [credit("PE-2", 30, posted=D), credit("PE-1", 200, posted=D - timedelta(days=9))]
	)
	assert {i.id: i.credit for i in out.instalments} == {"A1": Decimal(50), "B1": Decimal(100)}
	assert out.used["PE-1"] == [("A1", Decimal(50)), ("B1", Decimal(100))]
	assert out.unused == {"PE-1": Decimal(50), "PE-2": Decimal(30)}
	assert out.applied_to("A1") == Decimal(50)


def test_deposits_other_currencies_and_other_customers_take_nothing():
	rows = [
		inst("D1", "SO-1", D - timedelta(days=3), 400, track=Track.DEPOSIT),
		inst("U1", "INV-U", D - timedelta(days=3), 400, currency="USD"),
		inst("X1", "INV-X", D - timedelta(days=3), 400, customer="C2"),
	]
	out = apply_credits(rows, [credit("PE-1", 100)])
	assert all(i.credit == ZERO for i in out.instalments)
	assert out.unused == {"PE-1": Decimal(100)}


money = st.integers(min_value=0, max_value=50_000).map(lambda c: Decimal(c) / 100)


@settings(max_examples=200, deadline=None)
@given(
	outstanding=st.lists(money, min_size=0, max_size=8),
	credits=st.lists(st.tuples(money, st.booleans(), st.integers(0, 7)), min_size=0, max_size=6),
)
def test_netting_never_over_applies_and_accounts_for_every_cent(outstanding, credits):
	rows = [
		inst(f"R{n}", f"INV-{n % 3}", D + timedelta(days=n * 7 - 20), o) for n, o in enumerate(outstanding)
	]
	given_credits = [
		credit(
			f"CR{n}",
			amount,
			CreditKind.CREDIT_NOTE if is_note else CreditKind.PAYMENT,
			f"INV-{k % 3}" if is_note else None,
		)
		for n, (amount, is_note, k) in enumerate(credits)
	]
	out = apply_credits(rows, given_credits)
	for before, after in zip(rows, out.instalments, strict=True):
		assert after.id == before.id
		assert ZERO <= after.credit <= before.outstanding
	for c in given_credits:
		given_out = sum((a for _row, a in out.used.get(c.id, [])), ZERO)
		assert given_out + out.unused.get(c.id, ZERO) == c.amount
		assert all(a > 0 for _row, a in out.used.get(c.id, []))
	# a credit is unused only when every row is fully covered
	if out.unused:
		assert all(i.due == 0 for i in out.instalments)


def test_the_cycle_duns_only_what_credits_leave_open():
	policy = policy_from_dict(
		{
			"name": "P",
			"steps": [
				{
					"code": "L1",
					"offset_days": 10,
					"kind": "dunning",
					"level": 1,
					"templates": {"default": "T"},
				},
				{
					"code": "L2",
					"offset_days": 25,
					"kind": "dunning",
					"level": 2,
					"templates": {"default": "T"},
				},
			],
		}
	)
	book = PolicyBook({"P": policy}, {"Co": "P"})
	rows = [
		inst("A1", "INV-A", D - timedelta(days=30), 1000),
		inst("B1", "INV-B", D - timedelta(days=40), 300),
	]
	netted = apply_credits(
		rows,
		[
			credit("CN-1", 200, CreditKind.CREDIT_NOTE, against="INV-A"),
			credit("PE-1", 300, against=None, posted=D + timedelta(days=1)),
		],
	)
	plan = plan_cycle(netted.instalments, D, book)
	# the credit note pays back INV-A (800 left), the payment the older INV-B (covered)
	assert {a.instalment.id: a.amount for a in plan.actions} == {"A1": Decimal(800)}
	assert [(h.instalment.id, h.reason) for h in plan.holds] == [("B1", HoldReason.CREDIT)]
	assert plan.messages[0].total == Decimal(800)


# ---------------------------------------------------------------- aging net of open credits


def aging_item(id, invoice, due, outstanding, customer="C1"):
	return AgingItem(id, customer, due, due - timedelta(days=30), Decimal(outstanding), invoice)


def test_aging_nets_a_credit_note_against_its_invoice_and_keeps_the_rest_as_credit():
	items = [
		aging_item("A1", "INV-A", D - timedelta(days=40), 300),
		aging_item("B1", "INV-B", D - timedelta(days=5), 1000),
		aging_item("X1", "INV-X", D - timedelta(days=5), 70, customer="C2"),
	]
	# the customer owes 1,300; a 200 credit note returning INV-B and an unallocated payment of 1,250
	credits = [credit("CN-1", 200, CreditKind.CREDIT_NOTE, against="INV-B"), credit("PE-1", 1250)]
	out = net_aging(items, credits)
	assert [(i.id, i.outstanding) for i in out.items] == [("X1", Decimal(70))]
	assert out.applied == {"B1": Decimal(1000), "A1": Decimal(300)}
	assert out.credits == {"C1": Decimal(1450)}
	assert out.unused == {"C1": Decimal(150)}
	assert (out.net("C1"), out.net("C2")) == (Decimal(-150), Decimal(70))
	# a smaller credit note: the invoice it returns ages net of it, the other untouched
	out = net_aging(items, [credit("CN-1", 200, CreditKind.CREDIT_NOTE, against="INV-B")])
	assert [(i.id, i.outstanding) for i in out.items] == [
		("A1", Decimal(300)),
		("B1", Decimal(800)),
		("X1", Decimal(70)),
	]
	assert (out.net("C1"), out.unused) == (Decimal(1100), {})


@given(
	st.lists(st.tuples(st.integers(-50, 50), st.integers(-500, 5000)), max_size=8),
	st.lists(st.integers(-100, 3000), max_size=4),
)
@settings(max_examples=200)
def test_aging_net_position_is_what_is_owed_less_the_credits(rows, amounts):
	items = [aging_item(f"R{n}", f"INV-{n % 3}", D + timedelta(days=d), a) for n, (d, a) in enumerate(rows)]
	credits = [credit(f"PE-{n}", a) for n, a in enumerate(amounts)]
	out = net_aging(items, credits)
	owed = sum((i.outstanding for i in items if i.outstanding > 0), ZERO)
	given_credit = sum((c.amount for c in credits if c.amount > 0), ZERO)
	assert out.net("C1") == owed - given_credit
	assert all(i.outstanding > 0 for i in out.items)
	assert sum(out.applied.values(), ZERO) + sum(out.unused.values(), ZERO) == given_credit
