"""The installed ``commitopt`` console script, run in subprocesses as users and scripts run it."""
