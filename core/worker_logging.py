"""Imported by the `dramatiq` process that `shelfsync worker` starts (the Dramatiq CLI loads
modules by name, so this one exists for its import): a database outage is logged once per
outage there, not as one traceback per failed message. `shelfsync run` installs the same
filter on its in-process worker."""

from shelfsync.core.db import install_outage_log_filter

install_outage_log_filter()
