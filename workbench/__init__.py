"""workbench: research and reporting for legal and social help to migrants.

Load a pseudonymised case extract, compute the declared indicator catalogue,
suppress small cells for the audience, and render reports and dashboards.
"""

from workbench.exceptions import WorkbenchError

__version__ = "0.1.0"

__all__ = ["WorkbenchError", "__version__"]
