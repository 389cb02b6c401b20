/* descend_runtime.h: the C API of a model compiled by descend into a shared library.
 *
 *   descend compile model.onnx -o model.so
 *   cc app.c ./model.so -o app
 *
 * Every function is exported by the library itself (no separate runtime to link).
 * Shapes are static; tensors are dense, row-major, in the dtype the queries give.
 */
#ifndef DESCEND_RUNTIME_H
#define DESCEND_RUNTIME_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* An instance of the model: owns its settings (the thread count). The first field of the
 * object is the int32 thread count; treat it as opaque. */
typedef void descend_model;

/* A new instance (thread count defaults to what the compiler chose, usually 1); NULL if
 * out of memory. Free it with descend_destroy. */
descend_model *descend_create(void);
void descend_destroy(descend_model *model);

/* Run the model: inputs[i] points to input i's data, outputs[i] to a caller-allocated
 * buffer of output i's size. Returns 0 on success. Safe to call from several threads on
 * different instances. */
int32_t descend_run(descend_model *model, const void **inputs, void **outputs);

/* Use n >= 1 threads for parallel loops (n < 1 means 1). They run on worker threads the
 * library starts when first needed and keeps until it is unloaded; one descend_run at a time
 * uses them, concurrent ones run their loops serially (docs/threads.md). */
void descend_set_num_threads(descend_model *model, int32_t n);
int32_t descend_get_num_threads(descend_model *model);

/* Inputs and outputs, in the model's order. Index out of range: NULL, or -1 for ranks. */
int32_t descend_num_inputs(void);
int32_t descend_num_outputs(void);
const char *descend_input_name(int32_t i);       /* NUL-terminated */
int32_t descend_input_rank(int32_t i);
const int64_t *descend_input_shape(int32_t i);   /* rank entries */
const char *descend_input_dtype(int32_t i);      /* numpy's name: "float32", "int64", ... */
const char *descend_output_name(int32_t i);
int32_t descend_output_rank(int32_t i);
const int64_t *descend_output_shape(int32_t i);
const char *descend_output_dtype(int32_t i);

#ifdef __cplusplus
}
#endif

#endif /* DESCEND_RUNTIME_H */
