"""The use cases between the engines and the application shell.

The recommend pipeline (optimize, round, explain, bill the plan with the kernel), the review,
and the purchase policies (ours, Cost-Explorer-like, knee, none, hindsight) that backtests
compare.
"""
