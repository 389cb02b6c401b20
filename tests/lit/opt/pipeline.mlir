// Only `verify` exists until the pass manager lands; other names are a clear error.
// RUN: %descend opt %s -p verify | filecheck %s
// RUN: %descend opt %s -p 'builtin.module(verify)' | filecheck %s
// RUN: not %descend opt %s -p 'builtin.module(canonicalize)' 2>&1 | filecheck %s --check-prefix=UNKNOWN

// CHECK: func.func @f()
func.func @f() {
  return
}

// UNKNOWN:      descend opt: error: unknown pass 'canonicalize'
// UNKNOWN-NEXT:   available passes: verify
