"""Data in and out: spreadsheet imports with a preview, spreadsheet exports, full backups."""
