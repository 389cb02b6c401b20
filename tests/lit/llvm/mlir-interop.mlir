// MLIR's own tools read descend's generic llvm dialect.
// REQUIRES: mlir-opt
// RUN: %descend opt --print-op-generic %s | mlir-translate --mlir-to-llvmir | filecheck %s

// CHECK: @w = internal constant [2 x float] [float 1.000000e+00, float 2.000000e+00]
llvm.mlir.global internal constant @w(dense<[1.0, 2.0]> : tensor<2xf32>) : !llvm.array<2 x f32>
// CHECK-LABEL: define float @f(ptr %0, i64 %1)
llvm.func @f(%p: !llvm.ptr, %i: i64) -> f32 {
  // CHECK: getelementptr inbounds float, ptr %0, i64 %1
  %q = llvm.getelementptr inbounds %p[%i] : (!llvm.ptr, i64) -> !llvm.ptr, f32
  %v = llvm.load %q : !llvm.ptr -> f32
  // CHECK: call float @llvm.fma.f32
  %r = llvm.intr.fma(%v, %v, %v) : (f32, f32, f32) -> f32
  llvm.return %r : f32
}
