"""What the rows of background work (document ZIPs, spreadsheet imports) share: a job whose row
has not moved for a while died with its process and is shown as failed."""
from __future__ import annotations


class Stallable:
    """Mixin for a model with ``state`` and ``updated_at`` columns."""

    #: a job whose row has not moved for this long died with its process (a restart)
    STALLED_AFTER_SECONDS = 600
    #: the states in which the row is expected to keep moving
    MOVING_STATES: tuple[str, ...] = ()

    @property
    def shown_state(self) -> str:
        """The state, with a moving job that stopped moving reported as failed."""
        from congress.clock import utcnow

        if self.state in self.MOVING_STATES:
            updated = self.updated_at if self.updated_at.tzinfo else self.updated_at.replace(tzinfo=utcnow().tzinfo)
            if (utcnow() - updated).total_seconds() > self.STALLED_AFTER_SECONDS:
                return "failed"
        return self.state
