"""A synthetic case extract for demonstrations, tests and benchmarks.

:func:`generate` builds, from a seed, a case extract that follows the contract
(:mod:`workbench.contract.schema`) row for row: every id is unique, every reference
exists, every date is in order and no later than the extract date, and every
code is in its vocabulary. It looks like what the organisations that use the
workbench see, so that indicators, reports and data-quality checks have
something plausible to show:

- ``legal_aid``: a reception and legal-aid desk in Greater Tunis with four sites
  (contacts, cases, referrals, protection flags, legal actions);
- ``detention``: a legal team in three overseas immigration detention centres
  (stays, appeals decided within days, contacts in the centres);
- ``child_protection``: a day centre for children aged 8 to 17 (cases with risk
  levels, assessment and care-plan deadlines, reviews, closures);
- ``all``: the three together in one extract (70 %, 15 %, 15 % of the persons).

Activity runs from 2024-01-01 to 2025-12-31 (eight quarters, with growth and
seasons) and the extract is dated 2026-01-15. Nothing happens after 2025-12-31:
an event that would fall later has not happened yet (a case still open, a
referral still pending, a stay still running).

There are no names and no free text. Ids are pseudonyms made from the row number
by a bijective 32-bit mix keyed on the seed (``P`` persons, ``C`` contacts,
``K`` cases, ``R`` referrals, ``S`` stays, ``A`` legal actions, ``W``
caseworkers).

Everything is drawn with numpy in whole columns (loops run over tables and
categories only), so a million persons take a few seconds and ten million fit in
memory. The same ``(persons, seed, profile)`` gives the same tables and
byte-identical parquet and CSV files.

The generator is split along what it draws: :mod:`.setting` (dates, organisations,
sites), :mod:`.draws` (numpy building blocks), :mod:`.events` (persons, cases,
referrals, contacts shared by the profiles), one module per profile
(:mod:`.legal_aid`, :mod:`.detention`, :mod:`.child_protection`), :mod:`.frames`
(pseudonyms and typed columns) and :mod:`.api` (generate, metadata, write).
"""

from workbench.extract.demo.api import NETWORK_FOLDER, generate, metadata, network_beside, write, write_frames
from workbench.extract.demo.setting import (
    CENTRES, CHILD_PROTECTION_SITES, DEFAULT_PERSONS, DEFAULT_SEED, DETENTION_SITES, END, EXTRACTED_ON, FORMATS,
    LEGAL_AID_SITES, ORGANISATIONS, PARTNERS, PROFILE_SHARES, PROFILE_TABLES, PROFILES, START)

__all__ = [
    "DEFAULT_PERSONS", "DEFAULT_SEED", "PROFILES", "FORMATS", "START", "END", "EXTRACTED_ON",
    "generate", "metadata", "write", "write_frames", "network_beside", "NETWORK_FOLDER",
]
