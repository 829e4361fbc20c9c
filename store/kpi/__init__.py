"""The hotline's KPIs, in three modules (import them directly; this package re-exports nothing).

- ``store.kpi.measures``: one SQL expression per counted fact of a ticket or a call.
- ``store.kpi.report``: the KPI definitions and ``compute_kpis`` (the report dataclasses).
- ``store.kpi.rollups``: the daily roll-up tables and their refresh from the dirty days that the
  triggers of migration 0003 mark.
"""
