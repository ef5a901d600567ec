"""Protected data: the key ring, field encryption, blind indexes and the audit chain (DESIGN §3.3–3.4).

Importing the package registers its tables (key canaries, blind indexes, attachments, audit events) on
the shared metadata, so that every app and ``flask db`` see them.
"""

from casework.protect import attachments as _attachments  # noqa: F401
from casework.protect import canary as _canary  # noqa: F401
