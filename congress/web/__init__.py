"""Server-rendered pages (Jinja + WTForms) for unit staff, the city and every reader."""
from flask import Blueprint

web = Blueprint("web", __name__)

import congress.web.workflows  # noqa: E402,F401  (workflow definitions, for administrators)
from congress.web import auth, campaigns, dashboard, drafts, notices, papers, transfers, units  # noqa: E402,F401  (routes register on import)
