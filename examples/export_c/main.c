/* Trains model.py's logistic regression in C with the value and gradient graphc exported
 * (liblogreg.h: see README.md here); prints what `python model.py` prints. */
#include <stdio.h>

#include "liblogreg.h"

#define N 64
#define D 3
#define STEPS 50
#define LR 0.5f

/* the header's shapes are the ones this program was written for */
_Static_assert(logreg_IN2_SIZE == N * D && logreg_OUT1_SIZE == D, "exported for other shapes");

int main(void) {
  static float x[N][D], y[N];
  float w[D] = {0}, b = 0, value, gw[D], gb;
  for (int i = 0; i < N; i++) {
    for (int j = 0; j < D; j++) x[i][j] = (float)((i * 7 + j * 3) % 11) / 10.0f - 0.5f;
    y[i] = x[i][0] + 0.5f * x[i][1] - x[i][2] > 0;
  }
  for (int s = 0; s < STEPS; s++) {
    if (logreg(w, &b, &x[0][0], y, &value, gw, &gb, NULL)) {
      fprintf(stderr, "out of memory\n");
      return 1;
    }
    if (s % 10 == 0) printf("step %d loss %.9g\n", s, value);
    for (int j = 0; j < D; j++) w[j] -= LR * gw[j];
    b -= LR * gb;
  }
  printf("w %.9g %.9g %.9g b %.9g\n", w[0], w[1], w[2], b);
  return 0;
}
