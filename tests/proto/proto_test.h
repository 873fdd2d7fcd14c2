/* proto_test: the main() that the control protocol's test programs share.
 *
 * CTest runs each cmocka case as its own test, proto.<case>: the program is
 * given the case's function name and runs only that case. With no argument
 * it runs them all (handy by hand). A name that matches no case is an
 * error, so a renamed case cannot pass by running nothing. */
#ifndef VGPU_PROTO_TEST_H
#define VGPU_PROTO_TEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

static inline int proto_test_main(const struct CMUnitTest *tests, size_t n, int argc, char **argv)
{
    if (argc < 2)
        return _cmocka_run_group_tests("proto", tests, n, NULL, NULL);
    for (size_t i = 0; i < n; i++)
        if (strcmp(tests[i].name, argv[1]) == 0)
            return _cmocka_run_group_tests(argv[1], &tests[i], 1, NULL, NULL);
    fprintf(stderr, "%s: no test case named %s\n", argv[0], argv[1]);
    return 2;
}

#endif
