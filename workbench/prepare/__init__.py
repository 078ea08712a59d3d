"""From an organisation's own export to a case extract: mappings (:mod:`.mapping`),
keyed pseudonyms (:mod:`.pseudonymise`) and consolidation of several extracts (:mod:`.combine`).
"""
