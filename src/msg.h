/* Protobuf messages and entry payloads as Lua tables, driven by protobuf-c
 * descriptors. Errors are returned (with a field path), never raised, so
 * the caller can say which file and entry failed. */
#ifndef CRIT_MSG_H
#define CRIT_MSG_H

#include <lua.h>
#include <protobuf-c/protobuf-c.h>

#include "buf.h"
#include "error.h"
#include "schema.h"

/* Key under which fields this schema does not know are kept, as their
 * wire bytes, so that images from a newer CRIU survive a round trip. */
#define MSG_UNKNOWN_KEY "__unknown"
/* Key of an entry's payload. */
#define MSG_EXTRA_KEY "extra"
/* Nesting deeper than this is refused (the schema itself needs < 10). */
#define MSG_MAX_DEPTH 64

/* Push the table of message `d` decoded from [p, p+len); 0 or -1. With
 * `into` (a stack index, or 0 for a new table) that table is emptied and
 * filled instead, so that a loop over entries need not make one each. */
int msg_decode(lua_State *L, const ProtobufCMessageDescriptor *d, const uint8_t *p,
	       size_t len, int into, struct crit_error *err);
/* msg_decode, leaving out the top-level field numbered `skip` (a huge
 * repeated one that is read element by element instead). */
int msg_decode_without(lua_State *L, const ProtobufCMessageDescriptor *d, const uint8_t *p,
		       size_t len, int into, uint32_t skip, struct crit_error *err);
/* Push the values of fields f[0..n) (NULL: not in the message type), nil for those
 * not there; none of them repeated. 0, or -1 with the stack as it was
 * plus garbage (the caller resets it). */
int msg_pick(lua_State *L, const uint8_t *p, size_t len, const ProtobufCFieldDescriptor *const *f,
	     int n, struct crit_error *err);
/* Set `extra` in the table on top of the stack from the payload bytes. */
int msg_decode_payload(lua_State *L, const struct payload_desc *pd, const uint8_t *msg,
		       size_t msg_len, const uint8_t *payload, size_t payload_len,
		       struct crit_error *err);

/* Append the wire form of the table at index t; `top` allows `extra`. */
int msg_encode(lua_State *L, int t, const ProtobufCMessageDescriptor *d, struct buf *out,
	       int top, struct crit_error *err);
/* Append the payload for the encoded message `msg` from the table's `extra`. */
int msg_encode_payload(lua_State *L, int t, const struct payload_desc *pd, const uint8_t *msg,
		       size_t msg_len, struct buf *out, struct crit_error *err);

#endif
