/* preload: where libvgpu.so is, and the LD_PRELOAD value that loads it first.
 *
 * Both functions are pure apart from reading the file system, so that the
 * launcher's decisions can be tested without exec'ing anything. */
#ifndef VGPU_RUN_PRELOAD_H
#define VGPU_RUN_PRELOAD_H

#include <stddef.h>

#define VGPU_RUN_LIBRARY_NAME "libvgpu.so"

/* Finds libvgpu.so. `env_library` is the value of VGPU_LIBRARY (NULL or ""
 * when unset): it must name an existing file. Otherwise `exe` (the
 * launcher's own absolute path, from /proc/self/exe) gives the candidates
 * <exe dir>/../lib/libvgpu.so and, when the install's libdir is elsewhere
 * relative to its bindir, that one too. The file must be a shared object
 * of the launcher's own ELF class, byte order and machine, or the dynamic
 * loader would skip it with a warning and the command would run unlimited.
 * Writes the canonical absolute path to `out` and returns 0; otherwise
 * returns a negative errno and writes a one-line reason naming every path
 * tried to `err`. */
int vgpu_run_find_library(const char *env_library, const char *exe, char *out, size_t outlen,
                          char *err, size_t errlen);

/* The new LD_PRELOAD: `lib` first, then the entries of `existing` (NULL when
 * unset; glibc separates entries by ':' or ' ') in their order, without
 * empty entries and without any entry that names `lib` again (the same
 * string, or a path that resolves to the same file). Returns a malloc'd
 * string, or NULL when out of memory. */
char *vgpu_run_preload_value(const char *lib, const char *existing);

#endif
