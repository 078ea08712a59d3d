"""The data contract: the case extract's tables, columns, vocabularies and rules, as data.

Everything downstream (reading, validation, indicators, forms) reads the contract from
:mod:`workbench.contract.schema`; nothing here imports another part of the package.
"""

from workbench.contract.schema import REQUIRED_TABLES, TABLE_ORDER, TABLES, Column, Table, vocabulary

__all__ = ["REQUIRED_TABLES", "TABLE_ORDER", "TABLES", "Column", "Table", "vocabulary"]
