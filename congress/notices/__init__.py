"""Deadlines that speak up: reminders, daily digests, readiness snapshots and calendar feeds.

Jobs (jobs.py) are plain functions of a moment in local time; scheduler.py runs them on cron
triggers with one acting scheduler per database; mail.py sends e-mail; calendar.py writes the
iCalendar feeds; events.py tells the city of a unit's submission and the unit of the city's
verdict, in the transaction that recorded it.
"""
