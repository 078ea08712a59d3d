"""A case extract: files read (:mod:`.files`), rows checked against the contract
(:mod:`.rules`), identifiers refused (:mod:`.guard`), loaded into an immutable
:class:`Extract` (:mod:`.loading`); :mod:`.demo` writes a synthetic one.
"""

from workbench.extract.loading import Extract, ExtractMeta, TableReport, load, read_metadata

__all__ = ["Extract", "ExtractMeta", "TableReport", "load", "read_metadata"]
