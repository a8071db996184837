"""Transfers run by a worker rather than inside a request.

- submit:   saving a form: now, queued, or scheduled; cancelling a job.
- worker:   the django-tasks task the worker runs; the only writer of a running job.
- progress: the phase and counts a running transfer reports, and its heartbeat.
- reaper:   ends the jobs whose worker stopped answering.
- state:    reads for the pages (never writes).
- routers:  the "progress" database alias.
- notifications: the e-mail when a scheduled transfer is refused at its time.

Imports go one way: submit > state, worker; reaper > worker > progress >
routers; worker > notifications; state > progress.
"""
