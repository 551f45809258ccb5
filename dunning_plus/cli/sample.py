"""A deterministic sample company: customers in segments, invoices with multi-term payment
schedules, deposits, partial payments, credit notes, promises and disputes.

The same seed always gives the same ledger. Payments are what each customer would pay without
being chased; the demo's response model (sim.py) pulls some of them forward when reminded.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from dunning_plus.cli.ledger import Customer, Invoice, Ledger, PaymentDoc, ScheduleRow
from dunning_plus.engine.money import ZERO, to_money
from dunning_plus.engine.policy import Track, policy_from_dict
from dunning_plus.engine.promises import Dispute, DisputeStatus, Payment, Promise

COMPANY = "Demo Trading Co"
CURRENCY = "USD"
COLLECTORS = ("ana@demo.example", "ben@demo.example", "chloe@demo.example", "dev@demo.example")
SEGMENTS = (("Commercial", 60), ("Retail", 20), ("Government", 10), ("Non Profit", 10))
TERRITORIES = ("North", "South", "East", "West")
LANGUAGES = (("en", 60), ("de", 25), ("fr", 15))
TERMS = (
	("Net 30", ((100, 30),), 45),
	("30/30/40", ((30, 30), (30, 60), (40, 90)), 30),
	("50/50", ((50, 15), (50, 45)), 25),
)
DISPUTE_REASONS = ("Pricing", "Damaged Goods", "Missing PO", "Short Pay", "Not Delivered")

POLICIES = [
	{
		"name": "Standard",
		"minimum_amount": "50",
		"grace_days": 0,
		"calendar": {"weekend": ["saturday", "sunday"], "window": ["08:00", "18:00"]},
		"steps": [
			{"code": "DEP-3", "offset": -3, "kind": "deposit_reminder", "template": "Deposit Due Soon"},
			{"code": "DEP+2", "offset": 2, "kind": "deposit_reminder", "template": "Deposit Overdue"},
			{
				"code": "R-7",
				"offset": -7,
				"kind": "reminder",
				"templates": {
					"en": "Upcoming Payment",
					"de": "Zahlungserinnerung",
					"fr": "Rappel de paiement",
				},
			},
			{"code": "R+3", "offset": 3, "kind": "reminder", "template": "Payment Reminder"},
			{
				"code": "L1",
				"offset": 10,
				"kind": "dunning",
				"level": 1,
				"template": "Dunning Level 1",
				"owner": "AR team",
				"sla_hours": 48,
			},
			{
				"code": "L2",
				"offset": 25,
				"kind": "dunning",
				"level": 2,
				"template": "Dunning Level 2",
				"fee": "15",
				"owner": "AR team",
				"sla_hours": 48,
			},
			{
				"code": "FINAL",
				"offset": 45,
				"kind": "final_notice",
				"channel": "letter",
				"template": "Final Notice",
				"fee": "25",
				"interest_rate": "8",
				"approval_role": "Collections Manager",
				"credit_hold": True,
				"sla_hours": 72,
			},
			{
				"code": "ESC",
				"offset": 60,
				"kind": "escalation",
				"channel": "task",
				"owner": "Collections Manager",
				"sla_hours": 24,
			},
			{
				"code": "WO",
				"offset": 120,
				"kind": "write_off_proposal",
				"channel": "task",
				"approval_role": "Accounts Manager",
			},
		],
	},
	{
		"name": "Public Sector",
		"grace_days": 5,
		"steps": [
			{"code": "R-7", "offset": -7, "kind": "reminder", "template": "Upcoming Payment"},
			{"code": "R+7", "offset": 7, "kind": "reminder", "template": "Payment Reminder"},
			{
				"code": "L1",
				"offset": 30,
				"kind": "dunning",
				"level": 1,
				"template": "Dunning Level 1",
				"owner": "AR team",
			},
			{
				"code": "FINAL",
				"offset": 60,
				"kind": "final_notice",
				"template": "Final Notice",
				"approval_role": "Collections Manager",
			},
		],
	},
	{
		"name": "Key Account",
		"steps": [
			{"code": "R-10", "offset": -10, "kind": "reminder", "template": "Upcoming Payment"},
			{"code": "R+5", "offset": 5, "kind": "reminder", "template": "Payment Reminder"},
			{
				"code": "CALL",
				"offset": 15,
				"kind": "escalation",
				"channel": "task",
				"owner": "Key Account Manager",
				"sla_hours": 24,
			},
			{"code": "L1", "offset": 30, "kind": "dunning", "level": 1, "template": "Dunning Level 1"},
		],
	},
]


@dataclass
class Profile:
	"""How a sample customer pays: the hidden truth the generator and the response model share."""

	mean_late: float
	sd_late: float
	never_share: float
	responsiveness: float
	promise_prone: bool


PROFILES: dict[str, Profile] = {}


def _pick(rnd: random.Random, weighted):
	total = sum(w for *_v, w in weighted)
	x = rnd.uniform(0, total)
	for *value, w in weighted:
		x -= w
		if x <= 0:
			return value[0] if len(value) == 1 else tuple(value)
	return weighted[-1][0]


def generate(
	seed: int = 42,
	customers: int = 200,
	invoices: int = 2000,
	start: date = date(2026, 6, 1),
	days: int = 120,
) -> tuple[Ledger, dict[str, Profile]]:
	rnd = random.Random(seed)
	end = start + timedelta(days=days)
	lg = Ledger(company=COMPANY, currency=CURRENCY)
	for p in POLICIES:
		lg.policies[p["name"]] = policy_from_dict(p)
	lg.company_default = "Standard"
	lg.segment_policies = {"Government": "Public Sector"}
	profiles: dict[str, Profile] = {}

	weights = []
	for i in range(1, customers + 1):
		name = f"Customer {i:04d}"
		kind = _pick(rnd, (("good", 50), ("medium", 35), ("bad", 15)))
		profiles[name] = {
			"good": Profile(1.0, 3.0, 0.0, 0.8, False),
			"medium": Profile(18.0, 8.0, 0.02, 0.5, rnd.random() < 0.4),
			"bad": Profile(55.0, 25.0, 0.25, 0.2, rnd.random() < 0.4),
		}[kind]
		lg.customers[name] = Customer(
			name=name,
			customer_group=_pick(rnd, SEGMENTS),
			territory=rnd.choice(TERRITORIES),
			language=_pick(rnd, LANGUAGES),
			email=f"ap@customer{i:04d}.example" if rnd.random() < 0.92 else None,
			collector=COLLECTORS[i % len(COLLECTORS)],
			since=start - timedelta(days=rnd.randint(30, 2500)),
		)
		weights.append(rnd.paretovariate(1.3))
	names = list(lg.customers)
	# The heaviest 5% of customers are key accounts with their own policy.
	for _w, name in sorted(zip(weights, names, strict=True), reverse=True)[: max(1, customers // 20)]:
		lg.customers[name].policy = "Key Account"
	blocked = rnd.sample(names, 2)
	lg.customers[blocked[0]].block_reason = "Legal review"
	lg.customers[blocked[0]].block_until = start + timedelta(days=30)
	lg.customers[blocked[1]].block_reason = "Insolvency proceedings"

	applications: list[tuple[str, Payment]] = []
	pay_seq = 0
	cn_seq = 0

	def pay(customer: str, row: ScheduleRow, day: date, amount: Decimal, kind: str = "Payment Entry"):
		nonlocal pay_seq, cn_seq
		if kind == "Credit Note":
			cn_seq += 1
			doc = f"ACC-SINV-RET-{cn_seq:05d}"
		else:
			pay_seq += 1
			doc = f"ACC-PAY-{pay_seq:05d}"
		lg.payments[doc] = PaymentDoc(doc, customer, day, amount, CURRENCY, kind)
		applications.append((doc, Payment(row.id, day, amount)))

	first = start - timedelta(days=120)
	span = (end - timedelta(days=15) - first).days
	for n in range(1, invoices + 1):
		customer = rnd.choices(names, weights=weights)[0]
		prof = profiles[customer]
		posting = first + timedelta(days=rnd.randint(0, span))
		total = to_money(min(max(rnd.lognormvariate(7.6, 0.9), 150), 60000))
		term_name, parts = _pick(rnd, [(t[0], t[1], t[2]) for t in TERMS])
		inv = Invoice(f"ACC-SINV-{n:05d}", customer, COMPANY, posting, CURRENCY, total)
		if rnd.random() < 0.003:
			inv.block_reason = "Delivery complaint"
			inv.block_until = posting + timedelta(days=rnd.randint(20, 60))
		lg.invoices[inv.name] = inv
		rows = []
		allotted = ZERO
		for idx, (portion, days_after) in enumerate(parts, start=1):
			amount = total - allotted if idx == len(parts) else to_money(total * portion / 100)
			allotted += amount
			row = ScheduleRow(
				id=f"{inv.name}/{idx}",
				invoice=inv.name,
				customer=customer,
				company=COMPANY,
				idx=idx,
				payment_term=f"{term_name} #{idx}" if len(parts) > 1 else term_name,
				due_date=posting + timedelta(days=days_after),
				amount=amount,
				currency=CURRENCY,
				posting_date=posting,
			)
			rows.append(row)
			lg.rows[row.id] = row

		# An order with a deposit: expected 14 days before invoicing, 20% of the order.
		if rnd.random() < 0.10:
			so = f"SAL-ORD-{n:05d}"
			dep = ScheduleRow(
				id=f"{so}/deposit",
				invoice=so,
				customer=customer,
				company=COMPANY,
				idx=1,
				payment_term="Advance 20%",
				due_date=posting - timedelta(days=14),
				amount=to_money(total * Decimal("0.2")),
				currency=CURRENCY,
				posting_date=posting - timedelta(days=28),
				track=Track.DEPOSIT,
			)
			lg.rows[dep.id] = dep
			late = max(0, round(rnd.gauss(prof.mean_late / 2, prof.sd_late)))
			pay(customer, dep, dep.due_date + timedelta(days=late), dep.amount)

		credited: dict[str, Decimal] = {}
		if rnd.random() < 0.03:
			cn_day = posting + timedelta(days=rnd.randint(5, 40))
			cn_amount = to_money(total * Decimal(rnd.randint(10, 50)) / 100)
			for row in rows:
				if cn_amount <= 0:
					break
				take = min(cn_amount, row.amount)
				pay(customer, row, cn_day, take, "Credit Note")
				credited[row.id] = take
				cn_amount -= take

		dispute_until: dict[str, date] = {}
		if rnd.random() < 0.04:
			row = rows[0]
			opened = row.due_date + timedelta(days=rnd.randint(2, 10))
			disputed = to_money(
				(row.amount - credited.get(row.id, ZERO)) * Decimal(rnd.randint(30, 100)) / 100
			)
			if disputed > 0:
				resolved = opened + timedelta(days=rnd.randint(7, 45))
				settled = resolved <= end
				lg.disputes.append(
					Dispute(
						name=f"DISP-{len(lg.disputes) + 1:04d}",
						customer=customer,
						amount=disputed,
						items=(row.id,),
						opened_on=opened,
						reason=rnd.choice(DISPUTE_REASONS),
						status=DisputeStatus.RESOLVED if settled else DisputeStatus.OPEN,
						resolved_on=resolved if settled else None,
						owner="Collections Manager",
					)
				)
				if settled and rnd.random() < 0.5:
					pay(customer, row, resolved, disputed, "Credit Note")
					credited[row.id] = credited.get(row.id, ZERO) + disputed
				dispute_until[row.id] = resolved

		for row in rows:
			left = row.amount - credited.get(row.id, ZERO)
			if left <= 0 or rnd.random() < prof.never_share:
				continue
			late = round(rnd.gauss(prof.mean_late, prof.sd_late))
			if prof.mean_late < 5:
				late = max(late, -5)
			day = row.due_date + timedelta(days=max(late, -10))
			if row.id in dispute_until:
				day = max(day, dispute_until[row.id] + timedelta(days=rnd.randint(1, 7)))
			if day > end:
				continue
			promised_row = False
			if prof.promise_prone and late > 14:
				recorded = row.due_date + timedelta(days=rnd.randint(11, 14))
				promised = recorded + timedelta(days=rnd.randint(7, 14))
				if recorded < day and recorded <= end:
					keep = rnd.random() < 0.65
					if keep:
						day = min(day, promised - timedelta(days=rnd.randint(0, 3)))
					promised_row = True
					lg.promises.append(
						Promise(
							name=f"PROM-{len(lg.promises) + 1:04d}",
							customer=customer,
							promised_date=promised,
							amount=left,
							items=(row.id,),
							recorded_on=recorded,
							recorded_by=lg.customers[customer].collector,
						)
					)
			if not promised_row and rnd.random() < 0.15 and left > 100:
				part = to_money(left * Decimal("0.4"))
				pay(customer, row, max(day - timedelta(days=rnd.randint(5, 15)), row.posting_date), part)
				left -= part
			pay(customer, row, day, left)

	applications.sort(key=lambda a: (a[1].posting_date, a[0]))
	lg.applied = applications
	return lg, profiles
