"""The notices' messages, added to congress.messages.MESSAGES (English ids, Vietnamese
translations in translations/vi) so that their refusals read like every other one."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

from congress.messages import MESSAGES

NOTICE_MESSAGES = {
    "notification_not_found": _l("There is no notification %(id)s for you."),
    "invalid_email": _l("“%(value)s” is not an e-mail address (write it like name@example.vn)."),
    "calendar_not_found": _l("There is no such calendar address."),
    "unknown_calendar_scope": _l("A calendar is for you (\"user\") or for your unit (\"unit\")."),
}
MESSAGES.update(NOTICE_MESSAGES)
