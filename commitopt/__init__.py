"""commitopt: commitment optimization for cloud FinOps (the application shell: CLI and reports)."""

__version__ = "0.1.0"
