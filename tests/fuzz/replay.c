/* replay: runs a fuzz harness over saved inputs without libFuzzer.
 *
 * Linked with one harness (tests/fuzz/fuzz-*.c) it becomes
 * `<harness>-replay FILE|DIR...`: every file named, and every regular file
 * in every directory named (sorted, dot files skipped), is read whole and
 * passed to LLVMFuzzerTestOneInput once, in a buffer of exactly its size.
 * That is how the committed seed corpus and any crash reproducer run as a
 * plain CTest test with gcc: a violated invariant aborts the run. Replaying
 * nothing is an error, so a misplaced corpus cannot pass unnoticed. */
#include "fuzz.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int replay_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    uint8_t *data = NULL;
    long len;
    int rc = -1;

    if (!f) {
        fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
        return -1;
    }
    if (fseek(f, 0, SEEK_END) != 0 || (len = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
        fprintf(stderr, "replay: %s: cannot size the file\n", path);
        goto cleanup;
    }
    /* malloc(0) may return NULL; the harness gets a valid pointer either way. */
    data = malloc(len > 0 ? (size_t)len : 1);
    if (!data || fread(data, 1, (size_t)len, f) != (size_t)len) {
        fprintf(stderr, "replay: %s: read failed\n", path);
        goto cleanup;
    }
    fprintf(stderr, "replay: %s (%ld bytes)\n", path, len);
    LLVMFuzzerTestOneInput(data, (size_t)len);
    rc = 0;
cleanup:
    free(data);
    fclose(f);
    return rc;
}

static int skip_dot(const struct dirent *e)
{
    return e->d_name[0] != '.';
}

/* Replays every regular file in `dir`; returns how many, or -1. */
static int replay_dir(const char *dir)
{
    struct dirent **names;
    int n = scandir(dir, &names, skip_dot, alphasort);
    int count = 0;

    if (n < 0) {
        fprintf(stderr, "replay: %s: %s\n", dir, strerror(errno));
        return -1;
    }
    for (int i = 0; i < n; i++) {
        char path[4096];
        struct stat sb;
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]->d_name);
        if (stat(path, &sb) == 0 && S_ISREG(sb.st_mode)) {
            if (count >= 0 && replay_file(path) == 0)
                count++;
            else
                count = -1;
        }
        free(names[i]);
    }
    free(names);
    return count;
}

int main(int argc, char **argv)
{
    int total = 0;

    if (argc < 2) {
        fprintf(stderr, "usage: %s FILE|DIR...\n", argv[0]);
        return 2;
    }
    for (int i = 1; i < argc; i++) {
        struct stat sb;
        int n;
        if (stat(argv[i], &sb) != 0) {
            fprintf(stderr, "replay: %s: %s\n", argv[i], strerror(errno));
            return 1;
        }
        n = S_ISDIR(sb.st_mode) ? replay_dir(argv[i]) : replay_file(argv[i]) == 0 ? 1 : -1;
        if (n < 0)
            return 1;
        total += n;
    }
    if (total == 0) {
        fprintf(stderr, "replay: no input found in the paths given\n");
        return 1;
    }
    fprintf(stderr, "replay: %d inputs, no invariant violated\n", total);
    return 0;
}
