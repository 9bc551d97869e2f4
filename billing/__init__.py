"""The billing kernel: AWS's application order of commitments, hour by hour.

Pools of Reserved Instances and Savings Plans applied to usage in AWS's order (RIs, then EC2
Instance Savings Plans, then Compute Savings Plans; within a pool, the highest discount first),
the portfolio of instruments they are made of, the simulator that bills a portfolio, the ledger
of who covered what, and the check against a real AWS bill. Every savings figure a user sees is
computed here; the optimizer's allocation and explanations and the scenarios call it.
"""
