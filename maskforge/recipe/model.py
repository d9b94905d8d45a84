"""``Recipe``: the whole recipe as one model, composed of one model per table."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import Field, PrivateAttr, model_validator
from pydantic_core import PydanticCustomError

from ..augment.config import AugmentConfig
from ..augment.variants import BUILTIN_PLANS, VariantSpec, parse_variants
from ..clean.config import CleanConfig
from ..config import Table, either
from ..detect.config import DetectConfig
from ..embed.config import EmbedConfig
from ..hygiene.config import HygieneConfig
from .tables import EncodeTable, OccludeTable, RayTable, SelectTable, SourceTable, SplitTable

#: Tables that always exist (filled with defaults); the others switch a stage on when present.
ALWAYS_TABLES = ("source", "encode", "ray")
#: Tables (and ``variants``) that switch a stage on when present.
STAGE_TABLES = (
    "detect", "embed", "clean", "hygiene", "select", "split", "augment", "occlude", "variants"
)

if TYPE_CHECKING:  # what the validator below accepts, as a type checker reads it
    VariantPlan = str | list[VariantSpec]
else:
    VariantPlan = either(
        'must be a built-in plan name (variants = "reference") or an array of tables ([[variants]])',
        name=Literal[tuple(BUILTIN_PLANS)],
        list=Annotated[list[VariantSpec], Field(min_length=1)],
    )


class Recipe(Table):
    """A validated recipe. Construct it with :func:`~maskforge.recipe.load_recipe` (a file,
    TOML text or a dict, with ``--set`` overrides); every stage table is validated here.

    The pipeline carries this object whole (frozen) and every stage reads its typed tables
    (``recipe.clean.threshold``). ``data`` / :meth:`to_dict` give it as plain data, for the files
    that record it (``recipe.toml``, the manifest): the top-level keys, every table that is
    present (with its defaults filled in) and the always-present tables."""

    seed: int = Field(
        0, ge=0, description="root of every random choice; the same recipe and seed give the "
        "same bytes"
    )
    name: str = Field("maskforge-run", description="a label for the run")
    input: str | None = Field(
        None,
        description="dataset folder, `.csv`/`.parquet` list or insightface `.rec` (`--input` overrides); a relative "
        "path is also tried against the recipe's folder",
    )
    output: str | None = Field(None, description="output folder (`--output` overrides)")
    input_license: str | None = Field(
        None, description="the input dataset's terms, as you state them (written to OUT/README.md)"
    )
    licence: Literal["any", "commercial"] = Field(
        "any",
        description="`commercial`: refuse, before anything is written, every model whose licence "
        "excludes commercial use (or is not established), naming it and its licence; `any`: no "
        "check. The card and the manifest list every model used with its licence either way",
    )
    variants: VariantPlan | None = Field(
        None,
        description="a built-in plan name (`reference`: original, aug, mask+aug x2; "
        "`reference-glasses`: + glasses+aug, sunglasses+mask+aug) or a `[[variants]]` array",
        json_schema_extra={"values": "`reference` \\| `reference-glasses` \\| `[[variants]]`"},
    )
    source: SourceTable = Field(default_factory=SourceTable, description="input listing")
    encode: EncodeTable = Field(default_factory=EncodeTable, description="image encoding")
    detect: DetectConfig | None = Field(None, description="detect + align + landmarks + pose")
    embed: EmbedConfig | None = Field(None, description="embeddings (also run for `[clean]`)")
    clean: CleanConfig | None = Field(None, description="mislabelled-image cleaning")
    hygiene: HygieneConfig | None = Field(
        None, description="duplicates, one person under two identities, evaluation-set overlap"
    )
    select: SelectTable | None = Field(None, description="select-N per identity")
    split: SplitTable | None = Field(None, description="train/val split")
    augment: AugmentConfig | None = Field(None, description="augmentation pipeline")
    occlude: OccludeTable | None = Field(None, description="occluder assets")
    ray: RayTable = Field(default_factory=RayTable, description="Ray cluster")

    _path: Any = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _stages_fit(self) -> Recipe:
        if self.clean is not None and self.detect is None:
            raise PydanticCustomError(
                "table_problem", "[clean] needs a [detect] table (embeddings are of aligned faces)"
            )
        if self.hygiene is not None and self.detect is None:
            raise PydanticCustomError(
                "table_problem", "[hygiene] needs a [detect] table (it compares face embeddings)"
            )
        if self.variants is not None and self.detect is None:
            plan = self.variants if isinstance(self.variants, str) else list(self.variants)
            if any(v.occluder is not None for v in parse_variants(plan)):
                raise PydanticCustomError(
                    "table_problem",
                    "variants with occluders need a [detect] table (occluders are placed from "
                    "the 68 landmarks)",
                )
        return self

    @property
    def path(self) -> Any:
        """The recipe file (a ``pathlib.Path``), or None."""
        return self._path

    @property
    def data(self) -> dict[str, Any]:
        """The recipe as a plain dict (see the class doc); a fresh copy each time."""
        return self.to_dict()

    def to_dict(self) -> dict[str, Any]:
        out = self.model_dump()
        for key in STAGE_TABLES:
            if out.get(key) is None:
                out.pop(key, None)
        return out

    def table(self, name: str) -> dict[str, Any] | None:
        """A table as a dict, or None when the recipe does not have it."""
        return self.to_dict().get(name)

    def has(self, name: str) -> bool:
        """Whether the recipe has the table (for stage tables: whether the stage runs)."""
        if name not in type(self).model_fields:
            return False
        return name not in STAGE_TABLES or getattr(self, name) is not None

    @property
    def embed_config(self) -> EmbedConfig:
        """The ``[embed]`` table, or its defaults when only ``[clean]`` or ``[hygiene]`` asks
        for embeddings."""
        return self.embed if self.embed is not None else EmbedConfig()

    def with_paths(self, input: str, output: str) -> Recipe:  # noqa: A002 - the recipe's key
        """A copy recording the input and output actually used."""
        return self.model_copy(update={"input": input, "output": output})
