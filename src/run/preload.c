/* preload: finding libvgpu.so and composing LD_PRELOAD for vgpu-run.
 *
 * The library is found the way an installed tool finds its own files:
 * VGPU_LIBRARY when the user names it, otherwise relative to the launcher's
 * own executable. The build tree puts binaries in build/bin and libraries in
 * build/lib, and an install prefix puts them in bin/ and lib/, so
 * <exe dir>/../lib/libvgpu.so is right for both; when the install's libdir
 * is another directory (lib64, lib/x86_64-linux-gnu), CMake hands its path
 * relative to the bindir in as VGPU_RUN_BIN_TO_LIB and that is tried next.
 *
 * Every check that the dynamic loader would otherwise make silently is made
 * here, loudly: ld.so skips an LD_PRELOAD entry it cannot load with only a
 * warning and runs the program anyway, which for vgpu means a tenant
 * running without its limits. So the file must exist, be a regular file,
 * start with an ELF header of the launcher's own class, byte order and
 * machine, be a shared object, and have a canonical path without ':' or ' '
 * (the separators of LD_PRELOAD). */
#include "preload.h"

#include "common.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef VGPU_RUN_BIN_TO_LIB
#define VGPU_RUN_BIN_TO_LIB "../lib"
#endif

/* e_ident, e_type and e_machine sit at the same offsets in both ELF classes. */
struct elf_id {
    unsigned char ident[EI_NIDENT];
    uint16_t type;
    uint16_t machine;
};

/* Reads the ELF identification of `path`; -ENOEXEC when it has none. */
static int read_elf_id(const char *path, struct elf_id *id)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    int rc = 0;
    ssize_t n;

    if (fd < 0)
        return -errno;
    n = read(fd, id, sizeof(*id));
    if (n < 0)
        rc = -errno;
    else if ((size_t)n < sizeof(*id) || memcmp(id->ident, ELFMAG, SELFMAG) != 0)
        rc = -ENOEXEC;
    close(fd);
    return rc;
}

/* Checks that `path` (canonical) is a shared object the loader will take
 * for a process like `exe`. */
static int check_library(const char *path, const char *exe, char *err, size_t errlen)
{
    struct elf_id lib, self;
    struct stat st;
    int rc;

    memset(&lib, 0, sizeof(lib));
    memset(&self, 0, sizeof(self));
    if (stat(path, &st) != 0)
        return vgpu_errf(err, errlen, -errno, "%s: %s", path, strerror(errno));
    if (!S_ISREG(st.st_mode))
        return vgpu_errf(err, errlen, -EINVAL, "%s: not a regular file", path);
    if (strpbrk(path, ": ") != NULL)
        return vgpu_errf(err, errlen, -EINVAL,
                         "%s: the path contains ':' or ' ', which separate LD_PRELOAD entries",
                         path);
    rc = read_elf_id(path, &lib);
    if (rc == -ENOEXEC)
        return vgpu_errf(err, errlen, rc, "%s: not an ELF shared library", path);
    if (rc != 0)
        return vgpu_errf(err, errlen, rc, "%s: %s", path, strerror(-rc));
    if (lib.type != ET_DYN)
        return vgpu_errf(err, errlen, -ENOEXEC, "%s: an ELF file but not a shared library", path);
    /* Without a readable executable there is nothing to compare with; the
     * loader then has the last word. */
    if (exe && read_elf_id(exe, &self) == 0 &&
        (lib.ident[EI_CLASS] != self.ident[EI_CLASS] || lib.ident[EI_DATA] != self.ident[EI_DATA] ||
         lib.machine != self.machine))
        return vgpu_errf(err, errlen, -ENOEXEC,
                         "%s: built for another machine or word size than vgpu-run (ELF class %d, "
                         "machine %d; vgpu-run has class %d, machine %d)",
                         path, lib.ident[EI_CLASS], lib.machine, self.ident[EI_CLASS],
                         self.machine);
    return 0;
}

/* out = dir joined with rel, where each leading "../" of rel removes the last
 * component of dir, then "/" name. */
static void join_relative(const char *dir, const char *rel, const char *name, char *out, size_t len)
{
    size_t dlen = strlen(dir);

    while (strncmp(rel, "..", 2) == 0 && (rel[2] == '/' || rel[2] == '\0')) {
        while (dlen > 0 && dir[dlen - 1] != '/')
            dlen--;
        while (dlen > 0 && dir[dlen - 1] == '/')
            dlen--;
        rel += rel[2] == '/' ? 3 : 2;
    }
    snprintf(out, len, "%.*s%s%s/%s", (int)dlen, dir, *rel ? "/" : "", rel, name);
}

/* Checks the canonical path `real` and hands it out. */
static int accept_library(const char *real, const char *exe, char *out, size_t outlen, char *err,
                          size_t errlen)
{
    int rc = check_library(real, exe, err, errlen);

    if (rc != 0)
        return rc;
    if (strlen(real) >= outlen)
        return vgpu_errf(err, errlen, -ENAMETOOLONG, "%s: path too long", real);
    memcpy(out, real, strlen(real) + 1);
    return 0;
}

int vgpu_run_find_library(const char *env_library, const char *exe, char *out, size_t outlen,
                          char *err, size_t errlen)
{
    char dir[PATH_MAX];
    char tried[2][PATH_MAX];
    char real[PATH_MAX];
    const char *slash;
    int ntried = 0;

    if (errlen > 0)
        err[0] = '\0';
    if (env_library && *env_library) {
        if (!realpath(env_library, real))
            return vgpu_errf(err, errlen, -errno, "VGPU_LIBRARY=%s: %s", env_library,
                             strerror(errno));
        return accept_library(real, exe, out, outlen, err, errlen);
    }
    slash = exe ? strrchr(exe, '/') : NULL;
    if (!slash)
        return vgpu_errf(err, errlen, -ENOENT,
                         "cannot tell where vgpu-run is installed; set VGPU_LIBRARY to the path of "
                         "%s",
                         VGPU_RUN_LIBRARY_NAME);
    snprintf(dir, sizeof(dir), "%.*s", (int)(slash - exe), exe);
    join_relative(dir, "../lib", VGPU_RUN_LIBRARY_NAME, tried[ntried++], sizeof(tried[0]));
    join_relative(dir, VGPU_RUN_BIN_TO_LIB, VGPU_RUN_LIBRARY_NAME, tried[ntried], sizeof(tried[0]));
    if (strcmp(tried[ntried], tried[0]) != 0)
        ntried++;
    for (int i = 0; i < ntried; i++) {
        if (realpath(tried[i], real))
            return accept_library(real, exe, out, outlen, err, errlen);
        if (errno != ENOENT && errno != ENOTDIR)
            return vgpu_errf(err, errlen, -errno, "%s: %s", tried[i], strerror(errno));
    }
    if (ntried == 1)
        return vgpu_errf(err, errlen, -ENOENT,
                         "cannot find %s: %s does not exist; set VGPU_LIBRARY",
                         VGPU_RUN_LIBRARY_NAME, tried[0]);
    return vgpu_errf(err, errlen, -ENOENT,
                     "cannot find %s: neither %s nor %s exists; set VGPU_LIBRARY",
                     VGPU_RUN_LIBRARY_NAME, tried[0], tried[1]);
}

/* True when the LD_PRELOAD entry `entry` names the canonical file `lib`. */
static bool same_library(const char *entry, const char *lib)
{
    char real[PATH_MAX];

    if (strcmp(entry, lib) == 0)
        return true;
    /* An entry without '/' is a name the loader searches for: not a path. */
    return strchr(entry, '/') && realpath(entry, real) && strcmp(real, lib) == 0;
}

char *vgpu_run_preload_value(const char *lib, const char *existing)
{
    size_t len = strlen(lib) + (existing ? strlen(existing) : 0) + 2;
    char *value = malloc(len);
    char *copy = existing ? strdup(existing) : NULL;
    char *save = NULL;
    size_t n;

    if (!value || (existing && !copy)) {
        free(value);
        value = NULL;
        goto cleanup;
    }
    n = (size_t)snprintf(value, len, "%s", lib);
    for (char *tok = copy ? strtok_r(copy, ": ", &save) : NULL; tok;
         tok = strtok_r(NULL, ": ", &save)) {
        if (!same_library(tok, lib))
            n += (size_t)snprintf(value + n, len - n, ":%s", tok);
    }
cleanup:
    free(copy);
    return value;
}
