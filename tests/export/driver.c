/* A C program calling an exported graphc library, as a user's program would: it reads the inputs'
 * bytes from a file, calls the export and prints every output's numbers, one output a line
 * (float32 with 9 significant digits and float64 with 17: both round-trip exactly).
 *
 * Built by tests/export/_cdriver.py with -DEXPORT=name, -DHEADER='"libname.h"' and
 * -DCALL(in,out,ws)=name(in[0], ..., out[0], ..., ws), against the header's tables.
 *
 *   driver once INPUTS         one call, the call allocating its workspace (NULL)
 *   driver workspace INPUTS    one call with a caller-owned workspace of NAME_workspace_bytes()
 *   driver threads INPUTS N    two threads calling N times each at once with NULL workspaces;
 *                              prints the first result and "mismatches K" (calls that differed)
 *   driver limit INPUTS MB     address space limited to MB megabytes; prints "status S"
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include HEADER

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define N_IN CAT(EXPORT, _NUM_INPUTS)
#define N_OUT CAT(EXPORT, _NUM_OUTPUTS)
#define INPUTS CAT(EXPORT, _inputs)
#define OUTPUTS CAT(EXPORT, _outputs)
#define WORKSPACE_BYTES CAT(EXPORT, _workspace_bytes)

static void *in[N_IN];

static void **new_outputs(void) {
  void **out = calloc(N_OUT, sizeof(void *));
  for (int j = 0; j < N_OUT; j++) out[j] = malloc(OUTPUTS[j].bytes + 1);
  return out;
}

static void print_outputs(void **out) {
  for (int j = 0; j < N_OUT; j++) {
    for (int64_t k = 0; k < OUTPUTS[j].size; k++) {
      const char *sep = k ? " " : "";
      switch (OUTPUTS[j].dtype) {
        case GRAPHC_FLOAT32: printf("%s%.9g", sep, ((float *)out[j])[k]); break;
        case GRAPHC_FLOAT64: printf("%s%.17g", sep, ((double *)out[j])[k]); break;
        case GRAPHC_INT32: printf("%s%d", sep, ((int32_t *)out[j])[k]); break;
        case GRAPHC_INT64: printf("%s%lld", sep, (long long)((int64_t *)out[j])[k]); break;
        default: printf("%s%d", sep, ((uint8_t *)out[j])[k]);
      }
    }
    printf("\n");
  }
}

static int same(void **a, void **b) {
  for (int j = 0; j < N_OUT; j++)
    if (memcmp(a[j], b[j], OUTPUTS[j].bytes)) return 0;
  return 1;
}

struct job { void **first; int calls, mismatches; };

static void *repeat(void *arg) {
  struct job *job = arg;
  void **out = new_outputs();
  for (int i = 0; i < job->calls; i++) {
    if (CALL(in, out, NULL) || !same(out, job->first)) job->mismatches++;
  }
  return NULL;
}

int main(int argc, char **argv) {
  if (argc < 3) return 2;
  FILE *f = fopen(argv[2], "rb");
  if (!f) return 2;
  for (int i = 0; i < N_IN; i++) {
    in[i] = malloc(INPUTS[i].bytes + 1);
    if (fread(in[i], 1, INPUTS[i].bytes, f) != INPUTS[i].bytes) return 2;
  }
  fclose(f);
  void **out = new_outputs();
  int status;
  if (!strcmp(argv[1], "limit")) {
    struct rlimit lim = {(rlim_t)atol(argv[3]) << 20, (rlim_t)atol(argv[3]) << 20};
    setrlimit(RLIMIT_AS, &lim);
    printf("status %d\n", CALL(in, out, NULL));
    return 0;
  }
  if (!strcmp(argv[1], "workspace")) {
    void *ws = NULL;
    if (WORKSPACE_BYTES() && posix_memalign(&ws, 64, WORKSPACE_BYTES())) return 2;
    status = CALL(in, out, ws);
  } else {
    status = CALL(in, out, NULL);
  }
  if (status) {
    printf("status %d\n", status);
    return 1;
  }
  print_outputs(out);
  if (!strcmp(argv[1], "threads")) {
    struct job jobs[2] = {{out, atoi(argv[3]), 0}, {out, atoi(argv[3]), 0}};
    pthread_t tids[2];
    for (int t = 0; t < 2; t++) pthread_create(&tids[t], NULL, repeat, &jobs[t]);
    for (int t = 0; t < 2; t++) pthread_join(tids[t], NULL);
    printf("mismatches %d\n", jobs[0].mismatches + jobs[1].mismatches);
  }
  return 0;
}
