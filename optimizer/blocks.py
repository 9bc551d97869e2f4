"""A small labelled block builder for linear programs over scipy sparse arrays.

A model is built from named **variable blocks** (contiguous columns with bounds and costs) and
named **constraint families** (contiguous rows with bounds). A family's coefficients are given
as pieces over blocks, each piece a vectorised triplet ``(row, column, value)`` with ``row`` in
the family's own index and ``column`` in the block's own index; the builder keeps the offsets,
so no caller computes a column or row number by hand. A family may be declared over a larger
index (e.g. every (period, pool) pair) with a ``mask`` of the rows that exist: entries on
masked rows are dropped and :attr:`ConstraintBlock.row_of` maps the index to the model's rows.

>>> builder = ModelBuilder()
>>> x = builder.add_variables("x", 2, cost=[1.0, 2.0])
>>> cap = builder.add_constraints("cap", [x.terms([0, 0], [0, 1], [1.0, 1.0])], lower=1.0)
>>> program = builder.to_program()
>>> program.matrix.toarray().tolist(), program.row_lower.tolist()
([[1.0, 1.0]], [1.0])

The equations each family stands for are written in docs/optimizer.md.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from optimizer.solvers.base import LinearProgram

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]
Names = Callable[[], Sequence[str]]
"""Names of a block's columns or a family's rows, computed only when the model is named."""


@dataclass(frozen=True)
class Terms:
    """Coefficients of one constraint family on one variable block, as triplets.

    Attributes
    ----------
    block
        The variable block.
    row, column, value
        Row in the family's index, column in the block (``0 … block.size − 1``), coefficient.
    """

    block: VariableBlock
    row: IntArray
    column: IntArray
    value: FloatArray


@dataclass(frozen=True)
class VariableBlock:
    """A named block of contiguous columns.

    Attributes
    ----------
    name
        The block's name (``"x"``, ``"y"``, ``"cvar_eta"``, …).
    start
        Index of its first column in the model.
    size
        Number of columns.
    """

    name: str
    start: int
    size: int

    @property
    def columns(self) -> IntArray:
        """Model column of every variable of the block."""
        return np.arange(self.start, self.start + self.size, dtype=np.intp)

    @property
    def stop(self) -> int:
        """One past the block's last column."""
        return self.start + self.size

    def values(self, x: FloatArray) -> FloatArray:
        """The block's part of a solution vector ``x``."""
        return np.asarray(x[self.start : self.stop], dtype=np.float64)

    def terms(self, row: Any, column: Any, value: Any) -> Terms:
        """Coefficients ``value`` at (family row ``row``, block column ``column``)."""
        row_array = np.asarray(row, dtype=np.intp).reshape(-1)
        column_array = np.asarray(column, dtype=np.intp).reshape(-1)
        value_array = np.broadcast_to(np.asarray(value, dtype=np.float64), row_array.shape)
        return Terms(self, row_array, column_array, value_array)

    def matrix_terms(self, matrix: Any) -> Terms:
        """Coefficients from a family-rows × block-columns (sparse or dense) matrix."""
        coo = sp.coo_array(matrix)
        return self.terms(coo.row, coo.col, coo.data)

    def diagonal(self, value: Any = 1.0) -> Terms:
        """``value`` on row ``k``, column ``k`` of the block, for every ``k``."""
        index = np.arange(self.size)
        return self.terms(index, index, value)


@dataclass(frozen=True)
class ConstraintBlock:
    """A named family of contiguous rows.

    Attributes
    ----------
    name
        The family's name (``"cap"``, ``"demand"``, ``"scenario_cost"``, …).
    start
        Index of its first row in the model.
    index
        Position in the family's declared index of every row it kept (its mask's ``True``).
    row_of
        Model row of every position of the declared index, −1 where masked out.
    """

    name: str
    start: int
    index: IntArray
    row_of: IntArray

    @property
    def size(self) -> int:
        """Number of rows."""
        return int(self.index.shape[0])

    @property
    def rows(self) -> IntArray:
        """Model row of every row of the family."""
        return np.arange(self.start, self.start + self.size, dtype=np.intp)

    @property
    def stop(self) -> int:
        """One past the family's last row."""
        return self.start + self.size


class ModelBuilder:
    """Collects variable blocks and constraint families; :meth:`to_program` assembles them."""

    def __init__(self) -> None:
        self._blocks: list[VariableBlock] = []
        self._families: list[ConstraintBlock] = []
        self._cost: list[FloatArray] = []
        self._col_lower: list[FloatArray] = []
        self._col_upper: list[FloatArray] = []
        self._integer: list[npt.NDArray[np.int8]] = []
        self._column_names: list[Names | None] = []
        self._row_names: list[Names | None] = []
        self._row_lower: list[FloatArray] = []
        self._row_upper: list[FloatArray] = []
        self._row: list[IntArray] = []
        self._column: list[IntArray] = []
        self._value: list[FloatArray] = []
        self.n_columns = 0
        self.n_rows = 0

    def block(self, name: str) -> VariableBlock:
        """The variable block called ``name``."""
        return next(block for block in self._blocks if block.name == name)

    def family(self, name: str) -> ConstraintBlock:
        """The constraint family called ``name``."""
        return next(family for family in self._families if family.name == name)

    def add_variables(
        self,
        name: str,
        size: int,
        *,
        lower: Any = 0.0,
        upper: Any = np.inf,
        cost: Any = 0.0,
        integer: bool = False,
        names: Names | None = None,
    ) -> VariableBlock:
        """Append a block of ``size`` columns with these bounds and objective coefficients.

        ``lower``, ``upper`` and ``cost`` are scalars or arrays of length ``size``.
        """
        block = VariableBlock(name, self.n_columns, int(size))
        self._blocks.append(block)
        self._cost.append(_full(cost, block.size))
        self._col_lower.append(_full(lower, block.size))
        self._col_upper.append(_full(upper, block.size))
        self._integer.append(np.full(block.size, int(integer), dtype=np.int8))
        self._column_names.append(names)
        self.n_columns += block.size
        return block

    def add_constraints(
        self,
        name: str,
        terms: Sequence[Terms],
        *,
        size: int | None = None,
        lower: Any = -np.inf,
        upper: Any = np.inf,
        mask: npt.NDArray[np.bool_] | None = None,
        names: Names | None = None,
    ) -> ConstraintBlock:
        """Append a family of rows ``lower ≤ Σ terms ≤ upper``.

        Parameters
        ----------
        name
            The family's name.
        terms
            Coefficient pieces over variable blocks (rows in the declared index).
        size
            Length of the declared index (default: that of ``mask``, else of ``lower`` or
            ``upper`` when an array).
        lower, upper
            Row bounds over the declared index (scalars or arrays).
        mask
            Rows of the declared index that exist (default: all); entries on others are dropped.
        names
            Names of the kept rows, for a named model.
        """
        size = _family_size(size, mask, lower, upper)
        keep = np.ones(size, dtype=bool) if mask is None else np.asarray(mask, dtype=bool)
        index = np.flatnonzero(keep).astype(np.intp)
        row_of = np.full(size, -1, dtype=np.intp)
        row_of[index] = self.n_rows + np.arange(index.shape[0])
        family = ConstraintBlock(name, self.n_rows, index, row_of)
        for piece in terms:
            row = row_of[piece.row]
            on = row >= 0
            self._row.append(row[on])
            self._column.append(piece.block.start + piece.column[on])
            self._value.append(np.asarray(piece.value[on], dtype=np.float64))
        self._row_lower.append(_full(lower, size)[index])
        self._row_upper.append(_full(upper, size)[index])
        self._row_names.append(names)
        self._families.append(family)
        self.n_rows += family.size
        return family

    def rows(self, terms: Sequence[Terms], n_rows: int) -> sp.csr_array:
        """Rows over every column of the model from ``terms``, not added to it (cuts).

        Entries at one position add up.
        """
        if not terms:
            return sp.csr_array((n_rows, self.n_columns))
        row = np.concatenate([piece.row for piece in terms])
        column = np.concatenate([piece.block.start + piece.column for piece in terms])
        value = np.concatenate([piece.value for piece in terms])
        return sp.csr_array((value, (row, column)), shape=(n_rows, self.n_columns))

    def to_program(self, *, offset: float = 0.0, named: bool = False) -> LinearProgram:
        """The :class:`~optimizer.solvers.base.LinearProgram` the solver backends take.

        Parameters
        ----------
        offset
            Constant of the objective.
        named
            Name every column and row (each block and family must then have ``names``).
        """
        integrality = _concatenate(self._integer, np.int8)
        column_names = row_names = None
        if named:
            column_names = _names(self._column_names, self._blocks)
            row_names = _names(self._row_names, self._families)
        return LinearProgram(
            objective=_concatenate(self._cost, np.float64),
            matrix=self.matrix(),
            row_lower=_concatenate(self._row_lower, np.float64),
            row_upper=_concatenate(self._row_upper, np.float64),
            col_lower=_concatenate(self._col_lower, np.float64),
            col_upper=_concatenate(self._col_upper, np.float64),
            offset=float(offset),
            integrality=integrality if integrality.any() else None,
            column_names=column_names,
            row_names=row_names,
        )

    def matrix(self) -> sp.csc_array:
        """The constraint matrix, CSC, zeros dropped and duplicate entries summed.

        Built without a COO round trip: a stable sort by column keeps each column's rows in
        the order they were added (increasing, family by family, when each piece lists a
        column's rows in increasing order); otherwise the array is put in canonical form.
        """
        shape = (self.n_rows, self.n_columns)
        row = _concatenate(self._row, np.intp)
        column = _concatenate(self._column, np.intp)
        value = _concatenate(self._value, np.float64)
        nonzero = value != 0
        row, column, value = row[nonzero], column[nonzero], value[nonzero]
        order = np.argsort(column, kind="stable")
        indptr = np.zeros(shape[1] + 1, dtype=np.intp)
        np.cumsum(np.bincount(column, minlength=shape[1]), out=indptr[1:])
        matrix = sp.csc_array((value[order], row[order], indptr), shape=shape)
        if not matrix.has_canonical_format:
            matrix.sum_duplicates()
        return matrix


def _full(value: Any, size: int) -> FloatArray:
    array = np.asarray(value, dtype=np.float64)
    if array.ndim == 0:
        return np.full(size, float(array))
    if array.shape != (size,):
        raise ValueError(f"expected {size} values, got an array of shape {array.shape}")
    return array


def _family_size(size: int | None, mask: Any, lower: Any, upper: Any) -> int:
    if size is not None:
        return int(size)
    for candidate in (mask, lower, upper):
        if candidate is not None and np.ndim(candidate) == 1:
            return int(np.shape(candidate)[0])
    raise ValueError("a constraint family needs its size, a mask or array bounds")


def _concatenate(parts: list[Any], dtype: type) -> Any:
    if not parts:
        return np.zeros(0, dtype=dtype)
    return np.concatenate(parts).astype(dtype, copy=False)


def _names(
    makers: list[Names | None], owners: Sequence[VariableBlock | ConstraintBlock]
) -> tuple[str, ...]:
    names: list[str] = []
    for maker, owner in zip(makers, owners, strict=True):
        if maker is None:
            raise ValueError(f"block {owner.name!r} has no names; give it names= to name the model")
        made = list(maker())
        if len(made) != owner.size:
            raise ValueError(f"block {owner.name!r} got {len(made)} names for {owner.size} entries")
        names.extend(made)
    return tuple(names)


__all__ = ["ConstraintBlock", "ModelBuilder", "Names", "Terms", "VariableBlock"]
