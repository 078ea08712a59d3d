"""Which part of an extract a figure is about: sites, centres and person attributes."""
