"""``cpcourse data``: generate, validate and export the synthetic MFI's datasets."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from clientprotection.errors import CourseError


def register(commands: argparse._SubParsersAction) -> None:
    data = commands.add_parser("data", help="generate, validate or export the synthetic MFI")
    actions = data.add_subparsers(dest="data_command", metavar="ACTION", required=True)

    gen = actions.add_parser(
        "generate",
        help="build a dataset from a scenario file",
        description="Build a dataset folder from a scenario. With no --scenario and no --seed "
        "it rebuilds the committed default dataset byte for byte.",
    )
    gen.add_argument("--scenario", default="default",
                     help="scenario name (default, crisis) or path to a .toml file")
    gen.add_argument("--seed", type=int, default=None, help="random seed (default: the scenario's)")
    gen.add_argument("--clients", type=int, default=None,
                     help="number of clients (default: the scenario's)")
    gen.add_argument("--out", required=True, help="output folder")
    gen.add_argument("--force", action="store_true", help="replace an existing output folder")
    gen.add_argument("--quiet", action="store_true", help="no progress bar")
    gen.set_defaults(func=_generate)

    val = actions.add_parser("validate", help="check a dataset folder against its datapackage.json")
    val.add_argument("dir", help="dataset folder (or scenario name)")
    val.set_defaults(func=_validate)

    exp = actions.add_parser("export", help="write tables to an Excel workbook")
    exp.add_argument("dir", help="dataset folder (or scenario name)")
    exp.add_argument("--xlsx", required=True, help="Excel file to write")
    exp.add_argument("--tables", nargs="+", default=None,
                     help="tables to export (default: all; the schedule is large)")
    exp.add_argument("--force", action="store_true", help="replace an existing workbook")
    exp.set_defaults(func=_export)


class _Bar:
    """A tqdm progress bar driven by ``progress(step, fraction)`` callbacks."""

    def __init__(self, quiet: bool, label: str) -> None:
        from tqdm import tqdm

        self.bar = tqdm(total=100, desc=label, disable=quiet, unit="%", file=sys.stderr,
                        bar_format="{desc}: {percentage:3.0f}%|{bar}| "
                        "{elapsed}<{remaining} {postfix}")

    def __call__(self, step: str, fraction: float) -> None:
        self.bar.set_postfix_str(step, refresh=False)
        self.bar.update(max(0.0, round(100 * fraction) - self.bar.n))

    def close(self) -> None:
        self.bar.close()


def _generate(args: argparse.Namespace) -> int:
    from clientprotection import synth
    from clientprotection.data import write_dataset

    out = Path(args.out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())) and not args.force:
        raise CourseError(
            f"{out} already exists; use --force to replace it, or choose another --out"
        )
    if args.clients is not None and args.clients < 1:
        raise CourseError(f"--clients must be a positive number, got {args.clients}")
    scenario = synth.load_scenario(args.scenario)
    generating = _Bar(args.quiet, "generating")
    try:
        generated = synth.generate(scenario, seed=args.seed, n_clients=args.clients,
                                   progress=generating)
    finally:
        generating.close()
    writing = _Bar(args.quiet, "writing")
    try:
        folder = write_dataset(generated, out, force=args.force, progress=writing)
    finally:
        writing.close()
    rows = sum(len(t) for t in generated.tables.values())
    print(f"wrote {folder} ({len(generated.tables)} tables, {rows:,} rows, seed {generated.seed})")
    return 0


def _validate(args: argparse.Namespace) -> int:
    from clientprotection.data import dataset_dir, validate_dataset

    folder = Path(args.dir) if Path(args.dir).exists() else dataset_dir(args.dir)
    problems = validate_dataset(folder)
    if problems:
        print(f"{folder}: {len(problems)} problem(s)")
        for problem in problems:
            print(f"  - {problem}")
        return 1
    print(f"{folder}: valid")
    return 0


def _export(args: argparse.Namespace) -> int:
    from clientprotection.data import export_xlsx

    target = Path(args.xlsx)
    if target.exists() and not args.force:
        raise CourseError(f"{target} already exists; use --force to replace it")
    bar = _Bar(False, "exporting")
    try:
        path = export_xlsx(args.dir, target, args.tables, progress=bar)
    finally:
        bar.close()
    print(f"wrote {path}")
    return 0
