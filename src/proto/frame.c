/* frame: the control protocol's frames and bodies (proto.h).
 *
 * Everything here handles bytes that came off a socket from a peer we do
 * not trust, so each field is checked before it is used and nothing is
 * allocated on the peer's word until the word has been checked: the header
 * is 16 bytes read field by field in little-endian order (never a struct
 * copied from the wire, so the code is the same on any host and a padded or
 * reordered struct cannot change the format), its length is bounded before
 * the body is read, and the body is handed to jansson with the strictest
 * options it has (no duplicate keys, nothing after the value, no NUL in
 * strings; jansson itself insists on UTF-8). jansson's own nesting limit is
 * 2048, far above what a request needs, so after parsing we walk the tree
 * and refuse anything deeper than VGPU_PROTO_MAX_DEPTH; the walk stops at
 * that depth, so its recursion is bounded too.
 *
 * Encoding is the mirror image, and refuses what decoding would refuse (a
 * body that is not an object, too deep, too long, or holding a string with
 * a NUL), so a frame we send is always one the peer can read. Reply bodies
 * are built here too; an error message may echo the peer's bad input, so
 * it is made valid UTF-8 before it becomes a JSON string. */
#include "proto.h"
#include "proto_internal.h"

#include "common.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint16_t get_le16(const uint8_t *p)
{
    return (uint16_t)(p[0] | (uint16_t)p[1] << 8);
}

static uint32_t get_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put_le16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void put_le32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

int vgpu_proto_header(const uint8_t *buf, struct vgpu_frame *out)
{
    if (get_le32(buf) != VGPU_PROTO_MAGIC)
        return -EPROTO;
    out->version = get_le16(buf + 4);
    out->type = get_le16(buf + 6);
    out->length = get_le32(buf + 8);
    out->seq = get_le32(buf + 12);
    /* The version comes first: a peer of another version may lay out the
     * rest differently, and what it needs to hear is the version. */
    if (out->version != VGPU_PROTO_VERSION)
        return -EPROTONOSUPPORT;
    if (out->type < VGPU_MSG_REQUEST || out->type > VGPU_MSG_EVENT)
        return -EPROTO;
    /* Every body is a JSON object, so an empty one is malformed already. */
    if (out->length == 0 || out->length > VGPU_PROTO_MAX_BODY)
        return -EPROTO;
    return 0;
}

enum tree_fault {
    TREE_OK,
    TREE_TOO_DEEP,
    TREE_NUL,
};

static bool has_nul(const char *s, size_t len)
{
    return memchr(s, '\0', len) != NULL;
}

/* Keys may hold a NUL since jansson 2.14 (json_object_setn); before it they
 * are C strings. */
static size_t key_len(void *it)
{
#if JANSSON_VERSION_HEX >= 0x020e00
    return json_object_iter_key_len(it);
#else
    return strlen(json_object_iter_key(it));
#endif
}

/* Checks `v`, a value at nesting level `level` (the body itself is 1 when
 * it is a container): no container deeper than VGPU_PROTO_MAX_DEPTH, no NUL
 * in a string or key. Recursion stops one level past the limit. */
static enum tree_fault check_tree(const json_t *v, int level)
{
    enum tree_fault f = TREE_OK;

    if (json_is_string(v))
        return has_nul(json_string_value(v), json_string_length(v)) ? TREE_NUL : TREE_OK;
    if (!json_is_object(v) && !json_is_array(v))
        return TREE_OK;
    if (level > VGPU_PROTO_MAX_DEPTH)
        return TREE_TOO_DEEP;
    if (json_is_array(v)) {
        for (size_t i = 0; i < json_array_size(v) && f == TREE_OK; i++)
            f = check_tree(json_array_get(v, i), level + 1);
        return f;
    }
    /* jansson's iterator API takes a non-const object; it only reads it. */
    for (void *it = json_object_iter((json_t *)v); it && f == TREE_OK;
         it = json_object_iter_next((json_t *)v, it)) {
        if (has_nul(json_object_iter_key(it), key_len(it)))
            f = TREE_NUL;
        else
            f = check_tree(json_object_iter_value(it), level + 1);
    }
    return f;
}

static const char *type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER:
    case JSON_REAL: return "a number";
    case JSON_TRUE:
    case JSON_FALSE: return "a boolean";
    case JSON_NULL: return "null";
    }
    return "unknown";
}

json_t *vgpu_proto_body(const uint8_t *buf, size_t len, char *err, size_t errlen)
{
    json_error_t jerr;
    json_t *body = NULL;
    enum tree_fault fault;

    vgpu_errf(err, errlen, 0, "%s", "");
    if (len == 0) {
        vgpu_errf(err, errlen, 0, "empty body");
        goto cleanup;
    }
    if (len > VGPU_PROTO_MAX_BODY) {
        vgpu_errf(err, errlen, 0, "body of %zu bytes is over the limit of %u", len,
                  VGPU_PROTO_MAX_BODY);
        goto cleanup;
    }
    /* JSON_DECODE_ANY so that a scalar body gets our message below rather
     * than jansson's "'[' or '{' expected". */
    body = json_loadb((const char *)buf, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
    if (!body) {
        vgpu_errf(err, errlen, 0, "body is not valid JSON: %s (line %d, column %d, byte %d)",
                  jerr.text, jerr.line, jerr.column, jerr.position);
        goto cleanup;
    }
    if (!json_is_object(body)) {
        vgpu_errf(err, errlen, 0, "body is not a JSON object (it is %s)", type_name(body));
        goto fail;
    }
    fault = check_tree(body, 1);
    if (fault == TREE_OK)
        goto cleanup;
    if (fault == TREE_TOO_DEEP)
        vgpu_errf(err, errlen, 0, "nesting deeper than %d", VGPU_PROTO_MAX_DEPTH);
    else /* jansson refuses "\u0000" without JSON_ALLOW_NUL; kept as a guard */
        vgpu_errf(err, errlen, 0, "a string holds a NUL character");
fail:
    json_decref(body);
    body = NULL;
cleanup:
    return body;
}

uint8_t *vgpu_proto_encode(enum vgpu_msg_type type, uint32_t seq, const json_t *body, size_t *len)
{
    uint8_t *frame = NULL;
    size_t n;

    *len = 0;
    if (type < VGPU_MSG_REQUEST || type > VGPU_MSG_EVENT || !json_is_object(body) ||
        check_tree(body, 1) != TREE_OK)
        goto cleanup;
    n = json_dumpb(body, NULL, 0, JSON_COMPACT);
    if (n == 0 || n > VGPU_PROTO_MAX_BODY)
        goto cleanup;
    frame = malloc(VGPU_PROTO_HEADER + n);
    if (!frame)
        goto cleanup;
    if (json_dumpb(body, (char *)frame + VGPU_PROTO_HEADER, n, JSON_COMPACT) != n) {
        free(frame);
        frame = NULL;
        goto cleanup;
    }
    put_le32(frame, VGPU_PROTO_MAGIC);
    put_le16(frame + 4, VGPU_PROTO_VERSION);
    put_le16(frame + 6, (uint16_t)type);
    put_le32(frame + 8, (uint32_t)n);
    put_le32(frame + 12, seq);
    *len = VGPU_PROTO_HEADER + n;
cleanup:
    return frame;
}

/* Length of the well-formed UTF-8 sequence at s (RFC 3629: no overlong
 * forms, no surrogates, nothing past U+10FFFF), or 0. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    size_t want;
    unsigned char lo = 0x80, hi = 0xbf;

    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        want = 2;
    else if (c >= 0xe0 && c <= 0xef)
        want = 3;
    else if (c >= 0xf0 && c <= 0xf4)
        want = 4;
    else
        return 0;
    if (c == 0xe0)
        lo = 0xa0;
    else if (c == 0xed)
        hi = 0x9f;
    else if (c == 0xf0)
        lo = 0x90;
    else if (c == 0xf4)
        hi = 0x8f;
    if (n < want || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < want; i++)
        if (s[i] < 0x80 || s[i] > 0xbf)
            return 0;
    return want;
}

/* A JSON string of s with each byte that is not part of valid UTF-8
 * replaced by '?'. */
static json_t *lossy_string(const char *s)
{
    size_t n = strlen(s);
    char *copy = malloc(n + 1);
    json_t *str = NULL;

    if (!copy)
        goto cleanup;
    memcpy(copy, s, n + 1);
    for (size_t i = 0; i < n;) {
        size_t k = utf8_len((const unsigned char *)copy + i, n - i);
        if (k == 0) {
            copy[i] = '?';
            k = 1;
        }
        i += k;
    }
    str = json_stringn(copy, n);
cleanup:
    free(copy);
    return str;
}

json_t *vgpu_proto_ok(json_t *result)
{
    json_t *body = json_object();
    json_t *res = result ? result : json_object();

    if (!body || !res || json_object_set_new(body, "ok", json_true()) != 0)
        goto fail;
    /* json_object_set_new takes the reference even when it fails. */
    if (json_object_set_new(body, "result", res) != 0) {
        res = NULL;
        goto fail;
    }
    return body;
fail:
    json_decref(res);
    json_decref(body);
    return NULL;
}

json_t *vgpu_proto_error(const char *code, const char *fmt, ...)
{
    va_list ap;
    char *msg = NULL;
    int n;
    json_t *body = NULL, *error = NULL;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || !(msg = malloc((size_t)n + 1)))
        goto cleanup;
    va_start(ap, fmt);
    vsnprintf(msg, (size_t)n + 1, fmt, ap);
    va_end(ap);

    body = json_object();
    error = json_object();
    if (!body || !error || json_object_set_new(error, "code", lossy_string(code)) != 0 ||
        json_object_set_new(error, "message", lossy_string(msg)) != 0 ||
        json_object_set_new(body, "ok", json_false()) != 0)
        goto fail;
    if (json_object_set_new(body, "error", error) != 0) {
        error = NULL;
        goto fail;
    }
    goto cleanup;
fail:
    json_decref(error);
    json_decref(body);
    body = NULL;
cleanup:
    free(msg);
    return body;
}
