"""The billing simulator, what-if scenarios, Monte Carlo and backtests. Built in a later issue."""
