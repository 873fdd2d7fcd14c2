/* fuzz: what every harness in tests/fuzz shares.
 *
 * A harness is one libFuzzer entry point, LLVMFuzzerTestOneInput, built two
 * ways: with clang's -fsanitize=fuzzer (VGPU_FUZZ=ON, tests/fuzz/run.sh) to
 * search for inputs, and with replay.c's main() to run the committed seed
 * corpus as ordinary CTest tests under any compiler. FUZZ_CHECK states an
 * invariant of the parser under test; it aborts (which libFuzzer reports as
 * a crash and saves the input) whether or not NDEBUG is defined, unlike
 * assert(). */
#ifndef VGPU_FUZZ_H
#define VGPU_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: invariant violated: %s\n", __FILE__, __LINE__, #cond);         \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* A NUL-terminated heap copy of data[0..size), exactly size + 1 bytes, so
 * that AddressSanitizer sees any read past the terminator. */
static inline char *fuzz_strndup(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s)
        abort();
    for (size_t i = 0; i < size; i++)
        s[i] = (char)data[i];
    s[size] = '\0';
    return s;
}

#endif
