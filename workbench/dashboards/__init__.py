"""Dashboards: views of the figures (:mod:`.views`), widgets (:mod:`.widgets`) and the Voilà server (:mod:`.server`)."""
