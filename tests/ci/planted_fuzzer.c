/* A libFuzzer target with a planted crash, for the test of scripts/test.sh's fuzz stage
 * (test_fuzz_stage.sh). It crashes only on one input, recognised by a hash so that the
 * fuzzer cannot find it by itself within the test's few seconds. */
#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a 64 */
    for (size_t i = 0; i < size; i++) {
        h ^= data[i];
        h *= 1099511628211ull;
    }
    if (size == 19 && h == PLANTED_HASH)
        __builtin_trap();
    return 0;
}
