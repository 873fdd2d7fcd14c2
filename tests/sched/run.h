/* run: the main() shared by the scheduler tests (test-sched-<feature>.c). */
#ifndef VGPU_TEST_SCHED_RUN_H
#define VGPU_TEST_SCHED_RUN_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

/* Runs every case of `tests`, or the one named by argv[1] (how CTest runs
 * each case as its own test); a misspelt name is an error (exit 2), never
 * an empty pass. */
int sched_test_main(int argc, char **argv, const char *group, const struct CMUnitTest *tests,
                    size_t n);

#define SCHED_TEST_MAIN(group, tests)                                                              \
    int main(int argc, char **argv)                                                                \
    {                                                                                              \
        return sched_test_main(argc, argv, group, tests, sizeof(tests) / sizeof(tests[0]));        \
    }

#endif
