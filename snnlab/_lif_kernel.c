/* The fused LIF time loop of snnlab/functional.py (_LIFSequence), in C.
 *
 * Same equations, same float32 operations in the same order as the PyTorch path (PyTorch's
 * add-with-alpha is one fused multiply-add, hence fmaf below; everything else is rounded op by
 * op, hence -ffp-contract=off), so both paths give bit-identical results. What C saves is the
 * per-step Python dispatch (3 PyTorch ops per step forward) and the memory passes of the
 * backward (the surrogate derivative, the product with dL/ds and the recursion are one pass).
 *
 * Layout: a step is n contiguous floats; step t of an input starts at t * stride (stride 0: the
 * same input every step). One thread: the loops are memory-bound, and a second thread measured
 * no faster on the project's 2-core machine. Built and loaded by snnlab/_native.py.
 */
#include <math.h>
#include <stdint.h>

enum { RESET_SUBTRACT = 0, RESET_ZERO = 1, RESET_NONE = 2 };
enum { FAST_SIGMOID = 0, ATAN = 1, TRIANGLE = 2, RECTANGLE = 3 };

/* Forward, eqs. (1)-(3). v holds the state before step 0 and is left holding the last one. */
void lif_forward(const float *restrict cur, int64_t cur_stride, float *restrict u,
                 float *restrict s, float *restrict v, int64_t T, int64_t n, float beta, float theta,
                 int32_t reset) {
    for (int64_t t = 0; t < T; ++t) {
        const float *restrict i_t = cur + t * cur_stride;
        float *restrict u_t = u + t * n;
        float *restrict s_t = s + t * n;
        for (int64_t j = 0; j < n; ++j) {
            float ut = fmaf(v[j], beta, i_t[j]);           /* (1) u = I + beta v      */
            float st = ut > theta ? 1.0f : 0.0f;            /* (2) s = H(u - theta)   */
            u_t[j] = ut;
            s_t[j] = st;
            if (reset == RESET_SUBTRACT)
                v[j] = fmaf(st, -theta, ut);                /* (3a) v = u - theta s   */
            else if (reset == RESET_ZERO)
                v[j] = st != 0.0f ? 0.0f : ut;              /* (3b) v = u (1 - s)     */
            else
                v[j] = ut;
        }
    }
}

/* sigma'(x), op by op as the derivative_ methods of snnlab/surrogate.py compute it. */
static inline float fast_sigmoid(float x, float k, float unused) { /* 1 / (k|x| + 1)^2 */
    (void)unused;
    float a = fabsf(x) * k;
    a = a + 1.0f;
    return 1.0f / (a * a);
}
static inline float atan_(float x, float c, float half_k) { /* (k/2) / (1 + (pi/2 k x)^2) */
    float a = x * c;
    a = a * a;
    a = a + 1.0f;
    return (1.0f / a) * half_k;
}
static inline float triangle(float x, float minus_k, float k) { /* k max(0, 1 - k|x|) */
    float a = fabsf(x) * minus_k;
    a = a + 1.0f;
    return (a > 0.0f ? a : 0.0f) * k;
}
static inline float rectangle(float x, float half_width, float k) { /* k [|x| < 1/(2k)] */
    return fabsf(x) < half_width ? k : 0.0f;
}

/* Backward, eq. (5) for a reset whose dv/du is 1 (subtract with detached reset, or none):
 * g[t] = dL/ds[t] sigma'(u[t] - theta) + beta g[t+1], walking back from the last step.
 * One loop per surrogate, so that the compiler vectorises each. */
#define BACKWARD(DERIV)                                                                      \
    for (int64_t t = T - 1; t >= 0; --t) {                                                   \
        const float *restrict u_t = u + t * n;                                               \
        const float *restrict gs_t = gs + t * gs_stride;                                     \
        float *restrict g_t = g + t * n;                                                     \
        if (t == T - 1) {                                                                    \
            for (int64_t j = 0; j < n; ++j)                                                \
                g_t[j] = gs_t[j] * DERIV(u_t[j] - theta, p1, p2);                            \
        } else {                                                                             \
            const float *restrict g_next = g_t + n;                                          \
            for (int64_t j = 0; j < n; ++j)                                                \
                g_t[j] = fmaf(g_next[j], beta, gs_t[j] * DERIV(u_t[j] - theta, p1, p2));     \
        }                                                                                    \
    }

void lif_backward(const float *restrict u, const float *restrict gs, int64_t gs_stride,
                  float *restrict g, int64_t T, int64_t n, float beta, float theta,
                  int32_t kind, float p1, float p2) {
    switch (kind) {
    case FAST_SIGMOID: BACKWARD(fast_sigmoid); break;
    case ATAN: BACKWARD(atan_); break;
    case TRIANGLE: BACKWARD(triangle); break;
    default: BACKWARD(rectangle); break;
    }
}
