"""LP/MIP solver backends behind one interface (:mod:`optimizer.solvers.base`)."""
