"""Jobs that run themselves: outbox delivery, the campaign's daily job, the medical books' reminders and the
chain checkpoints, on a schedule (``emhana worker``; ``emhana demo`` runs it beside the server).

``catalogue.py`` names each job, its schedule and what it calls; ``runner.py`` runs one job and records the run
(``models.JobRun``); two schedulers share them: on PostgreSQL ``queue.py`` (procrastinate, its queue in the same
database, periodic tasks and retries), anywhere ``scheduler.py`` (a loop in the process, the kernel clock).
``status.py`` is what the Fund's page reads: each job's last run and failures, and the outbox's backlog.
"""
