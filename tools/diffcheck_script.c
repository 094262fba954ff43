/* SPDX-License-Identifier: MIT */
/*
 * diffcheck_script.c — the op script language (docs/maps-script.md):
 * parsing a line into a dc_op, and printing a dc_op back as a line, so that
 * every op in a mismatch report can be pasted into a script.
 */
#define _GNU_SOURCE
#include "diffcheck.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>



struct name_val {
    const char *name;
    long val;
};

static const struct name_val map_types[] = {
    { "shared", MAP_SHARED }, { "private", MAP_PRIVATE },
    { "shared_validate", MAP_SHARED_VALIDATE }, { "droppable", MAP_DROPPABLE },
    { NULL, 0 },
};

/* In the order dc_format_op prints them. */
static const struct name_val map_flags[] = {
    { "anonymous", MAP_ANONYMOUS }, { "fixed", MAP_FIXED },
    { "fixed_noreplace", MAP_FIXED_NOREPLACE }, { "growsdown", MAP_GROWSDOWN },
    { "stack", MAP_STACK }, { "noreserve", MAP_NORESERVE }, { "locked", MAP_LOCKED },
    { "populate", MAP_POPULATE }, { "nonblock", MAP_NONBLOCK },
    { "denywrite", MAP_DENYWRITE }, { "executable", MAP_EXECUTABLE },
    { "hugetlb", MAP_HUGETLB }, { "sync", MAP_SYNC }, { "32bit", MAP_32BIT },
    { "uninitialized", MAP_UNINITIALIZED },
    { NULL, 0 },
};

/* Extra spellings accepted when reading. */
static const struct name_val map_aliases[] = {
    { "anon", MAP_ANONYMOUS }, { "noreplace", MAP_FIXED_NOREPLACE },
    { NULL, 0 },
};

static const struct name_val prot_words[] = {
    { "none", PROT_NONE }, { "read", PROT_READ }, { "write", PROT_WRITE },
    { "exec", PROT_EXEC }, { "sem", PROT_SEM }, { "growsdown", PROT_GROWSDOWN },
    { "growsup", PROT_GROWSUP },
    { NULL, 0 },
};

/* The advices Linux knows (6.x): the names scripts and reports use, and the
 * set dc_op_safe holds valid. */
static const struct name_val advices[] = {
    { "normal", 0 }, { "random", 1 }, { "sequential", 2 }, { "willneed", 3 },
    { "dontneed", 4 }, { "free", 8 }, { "remove", 9 }, { "dontfork", 10 },
    { "dofork", 11 }, { "mergeable", 12 }, { "unmergeable", 13 }, { "hugepage", 14 },
    { "nohugepage", 15 }, { "dontdump", 16 }, { "dodump", 17 }, { "wipeonfork", 18 },
    { "keeponfork", 19 }, { "cold", 20 }, { "pageout", 21 }, { "populate_read", 22 },
    { "populate_write", 23 }, { "dontneed_locked", 24 }, { "collapse", 25 },
    { "hwpoison", 100 }, { "soft_offline", 101 }, { "guard_install", 102 },
    { "guard_remove", 103 },
    { NULL, 0 },
};

static const struct name_val errnos[] = {
    { "EPERM", EPERM }, { "ENOENT", ENOENT }, { "ESRCH", ESRCH }, { "EINTR", EINTR },
    { "EIO", EIO }, { "ENXIO", ENXIO }, { "E2BIG", E2BIG }, { "EBADF", EBADF },
    { "EAGAIN", EAGAIN }, { "ENOMEM", ENOMEM }, { "EACCES", EACCES }, { "EFAULT", EFAULT },
    { "EBUSY", EBUSY }, { "EEXIST", EEXIST }, { "ENODEV", ENODEV }, { "EINVAL", EINVAL },
    { "ENFILE", ENFILE }, { "EMFILE", EMFILE }, { "ETXTBSY", ETXTBSY }, { "EFBIG", EFBIG },
    { "ENOSPC", ENOSPC }, { "ESPIPE", ESPIPE }, { "EROFS", EROFS }, { "ERANGE", ERANGE },
    { "EDEADLK", EDEADLK }, { "ENOSYS", ENOSYS }, { "EOVERFLOW", EOVERFLOW },
    { "EOPNOTSUPP", EOPNOTSUPP }, { "EHWPOISON", EHWPOISON },
    { NULL, 0 },
};

/*
 * The operations, by kind: the word a line starts with, which also names the
 * kind wherever results are shown; how many words a line of it has, that
 * word included; and the rest of the line as a message shows its form.  The
 * arguments themselves are read by dc_parse_line and written by
 * dc_format_op, kind by kind.
 */
static const struct {
    const char *name;
    int min_words, max_words;
    const char *args;
} op_syntax[DC_NR_OP_KINDS] = {
    [DC_MMAP] = { "mmap", 4, 23, "ADDR LEN PROT FLAG... [off=OFFSET]" },
    [DC_MUNMAP] = { "munmap", 3, 3, "ADDR LEN" },
    [DC_MPROTECT] = { "mprotect", 4, 4, "ADDR LEN PROT" },
    [DC_MADVISE] = { "madvise", 4, 4, "ADDR LEN ADVICE" },
    [DC_MLOCK] = { "mlock", 3, 4, "ADDR LEN [onfault]" },
    [DC_MLOCK2] = { "mlock2", 4, 4, "ADDR LEN FLAGS" },
    [DC_MUNLOCK] = { "munlock", 3, 3, "ADDR LEN" },
    [DC_MLOCKALL] = { "mlockall", 2, 5, "FLAG... (current, future, onfault, or a number)" },
    [DC_MUNLOCKALL] = { "munlockall", 1, 1, "" },
    [DC_MREMAP] = { "mremap", 4, 8, "ADDR OLD_LEN NEW_LEN [FLAG...] [to=NEW_ADDR]" },
    [DC_WRITE] = { "write", 4, 4, "ADDR LEN BYTE[+]" },
    [DC_READ] = { "read", 3, 3, "ADDR LEN" },
    [DC_MEMFD] = { "memfd", 2, 2, "SIZE" },
    [DC_TRUNCATE] = { "truncate", 2, 2, "SIZE" },
    [DC_FILE] = { "file", 2, 4, "SIZE [tmpfs] [ro]" },
    [DC_MSYNC] = { "msync", 3, 6, "ADDR LEN [FLAG...]" },
    [DC_FORK] = { "fork", 1, 1, "" },
};

static const struct name_val msync_flags[] = {
    { "async", MS_ASYNC }, { "invalidate", MS_INVALIDATE }, { "sync", MS_SYNC },
    { NULL, 0 },
};

static const struct name_val mremap_flags[] = {
    { "maymove", MREMAP_MAYMOVE }, { "fixed", MREMAP_FIXED }, { "dontunmap", MREMAP_DONTUNMAP },
    { NULL, 0 },
};

static const struct name_val mlock2_flags[] = {
    { "onfault", MLOCK_ONFAULT },
    { NULL, 0 },
};

static const struct name_val mcl_flags[] = {
    { "current", MCL_CURRENT }, { "future", MCL_FUTURE }, { "onfault", MCL_ONFAULT },
    { NULL, 0 },
};

const char *dc_op_name(enum dc_op_kind kind)
{
    return (unsigned)kind < DC_NR_OP_KINDS ? op_syntax[kind].name : "?";
}

const char *dc_op_word(const struct dc_op *op)
{
    if (op->kind == DC_MLOCK2 && op->flags == MLOCK_ONFAULT)
        return dc_op_name(DC_MLOCK);
    return dc_op_name(op->kind);
}

const char *dc_errno_name(int err)
{
    static __thread char buf[16];
    for (const struct name_val *e = errnos; e->name; e++)
        if (e->val == err)
            return e->name;
    snprintf(buf, sizeof(buf), "E%d", err);
    return buf;
}

static const char *lookup_name(const struct name_val *t, long val)
{
    for (; t->name; t++)
        if (t->val == val)
            return t->name;
    return NULL;
}

const char *dc_advice_name(int advice)
{
    return lookup_name(advices, advice);
}

/* Case-insensitive, an optional PREFIX ("MAP_", "PROT_", ...) allowed. */
static bool lookup_val(const struct name_val *t, const char *word, size_t len,
                       const char *prefix, long *val)
{
    size_t pl = strlen(prefix);
    if (len > pl && strncasecmp(word, prefix, pl) == 0) {
        word += pl;
        len -= pl;
    }
    for (; t->name; t++)
        if (strlen(t->name) == len && strncasecmp(t->name, word, len) == 0) {
            *val = t->val;
            return true;
        }
    return false;
}

/* ------------------------------------------------------------- printing */

/* A buffer that never overflows and counts what it would have written. */
struct out {
    char *buf;
    size_t size, len;
};

static void put(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct out *o, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    size_t room = o->len < o->size ? o->size - o->len : 0;
    int n = vsnprintf(room ? o->buf + o->len : NULL, room, fmt, ap);
    va_end(ap);
    if (n > 0)
        o->len += (size_t)n;
}

static void put_len(struct out *o, unsigned long len)
{
    if (len && len % PAGE == 0 && len <= (1UL << 30))
        put(o, "%luk", len >> 10);
    else if (len < (1UL << 20))
        put(o, "%lu", len);
    else
        put(o, "0x%lx", len);
}

static void put_prot(struct out *o, int prot)
{
    put(o, "%c%c%c", prot & PROT_READ ? 'r' : '-', prot & PROT_WRITE ? 'w' : '-',
        prot & PROT_EXEC ? 'x' : '-');
    unsigned rest = (unsigned)prot & ~7U;
    for (const struct name_val *w = prot_words; w->name; w++)
        if (w->val & ~7L && (rest & (unsigned)w->val) == (unsigned)w->val) {
            put(o, "|%s", w->name);
            rest &= ~(unsigned)w->val;
        }
    if (rest)
        put(o, "|0x%x", rest);
}

static void put_map_flags(struct out *o, int flags)
{
    unsigned rest = (unsigned)flags;
    unsigned type = rest & 0x0f;
    const char *tn = lookup_name(map_types, type);
    bool first = true;
    if (tn) {
        put(o, "%s", tn);
        rest &= ~0x0fU;
        first = false;
    }
    for (const struct name_val *f = map_flags; f->name; f++)
        if (rest & (unsigned)f->val) {
            put(o, first ? "%s" : " %s", f->name);
            rest &= ~(unsigned)f->val;
            first = false;
        }
    if (rest || first)
        put(o, first ? "0x%x" : " 0x%x", rest);
}

int dc_format_op(char *buf, size_t size, const struct dc_op *op)
{
    struct out o = { buf, size, 0 };
    if (size)
        buf[0] = '\0';
    put(&o, "%s%s", op->child ? "child " : "", dc_op_word(op));
    if (op->kind == DC_MLOCKALL) {
        unsigned rest = (unsigned)op->flags;
        for (const struct name_val *f = mcl_flags; f->name; f++)
            if (rest & (unsigned)f->val) {
                put(&o, " %s", f->name);
                rest &= ~(unsigned)f->val;
            }
        if (rest || !op->flags)
            put(&o, " 0x%x", rest);
        return (int)o.len;
    }
    if (op->kind == DC_MUNLOCKALL || op->kind == DC_FORK)
        return (int)o.len;
    if (op->kind == DC_MEMFD || op->kind == DC_TRUNCATE || op->kind == DC_FILE) {
        put(&o, " 0x%lx", op->len);
        if (op->kind == DC_FILE && (op->flags & DC_FILE_TMPFS))
            put(&o, " tmpfs");
        if (op->kind == DC_FILE && (op->flags & DC_FILE_RDONLY))
            put(&o, " ro");
        return (int)o.len;
    }
    put(&o, " 0x%lx ", op->addr);
    put_len(&o, op->len);
    switch (op->kind) {
    case DC_MMAP:
        put(&o, " ");
        put_prot(&o, op->prot);
        put(&o, " ");
        put_map_flags(&o, op->flags);
        if (op->file)
            put(&o, " file");
        if (op->offset)
            put(&o, " off=0x%lx", op->offset);
        break;
    case DC_MPROTECT:
        put(&o, " ");
        put_prot(&o, op->prot);
        break;
    case DC_MSYNC: {
        int rest = op->flags;
        for (const struct name_val *f = msync_flags; f->name; f++)
            if (rest & f->val) {
                put(&o, " %s", f->name);
                rest &= ~(int)f->val;
            }
        if (rest)
            put(&o, " 0x%x", rest);
        break;
    }
    case DC_MADVISE: {
        const char *an = dc_advice_name(op->advice);
        if (an)
            put(&o, " %s", an);
        else
            put(&o, " %d", op->advice);
        break;
    }
    case DC_MLOCK2: {
        const char *fn = lookup_name(mlock2_flags, op->flags);
        if (fn)
            put(&o, " %s", fn);
        else
            put(&o, " 0x%x", (unsigned)op->flags);
        break;
    }
    case DC_WRITE:
        put(&o, " 0x%02x%s", (unsigned)op->fill & 0xff, op->fill & DC_FILL_RAMP ? "+" : "");
        break;
    case DC_MREMAP: {
        unsigned rest = (unsigned)op->flags;
        put(&o, " ");
        put_len(&o, op->new_len);
        for (const struct name_val *f = mremap_flags; f->name; f++)
            if (rest & (unsigned)f->val) {
                put(&o, " %s", f->name);
                rest &= ~(unsigned)f->val;
            }
        if (rest)
            put(&o, " 0x%x", rest);
        if (op->new_addr)
            put(&o, " to=0x%lx", op->new_addr);
        break;
    }
    default:
        break;
    }
    return (int)o.len;
}

int dc_format_ret(char *buf, size_t size, const struct dc_op *op, long ret)
{
    if (ret < 0 && ret > -4096)
        return snprintf(buf, size, "-%s", dc_errno_name((int)-ret));
    bool addr = op->kind == DC_MMAP || op->kind == DC_MREMAP;
    if (addr && ret == DC_RET_ELSEWHERE)
        return snprintf(buf, size, "elsewhere");
    if (addr)
        return snprintf(buf, size, "0x%lx", (unsigned long)ret);
    return snprintf(buf, size, "%ld", ret);
}

/* -------------------------------------------------------------- parsing */

struct tok {
    const char *s;
    size_t len;
};

static int errf(char *err, size_t errsize, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int errf(char *err, size_t errsize, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (errsize)
        vsnprintf(err, errsize, fmt, ap);
    va_end(ap);
    return -1;
}

/* One term: [-]DIGITS or 0xHEX, with an optional k/m/g/p suffix. */
static bool parse_term(const char *s, size_t len, unsigned long *out)
{
    bool neg = false;
    if (len && *s == '-') {
        neg = true;
        s++;
        len--;
    }
    unsigned long mult = 1;
    if (len) {
        switch (tolower((unsigned char)s[len - 1])) {
        case 'k': mult = 1UL << 10; break;
        case 'm': mult = 1UL << 20; break;
        case 'g': mult = 1UL << 30; break;
        case 'p': mult = PAGE; break;
        default: break;
        }
        /* "0xfk" is no number, but hex digits include no k/m/g/p anyway. */
        if (mult != 1)
            len--;
    }
    unsigned base = 10;
    if (len > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        base = 16;
        s += 2;
        len -= 2;
    }
    if (len == 0)
        return false;
    unsigned long v = 0;
    for (size_t i = 0; i < len; i++) {
        int d;
        char c = (char)tolower((unsigned char)s[i]);
        if (c >= '0' && c <= '9')
            d = c - '0';
        else if (base == 16 && c >= 'a' && c <= 'f')
            d = c - 'a' + 10;
        else
            return false;
        if (v > (~0UL - (unsigned long)d) / base)
            return false;
        v = v * base + (unsigned long)d;
    }
    if (mult != 1 && v > ~0UL / mult)
        return false;
    v *= mult;
    *out = neg ? -v : v;
    return true;
}

/* A number: terms joined by + or - ("0x100000000000+3p"), wrapping mod 2^64. */
static bool parse_number(struct tok t, unsigned long *out)
{
    unsigned long sum = 0;
    size_t i = 0;
    bool first = true;
    while (i < t.len) {
        bool neg = false;
        if (!first) {
            if (t.s[i] != '+' && t.s[i] != '-')
                return false;
            neg = t.s[i] == '-';
            i++;
        }
        size_t j = i + (first && i < t.len && t.s[i] == '-');
        while (j < t.len && t.s[j] != '+' && t.s[j] != '-')
            j++;
        unsigned long v;
        if (!parse_term(t.s + i, j - i, &v))
            return false;
        sum += neg ? -v : v;
        i = j;
        first = false;
    }
    if (first)
        return false;
    *out = sum;
    return true;
}

/* "rw-", "r-x", "rw", "none", "read|write", "rw-|growsdown", "0x7" */
static bool parse_prot(struct tok t, int *out)
{
    unsigned long prot = 0;
    size_t i = 0;
    while (i < t.len) {
        size_t j = i;
        while (j < t.len && t.s[j] != '|')
            j++;
        const char *p = t.s + i;
        size_t n = j - i;
        long v;
        unsigned long num;
        if (n == 0)
            return false;
        if (lookup_val(prot_words, p, n, "PROT_", &v)) {
            prot |= (unsigned long)v;
        } else if (n <= 3 && strspn(p, "rwx-") >= n) {
            for (size_t k = 0; k < n; k++)
                prot |= p[k] == 'r' ? PROT_READ : p[k] == 'w' ? PROT_WRITE : p[k] == 'x' ? PROT_EXEC : 0;
        } else if (isdigit((unsigned char)p[0]) && parse_number((struct tok){ p, n }, &num) &&
                   num <= 0xffffffffUL) {
            prot |= num;
        } else {
            return false;
        }
        i = j + 1;
        if (j == t.len)
            break;
        if (i == t.len)
            return false;   /* trailing '|' */
    }
    *out = (int)(unsigned)prot;
    return true;
}

/* Names from tables (NULL-terminated list) or numbers, joined by '|', OR-ed
 * into *flags.  False, with the offending word in *bad, on a word it does
 * not know. */
static bool parse_flag_words(struct tok t, const struct name_val *const *tables, const char *prefix,
                             int *flags, struct tok *bad)
{
    size_t a = 0;
    while (a < t.len) {
        size_t b = a;
        while (b < t.len && t.s[b] != '|')
            b++;
        const char *w = t.s + a;
        size_t wl = b - a;
        long v;
        unsigned long num;
        bool ok = false;
        for (const struct name_val *const *tb = tables; *tb && !ok && wl; tb++)
            ok = lookup_val(*tb, w, wl, prefix, &v);
        if (ok)
            *flags |= (int)v;
        else if (wl && isdigit((unsigned char)w[0]) && parse_number((struct tok){ w, wl }, &num) &&
                 num <= 0xffffffffUL)
            *flags |= (int)(unsigned)num;
        else {
            *bad = (struct tok){ w, wl };
            return false;
        }
        a = b + 1;
        if (b < t.len && a == t.len) {
            *bad = t;   /* trailing '|' */
            return false;
        }
    }
    return true;
}

static int tokenize(const char *line, struct tok *toks, int max)
{
    int n = 0;
    const char *p = line;
    for (;;) {
        while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
            p++;
        if (!*p || *p == '#')
            return n;
        const char *s = p;
        while (*p && *p != ' ' && *p != '\t' && *p != '\r' && *p != '\n' && *p != '#')
            p++;
        if (n == max)
            return max + 1;
        toks[n++] = (struct tok){ s, (size_t)(p - s) };
    }
}

static bool tok_is(struct tok t, const char *word)
{
    return strlen(word) == t.len && strncasecmp(t.s, word, t.len) == 0;
}

#define TOKFMT "%.*s"
#define TOKARG(t) (int)(t).len, (t).s

int dc_parse_line(const char *line, struct dc_op *op, char *err, size_t errsize)
{
    struct tok t[25];
    int n = tokenize(line, t, 24);
    if (n == 0)
        return 0;
    if (n > 24)
        return errf(err, errsize, "too many words");

    memset(op, 0, sizeof(*op));
    /* "child CALL ...": the call runs in the forked child. */
    if (tok_is(t[0], "child") && n > 1) {
        op->child = true;
        memmove(t, t + 1, (size_t)--n * sizeof(t[0]));
    } else if (n > 23) {
        return errf(err, errsize, "too many words");
    }
    int k;
    for (k = 0; k < DC_NR_OP_KINDS; k++)
        if (tok_is(t[0], op_syntax[k].name))
            break;
    if (k == DC_NR_OP_KINDS) {
        /* "mmap, munmap, ... write or read" */
        char names[160];
        struct out o = { names, sizeof(names), 0 };
        for (int i = 0; i < DC_NR_OP_KINDS; i++)
            put(&o, "%s%s", i == 0 ? "" : i == DC_NR_OP_KINDS - 1 ? " or " : ", ", op_syntax[i].name);
        return errf(err, errsize, "unknown operation '" TOKFMT "' (expected %s)", TOKARG(t[0]), names);
    }
    op->kind = (enum dc_op_kind)k;
    if (n < op_syntax[k].min_words || n > op_syntax[k].max_words)
        return errf(err, errsize, "%s: expected '%s%s%s'", op_syntax[k].name, op_syntax[k].name,
                    op_syntax[k].args[0] ? " " : "", op_syntax[k].args);
    if (op->kind == DC_MUNLOCKALL || op->kind == DC_FORK)
        return 1;
    if (op->kind == DC_MLOCKALL) {
        static const struct name_val *const tables[] = { mcl_flags, NULL };
        for (int i = 1; i < n; i++) {
            struct tok bad;
            if (!parse_flag_words(t[i], tables, "MCL_", &op->flags, &bad))
                return errf(err, errsize, "mlockall: bad flag '" TOKFMT "' (current, future, onfault "
                            "or a number)", TOKARG(bad));
        }
        return 1;
    }
    if (op->kind == DC_MEMFD || op->kind == DC_TRUNCATE || op->kind == DC_FILE) {
        if (!parse_number(t[1], &op->len))
            return errf(err, errsize, "bad size '" TOKFMT "'", TOKARG(t[1]));
        for (int i = 2; i < n; i++) {
            if (op->kind == DC_FILE && tok_is(t[i], "tmpfs"))
                op->flags |= DC_FILE_TMPFS;
            else if (op->kind == DC_FILE && tok_is(t[i], "ro"))
                op->flags |= DC_FILE_RDONLY;
            else
                return errf(err, errsize, "file: expected 'tmpfs' or 'ro', not '" TOKFMT "'", TOKARG(t[i]));
        }
        return 1;
    }
    if (!parse_number(t[1], &op->addr))
        return errf(err, errsize, "bad address '" TOKFMT "'", TOKARG(t[1]));
    if (!parse_number(t[2], &op->len))
        return errf(err, errsize, "bad length '" TOKFMT "'", TOKARG(t[2]));

    switch (op->kind) {
    case DC_MMAP:
    case DC_MPROTECT:
        if (!parse_prot(t[3], &op->prot))
            return errf(err, errsize, "bad protection '" TOKFMT "' (like rw-, r-x, ---, or a number)",
                        TOKARG(t[3]));
        for (int i = 4; i < n; i++) {
            /* each flag word may itself be a|b|c */
            if (t[i].len > 4 && strncasecmp(t[i].s, "off=", 4) == 0) {
                if (!parse_number((struct tok){ t[i].s + 4, t[i].len - 4 }, &op->offset))
                    return errf(err, errsize, "bad offset '" TOKFMT "'", TOKARG(t[i]));
                continue;
            }
            if (op->kind == DC_MMAP && (tok_is(t[i], "file") || tok_is(t[i], "memfd"))) {
                op->file = true;   /* the sequence's memfd or file, not anonymous memory */
                continue;
            }
            if (t[i].len > 7 && strncasecmp(t[i].s, "offset=", 7) == 0) {
                if (!parse_number((struct tok){ t[i].s + 7, t[i].len - 7 }, &op->offset))
                    return errf(err, errsize, "bad offset '" TOKFMT "'", TOKARG(t[i]));
                continue;
            }
            static const struct name_val *const tables[] = { map_types, map_flags, map_aliases, NULL };
            struct tok bad;
            if (!parse_flag_words(t[i], tables, "MAP_", &op->flags, &bad))
                return errf(err, errsize, "unknown mmap flag '" TOKFMT "'", TOKARG(bad));
        }
        break;
    case DC_MADVISE: {
        long v;
        unsigned long num;
        if (lookup_val(advices, t[3].s, t[3].len, "MADV_", &v))
            op->advice = (int)v;
        else if (parse_number(t[3], &num) && (num <= 0x7fffffffUL || num >= ~0x7fffffffUL))
            op->advice = (int)(long)num;
        else
            return errf(err, errsize, "unknown advice '" TOKFMT "'", TOKARG(t[3]));
        break;
    }
    case DC_MSYNC:
        for (int i = 3; i < n; i++) {
            static const struct name_val *const tables[] = { msync_flags, NULL };
            struct tok bad;
            if (!parse_flag_words(t[i], tables, "MS_", &op->flags, &bad))
                return errf(err, errsize, "msync: bad flag '" TOKFMT "' (sync, async, invalidate "
                            "or a number)", TOKARG(bad));
        }
        break;
    case DC_MLOCK:
        if (n == 4) {
            if (!tok_is(t[3], "onfault"))
                return errf(err, errsize, "mlock: expected 'onfault', not '" TOKFMT "'", TOKARG(t[3]));
            op->kind = DC_MLOCK2;
            op->flags = MLOCK_ONFAULT;
        }
        break;
    case DC_MREMAP:
        if (!parse_number(t[3], &op->new_len))
            return errf(err, errsize, "bad new length '" TOKFMT "'", TOKARG(t[3]));
        for (int i = 4; i < n; i++) {
            static const struct name_val *const tables[] = { mremap_flags, NULL };
            struct tok bad;
            if (t[i].len > 3 && strncasecmp(t[i].s, "to=", 3) == 0) {
                if (!parse_number((struct tok){ t[i].s + 3, t[i].len - 3 }, &op->new_addr))
                    return errf(err, errsize, "bad new address '" TOKFMT "'", TOKARG(t[i]));
            } else if (!parse_flag_words(t[i], tables, "MREMAP_", &op->flags, &bad)) {
                return errf(err, errsize, "mremap: bad flag '" TOKFMT "' (maymove, fixed, dontunmap, "
                            "a number, or to=NEW_ADDR)", TOKARG(bad));
            }
        }
        break;
    case DC_WRITE: {
        unsigned long num;
        struct tok b = t[3];
        bool ramp = b.len > 1 && b.s[b.len - 1] == '+';
        if (ramp)
            b.len--;
        if (!parse_number(b, &num) || num > 0xff)
            return errf(err, errsize, "write: bad byte '" TOKFMT "' (0 to 255, or 0x00 to 0xff, "
                        "and + after it for a ramp)", TOKARG(t[3]));
        op->fill = (int)num | (ramp ? DC_FILL_RAMP : 0);
        break;
    }
    case DC_MLOCK2: {
        long v;
        unsigned long num;
        if (lookup_val(mlock2_flags, t[3].s, t[3].len, "MLOCK_", &v))
            op->flags = (int)v;
        else if (parse_number(t[3], &num) && num <= 0xffffffffUL)
            op->flags = (int)(unsigned)num;
        else
            return errf(err, errsize, "mlock2: bad flags '" TOKFMT "' (onfault or a number)", TOKARG(t[3]));
        break;
    }
    default:
        break;
    }
    return 1;
}

int dc_script_read(FILE *in, const char *name, struct dc_script *script, FILE *errout,
                   unsigned *nerrors)
{
    char *line = NULL;
    size_t cap = 0, alloc = 0;
    unsigned lineno = 0, bad = 0;
    memset(script, 0, sizeof(*script));
    while (getline(&line, &cap, in) >= 0) {
        struct dc_op op;
        char err[200];
        lineno++;
        int r = dc_parse_line(line, &op, err, sizeof(err));
        if (r < 0) {
            bad++;
            if (errout)
                fprintf(errout, "%s:%u: %s\n", name, lineno, err);
            continue;
        }
        if (r == 0)
            continue;
        if (script->n == alloc) {
            alloc = alloc ? alloc * 2 : 64;
            struct dc_op *o = realloc(script->ops, alloc * sizeof(*o));
            unsigned *l = realloc(script->lines, alloc * sizeof(*l));
            if (o)
                script->ops = o;
            if (l)
                script->lines = l;
            if (!o || !l) {
                if (errout)
                    fprintf(errout, "%s: out of memory\n", name);
                free(line);
                dc_script_free(script);
                if (nerrors)
                    *nerrors = bad + 1;
                return -1;
            }
        }
        script->ops[script->n] = op;
        script->lines[script->n] = lineno;
        script->n++;
    }
    free(line);
    if (nerrors)
        *nerrors = bad;
    if (bad) {
        dc_script_free(script);
        return -1;
    }
    return 0;
}

void dc_script_free(struct dc_script *script)
{
    free(script->ops);
    free(script->lines);
    memset(script, 0, sizeof(*script));
}
