"""Usage histories into the canonical hourly usage table (CUR, CUR 2.0, FOCUS, Cost Explorer, CSV).

Built in a later issue; depends only on :mod:`pricing`.
"""
