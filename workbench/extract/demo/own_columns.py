"""The extra columns of the demo that only an organisation's own catalogue reads
(``assets/catalogues/child_protection.yaml``, docs/organisation-catalogue.md).

- ``cases.concern_type``: the child-protection centre's concern types (violence, neglect,
  exploitation, child labour, street situation) on the day centre's cases, about one in
  eight not recorded;
- ``protection_flags.exploitation_type``: the type of exploitation (sexual, labour, domestic
  servitude, forced begging, forced criminality) of a trafficking identification.

They are added by :func:`~workbench.extract.demo.write_frames` (Parquet and CSV), drawn from their own
random stream after the contract tables are made ( :func:`generate` gives the contract alone), so every
contract column keeps the values it has without them, and the same seed gives the same
columns.
"""

from __future__ import annotations

import numpy as np
import polars as pl

CONCERNS = ("violence", "neglect", "exploitation", "child_labour", "street_situation")
CONCERN_WEIGHTS = (0.22, 0.30, 0.14, 0.16, 0.18)
EXPLOITATION = ("sexual", "labour", "domestic_servitude", "forced_begging", "forced_criminality")
EXPLOITATION_WEIGHTS = (0.30, 0.32, 0.18, 0.10, 0.10)
_STREAM = 0x0C47  # distinct from the profiles' streams
CHILD_PROTECTION_SITE = "centre_jour"


def _draw(rng: np.random.Generator, codes, weights, n: int, missing: float) -> np.ndarray:
    drawn = rng.choice(np.array(codes, dtype=object), size=n, p=np.array(weights))
    drawn[rng.random(n) < missing] = None
    return drawn


def add_own_columns(frames: dict[str, pl.DataFrame], seed: int) -> dict[str, pl.DataFrame]:
    """The tables with the extra columns added (the contract columns unchanged)."""
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), _STREAM]))
    out = dict(frames)
    if "cases" in out and "concern_type" not in out["cases"].columns:
        cases = out["cases"]
        concern = _draw(rng, CONCERNS, CONCERN_WEIGHTS, cases.height, 0.12)
        concern[(cases["site"] != CHILD_PROTECTION_SITE).fill_null(True).to_numpy()] = None
        out["cases"] = cases.with_columns(pl.Series("concern_type", concern.tolist(), dtype=pl.String))
    if "protection_flags" in out and "exploitation_type" not in out["protection_flags"].columns:
        flags = out["protection_flags"]
        kind = _draw(rng, EXPLOITATION, EXPLOITATION_WEIGHTS, flags.height, 0.10)
        kind[(flags["flag"] != "trafficking_suspected").fill_null(True).to_numpy()] = None
        out["protection_flags"] = flags.with_columns(pl.Series("exploitation_type", kind.tolist(), dtype=pl.String))
    return out
