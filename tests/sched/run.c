/* run: the main() shared by the scheduler tests: every case, or one by name. */
#include "run.h"

#include <stdio.h>
#include <string.h>

int sched_test_main(int argc, char **argv, const char *group, const struct CMUnitTest *tests,
                    size_t n)
{
    size_t i = 0;
    if (argc > 1) {
        while (i < n && strcmp(tests[i].name, argv[1]) != 0)
            i++;
        if (i == n) {
            fprintf(stderr, "%s: no test case %s\n", argv[0], argv[1]);
            return 2;
        }
        cmocka_set_test_filter(argv[1]);
    }
    return _cmocka_run_group_tests(group, tests, n, NULL, NULL);
}
