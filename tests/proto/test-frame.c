/* Unit tests for the control protocol's frames (src/proto/frame.c): the
 * 16-byte header byte for byte and every way it can be refused, the JSON
 * body checks (object only, UTF-8, no duplicate keys, depth 16, nothing
 * trailing, no NUL), encode/decode round trips and the reply bodies. What is
 * refused must come with a reason that names the fault. */
#include "proto.h"
#include "proto_test.h"

#include <errno.h>
#include <stdlib.h>

/* A header with the given fields, laid out by hand as the wire has it. */
static void make_header(uint8_t h[VGPU_PROTO_HEADER], uint32_t magic, uint16_t version,
                        uint16_t type, uint32_t length, uint32_t seq)
{
    const uint32_t words[] = {magic, (uint32_t)version | (uint32_t)type << 16, length, seq};
    for (int w = 0; w < 4; w++)
        for (int b = 0; b < 4; b++)
            h[w * 4 + b] = (uint8_t)(words[w] >> (8 * b));
}

static json_t *parse(const char *s, char *err)
{
    return vgpu_proto_body((const uint8_t *)s, strlen(s), err, 256);
}

static void assert_refused(const char *s, const char *reason)
{
    char err[256];
    json_t *v = parse(s, err);
    if (v)
        fail_msg("accepted: %s", s);
    if (!strstr(err, reason))
        fail_msg("for %s: reason \"%s\" does not contain \"%s\"", s, err, reason);
}

/* {"a":{"a":...{}...}} with `depth` objects. */
static char *nested(int depth)
{
    char *s = malloc((size_t)depth * 6 + 3);
    size_t n = 0;
    assert_non_null(s);
    for (int i = 1; i < depth; i++)
        n += (size_t)sprintf(s + n, "{\"a\":");
    n += (size_t)sprintf(s + n, "{}");
    for (int i = 1; i < depth; i++)
        s[n++] = '}';
    s[n] = '\0';
    return s;
}

/* {"a":[[...[1]...]]} with `arrays` arrays inside the object. */
static char *nested_arrays(int arrays)
{
    char *s = malloc((size_t)arrays * 2 + 8);
    size_t n = 0;
    assert_non_null(s);
    n += (size_t)sprintf(s, "{\"a\":");
    for (int i = 0; i < arrays; i++)
        s[n++] = '[';
    s[n++] = '1';
    for (int i = 0; i < arrays; i++)
        s[n++] = ']';
    s[n++] = '}';
    s[n] = '\0';
    return s;
}

static void test_header_round_trip(void **unused)
{
    static const uint8_t want[VGPU_PROTO_HEADER] = {
        'V', 'G', 'P', 'U', 1, 0, 2, 0, 2, 0, 0, 0, 0xef, 0xbe, 0xad, 0xde,
    };
    json_t *body = json_object();
    size_t len;
    uint8_t *frame = vgpu_proto_encode(VGPU_MSG_REPLY, 0xdeadbeef, body, &len);
    struct vgpu_frame f;

    assert_non_null(frame);
    assert_int_equal(len, VGPU_PROTO_HEADER + 2);
    assert_memory_equal(frame, want, VGPU_PROTO_HEADER);
    assert_memory_equal(frame + VGPU_PROTO_HEADER, "{}", 2);
    assert_int_equal(vgpu_proto_header(frame, &f), 0);
    assert_int_equal(f.version, 1);
    assert_int_equal(f.type, VGPU_MSG_REPLY);
    assert_int_equal(f.length, 2);
    assert_int_equal(f.seq, 0xdeadbeef);
    free(frame);
    json_decref(body);

    for (uint16_t type = VGPU_MSG_REQUEST; type <= VGPU_MSG_EVENT; type++) {
        uint8_t h[VGPU_PROTO_HEADER];
        make_header(h, VGPU_PROTO_MAGIC, 1, type, VGPU_PROTO_MAX_BODY, 7);
        assert_int_equal(vgpu_proto_header(h, &f), 0);
        assert_int_equal(f.type, type);
        assert_int_equal(f.length, VGPU_PROTO_MAX_BODY);
        assert_int_equal(f.seq, 7);
    }
}

static void test_header_bad_magic(void **unused)
{
    static const uint32_t magics[] = {0, 0x56475055 /* "UPGV" */, 0x55504757, 0xffffffff};
    uint8_t h[VGPU_PROTO_HEADER];
    struct vgpu_frame f;

    for (size_t i = 0; i < sizeof(magics) / sizeof(magics[0]); i++) {
        make_header(h, magics[i], 1, VGPU_MSG_REQUEST, 2, 1);
        assert_int_equal(vgpu_proto_header(h, &f), -EPROTO);
    }
}

static void test_header_other_version(void **unused)
{
    /* 0x0100 is version 1 written big-endian. */
    static const uint16_t versions[] = {0, 2, 0x0100, 0xffff};
    uint8_t h[VGPU_PROTO_HEADER];
    struct vgpu_frame f;

    for (size_t i = 0; i < sizeof(versions) / sizeof(versions[0]); i++) {
        make_header(h, VGPU_PROTO_MAGIC, versions[i], VGPU_MSG_REQUEST, 2, 1);
        f.version = 1;
        assert_int_equal(vgpu_proto_header(h, &f), -EPROTONOSUPPORT);
        assert_int_equal(f.version, versions[i]);
    }
    /* The version is reported even when the rest would be refused too. */
    make_header(h, VGPU_PROTO_MAGIC, 2, 99, 0xffffffff, 1);
    assert_int_equal(vgpu_proto_header(h, &f), -EPROTONOSUPPORT);
    assert_int_equal(f.version, 2);
}

static void test_header_bad_type(void **unused)
{
    static const uint16_t types[] = {0, 4, 0x0100, 0xffff};
    uint8_t h[VGPU_PROTO_HEADER];
    struct vgpu_frame f;

    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
        make_header(h, VGPU_PROTO_MAGIC, 1, types[i], 2, 1);
        assert_int_equal(vgpu_proto_header(h, &f), -EPROTO);
    }
}

static void test_header_bad_length(void **unused)
{
    static const uint32_t lengths[] = {0, VGPU_PROTO_MAX_BODY + 1, 0x80000000u, 0xffffffffu};
    uint8_t h[VGPU_PROTO_HEADER];
    struct vgpu_frame f;

    for (size_t i = 0; i < sizeof(lengths) / sizeof(lengths[0]); i++) {
        make_header(h, VGPU_PROTO_MAGIC, 1, VGPU_MSG_EVENT, lengths[i], 1);
        assert_int_equal(vgpu_proto_header(h, &f), -EPROTO);
    }
}

static void test_body_object(void **unused)
{
    char err[256] = "stale";
    json_t *v = parse("{\"op\":\"tenant.add\",\"args\":{\"name\":\"a\",\"share\":30,"
                      "\"list\":[1,2.5,true,null]}}",
                      err);
    assert_non_null(v);
    assert_string_equal(err, "");
    assert_string_equal(json_string_value(json_object_get(v, "op")), "tenant.add");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(v, "args"), "share")), 30);
    json_decref(v);

    v = parse(" \r\n\t{ } \n", err); /* whitespace around the value is JSON */
    assert_non_null(v);
    json_decref(v);
}

static void test_body_not_object(void **unused)
{
    static const char *const bodies[] = {"[]",  "[{\"op\":\"x\"}]", "42", "-1.5", "\"op\"", "true",
                                         "null"};
    for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++)
        assert_refused(bodies[i], "body is not a JSON object");
    assert_refused("[]", "it is an array");
    assert_refused("42", "it is a number");
}

static void test_body_invalid_utf8(void **unused)
{
    assert_refused("{\"name\":\"caf\xe9\"}", "body is not valid JSON");          /* Latin-1 */
    assert_refused("{\"name\":\"\xc0\xaf\"}", "body is not valid JSON");         /* overlong '/' */
    assert_refused("{\"name\":\"\xed\xa0\x80\"}", "body is not valid JSON");     /* surrogate */
    assert_refused("{\"name\":\"\xf4\x90\x80\x80\"}", "body is not valid JSON"); /* > U+10FFFF */
    assert_refused("{\"n\xff\":1}", "body is not valid JSON");
    assert_refused("{\"name\":\"\\ud800\"}", "body is not valid JSON"); /* lone surrogate */
    assert_refused("\xef\xbb\xbf{}", "body is not valid JSON");         /* a BOM is not JSON */
}

static void test_body_duplicate_keys(void **unused)
{
    assert_refused("{\"op\":\"a\",\"op\":\"b\"}", "duplicate");
    assert_refused("{\"args\":{\"x\":1,\"y\":2,\"x\":3}}", "duplicate");
}

static void test_body_depth(void **unused)
{
    char err[256];
    char *s = nested(VGPU_PROTO_MAX_DEPTH);
    json_t *v = parse(s, err);
    assert_non_null(v);
    json_decref(v);
    free(s);

    s = nested(VGPU_PROTO_MAX_DEPTH + 1);
    assert_refused(s, "nesting deeper than 16");
    free(s);

    /* Arrays count as levels too; scalars do not. */
    s = nested_arrays(VGPU_PROTO_MAX_DEPTH - 1);
    v = parse(s, err);
    assert_non_null(v);
    json_decref(v);
    free(s);
    s = nested_arrays(VGPU_PROTO_MAX_DEPTH);
    assert_refused(s, "nesting deeper than 16");
    free(s);

    /* Far past jansson's own limit: refused, not a crash. */
    s = malloc(20001);
    assert_non_null(s);
    s[0] = '{';
    s[1] = '"';
    s[2] = 'a';
    s[3] = '"';
    s[4] = ':';
    memset(s + 5, '[', 19995);
    s[20000] = '\0';
    assert_refused(s, "body is not valid JSON");
    free(s);
}

static void test_body_trailing_garbage(void **unused)
{
    assert_refused("{} x", "body is not valid JSON");
    assert_refused("{}{}", "body is not valid JSON");
    assert_refused("{\"a\":1}}", "body is not valid JSON");
    assert_refused("{\"a\":1,}", "line 1");
    assert_refused("{\"a\":1", "body is not valid JSON");
}

static void test_body_empty_and_oversize(void **unused)
{
    char err[256];
    uint8_t *big = malloc(VGPU_PROTO_MAX_BODY + 1);

    assert_null(vgpu_proto_body((const uint8_t *)"{}", 0, err, sizeof(err)));
    assert_string_equal(err, "empty body");
    assert_non_null(big);
    memset(big, ' ', VGPU_PROTO_MAX_BODY + 1);
    big[0] = '{';
    big[VGPU_PROTO_MAX_BODY] = '}';
    assert_null(vgpu_proto_body(big, VGPU_PROTO_MAX_BODY + 1, err, sizeof(err)));
    assert_non_null(strstr(err, "over the limit"));
    /* Exactly the maximum is fine; err may be NULL. */
    big[VGPU_PROTO_MAX_BODY - 1] = '}';
    json_t *v = vgpu_proto_body(big, VGPU_PROTO_MAX_BODY, NULL, 0);
    assert_non_null(v);
    json_decref(v);
    free(big);
}

static void test_body_nul(void **unused)
{
    static const char raw[] = "{\"a\":\"x\0y\"}";
    char err[256];

    assert_null(vgpu_proto_body((const uint8_t *)raw, sizeof(raw) - 1, err, sizeof(err)));
    assert_non_null(strstr(err, "body is not valid JSON"));
    assert_refused("{\"a\":\"x\\u0000y\"}", "body is not valid JSON");
    assert_refused("{\"\\u0000\":1}", "body is not valid JSON");
}

static void test_encode_round_trip_unicode(void **unused)
{
    json_error_t jerr;
    /* Latin, CJK, an astral emoji (a surrogate pair when escaped), U+2028,
     * control characters and quotes that must be escaped. */
    json_t *req = json_pack_ex(&jerr, 0, "{s:s, s:{s:s, s:s, s:s, s:i, s:f, s:[s, b, n]}}", "op",
                               "tenant.add", "args", "name", "caf\xc3\xa9-\xe6\x9d\xb1\xe4\xba\xac",
                               "note", "\xf0\x9f\x98\x80 \xe2\x80\xa8 \"q\" \\ \t\x01", "pool", "A",
                               "vm_id", 2147483647, "share", 0.25, "list", "\xce\xbb", 1);
    struct vgpu_frame f;
    size_t len;
    uint8_t *frame;
    char err[256];
    json_t *back;

    assert_non_null(req);
    frame = vgpu_proto_encode(VGPU_MSG_REQUEST, 42, req, &len);
    assert_non_null(frame);
    assert_int_equal(vgpu_proto_header(frame, &f), 0);
    assert_int_equal(f.type, VGPU_MSG_REQUEST);
    assert_int_equal(f.seq, 42);
    assert_int_equal(f.length + VGPU_PROTO_HEADER, len);
    back = vgpu_proto_body(frame + VGPU_PROTO_HEADER, f.length, err, sizeof(err));
    assert_non_null(back);
    assert_true(json_equal(req, back));
    /* Compact: no spaces between tokens. */
    assert_null(memchr(frame + VGPU_PROTO_HEADER, '\n', f.length));
    assert_int_equal(memcmp(frame + VGPU_PROTO_HEADER, "{\"op\":\"tenant.add\",", 19), 0);

    json_t *again = json_loads("{\"k\":\"\\ud83d\\ude00\"}", 0, &jerr);
    assert_non_null(again);
    assert_string_equal(json_string_value(json_object_get(again, "k")), "\xf0\x9f\x98\x80");
    json_decref(again);
    json_decref(back);
    json_decref(req);
    free(frame);
}

static void test_encode_refuses(void **unused)
{
    json_t *arr = json_array(), *obj = json_object();
    char *deep = nested(VGPU_PROTO_MAX_DEPTH + 1);
    json_t *too_deep = json_loads(deep, 0, NULL);
    size_t len = 123;

    assert_null(vgpu_proto_encode(VGPU_MSG_REQUEST, 1, arr, &len));
    assert_int_equal(len, 0);
    assert_null(vgpu_proto_encode(VGPU_MSG_REQUEST, 1, NULL, &len));
    assert_null(vgpu_proto_encode((enum vgpu_msg_type)0, 1, obj, &len));
    assert_null(vgpu_proto_encode((enum vgpu_msg_type)4, 1, obj, &len));
    assert_non_null(too_deep);
    assert_null(vgpu_proto_encode(VGPU_MSG_EVENT, 1, too_deep, &len));

    /* A NUL inside a string would be refused by the peer, so it is here. */
    json_object_set_new(obj, "a", json_stringn("x\0y", 3));
    assert_null(vgpu_proto_encode(VGPU_MSG_REPLY, 1, obj, &len));

    /* {"a":"..."} is the string plus 8 bytes: one byte over the maximum is
     * refused, the maximum itself is not. */
    char *blob = malloc(VGPU_PROTO_MAX_BODY);
    uint8_t *frame;
    assert_non_null(blob);
    memset(blob, 'x', VGPU_PROTO_MAX_BODY);
    json_object_set_new(obj, "a", json_stringn(blob, VGPU_PROTO_MAX_BODY - 7));
    assert_null(vgpu_proto_encode(VGPU_MSG_REPLY, 1, obj, &len));
    json_object_set_new(obj, "a", json_stringn(blob, VGPU_PROTO_MAX_BODY - 8));
    frame = vgpu_proto_encode(VGPU_MSG_REPLY, 1, obj, &len);
    assert_non_null(frame);
    assert_int_equal(len, VGPU_PROTO_HEADER + VGPU_PROTO_MAX_BODY);
    free(frame);
    free(blob);

    json_decref(too_deep);
    free(deep);
    json_decref(arr);
    json_decref(obj);
}

static void test_reply_ok(void **unused)
{
    json_t *r = vgpu_proto_ok(NULL);
    json_t *want = json_pack("{s:b, s:{}}", "ok", 1, "result");
    assert_non_null(r);
    assert_true(json_equal(r, want));
    json_decref(r);
    json_decref(want);

    json_t *result = json_pack("{s:s}", "name", "a");
    json_incref(result);
    r = vgpu_proto_ok(result); /* steals one reference */
    assert_int_equal(result->refcount, 2);
    assert_ptr_equal(json_object_get(r, "result"), result);
    json_decref(result);
    json_decref(r);
}

static void test_reply_error(void **unused)
{
    json_t *r = vgpu_proto_error("not_found", "no tenant named \"%s\" (vm-id %d)", "ghost", 7);
    json_t *want = json_pack("{s:b, s:{s:s, s:s}}", "ok", 0, "error", "code", "not_found",
                             "message", "no tenant named \"ghost\" (vm-id 7)");
    assert_non_null(r);
    assert_true(json_equal(r, want));
    json_decref(r);
    json_decref(want);

    /* Bad UTF-8 echoed from a request becomes '?'; valid UTF-8 is kept. */
    r = vgpu_proto_error("bad_name", "bad name '%s'", "caf\xe9-\xc3\xa9-\xed\xa0\x80");
    assert_string_equal(json_string_value(json_object_get(json_object_get(r, "error"), "message")),
                        "bad name 'caf?-\xc3\xa9-?\?\?'");
    json_decref(r);

    /* A long message is kept whole, and the reply still encodes. */
    char *long_msg = malloc(5001);
    size_t len;
    assert_non_null(long_msg);
    memset(long_msg, 'm', 5000);
    long_msg[5000] = '\0';
    r = vgpu_proto_error("internal", "%s", long_msg);
    assert_int_equal(json_string_length(json_object_get(json_object_get(r, "error"), "message")),
                     5000);
    uint8_t *frame = vgpu_proto_encode(VGPU_MSG_REPLY, 9, r, &len);
    assert_non_null(frame);
    free(frame);
    json_decref(r);
    free(long_msg);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_header_round_trip),
        cmocka_unit_test(test_header_bad_magic),
        cmocka_unit_test(test_header_other_version),
        cmocka_unit_test(test_header_bad_type),
        cmocka_unit_test(test_header_bad_length),
        cmocka_unit_test(test_body_object),
        cmocka_unit_test(test_body_not_object),
        cmocka_unit_test(test_body_invalid_utf8),
        cmocka_unit_test(test_body_duplicate_keys),
        cmocka_unit_test(test_body_depth),
        cmocka_unit_test(test_body_trailing_garbage),
        cmocka_unit_test(test_body_empty_and_oversize),
        cmocka_unit_test(test_body_nul),
        cmocka_unit_test(test_encode_round_trip_unicode),
        cmocka_unit_test(test_encode_refuses),
        cmocka_unit_test(test_reply_ok),
        cmocka_unit_test(test_reply_error),
    };
    return proto_test_main(tests, sizeof(tests) / sizeof(tests[0]), argc, argv);
}
