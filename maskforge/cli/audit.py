"""``maskforge audit``: (re)build the HTML audit report of a ``clean`` or ``run`` output."""

from __future__ import annotations

from pathlib import Path

import click

from ._common import user_errors


@click.command("audit")
@click.argument("out", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "--source",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="dataset folder for thumbnails (default: recorded in clean_scores.parquet)",
)
@click.option(
    "--per-page", "per_page", type=int, default=20, show_default=True, help="identities per page"
)
@user_errors
def command(out: Path, source: Path | None, per_page: int) -> None:  # fmt: skip
    """Rebuild OUT/report/ from OUT/clean_scores.parquet (and OUT/report/hygiene/ from
    OUT/hygiene.json when the run had [hygiene])."""
    from ..clean.table import read_clean_scores
    from ..report import build_report, write_redirect

    hygiene = out / "hygiene.json"
    if (out / "clean_scores.parquet").is_file() or not hygiene.is_file():
        read_clean_scores(out, with_images=False)  # clear error when missing or malformed
        index = build_report(out, out / "report", source_root=source, per_page=per_page,
                             title=out.name)  # fmt: skip
        write_redirect(out / "report.html")
        click.echo(f"report: {index}")
    if hygiene.is_file():
        from ..io.paths import recorded_input_root
        from ..report.hygiene import build_hygiene_pages

        pages = build_hygiene_pages(hygiene, out / "report", per_page=per_page, title=out.name,
                                    source_root=source or recorded_input_root(out))  # fmt: skip
        click.echo(f"hygiene pages: {pages}")
