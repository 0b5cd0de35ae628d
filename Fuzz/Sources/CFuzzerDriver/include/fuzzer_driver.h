// libFuzzer's entry for programs that own main(): SwiftPM gives an executable its own main
// (it renames the module's entry point), so the harness calls the driver from there.
#include <stddef.h>
#include <stdint.h>
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));
