// Header-only: LLVMFuzzerRunDriver is defined by libFuzzer (linked with -sanitize=fuzzer).
#include "fuzzer_driver.h"
