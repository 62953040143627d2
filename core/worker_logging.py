"""Imported by the `dramatiq` process that `shelfsync worker` starts (the Dramatiq CLI loads
modules by name, so this one exists for its import): a database outage is logged once per
outage there, not as one traceback per failed message, and httpx's line per API request stays
out of the log (`SHELFSYNC_LOG_REQUESTS=1` keeps it). `shelfsync run` does the same for its
in-process worker."""

from shelfsync.core.db import install_outage_log_filter
from shelfsync.core.http import quiet_request_log

install_outage_log_filter()
quiet_request_log()
