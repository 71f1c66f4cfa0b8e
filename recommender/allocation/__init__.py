"""Exact allocation of residency seats and funding under capacity and budget (HiGHS MILP).

Shaped encoder -> solver -> result:

- `problem`: `AllocationProblem` (a round's arrays, validated once) and `AllocationWeights`;
- `feasibility`: checks that need no solver (pins, province minimums), conflicts named;
- `model`: the candidate pairs and the MILP's matrices (`Model`, `build_model`);
- `solver`: `Allocator` (`solve`, `what_if`), the only caller of `scipy.optimize.milp`;
- `result`: `AllocationResult`, `AllocationDiff`, `diff_allocations`, and the rounding of
  solver values to whole rial;
- `capacity`: each round program's seats, budget and grant range (`round_capacity`) and
  `WhatIf`, shared with rounds and the committee files.

May import: recommender.errors, recommender.constants, recommender.schemas. Imported by
recommender.rounds and recommender.reports; never imports them.
"""
