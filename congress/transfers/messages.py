"""The transfers' messages, added to congress.messages.MESSAGES (English ids, Vietnamese
translations in translations/vi) so that a refused file or row reads like every other refusal."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

from congress.messages import MESSAGES, _n

TRANSFER_MESSAGES = {
    "import_forbidden": _l("Your role does not allow importing this kind of list."),
    "import_unknown_kind": _l("Unknown kind of import \"%(kind)s\"."),
    "import_missing_file": _l("Choose a file (.xlsx or .csv) to upload."),
    "import_empty_file": _l("The file is empty."),
    "import_too_large": _l("The file is too large: at most %(limit)s MB."),
    "import_not_spreadsheet": _l("The file is not a spreadsheet: upload an Excel workbook (.xlsx) or a CSV "
                                 "file."),
    "import_old_excel": _l("This is an old Excel file (.xls). Open it in Excel and save it as \"Excel "
                           "Workbook (.xlsx)\", then upload it again."),
    "import_csv_encoding": _l("The CSV file is not in UTF-8. In Excel choose \"CSV UTF-8 (Comma "
                              "delimited)\" when saving."),
    "import_bad_csv": _l("The CSV file cannot be read at line %(line)s (%(detail)s)."),
    "import_missing_columns": _l("The columns do not match the template: the heading row must have %(columns)s. "
                                 "Download the template and copy the data into it."),
    "import_duplicate_columns": _l("These columns appear twice: %(columns)s."),
    "import_too_many_rows": _l("The file has more than %(limit)s rows: split it into smaller files."),
    "import_no_rows": _l("The file has no data rows under its heading row."),
    "import_failed": _l("The file could not be read. Check that it is the template's layout and try again."),
    "import_not_found": _l("There is no such import."),
    "import_not_ready": _l("The import is not ready to confirm."),
    "import_already_applied": _l("This import has already been applied."),
    "import_being_applied": _l("This import is already being applied: its page shows when it is done."),
    "import_apply_failed": _l("The import could not be applied because of an error on the server. Nothing was "
                              "changed: confirm it again, or tell the administrator if it happens again."),
    "import_worker_stopped": _l("The work on this file stopped (the server was restarted). Nothing was "
                                "changed: upload the file again."),
    "import_apply_stopped": _l("Applying the import stopped (the server was restarted). Nothing was "
                               "changed: confirm it again."),
    "import_has_errors": _n("%(count)s row has errors: correct the file and upload it again. Nothing was "
                            "changed.", "%(count)s rows have errors: correct the file and upload it again. "
                            "Nothing was changed."),
    "import_stale": _l("The data changed after the preview (row %(row)s, %(target)s): upload the file again "
                       "to see a new preview. Nothing was changed."),
    "import_row_refused": _l("Row %(row)s cannot be applied: %(reason)s Nothing was changed."),
    "import_formula": _l("The column \"%(column)s\" holds a formula (%(value)s): type the value instead."),
    "import_bad_date": _l("The column \"%(column)s\" is not a date: \"%(value)s\" (use dd/mm/yyyy)."),
    "import_bad_number": _l("The column \"%(column)s\" is not a whole number: \"%(value)s\"."),
    "import_text_too_long": _l("The column \"%(column)s\" is longer than %(limit)s characters."),
    "import_not_nfc": _l("The column \"%(column)s\" was not in Unicode NFC: it was normalised."),
    "import_control_characters": _l("Invisible control characters were removed from the column \"%(column)s\"."),
    "import_bad_unit_code": _l("\"%(value)s\" is not a five-digit unit code."),
    "import_unknown_unit": _l("Unknown unit code \"%(code)s\"."),
    "import_unit_out_of_scope": _l("You may not import for the unit %(code)s."),
    "import_duplicate_row": _l("%(key)s appears more than once in the file."),
    "import_unknown_value": _l("Unknown value \"%(value)s\" in the column \"%(column)s\"."),
    "import_new_unit_needs": _l("A new unit needs the field \"%(field)s\"."),
    "import_unit_moves": _l("The unit %(code)s belongs to another province: an import does not move units."),
    "import_branch_other_unit": _l("The branch %(code)s belongs to another unit than %(unit)s."),
    "import_unknown_step": _l("Unknown step \"%(step)s\"."),
    "import_state_backwards": _l("The step is \"%(current)s\": an import does not take it back to "
                                 "\"%(target)s\" (reopen it on the unit's page)."),
    "import_dates_kept": _l("The step is already in this state; its dates are kept as they are."),
    "import_reopens_completed_step": _l("Importing this reopens “%(step)s” of %(unit_name)s, completed on "
                                        "%(completed_on)s."),
    "import_redates_completed_step": _l("Importing this moves the completion of “%(step)s” of %(unit_name)s from "
                                        "%(completed_on)s to %(new_on)s."),
    "import_completed_changes_unconfirmed": _n(
        "This import reopens or re-dates %(count)s completed step, named in the preview: tick the box that "
        "accepts it to confirm. Nothing was changed.",
        "This import reopens or re-dates %(count)s completed steps, named in the preview: tick the box that "
        "accepts it to confirm. Nothing was changed."),
    "import_completed_changes_differ": _l("The completed steps this import reopens or re-dates are no longer those "
                                          "of the preview (%(count)s now, %(foreseen)s then): upload the file again "
                                          "to see a new preview. Nothing was changed."),
    "backup_invalid": _l("The file is not a backup archive of this application (%(detail)s)."),
    "backup_checksum": _l("The backup archive is damaged: %(member)s does not match its checksum. Nothing "
                          "was restored."),
    "backup_revision": _l("The backup was made at schema revision %(archive)s but the database is at "
                          "%(database)s: migrate the database to the same revision first."),
    "backup_unknown_tables": _l("The backup holds tables this database does not have: %(tables)s."),
    "backup_not_empty": _l("The database is not empty (%(tables)s): a backup is restored only into an empty, "
                           "migrated database."),
    "backup_no_files_folder": _l("The backup holds uploaded files but FILES_FOLDER is not configured."),
    "backup_not_zip": _l("The file is not a ZIP archive, or it is truncated: it is not a backup made by "
                         "export --all."),
    "backup_no_manifest": _l("The archive has no manifest.json: it is not a backup made by export --all."),
    "backup_manifest_invalid": _l("The archive's manifest.json is not valid (%(detail)s): it is not a backup "
                                  "made by export --all. Nothing was restored."),
    "backup_damaged": _l("The backup archive is damaged: %(member)s cannot be read (%(detail)s). Nothing "
                         "was restored."),
    "backup_unsafe_path": _l("The backup archive names a file outside its folder (%(path)s). Nothing was "
                             "restored."),
    "backup_duplicate_member": _l("The backup archive holds %(member)s twice. Nothing was restored."),
    "backup_unlisted_member": _l("The backup archive holds %(member)s, which its manifest does not list. "
                                 "Nothing was restored."),
    "backup_missing_member": _l("The backup archive lacks %(member)s, which its manifest lists. Nothing was "
                                "restored."),
    "backup_line_too_long": _l("Line %(line)s of the table %(table)s is longer than %(limit)s MB. Nothing was "
                               "restored."),
    "backup_line_not_json": _l("Line %(line)s of the table %(table)s is not a JSON object. Nothing was "
                               "restored."),
    "backup_unknown_columns": _l("Line %(line)s of the table %(table)s has columns the table does not have: "
                                 "%(columns)s. Nothing was restored."),
    "backup_missing_columns": _l("Line %(line)s of the table %(table)s lacks the columns %(columns)s. Nothing "
                                 "was restored."),
    "backup_bad_value": _l("Line %(line)s of the table %(table)s: the column %(column)s does not hold a value "
                           "of its type (%(type)s). Nothing was restored."),
    "backup_empty_value": _l("Line %(line)s of the table %(table)s: the column %(column)s may not be empty. "
                             "Nothing was restored."),
    "backup_rows_refused": _l("The database refused lines %(first)s to %(last)s of the table %(table)s "
                              "(%(detail)s). Nothing was restored."),
    "backup_row_count": _l("The table %(table)s holds %(found)s rows but the manifest says %(expected)s. "
                           "Nothing was restored."),
    "backup_file_exists": _l("FILES_FOLDER already holds %(path)s with other content: move it away first. "
                             "Nothing was restored."),
    "backup_files_unwritable": _l("The uploaded files cannot be written to FILES_FOLDER (%(detail)s). Nothing "
                                  "was restored."),
    "backup_signature_wrong": _l("The backup archive's signature does not match: it was signed with another "
                                 "key or altered. Nothing was restored."),
    "backup_unsigned": _l("The backup archive is not signed: restore it with --unsigned only if you know "
                          "where it comes from. Nothing was restored."),
    "backup_cannot_verify": _l("The backup archive is signed but CONGRESS_BACKUP_KEY is not set, so its "
                               "signature cannot be checked: set it to the key the backup was made with (or "
                               "restore with --unsigned). Nothing was restored."),
    "backup_key_missing": _l("CONGRESS_BACKUP_KEY is not set: in production every backup archive is signed "
                             "with it. Set it to 64 random hex characters (python -c 'import secrets; "
                             "print(secrets.token_hex(32))') and keep it safe, apart from the backups."),
}
MESSAGES.update(TRANSFER_MESSAGES)
