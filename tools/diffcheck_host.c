/* SPDX-License-Identifier: MIT */
/*
 * diffcheck_host.c — the host's properties as the checker names them: the
 * `host:` line, and PROP=VALUE settings that override what
 * mm_config_from_host found (to prove a probe, or to model another host).
 */
#define _GNU_SOURCE
#include "diffcheck_internal.h"
#include "vmarea.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/utsname.h>

/* The on/off properties: each is a flag whose presence means "off", or
 * "on" where set_means_on. */
static const struct {
    const char *name;        /* in a setting */
    const char *label;       /* in the host line */
    unsigned flag;
    bool set_means_on;
} props[] = {
    { "zero-page", "zero page", MM_CONFIG_NO_ZERO_PAGE, false },
    { "huge-zero-page", "huge zero page", MM_CONFIG_NO_HUGE_ZERO_PAGE, false },
    { "soft-dirty", "soft-dirty", MM_CONFIG_NO_SOFT_DIRTY, false },
    { "pkeys", "pkeys", MM_CONFIG_NO_PKEYS, false },
    { "anon-names", "anon names", MM_CONFIG_NO_ANON_NAMES, false },
    { "split-zero-remap", "split zero remap", MM_CONFIG_NO_SPLIT_ZERO_REMAP, false },
    { "eof-fault-around", "fault-around past EOF", MM_CONFIG_EOF_FAULT_AROUND, true },
    { "guard-flag", "guard flag", MM_CONFIG_NO_MAYBE_GUARD, false },
    { "thp-wrprotect-clean", "THP write-protect cleans", MM_CONFIG_THP_WRPROTECT_CLEAN, true },
};

static const char *const thp_names[] = { "always", "madvise", "never" };

#define LA57_TASK_SIZE ((1UL << 56) - 4096)

unsigned long dc_task_size = 0x7ffffffff000UL;

static void probe_task_size_once(void)
{
    struct mm_config host;
    mm_config_from_host(&host);
    if (host.task_size)
        dc_task_size = host.task_size;
}

/* This host's own task size, whatever the model assumes (--assume): probed
 * once per process, not at every script the minimizer reruns. */
void dc_probe_task_size(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, probe_task_size_once);
}

void dc_host_describe(const struct mm_config *c, char *buf, size_t size)
{
    struct utsname u;
    size_t n = 0;
    buf[0] = '\0';
#define ADD(...) do { if (n < size) n += (size_t)snprintf(buf + n, size - n, __VA_ARGS__); } while (0)
    if (uname(&u) == 0)
        ADD("%s %s, ", u.sysname, u.release);
    for (size_t i = 0; i < sizeof(props) / sizeof(props[0]); i++) {
        /* Without the zero page there is no huge one either. */
        if (props[i].flag == MM_CONFIG_NO_HUGE_ZERO_PAGE && (c->flags & MM_CONFIG_NO_ZERO_PAGE))
            continue;
        ADD("%s %s, ", props[i].label, !(c->flags & props[i].flag) != props[i].set_means_on ? "on" : "off");
    }
    ADD("5-level paging %s, ", c->task_size > 0x7ffffffff000UL ? "on" : "off");
    ADD("vsyscall %s, ", c->flags & MM_CONFIG_NO_VSYSCALL ? "none"
                         : c->flags & MM_CONFIG_VSYSCALL_EMULATE ? "emulate" : "xonly");
    static const char *const overcommit[] = { "heuristic", "always", "never" };
    ADD("THP %s, fault-around %luk, max_map_count %lu, mmap_min_addr %lu, overcommit %s, ",
        (unsigned)c->thp <= MM_THP_NEVER ? thp_names[c->thp] : "?",
        (c->fault_around_bytes ? c->fault_around_bytes : 65536) >> 10,
        c->max_map_count ? c->max_map_count : 65530, c->mmap_min_addr ? c->mmap_min_addr : 65536,
        (unsigned)c->overcommit_memory <= 2 ? overcommit[c->overcommit_memory] : "?");
    if (c->memlock_limit)
        ADD("memlock %luk", c->memlock_limit >> 10);
    else
        ADD("memlock unlimited");
#undef ADD
}

static int set_one(struct mm_config *c, const char *s, char *err, size_t errsize)
{
    const char *eq = strchr(s, '=');
    if (!eq) {
        snprintf(err, errsize, "'%s' is not PROP=VALUE", s);
        return -1;
    }
    size_t len = (size_t)(eq - s);
    const char *v = eq + 1;
    for (size_t i = 0; i < sizeof(props) / sizeof(props[0]); i++) {
        if (strlen(props[i].name) != len || strncmp(s, props[i].name, len))
            continue;
        bool on = !strcmp(v, "on");
        if (!on && strcmp(v, "off"))
            goto bad_value;
        if (on != props[i].set_means_on)
            c->flags &= ~props[i].flag;
        else
            c->flags |= props[i].flag;
        return 0;
    }
    if (len == 3 && !strncmp(s, "thp", 3)) {
        for (unsigned i = 0; i <= MM_THP_NEVER; i++)
            if (!strcmp(v, thp_names[i])) {
                c->thp = (enum mm_thp_mode)i;
                return 0;
            }
        goto bad_value;
    }
    if (len == 4 && !strncmp(s, "la57", 4)) {
        bool on = !strcmp(v, "on");
        if (!on && strcmp(v, "off"))
            goto bad_value;
        c->task_size = on ? LA57_TASK_SIZE : 0;
        return 0;
    }
    if (len == 8 && !strncmp(s, "vsyscall", 8)) {
        c->flags &= ~(MM_CONFIG_NO_VSYSCALL | MM_CONFIG_VSYSCALL_EMULATE);
        if (!strcmp(v, "none"))
            c->flags |= MM_CONFIG_NO_VSYSCALL;
        else if (!strcmp(v, "emulate"))
            c->flags |= MM_CONFIG_VSYSCALL_EMULATE;
        else if (strcmp(v, "xonly"))
            goto bad_value;
        return 0;
    }
    if (len == 12 && !strncmp(s, "fault-around", 12)) {
        char *end;
        errno = 0;
        unsigned long kb = strtoul(v, &end, 10);
        if (errno || end == v || (*end && strcasecmp(end, "k")) || !kb || kb > 2048 ||
            (kb & (kb - 1)))
            goto bad_value;
        c->fault_around_bytes = kb << 10;
        return 0;
    }
    snprintf(err, errsize, "unknown property '%.*s' (zero-page, huge-zero-page, soft-dirty, pkeys, "
             "anon-names, split-zero-remap, eof-fault-around, guard-flag, thp-wrprotect-clean, la57, thp, fault-around, vsyscall)", (int)len, s);
    return -1;
bad_value:
    snprintf(err, errsize, "bad value in '%s' (on or off; thp: always, madvise or never; "
             "fault-around: a power of two from 4k to 2048k; vsyscall: xonly, emulate or none)", s);
    return -1;
}

int dc_host_set(struct mm_config *c, const char *list, char *err, size_t errsize)
{
    char *copy = strdup(list), *save = NULL;
    if (!copy) {
        snprintf(err, errsize, "out of memory");
        return -1;
    }
    int rc = 0;
    for (char *tok = strtok_r(copy, ",", &save); tok && !rc; tok = strtok_r(NULL, ",", &save))
        rc = set_one(c, tok, err, errsize);
    free(copy);
    return rc;
}
