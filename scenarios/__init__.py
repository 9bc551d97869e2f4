"""What-if transforms, forecasts, Monte Carlo and backtests, on top of the billing kernel."""
