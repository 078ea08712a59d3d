"""The flags of an indicator table's cells (the ``flag`` column), one meaning each.

==========================  ===============================================================  =========
``None``                    shown exactly (or rounded: the method is in the output's notes)   the value
``no_data``                 empty population, nothing to show                                 ``–``
``suppressed``              a count from 1 to k−1 (per-table suppression only)                ``< k``
``withheld``                withheld for confidentiality, any value                           ``[c]``
``small_population``        a rate, ratio, mean, median or duration over a population         ``[p]``
                            from 1 to k−1
==========================  ===============================================================  =========

The marks and legends are rendered by :mod:`workbench.present.cells`.
"""

NO_DATA, SUPPRESSED, WITHHELD, SMALL_POPULATION = "no_data", "suppressed", "withheld", "small_population"
#: Flags of cells whose value, numerator and denominator are empty.
HIDDEN = (SUPPRESSED, WITHHELD, SMALL_POPULATION)
FLAGS = (NO_DATA, *HIDDEN)
