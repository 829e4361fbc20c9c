"""Shared test harnesses, imported as ``helpers.<module>`` (``tests`` is on pytest's pythonpath).

pgserver, backendproc and syncrig start throwaway PostgreSQL, city-backend and sync processes;
desk_harness, ticket_host, ticket_fixtures and worklists_harness drive the console under Textual's
Pilot; siprig runs kamailio, sipp and baresip on loopback. Test modules and the benchmarks import
them; they hold no tests themselves.
"""
