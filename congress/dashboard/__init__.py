"""The city's dashboard: the units × steps matrix, the lists beside it and the charts' series.

Everything here works on rows already read by congress.progress.queries, so the dashboard's
number of SQL queries does not depend on how many units the province has.
"""
