/* Protobuf wire bytes <-> Lua tables, driven by protobuf-c descriptors. */
#include "msg.h"

#include <inttypes.h>
#include <stdarg.h>
#include <string.h>

#include <lauxlib.h>

#include "image.h"
#include "wire.h"

/* ------------------------------------------------------------------ */
/* Field types                                                          */

/* ------------------------------------------------------------------ */
/* Decoding                                                             */

struct decoder {
	lua_State *L;
	const uint8_t *base; /* start of the entry's message, for offsets */
	uint64_t base_off;   /* its offset in the image */
	struct crit_error *err;
	int keys;	     /* stack index of the key cache (push_keys) */
	uint32_t skip;	     /* a top-level field left out (msg_decode_without), or 0 */
};

/* The registry's key cache: descriptor -> its field names as Lua strings,
 * made once. Setting a field by its C name would hash it, and compare it
 * with strcmp, for every field of every entry (a third of a decode). */
static const char KEY_CACHE = 0;

/* Push the array of d's field names, field i at i + 1. */
static void push_keys(struct decoder *dc, const ProtobufCMessageDescriptor *d)
{
	lua_State *L = dc->L;
	unsigned i;

	if (lua_rawgetp(L, dc->keys, d) == LUA_TTABLE)
		return;
	lua_pop(L, 1);
	lua_createtable(L, (int)d->n_fields, 0);
	for (i = 0; i < d->n_fields; i++) {
		lua_pushstring(L, d->fields[i].name);
		lua_rawseti(L, -2, (lua_Integer)i + 1);
	}
	lua_pushvalue(L, -1);
	lua_rawsetp(L, dc->keys, d);
}

/* Push the name of field f of d; keys is where push_keys put d's names. */
static void push_key(lua_State *L, int keys, const ProtobufCMessageDescriptor *d,
		     const ProtobufCFieldDescriptor *f)
{
	lua_rawgeti(L, keys, (lua_Integer)(f - d->fields) + 1);
}

/* A table sized for the fields a message usually has: growing one key at a
 * time would rehash it three times for a pagemap entry. */
static void new_message_table(lua_State *L, const ProtobufCMessageDescriptor *d)
{
	lua_createtable(L, 0, d->n_fields < 16 ? (int)d->n_fields : 16);
}

static int decode_fail(struct decoder *dc, const uint8_t *at, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int decode_fail(struct decoder *dc, const uint8_t *at, const char *fmt, ...)
{
	va_list ap;

	dc->err->offset = dc->base_off + (uint64_t)(at - dc->base);
	va_start(ap, fmt);
	crit_vfail(dc->err, fmt, ap);
	va_end(ap);
	return -1;
}

static int in_int32(int64_t v)
{
	return v >= INT32_MIN && v <= INT32_MAX;
}

/* Push one scalar value read from the wire as `raw`. */
static int push_scalar(struct decoder *dc, const ProtobufCFieldDescriptor *f, uint64_t raw,
		       const uint8_t *at)
{
	lua_State *L = dc->L;
	int64_t s;

	switch (f->type) {
	case PROTOBUF_C_TYPE_INT32:
		if (!in_int32((int64_t)raw))
			return decode_fail(dc, at, "value out of range for %s", "int32");
		lua_pushinteger(L, (int64_t)raw);
		break;
	case PROTOBUF_C_TYPE_SINT32:
		s = wire_unzigzag(raw);
		if (!in_int32(s))
			return decode_fail(dc, at, "value out of range for %s", "sint32");
		lua_pushinteger(L, s);
		break;
	case PROTOBUF_C_TYPE_UINT32:
		if (raw > UINT32_MAX)
			return decode_fail(dc, at, "value out of range for %s", "uint32");
		lua_pushinteger(L, (lua_Integer)raw);
		break;
	case PROTOBUF_C_TYPE_FIXED32:
		lua_pushinteger(L, (lua_Integer)raw);
		break;
	case PROTOBUF_C_TYPE_SFIXED32:
		lua_pushinteger(L, (int32_t)(uint32_t)raw);
		break;
	case PROTOBUF_C_TYPE_SINT64:
		lua_pushinteger(L, wire_unzigzag(raw));
		break;
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
	case PROTOBUF_C_TYPE_SFIXED64:
		lua_pushinteger(L, (lua_Integer)raw); /* same 64 bits */
		break;
	case PROTOBUF_C_TYPE_BOOL:
		if (raw > 1)
			return decode_fail(dc, at, "value out of range for %s", "bool");
		lua_pushboolean(L, raw == 1);
		break;
	case PROTOBUF_C_TYPE_ENUM: {
		const ProtobufCEnumValue *ev;
		if (!in_int32((int64_t)raw))
			return decode_fail(dc, at, "value out of range for %s", "enum");
		ev = protobuf_c_enum_descriptor_get_value(f->descriptor, (int)(int64_t)raw);
		if (ev)
			lua_pushstring(L, ev->name);
		else /* a value from a newer schema: keep the number */
			lua_pushinteger(L, (int64_t)raw);
		break;
	}
	case PROTOBUF_C_TYPE_FLOAT: {
		uint32_t u = (uint32_t)raw;
		float v;
		memcpy(&v, &u, sizeof(v));
		lua_pushnumber(L, v);
		break;
	}
	case PROTOBUF_C_TYPE_DOUBLE: {
		double v;
		memcpy(&v, &raw, sizeof(v));
		lua_pushnumber(L, v);
		break;
	}
	default:
		return decode_fail(dc, at, "%s is not a scalar type", wire_type_name(f->type));
	}
	return 0;
}

static int decode_fields(struct decoder *dc, const ProtobufCMessageDescriptor *d,
			 const uint8_t *p, size_t len, int depth);

/* Push the value of one wire field (not packed). */
static int push_value(struct decoder *dc, const ProtobufCFieldDescriptor *f,
		      const struct wire_field *w, int depth)
{
	switch (f->type) {
	case PROTOBUF_C_TYPE_STRING:
	case PROTOBUF_C_TYPE_BYTES:
		lua_pushlstring(dc->L, (const char *)w->data, w->len);
		return 0;
	case PROTOBUF_C_TYPE_MESSAGE:
		new_message_table(dc->L, f->descriptor);
		return decode_fields(dc, f->descriptor, w->data, w->len, depth + 1);
	default:
		return push_scalar(dc, f, w->value, w->start);
	}
}

/* Push the array in the field at `key` (the stack index of its name) of
 * table t, made if it is not there yet. */
static void push_array(lua_State *L, int t, int key)
{
	lua_pushvalue(L, key);
	if (lua_rawget(L, t) != LUA_TTABLE) {
		lua_pop(L, 1);
		lua_newtable(L);
		lua_pushvalue(L, key);
		lua_pushvalue(L, -2);
		lua_rawset(L, t);
	}
}

/* Append the value on top of the stack to the array in the field at `key`
 * of table t. */
static void append_to(lua_State *L, int t, int key)
{
	push_array(L, t, key);
	lua_insert(L, -2);
	lua_rawseti(L, -2, (lua_Integer)lua_rawlen(L, -2) + 1);
	lua_pop(L, 1);
}

/* The values go into the array at the top of the stack (push_array). */
static int decode_packed(struct decoder *dc, int t, const ProtobufCFieldDescriptor *f,
			 const struct wire_field *w)
{
	const uint8_t *p = w->data, *end = w->data + w->len;
	enum wire_type wt = wire_type_of(f->type);
	lua_Integer k = (lua_Integer)lua_rawlen(dc->L, t);
	uint64_t v;
	size_t n;

	while (p < end) {
		if (wt == WIRE_VARINT) {
			n = wire_read_varint(p, end, &v);
		} else {
			n = wt == WIRE_I64 ? 8 : 4;
			if ((size_t)(end - p) < n)
				n = 0;
			else
				v = n == 8 ? wire_le64(p) : wire_le32(p);
		}
		if (!n)
			return decode_fail(dc, p, "%s", "truncated packed value");
		if (push_scalar(dc, f, v, p))
			return -1;
		lua_rawseti(dc->L, t, ++k);
		p += n;
	}
	return 0;
}

/* Keep a field this schema does not know, as its wire bytes. */
static void keep_unknown(lua_State *L, int t, const struct wire_field *w)
{
	int had = lua_getfield(L, t, MSG_UNKNOWN_KEY) == LUA_TSTRING;

	lua_pushlstring(L, (const char *)w->start, (size_t)(w->end - w->start));
	if (had)
		lua_concat(L, 2);
	else
		lua_remove(L, -2);
	lua_setfield(L, t, MSG_UNKNOWN_KEY);
}

/* Field f into table t; its name is on top of the stack, and is popped. */
static int decode_field(struct decoder *dc, int t, const ProtobufCFieldDescriptor *f,
			const struct wire_field *w, int depth)
{
	lua_State *L = dc->L;
	int key = lua_gettop(L);

	if (f->label == PROTOBUF_C_LABEL_REPEATED && w->type == WIRE_LEN &&
	    wire_packable(f->type)) {
		/* An empty run adds nothing: an empty list would read back as no field. */
		if (w->len == 0) {
			lua_settop(L, key - 1);
			return 0;
		}
		push_array(L, t, key);
		if (decode_packed(dc, key + 1, f, w))
			return -1;
		lua_settop(L, key - 1);
		return 0;
	}
	if (w->type != wire_type_of(f->type))
		return decode_fail(dc, w->start, "wrong wire type for a %s field", wire_type_name(f->type));
	if (f->type == PROTOBUF_C_TYPE_MESSAGE && f->label != PROTOBUF_C_LABEL_REPEATED) {
		lua_pushvalue(L, key);
		if (lua_rawget(L, t) == LUA_TTABLE) {
			/* A repeated occurrence of a message merges into the first. */
			if (decode_fields(dc, f->descriptor, w->data, w->len, depth + 1))
				return -1;
			lua_settop(L, key - 1);
			return 0;
		}
		lua_pop(L, 1);
	}
	if (push_value(dc, f, w, depth))
		return -1;
	if (f->label == PROTOBUF_C_LABEL_REPEATED) {
		append_to(L, t, key);
		lua_pop(L, 1);
	} else {
		lua_rawset(L, t);
	}
	return 0;
}

/* Every required field is there: a table without one could not be
 * written back, and every reader of it would trip over the nil (an
 * image's JSON, like crit's, shows the message as it is instead). */
static int check_required(struct decoder *dc, int t, const ProtobufCMessageDescriptor *d,
			  const uint8_t *at)
{
	lua_State *L = dc->L;
	unsigned i;

	for (i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		int missing;

		if (f->label != PROTOBUF_C_LABEL_REQUIRED)
			continue;
		missing = lua_getfield(L, t, f->name) == LUA_TNIL;
		lua_pop(L, 1);
		if (missing) {
			decode_fail(dc, at, "%s", "missing required field");
			crit_error_push_path(dc->err, f->name, -1);
			return -1;
		}
	}
	return 0;
}

/* Decode into the table on top of the stack. */
static int decode_fields(struct decoder *dc, const ProtobufCMessageDescriptor *d,
			 const uint8_t *p, size_t len, int depth)
{
	const uint8_t *start = p;
	lua_State *L = dc->L;
	const uint8_t *end = p + len;
	int t = lua_gettop(L), keys = t + 1;

	if (depth > MSG_MAX_DEPTH)
		return decode_fail(dc, p, "%s", "nesting too deep");
	luaL_checkstack(L, 10, "decoding a message");
	push_keys(dc, d);
	while (p < end) {
		const ProtobufCFieldDescriptor *f;
		struct wire_field w;
		size_t n = wire_read_field(p, end, &w);

		if (!n) {
			uint32_t number = wire_field_number(p, end);

			decode_fail(dc, p, "%s", wire_field_error(p, end));
			f = number ? protobuf_c_message_descriptor_get_field(d, number) : NULL;
			if (f) /* a value that does not read: say whose */
				crit_error_push_path(dc->err, f->name, -1);
			return -1;
		}
		if (depth == 0 && w.number == dc->skip) {
			p += n;
			continue;
		}
		f = protobuf_c_message_descriptor_get_field(d, w.number);
		if (!f) {
			keep_unknown(L, t, &w);
		} else {
			push_key(L, keys, d, f);
			if (decode_field(dc, t, f, &w, depth)) {
				lua_settop(L, t);
				crit_error_push_path(dc->err, f->name, -1);
				return -1;
			}
		}
		p += n;
	}
	lua_settop(L, t);
	return check_required(dc, t, d, start);
}

/* Empty table t for the next entry (assigning nil during a traversal is
 * allowed). */
static void clear_table(lua_State *L, int t)
{
	lua_pushnil(L);
	while (lua_next(L, t)) {
		lua_pop(L, 1);
		lua_pushvalue(L, -1);
		lua_pushnil(L);
		lua_rawset(L, t);
	}
}

int msg_decode(lua_State *L, const ProtobufCMessageDescriptor *d, const uint8_t *p,
	       size_t len, int into, struct crit_error *err)
{
	return msg_decode_without(L, d, p, len, into, 0, err);
}

int msg_decode_without(lua_State *L, const ProtobufCMessageDescriptor *d, const uint8_t *p,
		       size_t len, int into, uint32_t skip, struct crit_error *err)
{
	struct decoder dc = { L, p, err->offset + 4, err, 0, skip };
	int top = lua_gettop(L);

	luaL_checkstack(L, 4, "decoding a message");
	lua_rawgetp(L, LUA_REGISTRYINDEX, &KEY_CACHE);
	if (lua_isnil(L, -1)) {
		lua_pop(L, 1);
		lua_newtable(L);
		lua_pushvalue(L, -1);
		lua_rawsetp(L, LUA_REGISTRYINDEX, &KEY_CACHE);
	}
	dc.keys = lua_gettop(L);
	if (into) {
		lua_pushvalue(L, into);
		clear_table(L, dc.keys + 1);
	} else {
		new_message_table(L, d);
	}
	if (decode_fields(&dc, d, p, len, 0)) {
		lua_settop(L, top);
		return -1;
	}
	lua_remove(L, dc.keys);
	return 0;
}

/* Push the values of n fields of a message read from [p, p+len): field
 * f[k] (NULL: not in its type) as decode would set it, nil when absent. Only
 * fields that are not repeated: a cursor that picks them needs no table. */
int msg_pick(lua_State *L, const uint8_t *p, size_t len, const ProtobufCFieldDescriptor *const *f,
	     int n, struct crit_error *err)
{
	struct decoder dc = { L, p, err->offset + 4, err, 0, 0 };
	const uint8_t *end = p + len;
	int base, k;

	luaL_checkstack(L, n + 4, "picking fields");
	lua_rawgetp(L, LUA_REGISTRYINDEX, &KEY_CACHE);
	if (lua_isnil(L, -1)) {
		lua_pop(L, 1);
		lua_newtable(L);
		lua_pushvalue(L, -1);
		lua_rawsetp(L, LUA_REGISTRYINDEX, &KEY_CACHE);
	}
	dc.keys = lua_gettop(L);
	base = dc.keys;
	for (k = 0; k < n; k++)
		lua_pushnil(L);
	while (p < end) {
		struct wire_field w;
		size_t used = wire_read_field(p, end, &w);

		if (!used)
			return decode_fail(&dc, p, "%s", wire_field_error(p, end));
		for (k = 0; k < n; k++) {
			if (!f[k] || f[k]->id != w.number)
				continue;
			if (w.type != wire_type_of(f[k]->type)) {
				crit_error_push_path(err, f[k]->name, -1);
				return decode_fail(&dc, w.start, "wrong wire type for a %s field",
						   wire_type_name(f[k]->type));
			}
			if (push_value(&dc, f[k], &w, 0)) {
				crit_error_push_path(err, f[k]->name, -1);
				return -1;
			}
			lua_replace(L, base + 1 + k);
		}
		p += used;
	}
	lua_remove(L, base);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Payloads                                                             */

static void push_bytes(lua_State *L, const uint8_t *p, size_t n)
{
	lua_pushlstring(L, (const char *)p, n);
}

/* image_payload_len walked the queue: every item fits. */
static int decode_queue(lua_State *L, const struct payload_desc *pd, const uint8_t *msg,
			size_t msg_len, const uint8_t *p, size_t len, struct crit_error *err)
{
	struct image_queue q;
	struct image_queue_item it;
	lua_Integer k = 0;
	int r;

	image_queue_init(&q, pd, msg, msg_len, p, len);
	lua_createtable(L, (int)(q.count < 1024 ? q.count * 2 : 0), 0);
	while ((r = image_queue_next(&q, &it, err)) > 0) {
		if (msg_decode(L, pd->item, it.msg, it.msg_len, 0, err)) {
			crit_error_push_path(err, NULL, (long)k);
			crit_error_push_path(err, MSG_EXTRA_KEY, -1);
			return -1;
		}
		lua_rawseti(L, -2, ++k);
		push_bytes(L, it.data, (size_t)it.data_len);
		lua_rawseti(L, -2, ++k);
	}
	return r;
}

int msg_decode_payload(lua_State *L, const struct payload_desc *pd, const uint8_t *msg,
		       size_t msg_len, const uint8_t *payload, size_t payload_len,
		       struct crit_error *err)
{
	uint64_t n;
	size_t i;

	if (pd->kind == PAYLOAD_NONE || image_payload_skipped(pd, msg, msg_len))
		return 0;
	switch (pd->kind) {
	case PAYLOAD_TCP:
		n = wire_varint_or_zero(msg, msg_len, pd->size[0]);
		lua_createtable(L, 0, 2);
		push_bytes(L, payload, (size_t)n);
		lua_setfield(L, -2, "inq");
		push_bytes(L, payload + n, payload_len - (size_t)n);
		lua_setfield(L, -2, "outq");
		break;
	case PAYLOAD_IPC_SEM:
		image_payload_data_len(pd, msg, msg_len, &n);
		n /= pd->unit;
		lua_createtable(L, (int)(n < 65536 ? n : 0), 0);
		for (i = 0; i < n; i++) {
			lua_pushinteger(L, payload[2 * i] | payload[2 * i + 1] << 8);
			lua_rawseti(L, -2, (lua_Integer)i + 1);
		}
		break;
	case PAYLOAD_IPC_MSG:
		if (decode_queue(L, pd, msg, msg_len, payload, payload_len, err))
			return -1;
		break;
	case PAYLOAD_GHOST: /* the rest of the file */
		push_bytes(L, payload, payload_len);
		break;
	default: /* bytes, their padding left out */
		image_payload_data_len(pd, msg, msg_len, &n);
		push_bytes(L, payload, (size_t)n);
		break;
	}
	lua_setfield(L, -2, MSG_EXTRA_KEY);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Encoding                                                             */

struct encoder {
	lua_State *L;
	struct buf *out;
	struct crit_error *err;
};

static int encode_fields(struct encoder *ec, int t, const ProtobufCMessageDescriptor *d,
			 int depth, int top);

static const char *lua_kind(lua_State *L, int i)
{
	return lua_typename(L, lua_type(L, i));
}

/* The Lua value at i as an integer (integral floats too); 0 or -1. */
static int get_integer(struct encoder *ec, int i, const ProtobufCFieldDescriptor *f,
		       lua_Integer *v)
{
	int ok;

	if (lua_type(ec->L, i) == LUA_TNUMBER) {
		*v = lua_tointegerx(ec->L, i, &ok);
		if (ok)
			return 0;
		return crit_fail(ec->err, "%s field needs an integer, got %s", wire_type_name(f->type),
				 lua_tostring(ec->L, i));
	}
	return crit_fail(ec->err, "%s field needs an integer, got %s", wire_type_name(f->type),
			 lua_kind(ec->L, i));
}

static int range_fail(struct encoder *ec, const ProtobufCFieldDescriptor *f, lua_Integer v)
{
	return crit_fail(ec->err, "%" PRId64 " is out of range for %s", (int64_t)v,
			 wire_type_name(f->type));
}

/* The wire value of the scalar at stack index i. */
static int scalar_bits(struct encoder *ec, int i, const ProtobufCFieldDescriptor *f,
		       uint64_t *bits)
{
	lua_State *L = ec->L;
	lua_Integer v;

	switch (f->type) {
	case PROTOBUF_C_TYPE_BOOL:
		if (!lua_isboolean(L, i))
			return crit_fail(ec->err, "bool field needs true or false, got %s",
					 lua_kind(L, i));
		*bits = (uint64_t)lua_toboolean(L, i);
		return 0;
	case PROTOBUF_C_TYPE_ENUM:
		if (lua_type(L, i) == LUA_TSTRING) {
			const ProtobufCEnumValue *ev = protobuf_c_enum_descriptor_get_value_by_name(
				f->descriptor, lua_tostring(L, i));
			if (!ev)
				return crit_fail(ec->err, "unknown %s value '%s'",
						 ((const ProtobufCEnumDescriptor *)f->descriptor)->name,
						 lua_tostring(L, i));
			*bits = (uint64_t)(int64_t)ev->value;
			return 0;
		}
		if (get_integer(ec, i, f, &v))
			return -1;
		if (!in_int32(v))
			return range_fail(ec, f, v);
		*bits = (uint64_t)v;
		return 0;
	case PROTOBUF_C_TYPE_FLOAT: {
		float x = (float)luaL_checknumber(L, i);
		uint32_t u;
		memcpy(&u, &x, sizeof(u));
		*bits = u;
		return 0;
	}
	case PROTOBUF_C_TYPE_DOUBLE: {
		double x = (double)luaL_checknumber(L, i);
		memcpy(bits, &x, sizeof(*bits));
		return 0;
	}
	default:
		break;
	}
	if (get_integer(ec, i, f, &v))
		return -1;
	switch (f->type) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SFIXED32:
		if (!in_int32(v))
			return range_fail(ec, f, v);
		*bits = f->type == PROTOBUF_C_TYPE_INT32 ? (uint64_t)v : (uint32_t)(int32_t)v;
		break;
	case PROTOBUF_C_TYPE_SINT32:
		if (!in_int32(v))
			return range_fail(ec, f, v);
		*bits = wire_zigzag(v);
		break;
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
		if (v < 0 || v > (lua_Integer)UINT32_MAX)
			return range_fail(ec, f, v);
		*bits = (uint64_t)v;
		break;
	case PROTOBUF_C_TYPE_SINT64:
		*bits = wire_zigzag(v);
		break;
	default: /* 64-bit types keep the bits: uint64 above 2^63 is negative in Lua */
		*bits = (uint64_t)v;
		break;
	}
	return 0;
}

/* Encode the value at stack index i as field f (key included). */
static int encode_value(struct encoder *ec, int i, const ProtobufCFieldDescriptor *f, int depth)
{
	lua_State *L = ec->L;
	struct buf *out = ec->out;
	uint64_t bits;
	size_t len, mark;
	const char *s;

	switch (f->type) {
	case PROTOBUF_C_TYPE_STRING:
	case PROTOBUF_C_TYPE_BYTES:
		if (lua_type(L, i) != LUA_TSTRING)
			return crit_fail(ec->err, "%s field needs a string, got %s",
					 wire_type_name(f->type), lua_kind(L, i));
		s = lua_tolstring(L, i, &len);
		wire_put_key(out, f->id, WIRE_LEN);
		wire_put_varint(out, len);
		return buf_put(out, s, len);
	case PROTOBUF_C_TYPE_MESSAGE:
		if (!lua_istable(L, i))
			return crit_fail(ec->err, "message field needs a table, got %s",
					 lua_kind(L, i));
		wire_put_key(out, f->id, WIRE_LEN);
		mark = out->len;
		if (buf_putc(out, 0) || encode_fields(ec, lua_absindex(L, i), f->descriptor,
						      depth + 1, 0))
			return -1;
		return wire_close_length(out, mark);
	default:
		if (scalar_bits(ec, i, f, &bits))
			return -1;
		wire_put_key(out, f->id, wire_type_of(f->type));
		return wire_put_scalar(out, f->type, bits);
	}
}

/* A list has the keys 1..n and no other: {[1]=1, [3]=3} or {a=1} would
 * otherwise be written as {1} or {}, losing data without a word. */
static int check_list_keys(struct encoder *ec, int arr, size_t n)
{
	lua_State *L = ec->L;
	char key[64];

	lua_pushnil(L);
	while (lua_next(L, arr)) {
		lua_pop(L, 1);
		if (lua_isinteger(L, -1) && lua_tointeger(L, -1) >= 1 &&
		    (lua_Unsigned)lua_tointeger(L, -1) <= n)
			continue;
		if (lua_isinteger(L, -1))
			snprintf(key, sizeof(key), "%lld", (long long)lua_tointeger(L, -1));
		else if (lua_type(L, -1) == LUA_TSTRING)
			snprintf(key, sizeof(key), "\"%.40s\"", lua_tostring(L, -1));
		else
			snprintf(key, sizeof(key), "of type %s", luaL_typename(L, -1));
		lua_pop(L, 1);
		return crit_fail(ec->err, "repeated field needs a list with the keys 1..%zu only, not key %s",
				 n, key);
	}
	return 0;
}

static int encode_repeated(struct encoder *ec, int arr, const ProtobufCFieldDescriptor *f,
			   int depth)
{
	lua_State *L = ec->L;
	size_t n, k, mark = 0;
	int packed = (f->flags & PROTOBUF_C_FIELD_FLAG_PACKED) && wire_packable(f->type);

	if (!lua_istable(L, arr))
		return crit_fail(ec->err, "repeated field needs an array, got %s", lua_kind(L, arr));
	n = lua_rawlen(L, arr);
	if (check_list_keys(ec, arr, n))
		return -1;
	if (packed && n) {
		wire_put_key(ec->out, f->id, WIRE_LEN);
		mark = ec->out->len;
		buf_putc(ec->out, 0);
	}
	for (k = 1; k <= n; k++) {
		uint64_t bits;
		int r;

		if (lua_rawgeti(L, arr, (lua_Integer)k) == LUA_TNIL) {
			lua_pop(L, 1);
			crit_error_push_path(ec->err, NULL, (long)k - 1);
			return crit_fail(ec->err, "hole in the array");
		}
		if (packed) {
			r = scalar_bits(ec, -1, f, &bits) || wire_put_scalar(ec->out, f->type, bits);
		} else {
			r = encode_value(ec, -1, f, depth);
		}
		lua_pop(L, 1);
		if (r) {
			crit_error_push_path(ec->err, NULL, (long)k - 1);
			return -1;
		}
	}
	return packed && n ? wire_close_length(ec->out, mark) : 0;
}

/* Every key of the table must be a field (or `extra` at the top, or the
 * unknown-fields key): a misspelt name must not vanish silently. */
static int check_keys(struct encoder *ec, int t, const ProtobufCMessageDescriptor *d, int top)
{
	lua_State *L = ec->L;

	lua_pushnil(L);
	while (lua_next(L, t)) {
		const char *k;

		lua_pop(L, 1);
		if (lua_type(L, -1) != LUA_TSTRING) {
			const char *kind = lua_kind(L, -1); /* the key's, before it goes */

			lua_pop(L, 1);
			return crit_fail(ec->err, "unexpected %s key in a %s table", kind, d->name);
		}
		k = lua_tostring(L, -1);
		if (!protobuf_c_message_descriptor_get_field_by_name(d, k) &&
		    strcmp(k, MSG_UNKNOWN_KEY) != 0 && !(top && strcmp(k, MSG_EXTRA_KEY) == 0)) {
			crit_fail(ec->err, "unknown field '%s' in %s", k, d->name);
			lua_pop(L, 1);
			return -1;
		}
	}
	return 0;
}

/* Kept unknown fields go back in field-number order among the known ones,
 * as the newer CRIU that wrote them had them. */
struct unknown_fields {
	const uint8_t *p, *end;
};

static int flush_unknown(struct encoder *ec, struct unknown_fields *u, uint32_t below)
{
	struct wire_field w;

	while (u->p < u->end) {
		size_t n = wire_read_field(u->p, u->end, &w);
		if (!n)
			return crit_fail(ec->err, "%s is not valid wire format", MSG_UNKNOWN_KEY);
		if (w.number >= below)
			break;
		buf_put(ec->out, u->p, n);
		u->p += n;
	}
	return 0;
}

static int encode_fields(struct encoder *ec, int t, const ProtobufCMessageDescriptor *d,
			 int depth, int top)
{
	lua_State *L = ec->L;
	struct unknown_fields u = { NULL, NULL };
	unsigned i;
	size_t ulen;

	if (depth > MSG_MAX_DEPTH)
		return crit_fail(ec->err, "nesting too deep (a table that contains itself?)");
	luaL_checkstack(L, 8, "encoding a message");
	if (check_keys(ec, t, d, top))
		return -1;
	if (lua_getfield(L, t, MSG_UNKNOWN_KEY) == LUA_TSTRING) {
		u.p = (const uint8_t *)lua_tolstring(L, -1, &ulen);
		u.end = u.p + ulen; /* stays valid: the table holds the string */
	} else if (!lua_isnil(L, -1)) {
		lua_pop(L, 1);
		return crit_fail(ec->err, "%s must be a string", MSG_UNKNOWN_KEY);
	}
	lua_pop(L, 1);
	for (i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		int r;

		if (flush_unknown(ec, &u, f->id))
			return -1;
		if (lua_getfield(L, t, f->name) == LUA_TNIL) {
			lua_pop(L, 1);
			if (f->label == PROTOBUF_C_LABEL_REQUIRED) {
				crit_error_push_path(ec->err, f->name, -1);
				return crit_fail(ec->err, "missing required field");
			}
			continue;
		}
		if (f->label == PROTOBUF_C_LABEL_REPEATED)
			r = encode_repeated(ec, lua_gettop(L), f, depth);
		else
			r = encode_value(ec, -1, f, depth);
		lua_pop(L, 1);
		if (r) {
			crit_error_push_path(ec->err, f->name, -1);
			return -1;
		}
	}
	if (flush_unknown(ec, &u, UINT32_MAX))
		return -1;
	return ec->out->failed ? crit_fail(ec->err, "out of memory") : 0;
}

int msg_encode(lua_State *L, int t, const ProtobufCMessageDescriptor *d, struct buf *out,
	       int top, struct crit_error *err)
{
	struct encoder ec = { L, out, err };

	return encode_fields(&ec, lua_absindex(L, t), d, 0, top);
}

/* ---- payloads ---- */

static int payload_fail(struct crit_error *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int payload_fail(struct crit_error *err, const char *fmt, ...)
{
	va_list ap;

	crit_error_push_path(err, MSG_EXTRA_KEY, -1);
	va_start(ap, fmt);
	crit_vfail(err, fmt, ap);
	va_end(ap);
	return -1;
}

/* The string at stack index i, which must be exactly `want` bytes long. */
static int put_sized(lua_State *L, int i, uint64_t want, const char *what, struct buf *out,
		     struct crit_error *err)
{
	size_t len;
	const char *s;

	if (lua_isnil(L, i) && want == 0)
		return 0;
	if (lua_type(L, i) != LUA_TSTRING)
		return payload_fail(err, "payload must be a string of %" PRIu64 " bytes (%s), got %s",
				    want, what, lua_typename(L, lua_type(L, i)));
	s = lua_tolstring(L, i, &len);
	if (len != want)
		return payload_fail(err, "payload has %zu bytes but %s says %" PRIu64, len, what,
				    want);
	return buf_put(out, s, len);
}

static int encode_tcp(lua_State *L, int x, const struct payload_desc *pd, const uint8_t *msg,
		      size_t n, struct buf *out, struct crit_error *err)
{
	static const char *const queues[2] = { "inq", "outq" };
	int k, r;

	if (!lua_istable(L, x))
		return payload_fail(err, "payload must be a table {inq=, outq=}");
	for (k = 0; k < 2; k++) {
		lua_getfield(L, x, queues[k]);
		r = put_sized(L, -1, wire_varint_or_zero(msg, n, pd->size[k]), pd->size_name[k], out,
			      err);
		lua_pop(L, 1);
		if (r)
			return -1;
	}
	return 0;
}

static int encode_sem(lua_State *L, int x, const struct payload_desc *pd, uint64_t nsems,
		      struct buf *out, struct crit_error *err)
{
	uint64_t k;

	if (!lua_istable(L, x) || lua_rawlen(L, x) != nsems)
		return payload_fail(err, "payload must be an array of %" PRIu64 " semaphore values",
				    nsems);
	for (k = 1; k <= nsems; k++) {
		int ok;
		lua_Integer v;

		lua_rawgeti(L, x, (lua_Integer)k);
		v = lua_tointegerx(L, -1, &ok);
		lua_pop(L, 1);
		if (!ok || v < 0 || v > 0xffff)
			return payload_fail(err, "semaphore %" PRIu64 " is not a u16", k);
		buf_putc(out, (uint8_t)v);
		buf_putc(out, (uint8_t)(v >> 8));
	}
	return image_put_padding(out, pd, nsems * pd->unit);
}

static int encode_queue(lua_State *L, int x, const struct payload_desc *pd, uint64_t count,
			struct buf *out, struct crit_error *err)
{
	uint64_t k, data_len;

	if (!lua_istable(L, x) || lua_rawlen(L, x) != 2 * count)
		return payload_fail(err, "payload must be an array of %" PRIu64
				    " items: qnum x (ipc_msg table, data)", 2 * count);
	for (k = 0; k < count; k++) {
		size_t mark = image_queue_open_item(out);
		int r;

		lua_rawgeti(L, x, (lua_Integer)(2 * k + 1));
		r = lua_istable(L, -1) ? msg_encode(L, -1, pd->item, out, 0, err)
				       : crit_fail(err, "message needs a table");
		lua_pop(L, 1);
		if (r) {
			crit_error_push_path(err, NULL, (long)(2 * k));
			crit_error_push_path(err, MSG_EXTRA_KEY, -1);
			return -1;
		}
		data_len = image_queue_close_item(out, pd, mark);
		lua_rawgeti(L, x, (lua_Integer)(2 * k + 2));
		r = put_sized(L, -1, data_len, pd->item_size_name, out, err);
		lua_pop(L, 1);
		if (r)
			return -1;
		image_put_padding(out, pd, data_len);
	}
	return 0;
}

/* Bytes that are the rest of the file: any size. */
static int encode_rest(lua_State *L, int x, struct buf *out, struct crit_error *err)
{
	size_t len;
	const char *s;

	if (lua_isnil(L, x))
		return 0;
	if (lua_type(L, x) != LUA_TSTRING)
		return payload_fail(err, "payload must be a string");
	s = lua_tolstring(L, x, &len);
	return buf_put(out, s, len);
}

/* An entry whose payload is skipped may still say "extra": "" (crit
 * writes that for an ipc shm segment in_pagemaps): no data is no data. */
static int encode_skipped(lua_State *L, int x, const struct payload_desc *pd,
			  struct crit_error *err)
{
	if (lua_isnil(L, x) || (lua_type(L, x) == LUA_TSTRING && lua_rawlen(L, x) == 0))
		return 0;
	return payload_fail(err, "%s is set: the data is in the pages, not in extra",
			    pd->skip_name);
}

int msg_encode_payload(lua_State *L, int t, const struct payload_desc *pd, const uint8_t *msg,
		       size_t n, struct buf *out, struct crit_error *err)
{
	uint64_t len;
	int x, r = 0;

	lua_getfield(L, t, MSG_EXTRA_KEY);
	x = lua_gettop(L);
	if (pd->kind == PAYLOAD_NONE) {
		if (!lua_isnil(L, x))
			r = payload_fail(err, "this entry has no payload");
	} else if (image_payload_skipped(pd, msg, n)) {
		r = encode_skipped(L, x, pd, err);
	} else if (pd->rest) {
		r = encode_rest(L, x, out, err);
	} else if (pd->item) {
		r = encode_queue(L, x, pd, wire_varint_or_zero(msg, n, pd->size[0]), out, err);
	} else if (pd->kind == PAYLOAD_TCP) {
		r = encode_tcp(L, x, pd, msg, n, out, err);
	} else if (pd->kind == PAYLOAD_IPC_SEM) {
		r = encode_sem(L, x, pd, wire_varint_or_zero(msg, n, pd->size[0]), out, err);
	} else {
		image_payload_data_len(pd, msg, n, &len);
		r = put_sized(L, x, len, pd->what, out, err) || image_put_padding(out, pd, len);
	}
	lua_pop(L, 1);
	if (!r && out->failed)
		r = crit_fail(err, "out of memory");
	return r ? -1 : 0;
}
