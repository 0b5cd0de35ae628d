#include "bn_kernels.h"

#include <stdlib.h>  // defines __GLIBC__ on glibc systems

#if defined(__GLIBC__)
#include <malloc.h>
#endif

int bn_keep_freed_memory(void) {
#if defined(__GLIBC__)
    // Blocks up to 32 MB (a 128 x 64 x 28 x 28 activation is 25 MB) come from the heap instead of
    // their own mmap, and freed memory stays in the process up to 1 GB: the next training step
    // reuses it instead of faulting in fresh zeroed pages.
    return mallopt(M_MMAP_THRESHOLD, 32 << 20) && mallopt(M_TRIM_THRESHOLD, 1 << 30);
#else
    return 0;
#endif
}
