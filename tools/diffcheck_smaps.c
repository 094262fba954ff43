/* SPDX-License-Identifier: MIT */
/*
 * diffcheck_smaps.c — one smaps parser for both sides, and layout comparison.
 *
 * The kernel-side child runs the parser on /proc/self/smaps after fork(), in
 * a process that may have had other threads: so nothing here allocates or
 * takes a lock, and the parser is fed in chunks through a fixed carry buffer.
 */
#include "diffcheck.h"

#include <stddef.h>
#include <string.h>

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Parse hex digits at *pp; false if there are none or too many. */
static bool parse_hex(const char **pp, const char *end, uint64_t *out)
{
    const char *p = *pp;
    uint64_t v = 0;
    int n = 0;
    while (p < end && hexval(*p) >= 0) {
        if (++n > 16)
            return false;
        v = v << 4 | (uint64_t)hexval(*p++);
    }
    if (n == 0)
        return false;
    *pp = p;
    *out = v;
    return true;
}

static uint64_t parse_kb(const char *p, const char *end)
{
    uint64_t v = 0;
    while (p < end && *p == ' ')
        p++;
    while (p < end && *p >= '0' && *p <= '9')
        v = v * 10 + (uint64_t)(*p++ - '0');
    return v;
}

static bool starts_with(const char *p, const char *end, const char *key)
{
    size_t n = strlen(key);
    return (size_t)(end - p) >= n && memcmp(p, key, n) == 0;
}

static void copy_field(char *dst, size_t size, const char *p, const char *end, bool *truncated)
{
    size_t n = (size_t)(end - p);
    if (n >= size) {
        n = size - 1;
        *truncated = true;
    }
    memcpy(dst, p, n);
    dst[n] = '\0';
}

static void header_line(struct dc_smaps_parser *p, const char *s, const char *end)
{
    uint64_t start, vend, offset, inode = 0;
    const char *q = s;

    p->in_view = false;
    if (!parse_hex(&q, end, &start) || q >= end || *q++ != '-' ||
        !parse_hex(&q, end, &vend) || q >= end || *q++ != ' ' || end - q < 5) {
        p->bad = true;
        return;
    }
    const char *perms = q;
    q += 4;
    if (*q++ != ' ' || !parse_hex(&q, end, &offset) || q >= end || *q++ != ' ') {
        p->bad = true;
        return;
    }
    while (q < end && *q != ' ')        /* dev, "fe:00" */
        q++;
    while (q < end && *q == ' ')
        q++;
    while (q < end && *q >= '0' && *q <= '9')
        inode = inode * 10 + (uint64_t)(*q++ - '0');
    while (q < end && *q == ' ')
        q++;
    (void)inode;

    /* x86-64's [vsyscall] line, in the kernel's half: the gate, no VMA. */
    if (start >= 0xffff800000000000ULL)
        return;
    if (start >= p->hi)
        p->past = true;
    if (!(start < p->hi && vend > p->lo)) {
        p->out->outside++;
        return;
    }
    struct dc_layout *l = p->out;
    if (l->n >= DC_MAX_VMAS) {
        l->truncated = true;
        return;
    }
    struct dc_vma *v = &l->v[l->n++];
    memset(v, 0, sizeof(*v));
    v->start = start;
    v->end = vend;
    v->offset = offset;
    v->pkey = v->thp_eligible = -1;
    memcpy(v->perms, perms, 4);
    v->perms[4] = '\0';
    copy_field(v->name, sizeof(v->name), q, end, &l->truncated);
    p->in_view = true;
}

/* "VmFlags: rd wr mr " -> "rd wr mr": tokens one space apart. */
static void flags_line(struct dc_smaps_parser *p, const char *s, const char *end)
{
    struct dc_vma *v = &p->out->v[p->out->n - 1];
    size_t n = 0;
    s += strlen("VmFlags:");
    for (;;) {
        while (s < end && (*s == ' ' || *s == '\t'))
            s++;
        if (s >= end)
            break;
        const char *t = s;
        while (s < end && *s != ' ' && *s != '\t')
            s++;
        size_t tl = (size_t)(s - t);
        if (n + (n ? 1 : 0) + tl >= sizeof(v->flags)) {
            p->out->truncated = true;
            break;
        }
        if (n)
            v->flags[n++] = ' ';
        memcpy(v->flags + n, t, tl);
        n += tl;
    }
    v->flags[n] = '\0';
}

static void one_line(struct dc_smaps_parser *p, const char *s, const char *end)
{
    if (s >= end)
        return;
    if ((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')) {
        header_line(p, s, end);
        return;
    }
    if (!p->in_view)
        return;
    struct dc_vma *v = &p->out->v[p->out->n - 1];
    static const struct { const char *key; size_t off; } kb[] = {
        { "Rss:", offsetof(struct dc_vma, rss_kb) },
        { "Pss:", offsetof(struct dc_vma, pss_kb) },
        { "Shared_Clean:", offsetof(struct dc_vma, shared_clean_kb) },
        { "Shared_Dirty:", offsetof(struct dc_vma, shared_dirty_kb) },
        { "Private_Clean:", offsetof(struct dc_vma, private_clean_kb) },
        { "Private_Dirty:", offsetof(struct dc_vma, private_dirty_kb) },
        { "Referenced:", offsetof(struct dc_vma, referenced_kb) },
        { "Anonymous:", offsetof(struct dc_vma, anon_kb) },
        { "LazyFree:", offsetof(struct dc_vma, lazyfree_kb) },
        { "Locked:", offsetof(struct dc_vma, locked_kb) },
    };
    for (size_t i = 0; i < sizeof(kb) / sizeof(kb[0]); i++)
        if (starts_with(s, end, kb[i].key)) {
            uint64_t val = parse_kb(s + strlen(kb[i].key), end);
            memcpy((char *)v + kb[i].off, &val, sizeof(val));
            return;
        }
    if (starts_with(s, end, "ProtectionKey:"))
        v->pkey = (int32_t)parse_kb(s + 14, end);
    else if (starts_with(s, end, "THPeligible:"))
        v->thp_eligible = (int32_t)parse_kb(s + 12, end);
    else if (starts_with(s, end, "VmFlags:"))
        flags_line(p, s, end);
}

void dc_smaps_begin(struct dc_smaps_parser *p, unsigned long lo, unsigned long hi, struct dc_layout *out)
{
    p->lo = lo;
    p->hi = hi;
    p->out = out;
    p->in_view = false;
    p->past = false;
    p->bad = false;
    p->carry_len = 0;
    out->n = 0;
    out->truncated = false;
    out->outside = 0;
}

void dc_smaps_feed(struct dc_smaps_parser *p, const char *buf, size_t len)
{
    const char *s = buf, *end = buf + len;
    while (s < end) {
        const char *nl = memchr(s, '\n', (size_t)(end - s));
        const char *stop = nl ? nl : end;
        if (p->carry_len || !nl) {
            /* An unfinished line: keep what fits; the tail of an over-long
             * line (a long pathname) is not needed. */
            size_t room = sizeof(p->carry) - p->carry_len;
            size_t n = (size_t)(stop - s);
            if (n > room)
                n = room;
            memcpy(p->carry + p->carry_len, s, n);
            p->carry_len += n;
            if (nl) {
                one_line(p, p->carry, p->carry + p->carry_len);
                p->carry_len = 0;
            }
        } else {
            one_line(p, s, stop);
        }
        s = nl ? nl + 1 : end;
    }
}

int dc_smaps_end(struct dc_smaps_parser *p)
{
    if (p->carry_len) {
        one_line(p, p->carry, p->carry + p->carry_len);
        p->carry_len = 0;
    }
    return p->bad ? -1 : 0;
}

int dc_smaps_parse(const char *text, size_t len, unsigned long lo, unsigned long hi,
                   struct dc_layout *out)
{
    struct dc_smaps_parser p;
    dc_smaps_begin(&p, lo, hi, out);
    dc_smaps_feed(&p, text, len);
    return dc_smaps_end(&p);
}

static unsigned vma_compare(const struct dc_vma *a, const struct dc_vma *b, bool compare_mem)
{
    unsigned d = 0;
    if (a->start != b->start || a->end != b->end)
        d |= DC_DIFF_BOUNDS;
    if (strcmp(a->perms, b->perms))
        d |= DC_DIFF_PERMS;
    if (strcmp(a->flags, b->flags))
        d |= DC_DIFF_FLAGS;
    if (a->offset != b->offset)
        d |= DC_DIFF_OFFSET;
    if (strcmp(a->name, b->name))
        d |= DC_DIFF_NAME;
    if (compare_mem) {
        if (a->rss_kb != b->rss_kb)
            d |= DC_DIFF_RSS;
        if (a->anon_kb != b->anon_kb)
            d |= DC_DIFF_ANON;
        if (a->private_dirty_kb != b->private_dirty_kb)
            d |= DC_DIFF_DIRTY;
        if (a->locked_kb != b->locked_kb)
            d |= DC_DIFF_LOCKED;
        if (a->pss_kb != b->pss_kb)
            d |= DC_DIFF_PSS;
        if (a->private_clean_kb != b->private_clean_kb || a->shared_clean_kb != b->shared_clean_kb ||
            a->shared_dirty_kb != b->shared_dirty_kb)
            d |= DC_DIFF_CLEAN;
    }
    if (a->pkey != b->pkey || a->thp_eligible != b->thp_eligible)
        d |= DC_DIFF_FIELDS;
    return d;
}

unsigned dc_layout_compare(const struct dc_layout *a, const struct dc_layout *b, bool compare_mem)
{
    unsigned d = 0;
    if (a->n != b->n)
        d |= DC_DIFF_COUNT;
    if (a->outside != b->outside)
        d |= DC_DIFF_OUTSIDE;
    unsigned n = a->n < b->n ? a->n : b->n;
    for (unsigned i = 0; i < n; i++)
        d |= vma_compare(&a->v[i], &b->v[i], compare_mem);
    return d;
}

static bool has_twin(const struct dc_vma *v, const struct dc_layout *other, bool with_rss)
{
    for (unsigned i = 0; i < other->n; i++)
        if (vma_compare(v, &other->v[i], with_rss) == 0)
            return true;
    return false;
}

void dc_layout_print(FILE *out, const struct dc_layout *l, const struct dc_layout *other,
                     const char *indent, bool with_rss)
{
    if (l->n == 0)
        fprintf(out, "%s  (no VMAs)\n", indent);
    for (unsigned i = 0; i < l->n; i++) {
        const struct dc_vma *v = &l->v[i];
        char mark = other && !has_twin(v, other, with_rss) ? '*' : ' ';
        fprintf(out, "%s%c %012llx-%012llx %s %08llx %-*s [%s]", indent, mark,
                (unsigned long long)v->start, (unsigned long long)v->end, v->perms,
                (unsigned long long)v->offset, v->name[0] ? 20 : 0, v->name, v->flags);
        if (v->pkey > 0)
            fprintf(out, " pkey %d", v->pkey);
        if (v->thp_eligible > 0)
            fprintf(out, " THPeligible");
        if (with_rss) {
            /* Rss and the counters compared, then the others when not 0 */
            fprintf(out, " | Rss %llu Anon %llu Dirty %llu Locked %llu", (unsigned long long)v->rss_kb,
                    (unsigned long long)v->anon_kb, (unsigned long long)v->private_dirty_kb,
                    (unsigned long long)v->locked_kb);
            if (v->pss_kb != v->rss_kb)
                fprintf(out, " Pss %llu", (unsigned long long)v->pss_kb);
            if (v->private_clean_kb)
                fprintf(out, " Private_Clean %llu", (unsigned long long)v->private_clean_kb);
            if (v->shared_clean_kb || v->shared_dirty_kb)
                fprintf(out, " Shared_Clean %llu Shared_Dirty %llu", (unsigned long long)v->shared_clean_kb,
                        (unsigned long long)v->shared_dirty_kb);
            if (v->referenced_kb != v->rss_kb)
                fprintf(out, " (Referenced %llu)", (unsigned long long)v->referenced_kb);
            if (v->lazyfree_kb)
                fprintf(out, " (LazyFree %llu)", (unsigned long long)v->lazyfree_kb);
            fprintf(out, " kB");
        }
        fputc('\n', out);
    }
    if (l->truncated)
        fprintf(out, "%s  (truncated)\n", indent);
    if (l->outside)
        fprintf(out, "%s  (and %u VMAs outside the view)\n", indent, l->outside);
}
