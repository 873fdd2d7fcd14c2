/* test-store-tokens: tokens in the store: issued once, found by the token,
 * listed by id (never the token), revoked by an id prefix, gone with their
 * tenant; and no statement left open by any of it (close succeeds). */
#include "fixture.h"

#include <string.h>

static struct vgpu_store *with_tenant(void)
{
    struct vgpu_store *s = fx_open(":memory:");
    fx_ok(s, vgpu_store_pool_create, "{\"name\": \"A\"}");
    fx_ok(s, vgpu_store_tenant_add, "{\"name\": \"t\", \"pool\": \"A\"}");
    return s;
}

static void create(struct vgpu_store *s, const char *args, char *token, size_t len)
{
    struct vgpu_err e = {0};
    json_t *a = json_loads(args, 0, NULL);
    assert_non_null(a);
    if (vgpu_store_token_create(s, a, token, len, &e) != 0)
        fail_msg("token_create %s: %s: %s", args, e.code, e.msg);
    json_decref(a);
}

static void test_token_life(void **unused)
{
    struct vgpu_store *s = with_tenant();
    char tenant_token[80], admin_token[80];
    create(s, "{\"tenant\": \"t\"}", tenant_token, sizeof(tenant_token));
    create(s, "{\"admin\": true}", admin_token, sizeof(admin_token));
    assert_int_equal(strlen(tenant_token), 5 + 64);
    assert_memory_equal(tenant_token, "vgpu_", 5);
    assert_string_not_equal(tenant_token, admin_token);

    json_t *t = vgpu_store_token_lookup(s, tenant_token);
    assert_string_equal(json_string_value(json_object_get(t, "tenant")), "t");
    assert_false(json_is_true(json_object_get(t, "admin")));
    char id[16];
    snprintf(id, sizeof(id), "%s", json_string_value(json_object_get(t, "id")));
    json_decref(t);
    t = vgpu_store_token_lookup(s, admin_token);
    assert_true(json_is_true(json_object_get(t, "admin")));
    assert_true(json_is_null(json_object_get(t, "tenant")));
    json_decref(t);
    assert_null(vgpu_store_token_lookup(s, "vgpu_0000"));

    json_t *list = vgpu_store_tokens(s);
    assert_int_equal(json_array_size(list), 2);
    char *dump = json_dumps(list, 0);
    assert_null(strstr(dump, tenant_token + 5)); /* ids only, never a token */
    free(dump);
    json_decref(list);

    char args[64];
    snprintf(args, sizeof(args), "{\"id\": \"%.8s\"}", id);
    fx_ok(s, vgpu_store_token_revoke, args);
    assert_null(vgpu_store_token_lookup(s, tenant_token));
    FX_FAILS(s, vgpu_store_token_revoke, args, "not_found", "no token");
    FX_FAILS(s, vgpu_store_token_revoke, "{\"id\": \"xyz\"}", "invalid_argument", "hex");
    assert_int_equal(vgpu_store_close(s), 0); /* every statement finalized */
}

static void test_tokens_go_with_their_tenant(void **unused)
{
    struct vgpu_store *s = with_tenant();
    char token[80];
    create(s, "{\"tenant\": \"t\"}", token, sizeof(token));
    fx_ok(s, vgpu_store_tenant_rm, "{\"name\": \"t\"}");
    assert_null(vgpu_store_token_lookup(s, token));
    json_t *list = vgpu_store_tokens(s);
    assert_int_equal(json_array_size(list), 0);
    json_decref(list);
    assert_int_equal(vgpu_store_close(s), 0);
}

static void test_bad_token_requests(void **unused)
{
    struct vgpu_store *s = with_tenant();
    char token[80];
    struct vgpu_err e = {0};
    const char *bad[] = {"{}", "{\"tenant\": \"t\", \"admin\": true}", "{\"tenant\": \"nobody\"}",
                         "{\"tenant\": \"t\", \"extra\": 1}"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        json_t *a = json_loads(bad[i], 0, NULL);
        if (vgpu_store_token_create(s, a, token, sizeof(token), &e) == 0)
            fail_msg("token_create %s succeeded", bad[i]);
        json_decref(a);
    }
    json_t *list = vgpu_store_tokens(s);
    assert_int_equal(json_array_size(list), 0);
    json_decref(list);
    assert_int_equal(vgpu_store_close(s), 0);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_token_life),
    cmocka_unit_test(test_tokens_go_with_their_tenant),
    cmocka_unit_test(test_bad_token_requests),
};

FX_MAIN(tests)
