"""The README's tours, run as written against a fresh `make run` server.

Each tour is a script in `docs/tours/`; the part after its `# --- README block ---`
line must equal, byte for byte, the ```sh block that README.md marks with
`<!-- tour: docs/tours/NAME.sh -->`. The scripts then run in README order, in a
fresh directory, against one `ringledger serve --demo` started there with the
defaults a README reader has (its own `var/` store and PIN key file, the switch
token it prints). The server's business clock is pinned to 14:00 Beijing today
(`RINGLEDGER_CLOCK_START`) so that calls are priced at the peak price.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from ledger.money import format_money
from rating.deck import parse_deck

REPO = Path(__file__).resolve().parents[2]
TOURS = REPO / "docs" / "tours"
MARK = "# --- README block ---\n"
TOUR_ORDER = ("cli", "hooks", "tariffs", "callback", "portal", "conferences", "phonebar", "permits", "discounts",
              "fees", "forwarding", "missed", "auditor")


# --- the README and the scripts say the same thing ------------------------------------------


def readme_sh_blocks() -> list[tuple[str | None, str]]:
    """Every ```sh block of README.md with the tour script its marker names (None: no marker)."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    pattern = re.compile(r"(?:<!-- tour: (?P<tour>\S+) -->\n)?```sh\n(?P<body>.*?)```\n", re.S)
    return [(m["tour"], m["body"]) for m in pattern.finditer(text)]


def script_body(path: Path) -> str:
    text = path.read_text(encoding="utf-8")
    assert MARK in text, f"{path.name} has no '{MARK.strip()}' line"
    return text.split(MARK, 1)[1]


def test_every_readme_tour_is_a_script_and_every_script_is_in_the_readme() -> None:
    blocks = readme_sh_blocks()
    marked = [tour for tour, _ in blocks if tour]
    # A shell block that is not a tour may only name the two make targets.
    for tour, body in blocks:
        if tour is None:
            assert all(line.startswith("make ") for line in body.splitlines() if line.strip()), (
                f"this README shell block is not a tour script; mark it with <!-- tour: docs/tours/….sh -->:\n{body}")
    scripts = sorted(f"docs/tours/{p.name}" for p in TOURS.glob("*.sh"))
    assert sorted(marked) == scripts, "each script in docs/tours/ is shown once in README.md, and only those"
    assert [Path(t).stem for t in marked] == list(TOUR_ORDER), "the tests run the tours in README order"
    for tour, body in blocks:
        if tour:
            assert body == script_body(REPO / tour), f"README.md's block for {tour} differs from the script"


# --- a fresh `make run` ---------------------------------------------------------------------


@dataclass
class Server:
    workdir: Path
    url: str
    env: dict[str, str]

    def tour(self, name: str) -> str:
        """Run docs/tours/NAME.sh as a README reader would; its standard output."""
        done = subprocess.run(["bash", str(TOURS / f"{name}.sh")], cwd=self.workdir, env=self.env,
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, f"tour {name} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}"
        return done.stdout

    def get(self, path: str) -> Any:
        return httpx.get(self.url + path, headers={"Authorization": f"Bearer {self.env['TOKEN']}"}).json()

    def post(self, path: str, body: dict[str, Any]) -> Any:
        return httpx.post(self.url + path, json=body, headers={"Authorization": f"Bearer {self.env['TOKEN']}"}).json()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def peak_hour_today() -> str:
    """14:00 Beijing today: peak time, on the date a tour's `date` command prints."""
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date()
    return f"{today.isoformat()}T14:00:00+08:00"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    workdir = tmp_path_factory.mktemp("tours")
    (workdir / "docs" / "tours").mkdir(parents=True)
    shutil.copy(TOURS / "retail-deck.csv", workdir / "docs" / "tours" / "retail-deck.csv")
    env = {k: v for k, v in os.environ.items() if not k.startswith("RINGLEDGER_")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["RINGLEDGER_CLOCK_START"] = peak_hour_today()
    port = free_port()
    log = (workdir / "server.log").open("w")
    process = subprocess.Popen([str(Path(sys.executable).parent / "ringledger"), "serve", "--demo", "--port", str(port)],
                               cwd=workdir, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, (workdir / "server.log").read_text()
            try:
                if httpx.get(url + "/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the server did not start in 60 s"
            time.sleep(0.1)
        printed = (workdir / "server.log").read_text()
        token = re.search(r"switch token for this run.*:\n\s+(\S+)", printed)
        assert token, f"make run printed no switch token:\n{printed}"
        yield Server(workdir, url, {**env, "TOKEN": token[1], "RINGLEDGER_URL": url})
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        log.close()


def documents(output: str) -> list[Any]:
    """The JSON documents a tour printed, in order (tables and other text skipped)."""
    decoder, found, i = json.JSONDecoder(), [], 0
    while i < len(output):
        if output[i] in "{[":
            try:
                doc, i = decoder.raw_decode(output, i)
                found.append(doc)
                continue
            except json.JSONDecodeError:
                pass
        i += 1
    return found


def first(docs: list[Any], key: str) -> dict[str, Any]:
    return next(d for d in docs if isinstance(d, dict) and key in d)


# --- the tours, in README order -------------------------------------------------------------


def test_the_cli_tour_credits_its_own_account_and_leaves_the_demo_account_alone(server: Server) -> None:
    out = server.tour("cli")
    assert first(documents(out), "total")["total"] == "0.0000"  # the trial balance closes the tour
    assert first(documents(out), "from")["amount"] == "12.5000"  # the transfer, with four places
    assert first(documents(out), "verified")["verified"] is True  # the new PIN, given by --new-pin
    # The voucher went to the tour's own number, not to the demo account's.
    assert server.get("/v1/accounts/by-number/13800138001/balance")["balance"] == "57.5000"
    assert server.get("/v1/accounts/by-number/13800138000/balance")["balance"] == "100.0000"
    # The tour's account has a tariff, so its calls go ahead.
    answer = server.post("/v1/calls/authorize", {"call_id": "cli-tour-check", "caller": "+8613800138001",
                                                 "callee": "01062345678", "service": "direct"})
    assert answer["authorized"] is True and answer["account"] == "8613001", answer
    server.post("/v1/calls/cli-tour-check/end", {"billsec": 0})


def test_the_hook_tour_prints_what_the_readme_shows(server: Server) -> None:
    authorized, ended, balance = documents(server.tour("hooks"))
    assert authorized["authorized"] is True
    assert (authorized["max_seconds"], authorized["balance"], authorized["available"], authorized["hold"]) == (
        300, "100.0000", "99.5000", "0.5000")
    assert authorized["granted_seconds"] == 300  # one slice, not all the balance could pay for
    assert (authorized["rate"]["band"], authorized["rate"]["price_per_minute"]) == ("peak", "0.1000")
    assert (ended["charged"], ended["balance"]) == ("0.3000", "99.7000")
    assert (balance["account"], balance["balance"]) == ("8000000001", "99.7000")


def test_the_tariff_tour_imports_the_sample_deck_exports_it_and_rerates(server: Server) -> None:
    docs = documents(server.tour("tariffs"))
    assert first(docs, "rows")["name"] == "retail"
    # The export is the deck that was imported.
    shipped = parse_deck((TOURS / "retail-deck.csv").read_text(encoding="utf-8"))
    assert parse_deck((server.workdir / "retail-export.csv").read_text(encoding="utf-8")) == shipped
    assert first(docs, "charged")["charged"] == "0.3000"  # 125 s at demo's peak 0.10/min
    rerate = first(docs, "rerated")
    # Every 125 s peak call of the demo account costs 0.45 at retail (0.15/min) instead of 0.30.
    assert rerate["skipped"] == [] and rerate["rerated"] == rerate["selected"] >= 1
    assert rerate["difference"] == format_money(1500 * rerate["rerated"])
    assert first(docs, "blocked")["number"] == "+8613900000000"


def test_the_callback_tour_binds_by_sms_bridges_both_legs_and_reconciles(server: Server) -> None:
    docs = documents(server.tour("callback"))
    card = first(docs, "batch")
    assert card["kind"] == "callback"
    bound = docs[2]["replies"][0]
    assert bound["to"] == "+8613900139000" and bound["text"].startswith("绑定成功") and "30.0000" in bound["text"]
    placed, bridged = first(docs, "reject"), first(docs, "bridged")
    assert (placed["callback"], placed["leg_a"], placed["max_seconds"]) == (True, "cb-1-a", 90)
    # 30.00 at peak: leg A (mobile 0.20) for 90 + s seconds and leg B (local 0.10) for s seconds. The
    # first grant is one 300 s slice of each leg (0.90 of it held from the call back), so 210 s bridged.
    assert (bridged["max_seconds"], bridged["hold"], bridged["warn_after_seconds"]) == (210, "1.5000", 210)
    ended = first(docs, "leg_a_charged")
    assert (ended["charged"], ended["balance"]) == ("0.9000", "29.1000")
    outbox = first(docs, "messages")["messages"]
    assert [m["text"][:4] for m in outbox] == ["绑定成功", "您的账户", "充值成功"]
    assert "79.1000" in outbox[-1]["text"]
    assert first(docs, "total")["total"] == "0.0000"


def test_the_bar_owners_tour_sees_the_booth_call_and_only_its_own_bar(server: Server) -> None:
    authorized, answered, ended, account, cdrs, statement, refused = documents(server.tour("portal"))
    assert authorized["authorized"] is True and authorized["account"] == "5550001"
    assert ended["charged"] == "0.4000"  # 200 s: 4 whole minutes at 0.10
    assert account["data"]["account"]["balance"] == "199.6000"
    assert [e["node"]["callId"] for e in cdrs["data"]["cdrs"]["edges"]] == ["booth3-1"]
    (row,) = statement["data"]["barStatement"]["rows"]
    assert (row["attempts"], row["answered"], row["cost"]) == (1, 1, "0.4000")
    assert refused["errors"][0]["extensions"]["code"] == "forbidden"


def test_the_conference_tour_charges_each_leg_to_the_initiator_and_cancels_the_booking(server: Server) -> None:
    docs = documents(server.tour("conferences"))
    trigger = docs[0]
    assert (trigger["accepted"], trigger["answer"], trigger["status"]) == (True, "reject", "running")
    ends = [d for d in docs if "charged" in d and "call_id" in d]
    assert [d["charged"] for d in ends] == ["0.3000", "0.4000"]  # long distance 60 s, mobile 90 s
    assert [d["changed"] for d in docs if "changed" in d] == [True, True]  # the PIN changed, and back
    portal = first(docs, "data")["data"]["conference"]
    assert (portal["status"], portal["endCause"], portal["charged"]) == ("ended", "initiator_hung_up", "0.7000")
    assert [(leg["category"], leg["charged"]) for leg in portal["legs"]] == [("mobile", "0.4000"),
                                                                           ("national", "0.3000")]
    cancelled = next(d for d in docs if "cancelConference" in d.get("data", {}))
    assert cancelled["data"]["cancelConference"] == {"status": "cancelled", "endCause": "moved"}
    listed = docs[-1]["data"]["conferences"]["edges"]
    assert [(e["node"]["mode"], e["node"]["status"]) for e in listed] == [("instant", "ended"),
                                                                         ("booked", "cancelled")]


def test_the_phone_bar_tour_refuses_by_booth_bills_at_retail_and_sends_the_owner_an_sms(server: Server) -> None:
    docs = documents(server.tour("phonebar"))
    refusals = [d["reason"] for d in docs if isinstance(d, dict) and d.get("authorized") is False]
    assert refusals == ["booth_not_permitted", "unknown_booth"]
    board = next(d for d in docs if isinstance(d, list))
    assert [(row["booth"], row["state"], row["dialled"]) for row in board] == [
        ("1", "idle", None), ("2", "talking", "13800138000")]
    assert first(docs, "charged")["charged"] == "1.0000"  # 5 min x 0.20 wholesale, from the deposit
    bill = first(docs, "retail_total")
    assert (bill["bill"], bill["retail_total"], [x["call_id"] for x in bill["lines"]]) == (1, "1.2500", ["bar-1"])
    portal = first(docs, "data")["data"]
    assert portal["boothBills"] == [{"booth": "2", "bill": 1, "calls": 1, "retailTotal": "1.2500"}]
    for page in ("bill.html", "bill-page.html"):
        assert '<td class="n" id="total">1.2500</td>' in (server.workdir / page).read_text(encoding="utf-8")
    # 199.60 - 1.00 fell under 199.00: the scheduler sends the owner one SMS (make run's gateway logs it).
    deadline = time.monotonic() + 40
    while "sms_send" not in (server.workdir / "server.log").read_text():
        assert time.monotonic() < deadline, "no low-deposit SMS was sent"
        time.sleep(0.5)


def test_the_permissions_tour_refuses_what_the_account_may_not_dial(server: Server) -> None:
    docs = documents(server.tour("permits"))
    rules = {"categories": ["local", "mobile"], "allow": [], "deny": ["861380013"]}
    assert [d["permissions"] for d in docs if "permissions" in d] == [rules, None]  # set, then cleared
    answers = [d for d in docs if "authorized" in d]
    assert [(d["call_id"], d["authorized"], d["reason"], d["hold"]) for d in answers] == [
        ("lim-hk", False, "not_permitted", "0.0000"), ("lim-1", True, None, "0.5000")]  # a first slice of 300 s at 0.10
    assert first(docs, "charged")["charged"] == "0.1000"


def test_the_discounts_tour_sells_a_card_below_face_and_charges_a_discounted_call(server: Server) -> None:
    docs = documents(server.tour("discounts"))
    sale = first(docs, "paid")
    assert (sale["value"], sale["paid"], sale["discount"]) == ("50.0000", "45.0000", "5.0000")
    (inventory,) = next(d for d in docs if isinstance(d, list) and d and d[0].get("batch") == "PROMO1")
    assert (inventory["paid"], inventory["discount"]) == ("45.0000", "5.0000")
    authorized = first(docs, "authorized")
    assert authorized["authorized"] is True
    (cdr,) = next(d for d in docs if isinstance(d, list) and d and d[0].get("call_id") == "promo-1")
    assert (cdr["list_price"], cdr["discount"], cdr["charged"]) == ("0.4500", "0.0900", "0.3600")
    trial = first(docs, "customer_balances")
    assert trial["total"] == "0.0000"
    assert trial["house"]["house:discounts:cards"] == "-5.0000"


def test_the_fee_tour_suspends_the_lease_it_cannot_pay_and_resumes_it_once_paid(server: Server) -> None:
    docs = documents(server.tour("fees"))
    lease = next(d for d in docs if isinstance(d, dict) and d.get("service") == "lease:pbx-line")
    assert (lease["status"], lease["arrears"], lease["outcome"]) == ("suspended", "30.0000", "unpaid")
    # The tour's run or the server's own job resumed it: either way once, with the arrears paid.
    listed = next(d for d in docs if isinstance(d, list) and d and "subscribed_at" in d[0])
    assert {(s["service"], s["status"], s["arrears"]) for s in listed} == {
        ("lease:pbx-line", "active", "0.0000"), ("missed_call_off", "active", "0.0000"),
        ("missed_call_busy", "active", "0.0000")}
    history = next(d for d in docs if isinstance(d, list) and d and "outcome" in d[0] and "account" not in d[0])
    assert [(h["outcome"], h["amount"]) for h in history] == [("unpaid", "30.0000"), ("paid", "30.0000")]
    assert docs[-1]["status"] == "cancelled"
    # 5.00 + 40.00 paid in, 2.00 + 2.00 + 30.00 charged
    shown = subprocess.run(["ringledger", "accounts", "show", "8000000077", "--json"], cwd=server.workdir,
                           env=server.env, capture_output=True, text=True, timeout=60)
    assert json.loads(shown.stdout)["balance"] == "11.0000", shown.stdout + shown.stderr


def test_the_forwarding_tour_serves_calls_in_the_shop_s_name_and_its_key_sees_only_them(server: Server) -> None:
    docs = documents(server.tour("forwarding"))
    answers = [d for d in docs if "authorized" in d]
    assert [(a["call_id"], a["authorized"], a["reason"]) for a in answers] == [
        ("fw-1", True, None), ("fw-2", True, None), ("fw-3", False, "blacklisted")]
    assert answers[0]["forward"] == {"business": "+861062340000", "agent": "+861062345601",
                                     "destination": "+861062345601", "presented_number": "+861062340000",
                                     "greeting": "欢迎致电示范公司"}
    assert answers[1]["forward"]["agent"] == "+861062345602"
    assert first(docs, "charged")["charged"] == "0.2000"  # 75 s local at 0.10/min, 60/60
    read = next(d for d in docs if isinstance(d, dict) and "forwardingBill" in d.get("data", {}))["data"]
    assert {(c["callId"], c["outcome"]) for c in read["forwardedCalls"]} == {
        ("fw-1", "answered"), ("fw-2", "abandoned"), ("fw-3", "refused")}
    assert read["forwardingBill"] == {"calls": 3, "answered": 1, "charged": "0.2000", "balance": "19.8000"}
    stats = next(d for d in docs if isinstance(d, dict) and "agentStatistics" in d.get("data", {}))["data"]
    assert [(s["agent"], s["answered"], s["abandoned"]) for s in stats["agentStatistics"]] == [
        ("+861062345601", 1, 0), ("+861062345602", 0, 1), ("+862161234567", 0, 0)]
    refused = next(d for d in docs if isinstance(d, dict) and "errors" in d)
    assert refused["errors"][0]["extensions"]["code"] == "forbidden"
    log = docs[-1]
    assert [row["call_id"] for row in log] == ["fw-1"]


def test_the_missed_call_tour_sends_one_notice_a_window_charges_the_caller_and_balances(server: Server) -> None:
    docs = documents(server.tour("missed"))
    missed = [d for d in docs if isinstance(d, dict) and d.get("call_id", "").startswith("mc-") and "recorded" in d]
    assert [(d["count"], d["recorded"]) for d in missed[:3]] == [(1, True), (2, True), (3, True)]
    assert (missed[3]["recorded"], missed[3]["reason"]) == (False, "blacklisted")
    back, retried = [d for d in docs if isinstance(d, dict) and d.get("event_id") == "reg-1"]
    assert [n["count"] for n in back["notices"]] == [3] and back["reachable_notices"][0]["charged"] == "0.1000"
    assert retried["notices"] == back["notices"]  # the same answer, nothing sent again
    today = datetime.fromisoformat(server.env["RINGLEDGER_CLOCK_START"])  # the server's pinned business day
    callee_box, caller_box = [d["messages"] for d in docs if isinstance(d, dict) and "messages" in d]
    assert [m["text"] for m in callee_box] == [
        f"您好，用户13800138000于{today.month}月{today.day}日14时呼叫您3次，请回电！XX公司竭诚为您服务"]
    assert caller_box[-1]["text"] == "您好，用户13600136001已可达，请及时联系。XX公司竭诚为您服务"
    replies = [d["replies"][0]["text"] for d in docs if isinstance(d, dict) and "replies" in d]
    assert replies[0].startswith("您有1条未接来电：13800138000") and "本次信息费0.1000元" in replies[0]
    shown = next(d for d in docs if isinstance(d, dict) and d.get("shown") is True)
    assert (shown["charged"], shown["balance"]) == ("0.1000", "5.8000")
    shows = [d for d in docs if isinstance(d, dict) and d.get("number") == "8000000088" and "kind" in d]
    assert shows[-1]["balance"] == "5.8000"  # 10.00 - two fees of 2.00 - two histories of 0.10
    trial = first(docs, "customer_balances")
    assert trial["total"] == "0.0000"
    assert trial["house"]["house:revenue:missed_call:history"] == "0.2000"


def test_the_auditors_tour_verifies_the_noted_digest_and_cannot_change_anything(server: Server) -> None:
    noted, verified, read, refused = documents(server.tour("auditor"))
    assert verified["ok"] is True and verified["problems"] == []
    assert read["data"]["auditDigest"]["position"] >= noted["position"]
    assert refused["errors"][0]["extensions"]["code"] == "forbidden"
    balances = (server.workdir / "balances.csv").read_text().splitlines()
    assert balances[0].startswith("number,") and any(line.startswith("8000000001,") for line in balances)
    trial = subprocess.run(["ringledger", "ledger", "trial-balance", "--json"], cwd=server.workdir, env=server.env,
                           capture_output=True, text=True, timeout=60)
    assert trial.returncode == 0 and json.loads(trial.stdout)["total"] == "0.0000", trial.stdout + trial.stderr
