/* Fuzz harness for the control protocol's decoder (src/proto/frame.c) and
 * the client's reading of replies (src/proto/client.c).
 *
 * The input is what a peer wrote on the socket: a stream of frames, decoded
 * the way vgpud and the client decode it: a 16-byte header, checked, then
 * the body it announced, checked; the first refusal (or the end of the
 * input) ends the connection. Invariants: a refused header is -EPROTO, or
 * -EPROTONOSUPPORT with a version other than ours; an accepted header has a
 * known type and a length in 1..VGPU_PROTO_MAX_BODY; a refused body comes
 * with a reason; an accepted body is an object that encodes again (unless
 * its compact form outgrew the maximum, as "1e9" does becoming
 * "1000000000.0") into a frame that decodes to the same header fields and
 * an equal object. A reply body also goes through the client's reply check,
 * which must return one of its three answers with a reason for the errors.
 * Every JSON value is freed, so LeakSanitizer sees any leak. */
#include "fuzz.h"

#include "proto.h"
#include "proto_internal.h"

#include <errno.h>
#include <string.h>

static void check_reply(const json_t *body)
{
    json_t *result = json_null(); /* must be reset */
    char err[256];
    int rc;

    err[0] = 'X';
    rc = vgpu__proto_reply(body, &result, err, sizeof(err));
    if (rc == 0) {
        FUZZ_CHECK(result != NULL);
        json_decref(result);
        return;
    }
    FUZZ_CHECK(result == NULL);
    FUZZ_CHECK(rc == -EREMOTEIO || rc == -EPROTO);
    FUZZ_CHECK(err[0] != 'X');
    FUZZ_CHECK(rc != -EPROTO || err[0] != '\0');
}

static void check_round_trip(const struct vgpu_frame *f, const json_t *body)
{
    size_t compact = json_dumpb(body, NULL, 0, JSON_COMPACT), len;
    uint8_t *frame = vgpu_proto_encode((enum vgpu_msg_type)f->type, f->seq, body, &len);
    struct vgpu_frame g;
    json_t *again;
    char err[256];

    if (!frame) {
        FUZZ_CHECK(compact > VGPU_PROTO_MAX_BODY);
        return;
    }
    FUZZ_CHECK(len == VGPU_PROTO_HEADER + compact);
    FUZZ_CHECK(vgpu_proto_header(frame, &g) == 0);
    FUZZ_CHECK(g.version == VGPU_PROTO_VERSION && g.type == f->type && g.seq == f->seq);
    FUZZ_CHECK(g.length == compact);
    again = vgpu_proto_body(frame + VGPU_PROTO_HEADER, g.length, err, sizeof(err));
    if (!again)
        fprintf(stderr, "re-encoded body refused: %s\n", err);
    FUZZ_CHECK(again != NULL);
    FUZZ_CHECK(json_equal(body, again));
    json_decref(again);
    free(frame);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t off = 0;

    /* A fixed hash seed keeps object iteration, and so coverage, the same
     * from run to run; it only takes effect before the first object. */
    json_object_seed(1);
    while (size - off >= VGPU_PROTO_HEADER) {
        struct vgpu_frame f;
        char err[256];
        json_t *body;
        int rc = vgpu_proto_header(data + off, &f);

        if (rc != 0) {
            FUZZ_CHECK(rc == -EPROTO ||
                       (rc == -EPROTONOSUPPORT && f.version != VGPU_PROTO_VERSION));
            break;
        }
        FUZZ_CHECK(f.type >= VGPU_MSG_REQUEST && f.type <= VGPU_MSG_EVENT);
        FUZZ_CHECK(f.length > 0 && f.length <= VGPU_PROTO_MAX_BODY);
        off += VGPU_PROTO_HEADER;
        if (size - off < f.length)
            break;
        err[0] = 'X';
        body = vgpu_proto_body(data + off, f.length, err, sizeof(err));
        off += f.length;
        if (!body) {
            FUZZ_CHECK(err[0] != 'X' && err[0] != '\0');
            break;
        }
        FUZZ_CHECK(json_is_object(body));
        FUZZ_CHECK(err[0] == '\0');
        check_round_trip(&f, body);
        if (f.type == VGPU_MSG_REPLY)
            check_reply(body);
        json_decref(body);
    }
    return 0;
}
