"""Command line: propose, simulate, check-policy, generate-portfolio.

Bad input ends with one clear message on stderr naming the field (and file line) and exit code
2 — never a traceback. Heavy modules (numpy, matplotlib) load only for the commands using them.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .errors import PlanError, PolicyError
from .money import fmt_yuan, to_cents
from .policy import DEFAULT_POLICY_PATH, Policy, load_policy

EXIT_BAD_INPUT = 2
EXIT_INTERNAL = 3


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bot.plans", description="Repayment-plan engine."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("propose", help="print proposals for one case as JSON")
    p.add_argument("--case", required=True, help="CASE.json")
    p.add_argument(
        "--policy", help=f"policy YAML (default {DEFAULT_POLICY_PATH.name} of the project)"
    )
    p.add_argument(
        "--as-of", dest="as_of", help="YYYY-MM-DD (default: the case's as_of, else today)"
    )

    s = sub.add_parser("simulate", help="run a portfolio through the policy and write a report")
    s.add_argument("--portfolio", required=True, help="PORTFOLIO.csv")
    s.add_argument("--policy", help="policy YAML")
    s.add_argument("--out", default="plans-report", help="report directory (default plans-report)")
    s.add_argument("--as-of", dest="as_of", help="YYYY-MM-DD (default today)")
    s.add_argument(
        "--check", type=int, default=200, help="cases re-run through propose to confirm agreement"
    )
    s.add_argument("--quiet", action="store_true", help="no progress bar")

    c = sub.add_parser("check-policy", help="validate a policy file")
    c.add_argument("policy", help="policy YAML")

    g = sub.add_parser("generate-portfolio", help="write a realistic synthetic portfolio CSV")
    g.add_argument("--n", type=int, required=True, help="number of accounts")
    g.add_argument("--seed", type=int, default=0)
    g.add_argument("--out", required=True, help="FILE.csv")
    return parser


def _policy(path: str | None) -> Policy:
    return load_policy(path) if path else load_policy()


def _read_case(path: str) -> object:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PlanError("", f"{path}: case file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise PlanError("", f"{path}: cannot read case file: {exc}") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise PlanError(
            "", f"{path}:{exc.lineno}: malformed JSON: {exc.msg} (column {exc.colno})"
        ) from None


def _propose(args: argparse.Namespace) -> int:
    from .propose import propose

    policy = _policy(args.policy)
    case = _read_case(args.case)
    result = propose(case, policy, as_of=args.as_of)  # type: ignore[arg-type]
    print(json.dumps(result, ensure_ascii=False, indent=2))
    return 0


def _check(args: argparse.Namespace) -> int:
    policy = load_policy(args.policy)
    print(
        f"{args.policy}: OK (version {policy.version}; installment terms "
        f"{[m for m, _ in policy.installment.rates]}, "
        f"personalized terms {list(policy.personalized.terms)}, "
        f"max term {policy.max_term_months} months)"
    )
    return 0


def _simulate(args: argparse.Namespace) -> int:
    from .simulate import simulate

    policy = _policy(args.policy)
    summary = simulate(
        args.portfolio,
        policy,
        args.out,
        as_of=args.as_of,
        check=args.check,
        progress=not args.quiet,
    )
    out = Path(args.out)
    print(
        f"{summary['cases']} 个账户，{summary['escalated']} 个转专员；"
        f"预计每月回款 {fmt_yuan(to_cents(summary['expected_monthly_inflow']))} 元\n"
        f"报告：{out / 'report.html'}（图表，浏览器打开）、{out / 'summary.md'}"
    )
    return 0


def _generate(args: argparse.Namespace) -> int:
    from .portfolio import generate_portfolio

    if args.n < 1:
        raise PlanError("--n", "must be at least 1")
    generate_portfolio(args.n, args.seed, args.out)
    print(f"wrote {args.n} accounts to {args.out}")
    return 0


COMMANDS = {
    "propose": _propose,
    "check-policy": _check,
    "simulate": _simulate,
    "generate-portfolio": _generate,
}


def main(argv: list[str] | None = None) -> int:
    """Run one command; returns the process exit code."""
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(encoding="utf-8")
    args = _parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except PolicyError as exc:
        for problem in exc.problems:
            print(f"error: {problem}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except PlanError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except Exception as exc:  # noqa: BLE001 - the contract promises no traceback
        print(f"internal error (please report): {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_INTERNAL
