"""The CLI: exit codes, one-sentence errors, formats; run as a real subprocess where it matters."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

from dashboard.cli import build_parser, main

ROOT = Path(__file__).resolve().parent.parent


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def test_every_command_has_help_text():
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    for name, sp in sub.choices.items():
        assert sp.description, name
        for action in sp._actions:
            if action.dest != "help":
                assert action.help, f"{name} {action.dest}"


def test_bad_config_exits_2_with_one_line(tmp_path):
    cfg = tmp_path / "bad.yaml"
    cfg.write_text("accounts:\n  - name: prod\n    regions: [us-east-9]\n")
    code, out, err = run("summary", "--config", str(cfg))
    assert code == 2
    assert out == ""
    assert err == f"error: {cfg}: accounts[0].regions[0]: 'us-east-9' is not an AWS region (e.g. us-east-1, eu-west-1)\n"


def test_bad_range_exits_2(tmp_path):
    code, _, err = run("summary", "--range", "2026-11-20..2026-11-19")
    assert code == 2
    assert err == "error: '2026-11-20..2026-11-19' ends before it starts; put the earlier time first\n"


def test_bad_arguments_exit_2_without_traceback():
    proc = subprocess.run(
        [sys.executable, "-m", "dashboard", "summary", "--format", "xml"], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert "invalid choice: 'xml'" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
