"""The papers domain's messages, added to congress.messages.MESSAGES (English ids, Vietnamese
translations in translations/vi) so that its refusals read like every other one."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

from congress.errors import OperationError
from congress.messages import MESSAGES

PAPER_MESSAGES = {
    "paper_issue_forbidden": _l("Only the unit's own leader or staff (or an admin) may issue its documents."),
    "paper_kind_not_found": _l("There is no document kind \"%(kind)s\"."),
    "paper_kind_not_in_set": _l("\"%(kind)s\" is not a document of this campaign: the document set of "
                                "\"%(workflow)s\" does not have it."),
    "paper_number_taken": _l("Someone issued a document of the same series at the same moment: try again."),
    "congress_not_held": _l("The congress has not been held yet (it is planned for %(planned)s): this document is "
                            "dated the day of the congress or later, so it can be issued from that day on. Until "
                            "then, download it as a draft."),
    "congress_not_planned": _l("The congress date is not planned yet: this document is dated the day of the "
                               "congress, so plan the congress date first (on the unit's page)."),
    "issued_from_congress_day": _l("Issued from the day of the congress (planned for %(planned)s); until then, "
                                   "a draft."),
    "issued_once_congress_planned": _l("Issued from the day of the congress, which is not planned yet."),
    "paper_not_session_day": _l("This document is dated the day of the congress, %(session)s, not %(on)s."),
    "paper_dated_before_congress": _l("The report of the congress's result cannot be dated %(on)s, before the "
                                      "congress (%(session)s)."),
    "signers_forbidden": _l("Only the unit's own leader or staff (or an admin) may name who signs its documents."),
    "template_forbidden": _l("Only an administrator may replace a document template."),
    "template_not_found": _l("This province has no uploaded template for \"%(kind)s\"."),
    "template_not_docx": _l("The file is not a Word document (.docx). Save it as \"Word Document (.docx)\" "
                            "and upload it again."),
    "template_broken": _l("The file is damaged and cannot be read (%(detail)s)."),
    "template_macros": _l("The file contains macros (.docm). Upload a .docx without macros."),
    "template_unknown_placeholders": _l("The template uses unknown placeholders: %(problems)s."),
    "template_missing": _l("Choose a .docx file to upload."),
    "libreoffice_missing": _l("PDF conversion is not available: LibreOffice is not installed on the server. "
                              "Download the .docx instead."),
    "conversion_failed": _l("The PDF could not be made (%(detail)s). Download the .docx instead."),
    "conversion_timeout": _l("Making the PDF took too long. Try again, or download the .docx."),
    "job_not_found": _l("There is no such download."),
    "job_not_ready": _l("The download is not ready yet."),
}
MESSAGES.update(PAPER_MESSAGES)


class Unavailable(OperationError):
    status = 503
    code = "libreoffice_missing"
