"""Mapping files: from an organisation's own export to the canonical tables.

No team keeps its data in the shape of the case extract. A *mapping file* (YAML,
documented with a worked example per kind of export in ``docs/mappings.md``) says how
one organisation's export becomes the contract's tables:

* **sources**: which file (a name or a pattern inside the raw folder) and which sheet
  is read, where its header row is (found automatically below a title row, or given);
* **columns**: what each raw column becomes, a *field*: renamed, its values mapped
  (``Homme`` → ``male``, country names in French or English → ISO 3166-1 alpha-3 with
  pycountry, ``oui``/``non`` → booleans), its dates read with the organisation's format
  (``JJ/MM/AAAA``), marked as an identifier to pseudonymise, or dropped;
* **derive** and **defaults**: fields computed from others (a birth year from a date of
  birth, which is then dropped; a pseudonym made of several columns; a value looked up
  in another source) and values for empty or absent fields;
* **tables**: which source fills which canonical table; one wide register can fill
  ``persons`` (one row per person: ``one_row_per``) and ``contacts`` (one row per row).

The package follows the flow: :mod:`.parse` (match keys, countries, reading one value),
:mod:`.model` (the checked declaration), :mod:`.validate` (the rules it is checked by),
:mod:`.load` (YAML → model), :mod:`.read` (raw files and sheets) and :mod:`.apply`
(mapping → tables and the mapping-stage quarantine).

:func:`load_mapping` reads and checks a mapping file, collecting every problem before it
fails. :func:`apply` reads a raw export with it and returns the canonical tables (with
the raw identifiers still in them, as identity strings for :mod:`workbench.prepare.pseudonymise`
to replace) and the *mapping-stage quarantine*: every raw row that cannot be mapped (an
unmapped code, an unparseable date or yes/no value, an empty identifier, a value shaped
like a direct identifier) with its file, sheet, row, column, masked value, rule and reason.
Nothing is dropped silently: rows read = rows mapped + rows quarantined, for every source;
unmapped columns are listed.

>>> m = load_mapping("parameters/mappings/register_fr.yaml")      # doctest: +SKIP
>>> mapped = apply(m, "raw/registre.xlsx")                         # doctest: +SKIP
>>> mapped.sources["registre"].read == (mapped.sources["registre"].mapped
...                                     + mapped.sources["registre"].quarantined)  # doctest: +SKIP
True
"""

from workbench.prepare.mapping.apply import Mapped, SourceReport, apply, apply_frames
from workbench.prepare.mapping.load import _Loader, load_mapping, parse_mapping
from workbench.prepare.mapping.model import (ID_PREFIXES, SEP, SRC_FILE, SRC_ROW, ColumnRule, Derived, FType,
                                             Mapping, Source, TableMap)
from workbench.prepare.mapping.parse import country_code, country_index, match_key, match_key_expr
from workbench.prepare.mapping.read import RawSource, read_source, read_sources

__all__ = [
    "FType", "ColumnRule", "Derived", "Source", "TableMap", "Mapping", "RawSource", "SourceReport", "Mapped",
    "ID_PREFIXES", "SEP", "SRC_FILE", "SRC_ROW", "load_mapping", "parse_mapping", "read_source", "read_sources",
    "apply", "apply_frames", "match_key", "match_key_expr", "country_index", "country_code",
]
