"""The use cases between the engines and the application shell.

- :mod:`planning.recommend`: the recommend pipeline (optimize, round, explain, bill the plan with
  the kernel).
- :mod:`planning.review`: the purchase review (recommend on the lookback, expiring commitments,
  forecast, Monte Carlo, frontier); the shell stores and renders it.
- :mod:`planning.policies`: every purchase policy that backtests compare (ours,
  Cost-Explorer-like, knee, none, hindsight) and the standard line-up.
"""
