"""Imports every model so that SQLAlchemy and Alembic see the whole schema."""
from congress.accounts.models import ApiToken, User
from congress.audit.models import AuditRecord
from congress.progress.models import Campaign, Preparation, Step, WorkflowVersion
from congress.units.models import Branch, Province, Unit, UnitOrigin

__all__ = ["ApiToken", "User", "AuditRecord", "Campaign", "Preparation", "Step", "WorkflowVersion",
           "Branch", "Province", "Unit", "UnitOrigin"]
