"""Imports every model so that SQLAlchemy and Alembic see the whole schema."""
from congress.accounts.models import ApiToken, User
from congress.audit.models import AuditRecord
from congress.drafts.models import ApprovalException, CommentRound, DraftReview, DraftVersion, RoundComment
from congress.idempotency import RequestKey
from congress.notices.models import (
    CalendarFeed,
    NoticeAddress,
    NoticeLedger,
    NoticePreference,
    Notification,
    ReadinessNight,
    ReadinessSnapshot,
)
from congress.papers.models import PaperIssue, PaperJob, PaperNumber, PaperTemplate
from congress.progress.models import Campaign, Preparation, Step, StoredReadiness, WorkflowVersion
from congress.transfers.models import ImportBatch, ImportRow
from congress.units.models import Branch, Province, Unit, UnitOrigin

__all__ = ["ApiToken", "User", "AuditRecord", "PaperIssue", "PaperJob", "PaperNumber", "PaperTemplate",
           "Campaign", "Preparation", "Step", "WorkflowVersion", "Branch", "Province", "Unit", "UnitOrigin",
           "ApprovalException", "CommentRound", "DraftReview", "DraftVersion", "RoundComment"]
__all__ += ["ImportBatch", "ImportRow"]
__all__ += ["CalendarFeed", "NoticeAddress", "NoticeLedger", "NoticePreference", "Notification",
            "ReadinessNight", "ReadinessSnapshot"]
__all__ += ["RequestKey", "StoredReadiness"]
