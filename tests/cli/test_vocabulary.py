"""One flag vocabulary: every command's --help parsed; no flag name has two meanings.

The help texts are read as a user sees them (``eie-sim CMD --help``, wrapped by argparse) and
parsed back into (flag, help) pairs; the checks do not trust the vocabulary module's own helper.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import re
from pathlib import Path

import pytest

from eie_sim.cli import build_parser, main
from eie_sim.cli.vocabulary import DEPRECATED, MEANINGS

README = Path(__file__).resolve().parents[2] / "README.md"
ARGPARSE_OWN = {"--help", "--version"}


def _commands(parser=None, prefix=()):
    """(command words, its parser) for every command and subcommand."""
    parser = parser or build_parser()
    yield prefix, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sp in action.choices.items():
                yield from _commands(sp, prefix + (name,))


def _flag_helps(text: str) -> list[tuple[list[str], str]]:
    """(long flags, help) of every option entry of a formatted --help."""
    entries, cur = [], None
    for line in text.splitlines():
        m = re.match(r"^  (-\S.*?)(?:\s{2,}(\S.*))?$", line)
        if m and not line.startswith(" " * 6):
            cur = [re.findall(r"--[a-z0-9][a-z0-9-]*", m.group(1)), [m.group(2) or ""]]
            entries.append(cur)
        elif cur is not None and re.match(r"^\s{10,}\S", line):
            cur[1].append(line.strip())
        else:
            cur = None
    out = []
    for flags, parts in entries:
        text = ""
        for p in parts:  # argparse breaks lines after a hyphen: "comma-" + "separated"
            text += p if text.endswith("-") or not text else " " + p
        out.append((flags, text.strip()))
    return out


def _all_helps() -> dict[str, list[tuple[str, str]]]:
    """flag -> [(command, help shown)] over every command's --help."""
    found: dict[str, list[tuple[str, str]]] = {}
    for words, parser in _commands():
        for flags, text in _flag_helps(parser.format_help()):
            for f in flags:
                found.setdefault(f, []).append((" ".join(words) or "eie-sim", text))
    return found


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text.replace("%%", "%"))


def _meaning_part(text: str) -> str:
    """The part of a help text that states the flag's meaning: up to the first '; ', without a
    trailing '(default: ...)'."""
    text = re.sub(r"\s*\(default: [^)]*\)$", "", text)
    return text.split("; ")[0].strip()


HELPS = _all_helps()


def test_the_parser_finds_every_option_of_every_command():
    """The help parser itself: it finds the options argparse knows, per command (so the other
    tests see everything)."""
    for words, parser in _commands():
        shown = {f for flags, _ in _flag_helps(parser.format_help()) for f in flags}
        known = {o for a in parser._actions if a.help is not argparse.SUPPRESS for o in a.option_strings if o.startswith("--")}
        assert shown == known, words


def test_no_flag_name_has_two_meanings():
    differing = {}
    for flag, uses in HELPS.items():
        if flag in ARGPARSE_OWN:
            continue
        meanings = {_meaning_part(text) for _, text in uses}
        if len(meanings) > 1:
            differing[flag] = sorted(meanings)
    assert not differing, differing


def test_every_flag_shown_is_in_the_vocabulary_with_its_meaning_first():
    unknown = sorted(f for f in HELPS if f not in MEANINGS and f not in ARGPARSE_OWN)
    assert not unknown, unknown
    wrong = [(flag, cmd, text) for flag, uses in HELPS.items() if flag in MEANINGS
             for cmd, text in uses if not _squash(text).startswith(_squash(MEANINGS[flag]))]
    assert not wrong, wrong[:5]


def test_every_vocabulary_entry_is_used():
    assert sorted(set(MEANINGS) - set(HELPS)) == []


def test_deprecated_spellings_are_not_shown():
    shown = {(cmd, f) for f, uses in HELPS.items() for cmd, _ in uses}
    assert not [k for k in DEPRECATED if k in shown]


def test_list_syntax_is_stated():
    """Comma lists (values to sweep or search) say so; space lists (nargs '+') are per layer."""
    bad = []
    for words, parser in _commands():
        for a in parser._actions:
            long = [o for o in a.option_strings if o.startswith("--")]
            if not long or a.help is argparse.SUPPRESS:
                continue
            help_ = a.help or ""
            if a.nargs == "+" and "per layer" not in help_:
                bad.append((words, long[0], "nargs + without 'per layer'"))
            if isinstance(a.metavar, str) and "," in a.metavar and not re.search(r"comma-separated|values to search", help_):
                bad.append((words, long[0], "comma metavar without 'comma-separated'"))
    assert not bad, bad


# (command words + required arguments, old spelling + value, new spelling(s) + the same value)
REQUIRED = {"compress": ["lenet300"], "import": ["x.onnx", "-o", "x.npz"], "eval": ["m.npz"],
            "sweep": ["--out", "s.parquet"], "plot": ["s.parquet", "-o", "plots"],
            "codesign": ["lenet300", "--out", "c.parquet"]}
VALUES = {"--epochs": "7", "--lr": "0.02", "--finetune": "digits", "--limit": "50", "--accuracy-samples": "60",
          "--retrain-epochs": "2", "--batch-size": "5", "--no-progress": None, "--simulate-images": "9"}
CODESIGN_EPOCHS = "1,2"


def _parse(argv):
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        ns = build_parser().parse_args(argv)
    return {k: v for k, v in vars(ns).items() if k != "func"}, err.getvalue()


@pytest.mark.parametrize("command,old", sorted(DEPRECATED))
def test_a_deprecated_spelling_works_as_the_new_one_with_one_line(command, old):
    value = CODESIGN_EPOCHS if (command, old) == ("codesign", "--epochs") else VALUES[old]
    tail = [] if value is None else [value]
    got, err = _parse([command, *REQUIRED[command], old, *tail])
    new_argv = [command, *REQUIRED[command]]
    for new in DEPRECATED[(command, old)]:
        new_argv += [new, *tail]
    want, new_err = _parse(new_argv)
    assert got == want
    assert new_err == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and old in lines[0] and all(n in lines[0] for n in DEPRECATED[(command, old)])


def test_readme_lists_the_vocabulary():
    text = README.read_text()
    assert "## Flag vocabulary" in text
    section = text.split("## Flag vocabulary", 1)[1].split("\n## ", 1)[0]
    missing = [f for f in MEANINGS if f"`{f}" not in section]
    assert not missing, missing
    old = [old for (_, old) in DEPRECATED if f"`{old}" not in section]
    assert not old, old


def test_a_deprecated_spelling_runs_a_command(tmp_path, capsys):
    """End to end: eval --limit N evaluates N images as --limit-test N does."""
    model = Path(__file__).resolve().parents[2] / "models" / "lenet300-fashion.npz"
    try:
        from eie_sim.train.data import load_dataset

        load_dataset("fashion-mnist")
    except Exception:
        pytest.skip("Fashion-MNIST is not installed")
    assert main(["eval", str(model), "--limit", "30", "--json"]) == 0
    old = capsys.readouterr()
    assert main(["eval", str(model), "--limit-test", "30", "--json"]) == 0
    new = capsys.readouterr()
    assert old.out == new.out and '"n_samples": 30' in new.out
    assert "--limit is deprecated, use --limit-test" in old.err and "deprecated" not in new.err


def test_docs_and_scripts_use_the_new_spellings():
    """No command line in the README, models/README, the Makefile, the benchmarks, notebooks or
    tests uses an old spelling (they would still run, with a deprecation line on stderr); the
    README's vocabulary section and this file name them on purpose."""
    root = README.parent
    files = [README, root / "models" / "README.md", root / "Makefile", *sorted((root / "benchmarks").glob("*.py")),
             *sorted((root / "notebooks").glob("*.ipynb")), *sorted((root / "tests").rglob("*.py"))]
    found = []
    for path in files:
        if path.resolve() == Path(__file__).resolve():
            continue
        text = path.read_text()
        if path == README:  # the sections that list the old spellings
            text = text.split("## Flag vocabulary")[0] + "\n## " + text.split("## Flag vocabulary", 1)[1].split("\n## ", 1)[1]
            text = text.split("The spellings of earlier versions")[0] + text.split("with a line naming the new one.", 1)[-1]
        for (command, old) in DEPRECATED:
            shell = rf"eie-sim {command}\b[^\n`]*?\s{re.escape(old)}(?=[\s=\]`\"]|$)"
            python = rf"\[\"{command}\",[^\]]*\"{re.escape(old)}\""
            for m in re.finditer(f"{shell}|{python}", text, flags=re.M):
                found.append(f"{path.relative_to(root)}: {command} {old}: {m.group(0)[:80]}")
    assert not found, "\n".join(found)
