"""The campaign's summary, as Markdown tables (pasted as is into docs/RELIABILITY.md)."""

from __future__ import annotations

import os
import platform
from datetime import UTC, datetime

from bench.chaos.campaign import Outcome


def render(outcome: Outcome, command: str) -> str:
    options = outcome.options
    verdict = outcome.verdict
    held = outcome.appended / outcome.load_seconds if outcome.load_seconds else 0.0
    stop = outcome.final_stop_detail.splitlines()[0] if outcome.final_stop_detail else "-"
    lines = [
        f"alphap chaos campaign, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC,"
        f" {os.cpu_count()} CPUs, {platform.platform()}",
        f"command: `{command}`",
        "",
        "| load | value |",
        "|---|---|",
        f"| documents appended | {outcome.appended:,} in {outcome.load_seconds:.0f} s |",
        f"| load held | {held:.0f} documents/s (steady {options.rate:g}/s, bursts 10x) |",
        f"| drained after the load stopped | {outcome.drain_seconds:.1f} s |",
        f"| daemon starts | {outcome.starts} |",
        f"| RSS peak / at the end | {outcome.rss_peak_mib} MiB / {outcome.rss_last_mib} MiB"
        f" (limit {options.rss_limit_mib} MiB) |",
        "",
        "| fault | injected | survived | slowest recovery |",
        "|---|---|---|---|",
    ]
    for kind, record in outcome.faults.items():
        lines.append(
            f"| {kind} | {record.injected} | {record.survived} | {record.worst_recovery:.1f} s |"
        )
    if not outcome.console:
        lines.append("| actor crash / hang | - | - | not run: no `alphap console` |")
    lines += [
        "",
        "| check | result |",
        "|---|---|",
        f"| documents lost | {verdict.lost} (events {verdict.events_lost} of"
        f" {verdict.events_expected:,}, dead letters {verdict.letters_lost} of"
        f" {verdict.letters_expected:,}) |",
        f"| documents duplicated | {verdict.events_duplicated} |",
        f"| documents mismatched | {verdict.mismatched} (portfolios"
        f" {verdict.portfolios_mismatched} of {verdict.portfolios_expected}, unexpected events"
        f" {verdict.events_unexpected}, wrong letters {verdict.letters_wrong}, other letters"
        f" {verdict.letters_other}, letters of injected crashes {verdict.letters_injected},"
        f" unacknowledged {verdict.unacknowledged}) |",
        f"| dead letters still spilled | {verdict.spilled_left} |",
        f"| unexpected daemon exits | {len(outcome.unexpected_exits)} |",
        f"| final SIGTERM | {stop} |",
        f"| result | {'PASS' if outcome.passed else 'FAIL'} |",
    ]
    details = [*verdict.examples]
    for kind, record in outcome.faults.items():
        details += [f"{kind}: {failure}" for failure in record.failures]
    if details:
        lines += ["", "Details:", *[f"- {d}" for d in details]]
    for exit_text in outcome.unexpected_exits:
        lines += ["", "Unexpected exit at " + exit_text]
    if not outcome.final_stop_ok:
        lines += ["", "Final stop: " + outcome.final_stop_detail]
    return "\n".join(lines)
