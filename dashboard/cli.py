"""``python -m dashboard``: the scripting face of Lambda Lens, a thin layer over the domain modules.

Exit codes (DESIGN.md): 0 success; 2 bad input (config, arguments); 1 a failure
to reach AWS (what could be fetched is still printed). Errors go to stderr as
one sentence each; never a traceback.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence

from aws.errors import AwsError
from dashboard.alerts import ALARM, SEVERITY_ORDER, STATES
from dashboard.config import settings as settings_mod
from dashboard.config.echo import cut, echo
from dashboard.config.settings import ConfigError, Settings
from dashboard.digest import commands as digest_commands
from dashboard.present.tables import FORMATS, records, render
from dashboard.present.text import OneLineWriter
from dashboard.query import sources
from dashboard.query.load import Query
from dashboard.query.selection import Selection, SelectionError, check_names, check_teams, select
from dashboard.query.sources import Loaded
from dashboard.query.timerange import RangeError

__all__ = ["main", "build_parser"]

EXIT_OK, EXIT_AWS, EXIT_INPUT = 0, 1, 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, exit 2, as argparse does but without the usage block
        self.exit(EXIT_INPUT, f"{self.prog}: {cut(message, 300)} (see --help)\n")  # "unrecognized arguments: <100 kB>"

    def _check_value(self, action, value):  # argparse's own sentence, quoting at most 60 characters of the value
        if action.choices is not None and value not in action.choices:
            raise argparse.ArgumentError(action, f"invalid choice: {echo(value)} (choose from {', '.join(map(repr, action.choices))})")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="python -m dashboard", description="Lambda Lens: AWS Lambda usage, cost and health from the terminal.")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=_Parser)

    def common(sp: argparse.ArgumentParser, *, fmt: bool = True) -> None:
        sp.add_argument("--config", metavar="PATH", help="config.yaml to use (default: ./config.yaml, else the demo account)")
        if fmt:
            sp.add_argument("--format", choices=FORMATS, default="table", help="output format (default: table)")

    def selection(sp: argparse.ArgumentParser, *, range_arg: bool = True, note: str = "") -> None:
        """The pages' sidebar filters: --range (unless the command has its own period), --account, --region, --team."""
        if range_arg:
            sp.add_argument("--range", default=None, metavar="RANGE", help="1h, 3h, 12h, 24h, 7d, 30d or START..END (ISO 8601); default from config")
        sp.add_argument("--account", action="append", metavar="NAME", help="only this account (repeatable)")
        sp.add_argument("--region", action="append", metavar="REGION", help=f"only this region (repeatable{note})")
        sp.add_argument("--team", action="append", metavar="TEAM", help=f"only this team (repeatable{note})")

    s = sub.add_parser("summary", help="one row per function over a time range", description="One row per function over --range.")
    common(s)
    selection(s)

    o = sub.add_parser(
        "overview",
        help="the Overview page's tiles and function table",
        description="The Overview of --range: the headline tiles (invocations, error rate, throttles, weighted p99, Lambda "
        "spend month to date) with the previous period's values, and one row per function, the same numbers as the page. "
        "JSON is {\"tiles\": [...], \"functions\": [...]}; CSV holds one table (--part). Exit 1 when a source could not be read.",
    )
    common(o)
    selection(o)
    o.add_argument("--part", choices=["all", "tiles", "functions"], default="all", help="what to print (default: all; csv needs tiles or functions)")

    a = sub.add_parser(
        "alerts",
        help="alert states per rule and function (default: what is firing)",
        description="Evaluate the alert rules of config.yaml over --range: one row per function and rule, "
        "critical first, then the longest-standing. Exit 1 when a source could not be read.",
    )
    common(a)
    selection(a)
    a.add_argument("--severity", action="append", choices=list(SEVERITY_ORDER), help="only this severity (repeatable)")
    a.add_argument("--rule", action="append", metavar="NAME", help="only this rule (repeatable)")
    a.add_argument(
        "--state", action="append", choices=[ALARM, *(x for x in STATES if x != ALARM), "all"], help="only this state (repeatable; default ALARM, i.e. firing; all: every state)"
    )
    a.add_argument("--transitions", action="store_true", help="list the state changes over the range instead of the states")

    c = sub.add_parser(
        "costs",
        help="the month's Lambda spend by team, function or usage type",
        description="Estimated Lambda spend of --month (complete UTC days) from usage and prices, beside Cost Explorer's "
        "actual bill where it can be read. By team: month to date, forecast to month end, last month, the change, and the "
        "free-tier and unexplained lines (they add up to the bill to the cent). Exit 1 when a source could not be read.",
    )
    common(c)
    c.add_argument("--by", choices=["team", "function", "usage-type"], default="team", help="one row per team (default), function or usage type")
    c.add_argument("--month", default=None, metavar="YYYY-MM", help="the month (default: the current one)")
    selection(c, range_arg=False, note="; the bill covers whole accounts, so it is left out")

    w = sub.add_parser(
        "access",
        help="which teams a signed-in identity would see",
        description="Check the access: section of config.yaml: print the teams IDENTITY sees on the dashboard "
        "(every team, some, or none and why). Exit 1 when it would see nothing.",
    )
    common(w, fmt=False)
    w.add_argument("identity", metavar="IDENTITY", help="the identity claim's value, e.g. alice@example.com")
    w.add_argument("--teams-claim", default=None, metavar="A,B", help="the teams the token's access.teams_claim would list")

    r = sub.add_parser(
        "prices",
        help="the Lambda prices per region, and a refresh from the AWS Price List",
        description="One row per region of the price book (aws/data/lambda_prices.json with config.yaml's pricing: "
        "overrides): its source, the day it was checked, the main rates and the rates assumed (not verified for the "
        "region). With --refresh, read the regions' rates from the AWS Price List (pricing:GetProducts, through "
        "--account's credentials) and print the rates that differ; --write saves them as a pricing: section to merge "
        "into config.yaml. Exit 1 when the Price List could not be read for a region.",
    )
    common(r)
    r.add_argument("--refresh", action="append", metavar="REGION", help="read this region's rates from the Price List (repeatable; 'all': every region of the book)")
    r.add_argument("--account", default=None, metavar="NAME", help="the configured account whose credentials ask the Price List (default: the first that is not a demo)")
    r.add_argument("--write", default=None, metavar="FILE", help="with --refresh: write the changed rates to FILE as a pricing: section for config.yaml")

    digest_commands.add_parsers(sub)

    d = sub.add_parser("demo", help="describe the simulated AWS account", description="Print what the simulated account simulates.")
    common(d, fmt=False)
    return p


def _load(path: str | None) -> Settings:
    return settings_mod.load(path)


def _selection(cfg: Settings, args: argparse.Namespace) -> Selection:
    """The selection of the command's --range, --account, --region and --team (the pages' sidebar filters); an
    account, region or team that is not there is bad input (:class:`SelectionError`), not an empty answer."""
    sel = select(cfg, range_text=getattr(args, "range", None), accounts=args.account, regions=args.region, teams=args.team)
    _check_teams(cfg, sel.teams, accounts=sel.accounts, regions=sel.regions)
    return sel


def _check_teams(cfg: Settings, teams, *, accounts, regions) -> None:
    """The teams against the inventory of the accounts and regions (cached: the load that follows reads the same
    answer). When a part of it could not be read, the teams are unknown: the load then says why (exit 1)."""
    if not teams:
        return
    inv = sources.inventory(cfg, accounts=accounts or None, regions=regions or None)
    if not inv.failed:
        check_teams(teams, inv.frame["team"])


def cmd_summary(args: argparse.Namespace, out, err) -> int:
    from dashboard.figures.function_cost import COST_COLUMNS, load_costs, with_costs
    from dashboard.figures.usage import usage

    cfg = _load(args.config)
    q = Query(cfg, _selection(cfg, args))
    loaded = usage(q)
    costs = load_costs(q)  # the Overview's and the Functions list's cost columns: the range and the month to date
    frame = with_costs(loaded.frame, costs.frame, COST_COLUMNS)
    out.write(render(frame, args.format) + "\n")
    return _report(Loaded(frame, [*loaded.statuses, *(s for s in costs.statuses if s not in loaded.statuses)], [*loaded.warnings, *costs.warnings]), err)


def cmd_overview(args: argparse.Namespace, out, err) -> int:
    from dashboard.figures import fleet

    cfg = _load(args.config)
    if args.format == "csv" and args.part == "all":
        err.write("error: CSV holds one table; add --part tiles or --part functions\n")
        return EXIT_INPUT
    ov = fleet.load_overview(cfg, _selection(cfg, args))
    tiles, functions = fleet.tile_rows(ov.tiles), fleet.function_rows(ov.table)
    if args.format == "json":
        doc = {"tiles": records(tiles), "functions": records(functions)}
        if args.part != "all":
            doc = doc[args.part]
        out.write(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
    elif args.part != "all":
        out.write(render(tiles if args.part == "tiles" else functions.drop(columns="trend"), args.format) + "\n")
    else:
        out.write(render(tiles, "table") + "\n\n" + render(functions.drop(columns="trend"), "table") + "\n")
    parts = [ov.summary, ov.previous, ov.spend, ov.spend_before, ov.alerts.as_loaded(), *([ov.costs] if ov.costs is not None else [])]
    merged = Loaded(functions, [s for p in parts for s in p.statuses], [w for p in parts for w in p.warnings])
    return _report(merged, err)


def _report(loaded, err) -> int:
    """Warnings, stale parts and failures on stderr, one sentence each (said once); the exit code."""
    lines = [f"warning: {w}" for w in loaded.warnings]
    lines += [f"warning: {s.source} for {s.account}/{s.region} is stale: {s.error}" for s in loaded.stale]
    lines += [f"error: {s.error}" for s in loaded.failed]
    for line in dict.fromkeys(lines):
        err.write(line + "\n")
    return EXIT_AWS if loaded.failed else EXIT_OK


def cmd_alerts(args: argparse.Namespace, out, err) -> int:
    from dashboard.alerts import evaluation

    cfg = _load(args.config)
    unknown = sorted(set(args.rule or []) - {r.name for r in cfg.alerts.rules})
    if unknown:
        err.write(f"error: no rule named {echo(unknown[0])} in {cfg.source} (rules: {', '.join(r.name for r in cfg.alerts.rules)})\n")
        return EXIT_INPUT
    got = evaluation.load_alerts(cfg, _selection(cfg, args))
    states = None if "all" in (args.state or []) else (args.state or [ALARM])
    if args.transitions:
        rows = evaluation.transition_rows(got.report, severities=args.severity, teams=args.team, rules=args.rule)
    else:
        rows = evaluation.alert_rows(got.report.states, states_wanted=states, severities=args.severity, teams=args.team, rules=args.rule)
    out.write(render(rows.drop(columns="link"), args.format) + "\n")
    if not cfg.alerts.rules:
        err.write(f"note: {evaluation.NO_RULES}\n")
    return _report(got.as_loaded(), err)


def cmd_costs(args: argparse.Namespace, out, err) -> int:
    from dashboard.figures import cost_report

    cfg = _load(args.config)
    check_names(cfg, accounts=args.account, regions=args.region)
    cost_report.check_month(cfg, args.month)  # before anything is read
    _check_teams(cfg, args.team, accounts=args.account, regions=args.region)
    report = cost_report.gather(cfg, month=args.month)
    report = cost_report.narrow(report, accounts=args.account or (), regions=args.region or (), teams=args.team or ())
    table = cost_report.costs_table(report, cfg, by=args.by)
    out.write(render(table, args.format) + "\n")
    code = _report(cost_report.usage_statuses(report), err)  # Cost Explorer's failures are said once, below
    if args.by == "team" and report.ce_ok:  # Cost Explorer's by-tag figure: which lines it does not cover, and why
        from dashboard.present.cost_tables import ce_tag_sentence

        gaps = table["ce_tag_gap"].dropna()
        if len(gaps):
            err.write(f"note: {ce_tag_sentence(table, tag_key=report.tag_key)}\n")
    if report.assumed_note:  # the rows it concerns carry priced_by_assumption
        err.write(f"note: {report.assumed_note}\n")
    if report.bill_hidden:
        err.write(f"note: {report.ce_missing}\n")
        return code
    for missing in (report.ce_missing, report.forecast_missing):  # the bill and the forecast stand or fall apart
        if missing:
            err.write(f"warning: {missing}\n")
            code = EXIT_AWS
    return code


def cmd_prices(args: argparse.Namespace, out, err) -> int:
    from dashboard.config.settings import aws_regions
    from dashboard.figures import price_refresh
    from dashboard.figures.cost_report import prices_for

    cfg = _load(args.config)
    book = prices_for(cfg)
    if not args.refresh:
        if args.write:
            raise ConfigError("--write needs --refresh REGION: there is nothing to write without reading the Price List")
        out.write(render(price_refresh.price_table(book), args.format) + "\n")
        return EXIT_OK
    regions = sorted(book.regions) if "all" in args.refresh else list(dict.fromkeys(args.refresh))
    for region in regions:
        if region not in aws_regions():
            raise ConfigError(f"--refresh: {echo(region)} is not an AWS region (e.g. us-east-1, eu-west-1)")
    accounts = [a for a in cfg.aws_accounts() if (a.name == args.account if args.account else not a.demo)]
    if not accounts:
        raise ConfigError(
            f"--account: no configured account is named {echo(args.account)}"
            if args.account
            else "prices --refresh asks the AWS Price List with an account's credentials; configure a real (not demo) account, or pass --account"
        )
    got = price_refresh.refresh(book=book, regions=regions, account=accounts[0])
    out.write(render(got.changes, args.format) + "\n")
    for line in got.errors:
        err.write(f"error: {line}\n")
    if got.changes.empty and not got.errors:
        err.write(f"note: the Price List's rates for {', '.join(regions)} match the price book\n")
    if args.write and got.overrides:
        from datetime import UTC, datetime

        try:
            with open(args.write, "w", encoding="utf-8") as fh:
                fh.write(price_refresh.overrides_yaml(got.overrides, as_of=f"{datetime.now(UTC):%Y-%m-%d}"))
        except OSError as e:
            raise ConfigError(f"--write: cannot write {echo(args.write)} ({e.strerror or e}); give a writable path") from None
        err.write(f"note: wrote {sum(len(f) for f in got.overrides.values())} rate(s) to {args.write}\n")
    return EXIT_AWS if got.errors else EXIT_OK


def cmd_access(args: argparse.Namespace, out, err) -> int:
    from dashboard.config import access

    cfg = _load(args.config)
    claims: dict = {cfg.access.identity_claim: args.identity}
    if args.teams_claim is not None and cfg.access.teams_claim:
        claims[cfg.access.teams_claim] = args.teams_claim
    who = access.resolve(cfg.access, claims)
    if who.problem:
        err.write(f"error: {who.problem}\n")
        return EXIT_AWS
    note = "" if cfg.access.sign_in else " (sign-in is off in this config: everyone sees every team)"
    out.write(("every team" if who.teams is None else ", ".join(sorted(who.teams))) + note + "\n")
    return EXIT_OK


def cmd_demo(args: argparse.Namespace, out, err) -> int:
    from aws import sim

    cfg = _load(args.config)
    demos = [a for a in cfg.aws_accounts() if a.demo]
    if not demos:
        err.write("error: the config has no demo account; add `- name: demo` with `demo: true` under accounts\n")
        return EXIT_INPUT
    for a in demos:
        out.write(sim.describe(a).rstrip() + "\n")
    return EXIT_OK


def _not_utf8(argv: list[str]) -> str | None:
    """Why an argument cannot be used, or None: bytes that are not UTF-8 reach Python as lone surrogates
    (``--team $'\\xff'`` is ``'\\udcff'``), which no output (JSON, CSV, Arrow) can write."""
    for i, arg in enumerate(argv):
        try:
            arg.encode("utf-8")
        except UnicodeEncodeError:
            where = f"after {cut(argv[i - 1], 30)}" if i and argv[i - 1].startswith("-") else f"number {i + 1}"
            raw = arg.encode("utf-8", "surrogateescape")
            return f"the argument {where} is not UTF-8 text ({cut(repr(raw))}); give names and paths in UTF-8"
    return None


COMMANDS = {
    "summary": cmd_summary,
    "overview": cmd_overview,
    "alerts": cmd_alerts,
    "costs": cmd_costs,
    "prices": cmd_prices,
    **digest_commands.COMMANDS,
    "access": cmd_access,
    "demo": cmd_demo,
}


def main(argv: Sequence[str] | None = None, *, out=None, err=None) -> int:
    out = out or sys.stdout
    err = OneLineWriter(err or sys.stderr)  # one message, one line: upstream text cannot forge an "error:" line
    logging.basicConfig(level=logging.ERROR, format="%(levelname)s %(name)s: %(message)s")
    argv = sys.argv[1:] if argv is None else list(argv)
    if problem := _not_utf8(argv):
        err.write(f"error: {problem}\n")
        return EXIT_INPUT
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args, out, err)
    except (ConfigError, RangeError, SelectionError) as e:  # RangeError: a --month too (MonthError)
        err.write(f"error: {e}\n")
        return EXIT_INPUT
    except AwsError as e:
        err.write(f"error: {e}\n")
        return EXIT_AWS
    except KeyboardInterrupt:
        err.write("interrupted\n")
        return 130
