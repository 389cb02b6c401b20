/* Run a model compiled by descend from C: no Python, no descend installed.
 *
 *   descend compile examples/small_cnn.onnx -o model.so
 *   cc -I runtime examples/deploy/run_model.c ./model.so -o run_model
 *   ./run_model
 *
 * Every input is filled with 0.5 (float32 models); prints each output's first values. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "descend_runtime.h"

static int64_t element_count(int32_t rank, const int64_t *shape) {
    int64_t n = 1;
    for (int32_t d = 0; d < rank; d++) n *= shape[d];
    return n;
}

int main(void) {
    int32_t n_in = descend_num_inputs(), n_out = descend_num_outputs();
    const void **inputs = calloc(n_in, sizeof *inputs);
    void **outputs = calloc(n_out, sizeof *outputs);
    for (int32_t i = 0; i < n_in; i++) {
        if (strcmp(descend_input_dtype(i), "float32") != 0) {
            fprintf(stderr, "input %s is %s: this example fills float32 inputs only\n",
                    descend_input_name(i), descend_input_dtype(i));
            return 1;
        }
        int64_t n = element_count(descend_input_rank(i), descend_input_shape(i));
        float *data = malloc(n * sizeof *data);
        for (int64_t k = 0; k < n; k++) data[k] = 0.5f;
        inputs[i] = data;
        printf("input %s: %lld elements\n", descend_input_name(i), (long long)n);
    }
    for (int32_t i = 0; i < n_out; i++)
        outputs[i] = malloc(element_count(descend_output_rank(i), descend_output_shape(i)) * sizeof(float));

    descend_model *model = descend_create();
    descend_set_num_threads(model, 2);
    if (descend_run(model, inputs, outputs) != 0) {
        fprintf(stderr, "descend_run failed\n");
        return 1;
    }
    for (int32_t i = 0; i < n_out; i++) {
        const float *y = outputs[i];
        int64_t n = element_count(descend_output_rank(i), descend_output_shape(i));
        printf("output %s:", descend_output_name(i));
        for (int64_t k = 0; k < n && k < 5; k++) printf(" %.6f", y[k]);
        printf("%s\n", n > 5 ? " ..." : "");
    }
    descend_destroy(model);
    for (int32_t i = 0; i < n_in; i++) free((void *)inputs[i]);
    for (int32_t i = 0; i < n_out; i++) free(outputs[i]);
    free(inputs);
    free(outputs);
    return 0;
}
