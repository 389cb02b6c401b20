"""descend.ir: the generic IR (types, attributes, values, ops, blocks, regions), op
declarations, diagnostics, the verifier and the printer. Knows nothing of any dialect."""

from .affine import AffineBinary, AffineConstant, AffineDim, AffineExpr, AffineMap, AffineSymbol, IntegerSet
from .assembly_format import CustomDirective, EnumSyntax, FormatError, SymbolNameSyntax
from .attributes import (AffineMapAttr, ArrayAttr, Attribute, BoolAttr, DictionaryAttr, DistinctAttr,
                         FloatAttr, IntegerAttr, IntegerSetAttr, OpaqueAttr, ParametrizedAttr,
                         StringAttr, SymbolRefAttr, TypeAttr, UnitAttr)
from .block import Block, Region
from .builder import Builder, InsertionPoint
from .constraints import (ANY, AnyAttr, AnyType, BoolLike, Constraint, FloatLike, IntegerOrIndexLike,
                          Predicate, SignlessIntegerLike, constraint)
from .dense import DenseArrayAttr, DenseElementsAttr, DenseResourceAttr, ResourceBlob, numpy_dtype
from .diagnostics import Diagnostic, DiagnosticError, register_source
from .dialect import Context, Dialect
from .location import (CallSiteLoc, FileLineColLoc, FusedLoc, Location, NameLoc, OpaqueLoc,
                       UNKNOWN, UnknownLoc)
from .operation import Operation
from .opdef import (attribute, define_op, op_def, opt_attribute, opt_operand, opt_result, operand,
                    region, result, successor, var_operand, var_region, var_result, var_successor,
                    verify_declaration)
from .printer import Printer, print_ir
from .symbols import SymbolTable, lookup_symbol, symbol_name
from .traits import (AttrSizedOperandSegments, Commutative, ConstantLike, GraphRegions, HasParent,
                     Idempotent, Involution, IsolatedFromAbove, IsTerminator, NoTerminator, Pure,
                     ReturnLike, SameOperandsAndResultShape, SameOperandsAndResultType,
                     SameTypeOperands, SingleBlock, Symbol, SymbolTable as SymbolTableTrait, Trait)
from .types import (DYNAMIC, ComplexType, FloatType, FunctionType, IndexType, IntegerType, MemRefType,
                    NoneType, OpaqueType, ParametrizedType, ShapedType, TensorType, TupleType, Type,
                    UnrankedMemRefType, UnrankedTensorType, VectorType, bf16, f16, f32, f64, i1, i8,
                    i16, i32, i64, index, none)
from .value import BlockArgument, OpResult, Use, Value
from .verifier import verify
