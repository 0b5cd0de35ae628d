#include <zlib.h>
// inflateInit2 and deflateInit2 are macros: Swift needs functions.
static inline int bn_inflateInit2(z_streamp s, int windowBits) { return inflateInit2(s, windowBits); }
static inline int bn_deflateInit2(z_streamp s, int level, int windowBits) {
    return deflateInit2(s, level, Z_DEFLATED, windowBits, 8, Z_DEFAULT_STRATEGY);
}
