/* SPDX-License-Identifier: MIT */
/*
 * host_child.h — run a list of calls for real in a forked child (so that
 * nothing it maps, locks or breaks touches the test process) and read back
 * what it wrote: the host half of a differential test.
 */
#ifndef VMAREA_TESTS_HOST_CHILD_H
#define VMAREA_TESTS_HOST_CHILD_H

#include <stddef.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

/* fn(arg, out) fills out (size bytes) in the child.  0 when the child wrote
 * all of it and exited with 0, else -1. */
static inline int host_child(void (*fn)(void *arg, void *out), void *arg, void *out, size_t size)
{
    int p[2];
    if (pipe(p))
        return -1;
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        close(p[0]);
        fn(arg, out);
        _exit(write(p[1], out, size) == (ssize_t)size ? 0 : 1);
    }
    close(p[1]);
    size_t got = 0;
    ssize_t n;
    while (got < size && (n = read(p[0], (char *)out + got, size - got)) > 0)
        got += (size_t)n;
    close(p[0]);
    int st;
    waitpid(pid, &st, 0);
    return got == size && WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

#endif
