"""``python -m maskforge.recipe --docs [--write docs/recipes.md]``: the generated key tables."""

from __future__ import annotations

import argparse

from .docs import docs_tables, write_docs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m maskforge.recipe")
    parser.add_argument("--docs", action="store_true", help="print the key tables (Markdown)")
    parser.add_argument("--write", metavar="FILE", help="replace the generated part of FILE")
    args = parser.parse_args(argv)
    if args.write:
        write_docs(args.write)
    elif args.docs:
        print(docs_tables(), end="")
    else:
        parser.print_help()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
