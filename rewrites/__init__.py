"""descend.rewrites: patterns (imperative, Python-declared rules, `.rules` files), the
drivers that apply them (greedy to a fixed point, walk once, dialect conversion), and the
pass manager with the generic passes."""

from .conversion import (Conversion, ConversionError, ConversionResult, LegalizationFailure,
                         apply_full_conversion, apply_partial_conversion)
from .conversion_pattern import (CallConversion, ConversionPattern, FunctionSignatureConversion,
                                 OpAdaptor, OperandConversion, TypeConversionPattern,
                                 function_type_conversion_patterns)
from .conversion_rewriter import ConversionRewriter
from .conversion_target import ConversionTarget, Legality
from .reconcile_casts import reconcile_unrealized_casts
from .type_converter import TypeConverter
from .declarative import (Call, Const, OpTree, Rule, RuleError, RuleSet, TypeVar, Var, call, const,
                          native, op, splat, tvar, var, vars_)
from .functions import (BUILDERS, CONSTRAINTS, TYPE_CLASSES, builder_function, constant_value,
                        constraint_function, type_class)
from .greedy import GreedyResult, RewriteNotConverged, apply_greedily
from .pattern import PatternSet, RewritePattern
from .rewriter import PatternRewriter, RewriteListener
from .rule_pattern import DeclarativePattern
from .rules_parser import load_rules, parse_rules
from .walk import WalkResult, apply_once
from .instrument import DumpIR, PassInstrument, PrintAfterAll, PrintIR, Timing
from .pass_manager import OpPassManager, PassFailure, PassManager
from .pass_options import PipelineError, option
from .passes import (ModulePass, Pass, function_pass, lookup_pass, register_pass,
                     registered_passes)
from .pipeline import parse_pipeline
