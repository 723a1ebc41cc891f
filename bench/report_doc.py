#!/usr/bin/env python3
"""Writes docs/performance.md (Markdown, on stdout) from the results bench/report.sh collected
in one directory:
  meta.tsv       NAME<TAB>VALUE: the machine, the build, the run's options and sizes
  elapsed.tsv    AREA<TAB>SECONDS per area script run
  keywords.json  smsconsent_bench --benchmark_format=json with --benchmark_repetitions
  http.tsv       RUN<TAB>… bench/load/run.sh --tsv's lines, one run.sh per RUN
  drain.tsv      RUN<TAB>… bench/load/drain.sh --tsv's lines
  bulk.tsv       RUN<TAB>… bench/bulk/run.sh --tsv's lines
  postgres.tsv   bench/load/compare_stores.sh --tsv's lines (RUN first already)
Each figure is the median over the runs, with the runs' min–max. A ratio is computed within
each run (a route's rate over the same run's /healthz), then its median taken. Only the areas
with results get a section. Exit status 3 if the results show a problem (wrk errors, a
broken ledger, webhooks replayed because the run outlasted its distinct messages): the
document then lists it under the table concerned.
Usage: report_doc.py RESULTS_DIR"""
import collections
import json
import os
import statistics
import sys

DIR = sys.argv[1]
problems = []


def path(name):
    return os.path.join(DIR, name)


def read_tsv(name):
    if not os.path.exists(path(name)):
        return []
    with open(path(name)) as f:
        return [line.rstrip("\n").split("\t") for line in f if line.strip() and not line.startswith("#")]


meta = dict((r[0], r[1] if len(r) > 1 else "") for r in read_tsv("meta.tsv"))
elapsed = collections.defaultdict(int)
for name, secs in read_tsv("elapsed.tsv"):
    elapsed[name.split(",")[0]] += int(secs)
RUNS = int(meta["runs"])
BUILD = meta["build_dir"]
# The area scripts' commands name the binary only when it is not the scripts' default.
BIN_ENV = "" if BUILD == "build/release" else f"SMSCONSENT_BINARY={BUILD}/smsconsent "


# --- Formatting. ---------------------------------------------------------------------------
def group(n, digits=0):
    return f"{n:,.{digits}f}"


def rate(x):
    """A rate: 35,963 or 2.16 M."""
    return f"{x / 1e6:.2f} M" if x >= 1e6 else group(x)


def ms(x):
    return f"{x:.2f}" if x < 1 else f"{x:.1f}" if x < 10 else group(x)


def secs(x):
    return f"{x:.2f} s" if x < 10 else f"{x:.1f} s"


def times(x):
    return f"{x:.1f} ×"


def percent(x):
    return f"{100 * x:.0f} %"


def med(values, fmt, spread=True):
    """The median of `values`, formatted, with (min–max) when there are several runs."""
    values = [v for v in values if v is not None]
    if not values:
        return "–"
    text = fmt(statistics.median(values))
    if spread and len(values) > 1:
        lo, hi = fmt(min(values)), fmt(max(values))
        unit = ""
        for suffix in (" %", " ×", " s", " M", " MB"):  # one unit after the range, not after each
            if lo.endswith(suffix) and hi.endswith(suffix):
                lo, hi, unit = lo[: -len(suffix)], hi[: -len(suffix)], suffix
        text += f" ({lo}–{hi}{unit})"
    return text


def table(header, rows):
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(out)


def minutes(s):
    return f"{s // 60} min {s % 60} s" if s >= 60 else f"{s} s"


def times_text(n):
    return "once" if n == 1 else "twice" if n == 2 else f"{n} times"


def section(title, what, command, note=None):
    print(f"## {title}\n")
    print(what + "\n")
    print(f"Reproduce: `{command}`" + (f" ({note})" if note else "") + "\n")


def problem_notes(found):
    if found:
        print("\n**Problems in these runs:** " + "; ".join(found) + ".")
        problems.extend(found)
    print()


# --- Header. -------------------------------------------------------------------------------
quick = meta["quick"] == "1"
mem_gib = int(meta["memory_kb"]) / 1024 / 1024
compiler = " ".join(meta["compiler"].split()).replace("GNU", "GCC")
revision = meta["revision"]
if int(meta["uncommitted"]):
    revision += " with uncommitted changes to its sources"
if int(meta["newer_sources"]):
    revision += " (sources changed after the binary was built: the figures are the binary's)"
runs_text = f"the median of {RUNS} runs" if RUNS > 1 else "one run"

started, finished = meta["started"], meta["finished"]
if started[:10] == finished[:10]:
    finished = finished[11:]
when = (f"{started}–{finished} UTC ({minutes(int(meta['elapsed']))}), load average "
        f"{meta['load_at_start']} at the start and {meta['load_at_end']} at the end")
build_line = (f"revision {revision}, `{BUILD}` ({meta['build_type']}, {compiler.strip()}), "
              f"binary built {meta['binary_time']} UTC")
machine_line = (f"{meta['cores']} cores ({meta['cpu']}), {mem_gib:.0f} GiB memory, Debian "
                f"{meta['debian']}, {meta['kernel']}; databases on {meta['tmp_fs']} in the "
                f"temporary directory; wrk {meta['wrk']}"
                + (f", PostgreSQL {meta['postgres']}" if meta.get("postgres") else ""))
if meta.get("only"):
    # A part of the document (--only): its sections, after a line of context.
    print(f"Measured {when}; {build_line}; {machine_line}.\n")
else:
    print("# Performance\n")
    print(f"<!-- Generated by bench/report.sh; do not edit: regenerate it with `{meta['regen']}`. -->\n")
    print(
        "The current figures of smsconsent's benchmarks, all from one invocation of "
        "`bench/report.sh`, which wrote this file. Regenerate it with:\n"
    )
    print(f"    {meta['regen']}\n")
    if quick:
        print(
            "**This is a smoke run (`--quick`): one short run of each area on small data sets. "
            "It shows that every benchmark works; its figures mean nothing.**\n"
        )
    print(f"- **Run:** {when}.")
    print(f"- **Build:** {build_line}.")
    print(f"- **Machine:** {machine_line}.")
    print(f"- **Figures:** {runs_text} of each area"
          + (", with the runs' spread (min–max) in parentheses" if RUNS > 1 else "")
          + f"; wrk and pgbench run {meta['duration']} s each with {meta['conns']} connections.")
    print()
    print("## How to read these\n")
    print(
        (f"- Each figure is the median of {RUNS} runs of its area, one after the other; the "
         "spread in parentheses shows how much the machine moved meanwhile.\n" if RUNS > 1 else
         "- Each figure is from one run: there is no spread to show how much the machine moved.\n")
        + f"- The load generators (wrk, pgbench) run on the same {meta['cores']} cores as the "
        "server and the database, and take a good share of them: the absolute rates are lower "
        "than a server with its clients elsewhere would reach.\n"
        "- Compare only figures from the same invocation, i.e. from this file. The machine is "
        "shared and noisy: the same build's rates move by a third and more from one hour to the "
        "next. That is why each HTTP figure comes with its ratio to /healthz measured in the "
        "same run of `run.sh`, which moves much less than the rate itself.\n"
        "- Latencies (p50, p90, p99) are wrk's, their median over the runs without a spread; "
        "with two instances, the larger of the two instances' figures.\n"
        "- Durable writes (webhooks, bulk opt-in, pgbench) wait for the disk's fsync: SQLite "
        "with `synchronous=FULL` (docs/storage.md), PostgreSQL with its default durability "
        "settings.\n"
    )


# --- HTTP. ---------------------------------------------------------------------------------
ROUTES = [  # key, label, short label
    ("healthz", "`GET /healthz`, the baseline", "`GET /healthz`"),
    ("healthz-script", "`GET /healthz` through a wrk Lua script, as the routes below are sent",
     "`GET /healthz`, script"),
    ("webhooks-new", "webhooks from new phones (each creates its contact)", "webhooks, new phones"),
    ("webhooks-contacts", "webhooks from the contacts", "webhooks, contacts"),
    ("consent-contacts", "`GET /v1/consent` for the contacts, right after the webhooks",
     "consent checks, contacts"),
    ("consent-again", "`GET /v1/consent` for the contacts again (answers cached)",
     "consent checks, contacts again"),
    ("consent-unknown", "`GET /v1/consent` for phones that are no contact",
     "consent checks, unknown phones"),
    ("messages", "`POST /v1/messages`, a marketing message to each contact in turn",
     "messages, contacts"),
]
# Routes whose non-2xx answers are answers, not failures: a message to a contact who texted STOP
# in the webhook runs is refused (409 opted_out), as it must be.
REFUSING_ROUTES = {"messages"}


def load_routes(rows, prefix_len):
    """{(config, route key): [per-run dict]}, config the fields before 'route' or 'commit'."""
    routes = collections.defaultdict(dict)
    commits = collections.defaultdict(dict)
    ledgers = collections.defaultdict(dict)
    for r in rows:
        run, config, kind, rest = r[0], tuple(r[1:prefix_len]), r[prefix_len], r[prefix_len + 1 :]
        if kind == "route":
            routes[(config, rest[0])][run] = {
                "rps": float(rest[1]), "p50": float(rest[2]), "p90": float(rest[3]),
                "p99": float(rest[4]), "requests": int(rest[5]), "errors": int(rest[6])}
        elif kind == "commit":
            commits[(config, rest[0])][run] = {
                "per_batch": float(rest[1]), "ms_per_batch": float(rest[2]),
                "busy": float(rest[3]), "batches": int(rest[4])}
        elif kind == "ledger":
            ledgers[config][run] = {"events": int(rest[0]), "ok": rest[1] == "1"}
    return routes, commits, ledgers


def ratios(routes, config, key, base="healthz"):
    a, b = routes.get((config, key), {}), routes.get((config, base), {})
    return [a[r]["rps"] / b[r]["rps"] for r in a if r in b and b[r]["rps"] > 0]


def route_problems(routes, ledgers, config, keys, phones, instances, label=""):
    found = []
    for key in keys:
        for run, v in sorted(routes.get((config, key), {}).items()):
            if v["errors"] and key not in REFUSING_ROUTES:
                found.append(f"{label}{key}: {v['errors']} wrk errors (non-2xx or socket) in run {run}")
            if key.startswith("webhooks") and v["requests"] > phones // instances:
                found.append(f"{label}{key}: {v['requests']:,} requests in run {run} but "
                             f"{phones // instances:,} distinct messages per instance, so some were "
                             "provider retries (give the run more phones or fewer seconds)")
    for run, v in sorted(ledgers.get(config, {}).items()):
        if not v["ok"]:
            found.append(f"{label}the ledger did not verify after run {run}")
    return found


http_rows = read_tsv("http.tsv")
if http_rows:
    routes, commits, ledgers = load_routes(http_rows, 1)
    cfg = ()
    phones = int(meta["http_phones"])
    cmd = f"{BIN_ENV}SMSCONSENT_BENCH_PHONES={phones} bench/load/run.sh {meta['duration']} {meta['conns']} 0"
    runs_note = (f"one run of it; `bench/report.sh --only http` runs it {times_text(RUNS)} and "
                 f"prints these tables; this area took {minutes(elapsed['http'])}")
    setup = (
        f"`bench/load/run.sh` opts {phones:,} contacts in on a new SQLite database, starts `serve` "
        f"with its default threads, and loads each route with wrk (2 threads, {meta['conns']} "
        f"connections, {meta['duration']} s) on loopback, one route after the other against the "
        "same server."
    )
    section(
        "HTTP routes against /healthz",
        "Requests per second of each route, and its share of `GET /healthz`'s rate in the same "
        "run: what the route costs beyond the HTTP server itself. " + setup,
        cmd, runs_note)
    rows = []
    for key, label, _ in ROUTES:
        if (cfg, key) not in routes:
            continue
        v = list(routes[(cfg, key)].values())
        rows.append([label, med([x["rps"] for x in v], rate),
                     "1" if key == "healthz" else med(ratios(routes, cfg, key), percent),
                     med([x["p50"] for x in v], ms, False) + " / " + med([x["p99"] for x in v], ms, False)])
    print(table(["route", "requests/s", "÷ /healthz", "p50 / p99 ms"], rows))
    problem_notes(route_problems(routes, ledgers, cfg, [k for k, _, _ in ROUTES], phones, 1))

    section(
        "Webhooks per second",
        "Signed Twilio webhooks (`POST /webhooks/twilio`), each a distinct message and a durable "
        "write (message, event, status and reply committed before the 2xx), from phones never "
        f"seen before and from the {phones:,} contacts; with the group commits that wrote them "
        "(from `/metrics`): messages per commit, time per commit, and the share of the run the "
        "one writer thread spent committing. From the same runs as the table above.",
        cmd, runs_note)
    rows = []
    for key, label, _ in ROUTES[2:4]:
        if (cfg, key) not in routes:
            continue
        v, c = list(routes[(cfg, key)].values()), list(commits.get((cfg, key), {}).values())
        rows.append([label, med([x["rps"] for x in v], rate), med(ratios(routes, cfg, key), percent),
                     med([x["per_batch"] for x in c], lambda x: f"{x:.0f}"),
                     med([x["ms_per_batch"] for x in c], ms),
                     med([x["busy"] for x in c], lambda x: f"{x:.0f} %")])
    print(table(["webhooks", "per second", "÷ /healthz", "messages per commit", "ms per commit",
                 "writer busy"], rows))
    events = [v["events"] for v in ledgers.get(cfg, {}).values()]
    if events:
        print(f"\nAfter each run the account's ledger verified (`ledger verify`): "
              f"{med(events, group, False)} events at the median.")
    print()

    section(
        "Consent checks",
        "`GET /v1/consent?phone=…&number=…`, the question asked before every send, cycling "
        f"over the {phones:,} contacts right after the webhooks' writes, over them again once "
        "SQLite's consent cache holds their answers (docs/storage.md), and over phones that "
        "are no contact (each parsed and validated). The ratio is to `GET /healthz` of the same "
        "run. From the same runs as the tables above.",
        cmd, runs_note)
    rows = []
    for key, label, _ in ROUTES[4:7]:
        if (cfg, key) not in routes:
            continue
        v = list(routes[(cfg, key)].values())
        rows.append([label.replace("`GET /v1/consent` for ", ""), med([x["rps"] for x in v], rate),
                     med(ratios(routes, cfg, key), percent),
                     " / ".join(med([x[p] for x in v], ms, False) for p in ("p50", "p90", "p99"))])
    print(table(["consent checks", "per second", "÷ /healthz", "p50 / p90 / p99 ms"], rows))
    print()

    if (cfg, "messages") in routes:
        section(
            "Messages sent through the service",
            "`POST /v1/messages`: a marketing message to each of the contacts in turn, each "
            "checked (the recipient's status on the number, the number's quiet hours) and, when "
            "allowed, queued durably (an outbox item committed before the 202) for the "
            "dispatcher, which sends it through the log sender meanwhile. The contacts who texted "
            "STOP (or \"please stop texting me\") in the webhook runs are refused (409 "
            "`opted_out`), as they must be; the table gives both. The ratio to the webhooks is "
            "to those from new phones in the same run. From the same runs as the tables above.",
            cmd, runs_note)
        by_run = routes[(cfg, "messages")]
        v = list(by_run.values())
        accepted = {r: (x["requests"] - x["errors"]) / x["requests"] * x["rps"]
                    for r, x in by_run.items() if x["requests"]}
        webhooks = routes.get((cfg, "webhooks-new"), {})
        per_webhook = [a / webhooks[r]["rps"] for r, a in accepted.items()
                       if r in webhooks and webhooks[r]["rps"] > 0]
        accepted = list(accepted.values())
        rows = [["answered (accepted or refused)", med([x["rps"] for x in v], rate),
                 med(ratios(routes, cfg, "messages"), percent),
                 " / ".join(med([x[p] for x in v], ms, False) for p in ("p50", "p90", "p99"))],
                ["accepted (202, queued)", med(accepted, rate), "", ""],
                ["accepted ÷ webhooks from new phones", med(per_webhook, percent), "", ""]]
        print(table(["messages", "per second", "÷ /healthz", "p50 / p90 / p99 ms"], rows))
        print()


# --- The outbox drained. ---------------------------------------------------------------------
drain_rows = read_tsv("drain.tsv")
if drain_rows:
    n, low_rate = int(meta["drain_messages"]), meta["drain_low_rate"]
    low_n = int(meta["drain_low_messages"])
    dur = meta["duration"]
    conns_ = meta["conns"]
    drains = collections.defaultdict(dict)   # key -> run -> (messages, seconds, per_s, rate)
    hooks = collections.defaultdict(dict)    # key -> run -> route fields
    replies = {}
    for r in drain_rows:
        run, kind = r[0], r[1]
        if kind == "drain":
            drains[r[2]][run] = (int(r[3]), float(r[4]), float(r[5]), float(r[6]))
        elif kind == "route":
            hooks[r[2]][run] = {"rps": float(r[3]), "p50": float(r[4]), "p90": float(r[5]),
                                "p99": float(r[6]), "requests": int(r[7]), "errors": int(r[8])}
        elif kind == "replies":
            replies[run] = (int(r[2]), float(r[3]), float(r[4]))
    env = (f"{BIN_ENV}SMSCONSENT_BENCH_DRAIN_MESSAGES={n} SMSCONSENT_BENCH_LOW_RATE={low_rate} "
           f"SMSCONSENT_BENCH_LOW_MESSAGES={low_n} ")
    section(
        "The outbox drained",
        f"A queue of {n:,} transactional messages on one long code, queued with "
        "`POST /v1/messages` while no dispatcher ran, then sent by one server's dispatcher "
        "through the account's Twilio sender, pointed at a stand-in for Twilio's API on "
        "loopback (`bench/load/twilio_standin.py`, 201 at once), so that the figure is the "
        "service's: each message claimed in a transaction of its own (checked, its number's "
        "sending slot taken), sent, and its outcome committed. First with the number's rate "
        "at its highest (1,000 per second), then at a low rate, which the measured rate must "
        f"match. Messages per second: (messages − 1) over the time from the first to the last "
        f"sent. Meanwhile, signed Twilio webhooks from new phones ({dur} s, {conns_} "
        "connections), against the same server idle before the queue was filled (their "
        "replies go in the TwiML responses, not through the outbox; that the service's own "
        "replies leave before a queued campaign is shown by the tests, docs/sending.md#sending-rate).",
        f"{env}bench/load/drain.sh {dur} {conns_}",
        f"one run of it; `bench/report.sh --only drain` runs it {times_text(RUNS)}; this area "
        f"took {minutes(elapsed['drain'])}")
    rows = []
    for key, label in (("high", "rate 1,000/s (the highest)"), ("low", f"rate {low_rate}/s")):
        v = list(drains.get(key, {}).values())
        if not v:
            continue
        rows.append([label, med([x[0] for x in v], group, False), med([x[1] for x in v], secs),
                     med([x[2] for x in v], lambda x: group(x, 1))])
    print(table(["queue", "messages sent", "first to last sent", "messages per second"], rows))
    print()
    rows = []
    for key, label in (("webhooks-idle", "webhooks, idle"),
                       ("webhooks-draining", "webhooks, while the queue drains")):
        v = list(hooks.get(key, {}).values())
        if not v:
            continue
        rows.append([label, med([x["rps"] for x in v], rate),
                     " / ".join(med([x[p] for x in v], ms, False) for p in ("p50", "p90", "p99"))])
    if replies:
        v = list(replies.values())
        rows.append(["opt-out confirmations queued during the drain: queued to sent",
                     f"{med([x[0] for x in v], group, False)} replies",
                     f"{med([x[1] for x in v], ms, False)} / – / {med([x[2] for x in v], ms, False)}"])
    print(table(["", "per second", "p50 / p90 / p99 ms"], rows))
    found = []
    for key, by_run in hooks.items():
        errs = sum(x["errors"] for x in by_run.values())
        if errs:
            found.append(f"{errs} errors in {key}")
    for key, by_run in drains.items():
        # wrk's first request() of a thread may be left unsent: a message or two short is not
        # a problem, a queue not drained is.
        short = [r for r, x in by_run.items() if x[0] < 0.99 * (n if key == "high" else low_n) - 2]
        if short:
            found.append(f"not every message sent at the {key} rate (runs {', '.join(short)})")
    problem_notes(found)


# --- Bulk. ---------------------------------------------------------------------------------
bulk_rows = read_tsv("bulk.tsv")
if bulk_rows:
    by_run = collections.defaultdict(dict)
    for r in bulk_rows:
        by_run[r[0]][r[1]] = r[2:]
    n, chunk = int(meta["bulk_rows"]), int(meta["bulk_chunk"])
    wall = [float(v["bulk"][2]) for v in by_run.values()]
    rss = [float(v["bulk"][3]) for v in by_run.values()]
    raw = [float(v["raw"][1]) for v in by_run.values() if "raw" in v]
    floor = [float(v["floor"][2]) for v in by_run.values() if "floor" in v]
    ratio_raw = [float(v["bulk"][2]) / float(v["raw"][1]) for v in by_run.values() if "raw" in v]
    ratio_floor = [float(v["bulk"][2]) / float(v["floor"][2]) for v in by_run.values() if "floor" in v]
    section(
        "Bulk opt-in against SQLite's raw insert",
        f"`smsconsent bulk apply` of a CSV of {n:,} new contacts (phone, name, email) on a new "
        f"SQLite database, committing every {chunk:,} rows: wall time and peak memory; next to "
        "SQLite itself inserting the same rows into a table of three text columns with a unique "
        "index in one transaction (best of 3 in each run), and to the floor: SQLite writing "
        "only the rows a bulk opt-in must write (contact, consent event, status) on the "
        "store's own schema, committing the same chunks, with none of our parsing, planning or "
        "hashing (`BM_SqliteSchemaInsert`). Ratios are taken within each run.",
        f"{BIN_ENV}bench/bulk/run.sh {n} {chunk}",
        f"one run of it; `bench/report.sh --only bulk` runs it {times_text(RUNS)}; this area "
        f"took {minutes(elapsed['bulk'])}")
    rows = [
        [f"`bulk apply`, {n:,} contacts created and opted in", med(wall, secs)],
        ["the same, rows per second", med([n / w for w in wall], rate)],
        ["its peak memory (maximum RSS)", med(rss, lambda x: f"{x:.0f} MB")],
        ["SQLite raw insert of the same rows", med(raw, secs)],
        ["`bulk apply` ÷ raw insert", med(ratio_raw, times)],
    ]
    if floor:
        rows += [["SQLite writing only our rows, same chunks (the floor)", med(floor, secs)],
                 ["`bulk apply` ÷ floor", med(ratio_floor, times)]]
    if all("tree" in v and "proof" in v and "size" in v for v in by_run.values()):
        rows += [
            [f"integrating its {n:,} events into the Merkle tree and signing a head "
             "(`ledger head`)", med([float(v["tree"][1]) for v in by_run.values()], secs)],
            ["integration, events per second",
             med([float(v["tree"][0]) / float(v["tree"][1]) for v in by_run.values()], rate)],
            ["a contact's proof from that tree: time to build (`proof`, a process)",
             med([float(v["proof"][2]) for v in by_run.values()], secs)],
            ["its size (the members a verifier reads, compact JSON)",
             med([float(v["proof"][0]) for v in by_run.values()], lambda x: f"{x:,.0f} bytes")],
            ["its inclusion proof", med([float(v["proof"][1]) for v in by_run.values()],
                                        lambda x: f"{x:.0f} hashes")],
            ["checking it offline (`proof verify`, a process)",
             med([float(v["proof"][3]) for v in by_run.values()], secs)],
            ["database size per opted-in contact (file and WAL)",
             med([float(v["size"][1]) / float(v["size"][0]) for v in by_run.values()],
                 lambda x: f"{x:.0f} bytes")],
        ]
        if all(len(v["size"]) > 2 for v in by_run.values()):
            rows.append(["of which in use (the rest: free pages of the job's deleted input, "
                         "which later writes reuse)",
                         med([float(v["size"][2]) / float(v["size"][0])
                              for v in by_run.values()], lambda x: f"{x:.0f} bytes")])
    print(table(["what", "median (min–max)" if RUNS > 1 else "figure"], rows))
    found = []
    for run, v in sorted(by_run.items()):
        if v["bulk"][5] != "1":
            found.append(f"the ledger did not verify after run {run}")
        if int(v["bulk"][4]) != n:
            found.append(f"run {run} opted in {v['bulk'][4]} contacts, not {n:,}")
    problem_notes(found)


# --- PostgreSQL. ---------------------------------------------------------------------------
pg_rows = read_tsv("postgres.tsv")
if pg_rows:
    pgbench = {r[0]: float(r[2]) for r in pg_rows if r[1] == "pgbench"}
    routes, commits, ledgers = load_routes([r for r in pg_rows if r[1] != "pgbench"], 2)
    phones = int(meta["pg_phones"])
    pg_routes = meta["pg_routes"]
    cmd = (f"{BIN_ENV}SMSCONSENT_BENCH_PHONES={phones} SMSCONSENT_BENCH_ROUTES={pg_routes} "
           f"bench/load/compare_stores.sh --runs {RUNS} --stores pg1,pg2 {meta['duration']} "
           f"{meta['conns']} 0 0")
    section(
        "PostgreSQL against pgbench",
        "The load benchmark on PostgreSQL, with one `serve` instance and with two on the same "
        "database (each with its own half of the webhooks' phones, rates summed), next to "
        f"pgbench on the same throwaway cluster: {meta['conns']} clients running a transaction "
        "equivalent to a webhook's essential writes (insert one ~430-byte row with a bigserial id "
        f"and a second index, update one of {phones:,} indexed status rows at random). "
        f"The database is seeded once with {phones:,} opted-in contacts and copied for each "
        "run; the runs interleave pgbench, one instance and two instances. Server threads and "
        "pool at their defaults (16 and 8). Ratios are taken within each run: to the same "
        "configuration's /healthz (two instances' /healthz is higher than one's: two processes, "
        "and one wrk each), and webhooks per second to pgbench's transactions per second.",
        cmd, f"also prints the statements PostgreSQL executed in each run; this area took "
              f"{minutes(elapsed['postgres'])}, seeding included")
    rows = [["pgbench, insert + update", "the same cluster", med(list(pgbench.values()), rate) + " tps", "", "", ""]]
    found = []
    for config, label in ((("pg1",), "1 instance"), (("pg2",), "2 instances")):
        for key, _, name in ROUTES:
            if (config, key) not in routes:
                continue
            v = routes[(config, key)]
            vs_pgbench = [v[r]["rps"] / pgbench[r] for r in v if r in pgbench and key.startswith("webhooks")]
            rows.append([
                name, label, med([x["rps"] for x in v.values()], rate),
                "1" if key == "healthz" else med(ratios(routes, config, key), percent),
                med(vs_pgbench, percent) if vs_pgbench else "",
                med([x["p50"] for x in v.values()], ms, False) + " / "
                + med([x["p99"] for x in v.values()], ms, False)])
        found += route_problems(routes, ledgers, config, [k for k, _, _ in ROUTES], phones,
                                int(config[0][2]), f"{label}, ")
    print(table(["route", "PostgreSQL", "per second", "÷ /healthz", "÷ pgbench", "p50 / p99 ms"], rows))
    problem_notes(found)
    locks = [r for r in pg_rows if len(r) >= 8 and r[2] == "locks"]
    if locks:
        print()
        print("Lock waits during those runs: ten times a second, the run's backends waiting for a "
              "lock (`pg_stat_activity.wait_event_type = 'Lock'`: `tuple` and `transactionid` "
              "are row locks, `advisory` the ledger's integrator) and those busy.")
        print()
        lock_rows = []
        for r in sorted(locks, key=lambda r: (r[1], r[0])):
            samples, waiting = int(r[3]), int(r[4])
            lock_rows.append([{"pg1": "1 instance", "pg2": "2 instances"}.get(r[1], r[1]), r[0],
                              f"{samples:,}", f"{waiting:,} ({waiting / max(samples, 1):.0%})",
                              r[5], r[6], r[7].replace(",", ", ")])
        print(table(["PostgreSQL", "run", "samples", "with a backend waiting", "mean waiting",
                     "mean busy", "waited on (samples)"], lock_rows))


# --- Keywords. -----------------------------------------------------------------------------
if os.path.exists(path("keywords.json")):
    with open(path("keywords.json")) as f:
        kw = json.load(f)
    runs = collections.defaultdict(list)
    medians = {}
    for b in kw["benchmarks"]:
        name = b.get("run_name", b["name"])
        if b.get("run_type") == "aggregate":
            if b.get("aggregate_name") == "median":
                medians[name] = b
        else:
            runs[name].append(b)
    KEYWORDS = [
        ("BM_MatchMixedCorpusUs", "the mix of an SMS number's inbox: mostly ordinary replies, "
                                  "some keywords, free text, reactions, other scripts"),
        ("BM_MatchExactKeyword", "a keyword, as sent: `stop!! ✋`"),
        ("BM_MatchFreeText", "a free-text opt-out: `Please stop sending me these ads, I never signed up`"),
        ("BM_MatchOrdinaryReply", "a message that matches nothing: `Yes I'll be there`"),
        ("BM_MatchVariants", "the slower paths: a quoted message or signature around a keyword, "
                             "spelled-out, stretched and mistyped keywords, a stop sign emoji, "
                             "possible opt-outs"),
    ]
    filt = meta["kw_filter"]
    min_time = f" --benchmark_min_time={meta['kw_min_time']}" if meta["kw_min_time"] else ""
    section(
        "Keyword recognition per core",
        "`KeywordMatcher::Match` on one core (Google Benchmark, CPU time): how many inbound "
        "messages one core classifies per second as opt-in, opt-out, help or nothing, on a US "
        "number's rules. The median aggregate of the repetitions, and their min–max.",
        f"{BUILD}/smsconsent_bench --benchmark_filter='{filt}' --benchmark_repetitions={RUNS}{min_time}",
        f"this area took {minutes(elapsed['keywords'])}")
    rows = []
    for name, label in KEYWORDS:
        reps = runs.get(name, [])
        if not reps:
            continue
        m = medians.get(name)
        ips = m["items_per_second"] if m else statistics.median(r["items_per_second"] for r in reps)
        ns = m["cpu_time"] if m else statistics.median(r["cpu_time"] for r in reps)
        spread = ""
        if len(reps) > 1:
            lo = min(r["items_per_second"] for r in reps)
            hi = max(r["items_per_second"] for r in reps)
            spread = f" ({rate(lo).removesuffix(' M')}–{rate(hi)})" if lo >= 1e6 else f" ({rate(lo)}–{rate(hi)})"
        rows.append([label, f"`{name}`", rate(ips) + spread, f"{ns:,.0f} {reps[0]['time_unit']}"])
    print(table(["message", "benchmark", "messages/s per core", "CPU time per message"], rows))
    print()

sys.exit(3 if problems else 0)
