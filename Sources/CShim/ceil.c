// ceil(3), for the embedded Swift standard library (its Dictionary sizing) and nothing else:
// hidden, so it interposes nothing. Linking libm for this one function mapped 256 KiB of its
// code and 72 KiB of tables into every socksified program (bench/README.md, section 4).
#include <stdint.h>

__attribute__((visibility("hidden"))) double ceil(double x) {
    // NaN, infinities, zeros (keeping their sign) and values too large to have a fraction.
    if (x != x || x == 0 || x >= 0x1p52 || x <= -0x1p52) return x;
    double whole = (double)(int64_t)x;  // towards zero
    if (whole < x) whole += 1.0;
    if (whole == 0 && x < 0) return -0.0;  // ceil(-0.5) is -0
    return whole;
}
