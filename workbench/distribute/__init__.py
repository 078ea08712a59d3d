"""Distribution and publication: what happens to reports after they are rendered.

It stands after :mod:`workbench.reports` and :mod:`workbench.dashboards` in the data flow:

- :mod:`.contacts` — the contact lists coordinators keep (YAML, CSV or an Excel sheet), validated;
- :mod:`.deliveries` — which rendered run goes to whom (never a less protected audience than theirs);
- :mod:`.mail` — SMTP settings, credentials, messages, sending with retries;
- :mod:`.sendlog` — what was sent (keyed fingerprints, never addresses), so nothing goes twice;
- :mod:`.site` — the static, offline publication folder;
- :mod:`.static_dashboards` — kernel-free interactive pages with the figures embedded.

Contact lists are personal data of staff and partners: they are read here and nowhere
else, and never written into an output or a log.
"""

from workbench.distribute.contacts import Contact, ContactList, load_contacts
from workbench.distribute.deliveries import Delivery, plan

__all__ = ["Contact", "ContactList", "Delivery", "load_contacts", "plan"]
